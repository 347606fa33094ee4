import { ValidationError, type FieldError } from '../domain/errors.js';
import type { Metadata } from '../domain/execution.js';
import { MAX_DELAY_SECONDS } from '../domain/admission.js';
import { MAX_TAGS, TAG_PATTERN, TAGS_SCHEMA } from '../domain/tags.js';
import type { JsonSchema } from '../domain/json-schema.js';
import { BULK_ACTIONS, BULK_LIMITS, type BulkActionName, type BulkFilter } from '../domain/bulk.js';
import { EXECUTION_STATUSES } from '../domain/status.js';
import { MAX_EXPRESSION_LENGTH, MAX_SCHEDULE_DESCRIPTION } from '../domain/schedules.js';
import { STREAM_TOKEN_TTL_SECONDS } from '../domain/stream-tokens.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../domain/webhooks.js';
import { IDEMPOTENCY_KEY } from './headers.js';
import { characters, invalid, schemaErrors, unknownFields } from './validation.js';

// The request bodies of the API are small and fixed, so they are checked by hand: a schema
// library here would cost every function that parses a body ~10 KB of bundle (docs/performance.md).
// Task inputs, which users define, are checked against their JSON Schemas from the task catalogue
// (lambdas/api/validation.ts).
//
// Each body carries, beside its check, the JSON Schema of exactly what that check accepts: the
// fields it knows are that schema's properties (bodyOf refuses any other), and the OpenAPI document
// (lambdas/api/openapi.ts) publishes it, so what is documented and what is checked are one object.
// The schemas hold constraints only, no prose (the document adds the words, outside the bundles of
// the functions that parse bodies); test/unit/api/request-schemas.test.ts checks that each check
// accepts exactly what its schema does.

/** The JSON Schema of a body of one form: an object of known properties and nothing else. */
export interface BodyObjectSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
}

/** The JSON Schema of a body: one form, or a choice of forms. */
export type BodyJsonSchema = BodyObjectSchema | { readonly type: 'object'; readonly oneOf: readonly BodyObjectSchema[] };

/**
 * A body: its JSON Schema (the fields it accepts, as properties: anything else is rejected, so a
 * typo never passes silently) and a check of their values, in the schema's terms, that collects
 * failures into `errors` in words. Plain objects, so a function's bundle drops the bodies it never
 * parses.
 */
export interface BodySchema<T> {
  readonly schema: BodyJsonSchema;
  check(body: Readonly<Record<string, unknown>>, errors: FieldError[]): T;
}

/** Metadata bounds. Julep allows every JSON object; these keep it small, as it is stored on every record. */
export const METADATA_LIMITS = { keys: 64, keyLength: 256, bytes: 16 * 1024 } as const;
/** The longest cancel reason, in characters. */
export const MAX_REASON = 2000;
/** The longest webhook description, in characters. */
export const MAX_WEBHOOK_DESCRIPTION = 500;

// A bundler keeps a module-level object that reads another object's property (it might be a
// getter), so such schemas are made in `@__PURE__` calls: a function that parses none of them
// bundles none of them.

/** What metadata may be as JSON Schema; its size as JSON (at most `METADATA_LIMITS.bytes`) is the one rule JSON Schema cannot say. */
const METADATA = /* @__PURE__ */ (() =>
  ({
    type: ['object', 'null'],
    maxProperties: METADATA_LIMITS.keys,
    propertyNames: { minLength: 1, maxLength: METADATA_LIMITS.keyLength },
  }) as const)();
const REASON = { type: ['string', 'null'], maxLength: MAX_REASON } as const;
/** Where a webhook URL may point is checked by the handler, which resolves its host (`checkWebhookUrl`). */
const WEBHOOK_URL = { type: ['string', 'null'] } as const;
const TASK_ID = { type: 'string', minLength: 1, maxLength: 64 } as const;
/** Any JSON value: an execution input or a resume input, checked against its task's schema once the task is known. */
const ANY = {} as const;

/**
 * Metadata's rules, checked by hand: its size as JSON, which no JSON Schema can say, and the others
 * in words that name no key (a key may be long, and the answer must stay small).
 */
