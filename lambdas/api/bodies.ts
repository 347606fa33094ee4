import { ValidationError, type FieldError } from '../domain/errors.js';
import type { Metadata } from '../domain/execution.js';
import { STREAM_TOKEN_TTL_SECONDS } from '../domain/stream-tokens.js';
import { invalid, unknownFields } from './validation.js';

// The request bodies of the API are small and fixed, so they are checked by hand: a schema
// library here would cost every function that parses a body ~10 KB of bundle (docs/performance.md).
// Task inputs, which users define, are checked against their JSON Schemas from the task catalogue
// (lambdas/api/validation.ts).

/**
 * A body: the fields it accepts (anything else is rejected, so a typo never passes silently) and
 * a check of their values that collects failures into `errors`. Plain objects, so a function's
 * bundle drops the bodies it never parses.
 */
export interface BodySchema<T> {
  readonly fields: readonly string[];
  check(body: Readonly<Record<string, unknown>>, errors: FieldError[]): T;
}

/** Metadata bounds. Julep allows every JSON object; these keep it small, as it is stored on every record. */
export const METADATA_LIMITS = { keys: 64, keyLength: 256, bytes: 16 * 1024 } as const;
const MAX_REASON = 2000;

function metadataOf(value: unknown, errors: FieldError[]): Metadata | undefined {
  // Julep's SDK sends null for "no metadata".
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ path: '/metadata', message: 'must be an object' });
    return undefined;
  }
  const keys = Object.keys(value);
  const badKey = keys.find((key) => key.length === 0 || key.length > METADATA_LIMITS.keyLength);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  // One error each, naming no key: a key may be long, and the answer must stay small.
  if (keys.length > METADATA_LIMITS.keys) {
    errors.push({ path: '/metadata', message: `must have at most ${METADATA_LIMITS.keys} keys, not ${keys.length}` });
  }
  if (badKey !== undefined) {
    errors.push({ path: '/metadata', message: `has a key of ${badKey.length} characters; keys must be 1 to ${METADATA_LIMITS.keyLength} characters` });
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
  else if (value.length > MAX_REASON) errors.push({ path: '/reason', message: `must be at most ${MAX_REASON} characters` });
  return value as string;
}

function required(body: Readonly<Record<string, unknown>>, name: string, errors: FieldError[]): unknown {
  if (!(name in body) || body[name] === undefined) errors.push({ path: `/${name}`, message: 'is required' });
  return body[name];
}

type Fields = Readonly<Record<string, unknown>>;

function webhookUrlOf(value: unknown, errors: FieldError[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') errors.push({ path: '/webhook_url', message: 'must be a string' });
  // Where it may point is checked by the handler, which resolves its host.
  return value as string;
}

/** Body of `POST /tasks/{task_id}/executions`. */
export const createBody = {
  fields: ['input', 'metadata', 'webhook_url'],
  check: (body: Fields, errors: FieldError[]) => ({
    input: required(body, 'input', errors),
    metadata: metadataOf(body.metadata, errors),
    webhook_url: webhookUrlOf(body.webhook_url, errors),
  }),
} satisfies BodySchema<unknown>;

/** Body of `POST /executions` (the task id travels in the body). */
export const createWithTaskBody = {
  fields: ['task_id', 'input', 'metadata', 'webhook_url'],
  check: (body: Fields, errors: FieldError[]) => {
    const taskId = required(body, 'task_id', errors);
    if (taskId !== undefined && (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 64)) {
      errors.push({ path: '/task_id', message: 'must be a string of 1 to 64 characters' });
    }
    return {
      task_id: taskId as string,
      input: required(body, 'input', errors),
      metadata: metadataOf(body.metadata, errors),
      webhook_url: webhookUrlOf(body.webhook_url, errors),
    };
  },
} satisfies BodySchema<unknown>;

/** Body of `PUT /executions/{id}`: resume (`running`) or cancel (`cancelled`); any other status is a 400. */
export const changeStatusBody = {
  fields: ['status', 'input', 'reason'],
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

/** Body of `POST /executions/{id}/resume`. */
export const resumeBody = {
  fields: ['input'],
  check: (body: Fields) => ({ input: body.input }),
} satisfies BodySchema<unknown>;

/** Body of `POST /executions/{id}/cancel` (may be empty). */
export const cancelBody = {
  fields: ['reason'],
  check: (body: Fields, errors: FieldError[]) => {
    const reason = reasonOf(body.reason, errors);
    return reason === undefined ? {} : { reason };
  },
} satisfies BodySchema<unknown>;

/** Body of `POST /executions/{id}/stream-token` (may be empty: the default lifetime). */
export const streamTokenBody = {
  fields: ['ttl_seconds'],
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
  const unknown = Object.keys(record).filter((key) => !schema.fields.includes(key));
  if (unknown.length > 0) {
    errors.push({ path: '', message: unknownFields(unknown) });
  }
  const value = schema.check(record, errors);
  if (errors.length > 0) throw invalid('request body', errors);
  return value;
}