function metadataOf(value: unknown, errors: FieldError[]): Metadata | undefined {
  // Julep's SDK sends null for "no metadata".
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ path: '/metadata', message: 'must be an object' });
    return undefined;
  }
  const keys = Object.keys(value);
  const badKey = keys.map((key) => characters(key)).find((length) => length === 0 || length > METADATA_LIMITS.keyLength);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  // One error each, naming no key: a key may be long, and the answer must stay small.
  if (keys.length > METADATA_LIMITS.keys) {
    errors.push({ path: '/metadata', message: `must have at most ${METADATA_LIMITS.keys} keys, not ${keys.length}` });
  }
  if (badKey !== undefined) {
    errors.push({ path: '/metadata', message: `has a key of ${badKey} characters; keys must be 1 to ${METADATA_LIMITS.keyLength} characters` });
  }
  if (bytes > METADATA_LIMITS.bytes) {
    errors.push({ path: '/metadata', message: `must be at most ${METADATA_LIMITS.bytes} bytes as JSON, not ${bytes}` });
  }
  // The parsed object itself: a copy made with `obj[key] = value` would turn an own `__proto__` key into a prototype.
  return value as Metadata;
}

function reasonOf(value: unknown, errors: FieldError[]): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') errors.push({ path: '/reason', message: 'must be a string' });
  else if (characters(value) > MAX_REASON) errors.push({ path: '/reason', message: `must be at most ${MAX_REASON} characters` });
  return value as string;
}

type Fields = Readonly<Record<string, unknown>>;

// Each schema is a constant of its own, which its body's object holds: the OpenAPI document reads
// the schema without bundling the check (the catalogue function parses no body).

/**
 * A body checked against its own JSON Schema by the validator task inputs are checked with (it is
 * bundled with every function that creates executions anyway), and its metadata by hand
 * ({@link metadataOf}): a field added to such a body costs its schema's few bytes and no code.
 * Fields sent as `null` (Julep's SDK sends null for "none") come back absent, except the input,
 * which may be null.
 */
function schemaBody<T>(schema: BodyObjectSchema): BodySchema<T> {
  return {
    schema,
    check: ({ metadata, ...rest }, errors) => {
      // Unknown fields are bodyOf's to report, once, naming them.
      errors.push(...schemaErrors({ schema: { ...schema, properties: { ...schema.properties, metadata: {} }, additionalProperties: true } }, rest));
      metadataOf(metadata, errors);
      return Object.fromEntries(Object.entries({ ...rest, metadata }).filter(([name, value]) => value != null || (name === 'input' && value === null))) as T;
    },
  };
}

/** What a create request asks for besides its task (`POST /executions` adds `task_id`). */
export interface CreateFields {
  readonly input: unknown;
  readonly metadata?: Metadata;
  readonly webhook_url?: string;
  readonly tags?: readonly string[];
  readonly priority?: number;
  readonly concurrency_key?: string;
  readonly start_at?: string;
  readonly delay_seconds?: number;
}

/**
 * An RFC 3339 date-time with its offset, as a pattern: the validator checks no `format` but `uri`.
 * A date that does not exist (February 30th) passes it and is refused by the handler (`startTimeOf`).
 */
const DATE_TIME = '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?(Z|[+-]\\d\\d:\\d\\d)$';

/** The fields of both create bodies. */
const CREATE_FIELDS = {
  input: ANY,
  metadata: METADATA,
  webhook_url: WEBHOOK_URL,
  // Duplicates are folded by the handler (the first of each is kept): JSON Schema's uniqueItems is not checked here.
  tags: { type: 'array', maxItems: MAX_TAGS, items: { type: 'string', pattern: TAG_PATTERN } },
  // PRIORITY.min and .max, written out: a module-level object reading another's property stays in every bundle.
  priority: { type: 'integer', minimum: 1, maximum: 5 },
  concurrency_key: { type: 'string', pattern: TAG_PATTERN },
  start_at: { type: 'string', pattern: DATE_TIME },
  delay_seconds: { type: 'integer', minimum: 0, maximum: MAX_DELAY_SECONDS },
} as const;

/** The JSON Schema of the body of `POST /tasks/{task_id}/executions`. */
export const CREATE_SCHEMA: BodyObjectSchema = {
  type: 'object',
  properties: CREATE_FIELDS,
  required: ['input'],
  additionalProperties: false,
};

/** Body of `POST /tasks/{task_id}/executions`. */
export const createBody = /* @__PURE__ */ schemaBody<CreateFields>(CREATE_SCHEMA);

/** The JSON Schema of the body of `POST /executions`. */
export const CREATE_WITH_TASK_SCHEMA: BodyObjectSchema = {
  type: 'object',
  properties: { task_id: TASK_ID, ...CREATE_FIELDS },
  required: ['task_id', 'input'],
  additionalProperties: false,
};

/** Body of `POST /executions` (the task id travels in the body). */
export const createWithTaskBody = /* @__PURE__ */ schemaBody<CreateFields & { readonly task_id: string }>(CREATE_WITH_TASK_SCHEMA);

const RESUME_FORM: BodyObjectSchema = { type: 'object', properties: { status: { const: 'running' }, input: ANY }, required: ['status'], additionalProperties: false };
const CANCEL_FORM: BodyObjectSchema = { type: 'object', properties: { status: { const: 'cancelled' }, reason: REASON }, required: ['status'], additionalProperties: false };

/** How many items one `POST /executions/batch` may hold. */
export const MAX_BATCH_ITEMS = 1000;

/** An item's own Idempotency-Key: what the header may be. */
const ITEM_KEY = IDEMPOTENCY_KEY;

/** What one item of a batch asks for: a create's fields, with its own Idempotency-Key and tags. */
export interface BatchItemFields extends CreateFields {
  readonly task_id: string;
  readonly tags?: readonly string[];
  readonly idempotency_key?: string;
}

/**
 * The JSON Schema of one item of `POST /executions/batch`: the fields of `POST /executions` but
 * `webhook_url` (a batch's executions report through webhook subscriptions: checking where up to
 * 1,000 URLs point would resolve as many hosts), with its own Idempotency-Key and tags.
 */
export const BATCH_ITEM_SCHEMA: BodyObjectSchema = {
  type: 'object',
  properties: { task_id: TASK_ID, input: ANY, metadata: METADATA, tags: TAGS_SCHEMA, idempotency_key: ITEM_KEY },
  required: ['task_id', 'input'],
  additionalProperties: false,
};

/** One item of `POST /executions/batch`, checked on its own (a bad item fails alone). */
export const batchItemBody = /* @__PURE__ */ schemaBody<BatchItemFields>(BATCH_ITEM_SCHEMA);

/** The JSON Schema of the body of `POST /executions/batch`. Each item is checked on its own: a bad item is a per-item 400, not the batch's. */
export const BATCH_SCHEMA: BodyObjectSchema = {
  type: 'object',
  properties: { items: { type: 'array', minItems: 1, maxItems: MAX_BATCH_ITEMS, items: BATCH_ITEM_SCHEMA } },
  required: ['items'],
  additionalProperties: false,
};

/** Body of `POST /executions/batch`: a list of 1 to {@link MAX_BATCH_ITEMS} items, which are checked one by one later ({@link batchItemBody}). */
export const batchBody = {
  schema: BATCH_SCHEMA,
  check: (body: Fields, errors: FieldError[]) => {
    const items = body.items;
    if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH_ITEMS) {
      errors.push({ path: '/items', message: `is required, a list of 1 to ${MAX_BATCH_ITEMS} items` });
      return { items: [] as unknown[] };
    }
    return { items: items as unknown[] };
  },
} satisfies BodySchema<unknown>;

/** The JSON Schema of the body of `PUT /executions/{id}/tags`. */
export const TAGS_BODY_SCHEMA: BodyObjectSchema = { type: 'object', properties: { tags: TAGS_SCHEMA }, required: ['tags'], additionalProperties: false };

/** Body of `PUT /executions/{id}/tags`: the execution's new tags (replacing its tags; `[]` removes them all). */
export const tagsBody = /* @__PURE__ */ schemaBody<{ readonly tags: readonly string[] }>(TAGS_BODY_SCHEMA);

/** The JSON Schema of the body of `PUT /executions/{id}`. */
export const CHANGE_STATUS_SCHEMA: BodyJsonSchema = { type: 'object', oneOf: [RESUME_FORM, CANCEL_FORM] };

/** Body of `PUT /executions/{id}`: resume (`running`) or cancel (`cancelled`); any other status is a 400. */
export const changeStatusBody = {
  schema: CHANGE_STATUS_SCHEMA,
  check: (body: Fields, errors: FieldError[]) => {
    if (body.status === 'running') {
      if ('reason' in body) errors.push({ path: '/reason', message: 'is only accepted with status "cancelled"' });
      return { status: 'running' as const, input: body.input };
    }
    if (body.status === 'cancelled') {
      if ('input' in body) errors.push({ path: '/input', message: 'is only accepted with status "running"' });
      return { status: 'cancelled' as const, reason: reasonOf(body.reason, errors) };
    }
    errors.push({ path: '/status', message: 'must be "running" or "cancelled"' });
    return { status: 'cancelled' as const, reason: undefined };
  },
} satisfies BodySchema<unknown>;

/** The JSON Schema of the body of `POST /executions/{id}/resume`. */
export const RESUME_SCHEMA: BodyJsonSchema = { type: 'object', properties: { input: ANY }, additionalProperties: false };

/** Body of `POST /executions/{id}/resume`. */
export const resumeBody = {
  schema: RESUME_SCHEMA,
  check: (body: Fields) => ({ input: body.input }),
} satisfies BodySchema<unknown>;

/** The JSON Schema of the body of `POST /executions/{id}/cancel`. */
export const CANCEL_SCHEMA: BodyJsonSchema = { type: 'object', properties: { reason: REASON }, additionalProperties: false };

/** Body of `POST /executions/{id}/cancel` (may be empty). */
export const cancelBody = {
  schema: CANCEL_SCHEMA,
  check: (body: Fields, errors: FieldError[]) => {
    const reason = reasonOf(body.reason, errors);
    return reason === undefined ? {} : { reason };
  },
} satisfies BodySchema<unknown>;

/** The JSON Schema of the body of `POST /executions/{id}/replay`. */
export const REPLAY_SCHEMA: BodyJsonSchema = { type: 'object', properties: { input: ANY, metadata: METADATA }, additionalProperties: false };

/**
 * Body of `POST /executions/{id}/replay` (may be empty): an `input` present, null included,
 * replaces the replayed execution's input; `metadata` (null: none) replaces its metadata.
 */
export const replayBody = {
  schema: REPLAY_SCHEMA,
  check: (body: Fields, errors: FieldError[]) => ({
    ...(Object.hasOwn(body, 'input') ? { input: body.input } : {}),
    ...(Object.hasOwn(body, 'metadata') ? { metadata: metadataOf(body.metadata, errors) ?? {} } : {}),
  }),
} satisfies BodySchema<unknown>;

/** The JSON Schema of the body of `POST /executions/{id}/stream-token`. */
export const STREAM_TOKEN_SCHEMA: BodyJsonSchema = /* @__PURE__ */ (() =>
  ({
    type: 'object',
    properties: { ttl_seconds: { type: 'integer', minimum: STREAM_TOKEN_TTL_SECONDS.min, maximum: STREAM_TOKEN_TTL_SECONDS.max } },
    additionalProperties: false,
  }) as const)();

/** Body of `POST /executions/{id}/stream-token` (may be empty: the default lifetime). */
export const streamTokenBody = {
  schema: STREAM_TOKEN_SCHEMA,
  check: (body: Fields, errors: FieldError[]) => {
    const { default: fallback, min, max } = STREAM_TOKEN_TTL_SECONDS;
    const ttl = body.ttl_seconds;
    if (ttl === undefined) return { ttlSeconds: fallback };
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < min || ttl > max) {
      errors.push({ path: '/ttl_seconds', message: `must be a whole number of seconds from ${min} to ${max}` });
      return { ttlSeconds: fallback };
    }
    return { ttlSeconds: ttl };
  },
} satisfies BodySchema<unknown>;

function eventsOf(value: unknown, errors: FieldError[]): WebhookEventType[] {
  const allowed = WEBHOOK_EVENT_TYPES as readonly unknown[];
  if (!Array.isArray(value) || value.length === 0 || value.some((type) => !allowed.includes(type))) {
    errors.push({ path: '/events', message: `must be a non-empty list of ${WEBHOOK_EVENT_TYPES.map((type) => `"${type}"`).join(', ')}` });
    return [];
  }
  return [...new Set(value as WebhookEventType[])];
}

/** The JSON Schema of the body of `POST /webhooks` in a deployment of the tasks `taskIds`. */
export function subscriptionSchema(taskIds: ReadonlySet<string>): BodyJsonSchema {
  return {
    type: 'object',
    properties: {
      url: { type: 'string' },
      events: { type: 'array', minItems: 1, items: { enum: WEBHOOK_EVENT_TYPES } },
      task_id: { enum: [...taskIds, null] },
      description: { type: ['string', 'null'], maxLength: MAX_WEBHOOK_DESCRIPTION },
    },
    required: ['url', 'events'],
    additionalProperties: false,
  };
}

/**
 * Body of `POST /webhooks`, for a deployment of the tasks `taskIds` (a subscription's `task_id`
 * must be one of them). The URL's form and where it points are checked by the handler, which
 * resolves its host (`checkWebhookUrl`).
 */
export function subscriptionBody(taskIds: ReadonlySet<string>) {
  return {
    schema: subscriptionSchema(taskIds),
    check: (body: Fields, errors: FieldError[]) => {
      if (typeof body.url !== 'string') errors.push({ path: '/url', message: 'is required, a string' });
      const taskId = body.task_id ?? undefined;
      if (taskId !== undefined && (typeof taskId !== 'string' || !taskIds.has(taskId))) {
        errors.push({ path: '/task_id', message: 'must be the id of a task of this service (GET /tasks)' });
      }
      const description = body.description ?? undefined;
      if (description !== undefined && (typeof description !== 'string' || characters(description) > MAX_WEBHOOK_DESCRIPTION)) {
        errors.push({ path: '/description', message: `must be a string of at most ${MAX_WEBHOOK_DESCRIPTION} characters` });
      }
      return { url: body.url as string, events: eventsOf(body.events, errors), taskId: taskId as string | undefined, description: description as string | undefined };
    },
  } satisfies BodySchema<unknown>;
}

/** An ISO 8601 date, or date-time with a zone, as a body field (the shape; the check refuses one that names no instant). */
const BODY_TIMESTAMP = { type: 'string', maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}(T[\\d:.]+(Z|[+-]\\d{2}:\\d{2}))?$' } as const;

/** The JSON Schema of the body of `POST /bulk-actions` in a deployment of the tasks `taskIds`. */
export function bulkActionSchema(taskIds: ReadonlySet<string>): BodyObjectSchema {
  return {
    type: 'object',
    properties: {
      action: { enum: BULK_ACTIONS },
      filter: {
        type: 'object',
        properties: {
          task_id: { enum: [...taskIds] },
          status: { enum: EXECUTION_STATUSES },
          created_after: BODY_TIMESTAMP,
          created_before: BODY_TIMESTAMP,
          tag: { type: 'string', pattern: TAG_PATTERN },
        },
        additionalProperties: false,
      },
      reason: REASON,
      max_items: { type: 'integer', minimum: 1, maximum: BULK_LIMITS.maxItems },
    },
    required: ['action', 'filter'],
    additionalProperties: false,
  };
}

/** What `POST /schedules` asks for, its types checked (its expression, zone and dates are the domain's: `checkScheduleSpec`). */
export interface ScheduleFields {
  readonly task_id: string;
  readonly cron?: string;
  readonly rate?: string;
  readonly timezone?: string;
  readonly input: unknown;
  readonly metadata?: Metadata;
  readonly description?: string;
  readonly start_date?: string;
  readonly end_date?: string;
}

const EXPRESSION = { type: 'string', minLength: 1, maxLength: MAX_EXPRESSION_LENGTH } as const;
const SCHEDULE_TEXT = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** The JSON Schema of the body of `POST /schedules` in a deployment of the tasks `taskIds`. */
export function scheduleSchema(taskIds: ReadonlySet<string>): BodyObjectSchema {
  return {
    type: 'object',
    properties: {
      task_id: { enum: [...taskIds] },
      cron: EXPRESSION,
      rate: EXPRESSION,
      timezone: SCHEDULE_TEXT,
      input: ANY,
      metadata: METADATA,
      description: { type: ['string', 'null'], maxLength: MAX_SCHEDULE_DESCRIPTION },
      start_date: SCHEDULE_TEXT,
      end_date: SCHEDULE_TEXT,
    },
    required: ['task_id', 'input'],
    additionalProperties: false,
  };
}

/** A checked `POST /bulk-actions` body. */
export interface BulkActionFields {
  readonly action: BulkActionName;
  readonly filter: BulkFilter;
  readonly reason?: string;
  readonly maxItems: number;
}

/**
 * Body of `POST /bulk-actions`, for a deployment of the tasks `taskIds`: checked against its JSON
 * Schema by the validator task inputs use; by hand only what a schema cannot say (a timestamp that
 * names no instant, `created_after` later than `created_before`).
 */
export function bulkActionBody(taskIds: ReadonlySet<string>) {
  const schema = bulkActionSchema(taskIds);
  return {
    schema,
    check: (body: Fields, errors: FieldError[]): BulkActionFields => {
      // Unknown top-level fields are bodyOf's to report, once, naming them.
      const before = errors.length;
      errors.push(...schemaErrors({ schema: { ...schema, additionalProperties: true } }, body));
      const filter = (typeof body.filter === 'object' && body.filter !== null ? body.filter : {}) as Fields;
      const time = (name: 'created_after' | 'created_before'): number | undefined => {
        const value = filter[name];
        if (typeof value !== 'string' || errors.length > before) return undefined;
        const ms = Date.parse(value);
        if (Number.isNaN(ms)) errors.push({ path: `/filter/${name}`, message: 'must be an ISO 8601 date or date-time that names an instant' });
        return Number.isNaN(ms) ? undefined : ms;
      };
      const createdAfter = time('created_after');
      const createdBefore = time('created_before');
      if (createdAfter !== undefined && createdBefore !== undefined && createdAfter > createdBefore) {
        errors.push({ path: '/filter/created_after', message: 'must not be later than created_before' });
      }
      return {
        action: body.action as BulkActionName,
        filter: {
          ...(typeof filter.task_id === 'string' ? { taskId: filter.task_id } : {}),
          ...(typeof filter.status === 'string' ? { status: filter.status as BulkFilter['status'] } : {}),
          ...(createdAfter === undefined ? {} : { createdAfter }),
          ...(createdBefore === undefined ? {} : { createdBefore }),
          ...(typeof filter.tag === 'string' ? { tag: filter.tag } : {}),
        },
        ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
        maxItems: typeof body.max_items === 'number' ? body.max_items : BULK_LIMITS.defaultMaxItems,
      };
    },
  } satisfies BodySchema<BulkActionFields>;
}
/**
 * Body of `POST /schedules`, for a deployment of the tasks `taskIds`: checked against its schema by
 * the validator task inputs use, metadata by hand. Which of `cron` and `rate`, and what they, the
 * time zone and the dates say, the domain checks (`checkScheduleSpec`), as the handler checks the
 * input against its task's schema.
 */
export const scheduleBody = (taskIds: ReadonlySet<string>): BodySchema<ScheduleFields> => schemaBody<ScheduleFields>(scheduleSchema(taskIds));

/** The fields a body accepts: the properties of its schema (of any of its forms). */
function accepts(schema: BodyJsonSchema, field: string): boolean {
  return 'oneOf' in schema ? schema.oneOf.some((form) => Object.hasOwn(form.properties, field)) : Object.hasOwn(schema.properties, field);
}

/**
 * Parses a body that must be present: a JSON object with only the fields `schema` knows.
 * @throws ValidationError (400) listing every failing field.
 */
export function bodyOf<T>(schema: BodySchema<T>, body: unknown): T {
  // The body itself is the root, whose JSON pointer is "" (RFC 6901).
  if (body === undefined) throw new ValidationError('A JSON body is required.', [{ path: '', message: 'is required' }]);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('The request body must be a JSON object.', [{ path: '', message: 'must be a JSON object' }]);
  }
  const record = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  const unknown = Object.keys(record).filter((key) => !accepts(schema.schema, key));
  if (unknown.length > 0) {
    errors.push({ path: '', message: unknownFields(unknown) });
  }
  const value = schema.check(record, errors);
  if (errors.length > 0) throw invalid('request body', errors);
  return value;
}
