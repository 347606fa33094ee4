import { ValidationError, type FieldError } from '../domain/errors.js';
import { BATCH_ID_PATTERN, EXECUTION_ID_PATTERN, MAX_SEQ, isExecutionId, transitionSeq } from '../domain/ids.js';
import { METADATA_FILTER_LIMITS, parseMetadataFilter, type MetadataFilter } from '../domain/metadata-filter.js';
import { MAX_TAGS } from '../domain/tags.js';
import { SCHEDULE_ID_PATTERN } from '../domain/schedules.js';
import { EXECUTION_STATUSES, STATUS_ALIASES, parseStatus, type ExecutionStatus } from '../domain/status.js';
import type { Direction } from '../repository/executions-repository.js';
import { characters, cut, ECHO_LENGTH, ECHO_NAMES, invalid } from './validation.js';

// Paths, queries and headers are checked by hand, without a schema library: the read function
// needs only these, and its bundle stays free of zod (docs/performance.md). Each route's query is
// declared as JSON Schema ({@link QuerySchema}), which the reader checks values by and the OpenAPI
// document publishes: one declaration of every parameter and bound.

/**
 * Page size bounds. Julep's routes default to Julep's 100: its SDK does not follow pages on its
 * own, so a smaller default silently hides executions from `executions.list(taskId)`.
 */
export const LIMIT = { min: 1, max: 100, default: 20, julepDefault: 100 } as const;
/** The `tag` query parameter: 1 to 10 tags (`TAG_PATTERN`), joined by commas (API Gateway joins a repeated parameter's values so). */
const TAG_LIST_PATTERN = `^[A-Za-z0-9_.:/=+@-]{1,64}(,[A-Za-z0-9_.:/=+@-]{1,64}){0,${MAX_TAGS - 1}}$`;

/** Julep-style offsets are read and dropped, so they are bounded. */
export const MAX_OFFSET = 10_000;

/** The execution id of a path, checked for the service's id format (400 when malformed). */
export function executionIdOf(value: string): string {
  if (!isExecutionId(value)) {
    throw new ValidationError(`"${value.slice(0, 64)}" is not an execution id.`, [
      { path: 'path.id', message: 'must be an execution id (a lower-case UUIDv7)' },
    ]);
  }
  return value;
}

/** The sequence number a transition id of a path carries (400 when malformed). */
export function transitionSeqOf(value: string): number {
  const seq = transitionSeq(value);
  if (seq === undefined) {
    throw new ValidationError(`"${value.slice(0, 64)}" is not a transition id.`, [
      { path: 'path.transition_id', message: 'must be a transition id' },
    ]);
  }
  return seq;
}

/** Common paging parameters of every list. */
export interface PageParams {
  readonly limit: number;
  readonly offset?: number;
  readonly cursor?: string;
  readonly direction: Direction;
}

/** Filters and paging of an executions list. */
export interface ExecutionListParams extends PageParams {
  readonly status?: ExecutionStatus;
  readonly taskId?: string;
  /** Only the children of this execution (combinable with every other filter). */
  readonly parentId?: string;
  /** Only the runs of this schedule (the `by-group` index; status and task become filters). */
  readonly scheduleId?: string;
  readonly createdAfter?: number;
  readonly createdBefore?: number;
  /** Only executions with every one of these tags (the tag index; pages may be short). */
  readonly tags?: readonly string[];
  /** Julep's `metadata_filter`: top-level metadata keys and values that must all match (pages may be short). */
  readonly metadataFilter?: MetadataFilter;
  /** Only the executions of this batch (`by-group`). */
  readonly batchId?: string;
  /** `completed_at`: ended executions by when they ended; `started_at`: started ones by when they started (not with parent, schedule, batch or tag). */
  readonly sortBy?: 'completed_at' | 'started_at';
}

type Query = Readonly<Record<string, string | undefined>>;

/**
 * What a query parameter may be, as JSON Schema (of the value as sent: the digits of an integer):
 * the reader checks a value by its schema, and the OpenAPI document (lambdas/api/openapi.ts)
 * publishes the same object, so a bound is written once. Constraints only: the document adds the words.
 */
export type ParamSchema =
  | { readonly type: 'integer'; readonly minimum: number; readonly maximum: number; readonly default?: number }
  | {
      readonly type: 'string';
      readonly minLength: number;
      readonly maxLength: number;
      readonly enum?: readonly string[];
      readonly pattern?: string;
      readonly default?: string;
    };

/** The query parameters of a route, by name; a parameter not named here is a 400. */
export type QuerySchema = Readonly<Record<string, ParamSchema>>;

/** The names of a query schema's parameters of one type. */
type NamesOf<S extends QuerySchema, T extends ParamSchema['type']> = { [K in keyof S]: S[K]['type'] extends T ? K : never }[keyof S] & string;

/** How many unknown query parameters a 400 names (each cut to 64 characters, as body fields are). */
export const UNKNOWN_ECHO = { names: ECHO_NAMES, length: ECHO_LENGTH } as const;

/**
 * Reads query parameters strictly, by the route's {@link QuerySchema}: parameters it does not
 * declare and values its schema refuses are collected as 400 errors. Only declared parameters can
 * be read (the type says so), so no parameter is accepted that the document does not publish.
 */
class QueryReader<S extends QuerySchema> {
  readonly errors: FieldError[] = [];

  constructor(
    private readonly query: Query,
    readonly schema: S,
  ) {}

  /** The value as sent, empty included. */
  raw(name: keyof S & string): string | undefined {
    return this.query[name];
  }

  string(name: NamesOf<S, 'string'>): string | undefined {
    const { minLength, maxLength } = this.schema[name] as Extract<ParamSchema, { type: 'string' }>;
    const value = this.query[name];
    if (value === undefined) return undefined;
    const length = characters(value);
    if (length < minLength || length > maxLength) {
      this.fail(name, `must be ${minLength} to ${maxLength} characters`);
      return undefined;
    }
    return value;
  }

  integer(name: NamesOf<S, 'integer'>): number | undefined {
    const { minimum, maximum } = this.schema[name] as Extract<ParamSchema, { type: 'integer' }>;
    const raw = this.query[name];
    if (raw === undefined) return undefined;
    // The digits of a JSON integer, nothing else ("1e2", "+5" and " 5" are refused).
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < minimum || value > maximum) {
      this.fail(name, `must be an integer from ${minimum} to ${maximum}`);
      return undefined;
    }
    return value;
  }

  /** A value of the parameter's `enum`. */
  oneOf<T extends string>(name: NamesOf<S, 'string'>): T | undefined {
    const raw = this.string(name);
    const values = (this.schema[name] as Extract<ParamSchema, { type: 'string' }>).enum ?? [];
    if (raw === undefined) return undefined;
    if (!values.includes(raw)) {
      this.fail(name, `must be one of ${values.map((value) => `"${value}"`).join(', ')}`);
      return undefined;
    }
    return raw as T;
  }

  /** A value that matches the parameter's `pattern`; `words` say what it must be when it does not. */
  matching(name: NamesOf<S, 'string'>, words: string): string | undefined {
    const raw = this.string(name);
    const pattern = (this.schema[name] as Extract<ParamSchema, { type: 'string' }>).pattern;
    if (raw === undefined) return undefined;
    if (pattern !== undefined && !new RegExp(pattern, 'u').test(raw)) {
      this.fail(name, words);
      return undefined;
    }
    return raw;
  }

  /** An ISO 8601 date or date-time (the parameter's `pattern`) that names an instant, in ms since the epoch. */
  timestamp(name: NamesOf<S, 'string'>): number | undefined {
    const words = 'must be an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z';
    const raw = this.matching(name, words);
    if (raw === undefined) return undefined;
    const value = Date.parse(raw);
    if (Number.isNaN(value)) {
      this.fail(name, words);
      return undefined;
    }
    return value;
  }

  fail(name: string, message: string): void {
    this.errors.push({ path: `query.${name}`, message });
  }

  /**
   * Throws the collected errors, with the parameters the schema does not declare among them: at
   * most {@link UNKNOWN_ECHO}`.names` of them, each name cut to `.length`, so that an 11 KB query
   * of made-up names cannot make a 170 KB answer.
   */
  done(): void {
    const unknown = Object.keys(this.query).filter((name) => !Object.hasOwn(this.schema, name));
    for (const name of unknown.slice(0, UNKNOWN_ECHO.names)) this.fail(cut(name), 'is not a parameter of this route');
    const more = unknown.length - UNKNOWN_ECHO.names;
    if (more > 0) this.errors.push({ path: 'query', message: `has ${more} more unknown parameter${more === 1 ? '' : 's'}` });
    if (this.errors.length > 0) throw invalid('query', this.errors);
  }
}

/** The paging parameters of a list: `limit` (its default), `offset`, `cursor`, `sort_by` (its values) and `direction` (its default). */
function pageQuery(sortBy: readonly string[], limitDefault: number, direction: Direction) {
  return {
    limit: { type: 'integer', minimum: LIMIT.min, maximum: LIMIT.max, default: limitDefault },
    offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET },
    cursor: { type: 'string', minLength: 1, maxLength: 2048 },
    sort_by: { type: 'string', minLength: 1, maxLength: 64, enum: sortBy },
    direction: { type: 'string', minLength: 1, maxLength: 64, enum: ['asc', 'desc'], default: direction },
  } as const;
}

type PageQuery = ReturnType<typeof pageQuery>;

/** An ISO 8601 date, or date-time with a zone: the shape; `Date.parse` then refuses one that names no instant (month 13). */
const TIMESTAMP = { type: 'string', minLength: 1, maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}(T[\\d:.]+(Z|[+-]\\d{2}:\\d{2}))?$' } as const;

// The schemas below are built by calls, spreads and property reads, which a bundler keeps unless
// told they are pure: each is made in a `@__PURE__` call, so a function that reads no list (control
// reads ids only) bundles none of them.

/** The filters of an executions list, but `task_id`, which Julep's route takes from its path. */
function executionFilters() {
  return {
    status: { type: 'string', minLength: 1, maxLength: 32, enum: [...EXECUTION_STATUSES, ...Object.keys(STATUS_ALIASES)] },
    parent_id: { type: 'string', minLength: 1, maxLength: 64, pattern: EXECUTION_ID_PATTERN.source },
    schedule_id: { type: 'string', minLength: 1, maxLength: 64, pattern: SCHEDULE_ID_PATTERN.source },
    created_after: TIMESTAMP,
    created_before: TIMESTAMP,
    // Repeated (`tag=a&tag=b`, which API Gateway joins with commas) or comma-separated: all must match.
    tag: { type: 'string', minLength: 1, maxLength: 65 * MAX_TAGS - 1, pattern: TAG_LIST_PATTERN },
    metadata_filter: { type: 'string', minLength: 2, maxLength: METADATA_FILTER_LIMITS.length },
    batch_id: { type: 'string', minLength: 36, maxLength: 36, pattern: BATCH_ID_PATTERN },
  } as const;
}

/**
 * The orders of an executions list: by creation, or (started executions only) by `started_at`, or
 * (ended executions only) by `completed_at`. `updated_at` is refused ({@link REFUSED_SORTS}).
 */
const EXECUTION_SORTS = ['created_at', 'started_at', 'completed_at'] as const;

/** Orders refused with the reason (docs/architecture.md, "Indexes and what a write costs"). */
const REFUSED_SORTS: Readonly<Record<string, string>> = {
  updated_at:
    'updated_at is not offered: every status change and progress report would move the execution in an index sorted by it (about 24 more DynamoDB capacity units per document-pipeline execution); sort by created_at, started_at or completed_at',
};

/** The query of `GET /executions`. */
export const EXECUTION_LIST_QUERY = /* @__PURE__ */ (() =>
  ({
    ...pageQuery(EXECUTION_SORTS, LIMIT.default, 'desc'),
    ...executionFilters(),
    task_id: { type: 'string', minLength: 1, maxLength: 64 },
  }) as const satisfies QuerySchema)();

/** The query of Julep's `GET /tasks/{task_id}/executions`: its task is the path's (a `task_id` parameter is a 400), and a page holds Julep's 100 by default. */
export const TASK_EXECUTION_LIST_QUERY = /* @__PURE__ */ (() =>
  ({ ...pageQuery(EXECUTION_SORTS, LIMIT.julepDefault, 'desc'), ...executionFilters() }) as const satisfies QuerySchema)();

/** The query of `GET /executions/{id}/transitions`. */
export const TRANSITION_LIST_QUERY = /* @__PURE__ */ (() =>
  ({
    ...pageQuery(['seq', 'created_at', 'updated_at'], LIMIT.default, 'asc'),
    // Julep's SDK may send it; every transition has the execution as scope.
    scope_id: { type: 'string', minLength: 1, maxLength: 64 },
  }) as const satisfies QuerySchema)();

/** The query of `GET /webhooks/{id}/deliveries`. */
export const DELIVERY_LIST_QUERY = /* @__PURE__ */ (() =>
  ({
    limit: { type: 'integer', minimum: LIMIT.min, maximum: LIMIT.max, default: LIMIT.default },
    cursor: { type: 'string', minLength: 1, maxLength: 2048 },
  }) as const satisfies QuerySchema)();

/** The query of `GET /bulk-actions` and `GET /bulk-actions/{id}/items`. */
export const BULK_LIST_QUERY = /* @__PURE__ */ (() =>
  ({
    limit: { type: 'integer', minimum: LIMIT.min, maximum: LIMIT.max, default: LIMIT.default },
    cursor: { type: 'string', minLength: 1, maxLength: 2048 },
  }) as const satisfies QuerySchema)();

/** What reading the paging parameters takes of a reader (of any list's query: each holds them). */
type PageReader = Pick<QueryReader<PageQuery>, 'integer' | 'string' | 'oneOf' | 'fail' | 'schema'>;

function pageParams(reader: PageReader, refusedSorts: Readonly<Record<string, string>> = {}): PageParams {
  const limit = reader.integer('limit') ?? reader.schema.limit.default;
  const offset = reader.integer('offset');
  const cursor = reader.string('cursor');
  if (offset && cursor) reader.fail('offset', 'cannot be combined with cursor');
  const sortBy = reader.string('sort_by');
  if (sortBy !== undefined && Object.hasOwn(refusedSorts, sortBy)) reader.fail('sort_by', refusedSorts[sortBy]!);
  else reader.oneOf('sort_by');
  const direction = reader.oneOf<Direction>('direction') ?? reader.schema.direction.default;
  return {
    limit,
    direction,
    ...(offset ? { offset } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/**
 * Query of an executions list. Executions are ordered by creation (their ids are time-ordered;
 * `parent_id`'s children by their `created_at`); `sort_by=completed_at` lists ended executions by when they ended, `sort_by=started_at` started ones by when they started. Defaults: newest first, {@link LIMIT}`.default` per page, or
 * `julepDefault` on Julep's route, `GET /tasks/{task_id}/executions`, whose task is `fixedTaskId`.
 */
export function executionListParams(query: Query | undefined, fixedTaskId?: string): ExecutionListParams {
  // Julep's route declares no `task_id`, so the reader reads it only on the other.
  const reader = new QueryReader(query ?? {}, (fixedTaskId === undefined ? EXECUTION_LIST_QUERY : TASK_EXECUTION_LIST_QUERY) as typeof EXECUTION_LIST_QUERY);
  const page = pageParams(reader, REFUSED_SORTS);
  const rawStatus = reader.string('status');
  const status = rawStatus === undefined ? undefined : parseStatus(rawStatus);
  if (rawStatus !== undefined && status === undefined) {
    // The aliases are accepted but not offered.
    reader.fail('status', `must be one of ${EXECUTION_STATUSES.map((value) => `"${value}"`).join(', ')}`);
  }
  const taskId = fixedTaskId ?? reader.string('task_id');
  const parentId = reader.matching('parent_id', 'must be an execution id (a lower-case UUIDv7)');
  const scheduleId = reader.matching('schedule_id', 'must be a schedule id (sch_ and 32 hex digits)');
  if (parentId && scheduleId) reader.fail('schedule_id', 'cannot be combined with parent_id');
  const createdAfter = reader.timestamp('created_after');
  const createdBefore = reader.timestamp('created_before');
  if (createdAfter !== undefined && createdBefore !== undefined && createdAfter > createdBefore) {
    reader.fail('created_after', 'must not be later than created_before');
  }
  const rawTags = reader.matching('tag', `must be 1 to ${MAX_TAGS} tags (each 1 to 64 of A-Z a-z 0-9 _ . : / = + @ -), repeated or comma-separated`);
  const tags = rawTags === undefined ? undefined : [...new Set(rawTags.split(','))];
  const rawFilter = reader.string('metadata_filter');
  let metadataFilter: MetadataFilter | undefined;
  if (rawFilter !== undefined) {
    try {
      metadataFilter = parseMetadataFilter(rawFilter);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      reader.errors.push(...(error.extensions.errors as FieldError[]));
    }
  }
  const batchId = reader.matching('batch_id', 'must be a batch id (a lower-case UUID)');
  // Pages of these lists are read by position in an index and filtered after: an offset would have to
  // read every item before it.
  if (page.offset && (tags || metadataFilter?.length || batchId)) {
    reader.fail('offset', 'cannot be combined with tag, metadata_filter or batch_id; follow next_cursor');
  }
  if (batchId && (parentId || scheduleId)) reader.fail('batch_id', 'cannot be combined with parent_id or schedule_id');
  if (tags && (batchId || parentId || scheduleId)) reader.fail('tag', 'cannot be combined with batch_id, schedule_id or parent_id');
  // Checked against the enum by pageParams.
  const rawSort = reader.raw('sort_by');
  const sortBy = rawSort === 'completed_at' || rawSort === 'started_at' ? rawSort : undefined;
  if (sortBy && (tags || batchId || parentId || scheduleId)) reader.fail('sort_by', `${sortBy} cannot be combined with tag, batch_id, schedule_id or parent_id`);
  reader.done();
  return {
    ...(tags ? { tags } : {}),
    ...(metadataFilter?.length ? { metadataFilter } : {}),
    ...(batchId ? { batchId } : {}),
    ...(sortBy ? { sortBy } : {}),
    ...page,
    ...(status ? { status } : {}),
    ...(taskId ? { taskId } : {}),
    ...(parentId ? { parentId } : {}),
    ...(scheduleId ? { scheduleId } : {}),
    ...(createdAfter === undefined ? {} : { createdAfter }),
    ...(createdBefore === undefined ? {} : { createdBefore }),
  };
}

/** Query of a transitions list: ordered by `seq`, oldest first by default. */
export function transitionListParams(query: Query | undefined): PageParams {
  const reader = new QueryReader(query ?? {}, TRANSITION_LIST_QUERY);
  const page = pageParams(reader);
  reader.string('scope_id');
  reader.done();
  return page;
}

/** Where an event stream resumes, and which field of the request said so. */
export interface StreamPosition {
  /** The last event (`seq`) the caller has; undefined: none, the stream starts at the first. */
  readonly after: number | undefined;
  /** The field `after` came from, as a 400 names it. */
  readonly from: string;
}

/** An event id (a row's `seq`), where a stream resumes: in the `Last-Event-ID` header or the query. */
export const EVENT_ID = { type: 'integer', minimum: 0, maximum: MAX_SEQ } as const satisfies ParamSchema;

/** The query parameter a stream route reads its position from (the events' own name, or Julep's). */
export type StreamPositionName = 'last_event_id' | 'next_page_token';

/** The query of a stream route: its position parameter, and nothing else. */
export function streamQuery<N extends StreamPositionName>(name: N): { readonly [K in N]: typeof EVENT_ID } {
  return { [name]: EVENT_ID } as { readonly [K in N]: typeof EVENT_ID };
}

/**
 * Where an event stream resumes: the `Last-Event-ID` header an `EventSource` sends when it
 * reconnects, else the query parameter `name` (`last_event_id`, or Julep's `next_page_token`), for
 * clients that cannot set headers. The header wins: an `EventSource` keeps the URL it was opened
 * with, query included, and sends the header on every reconnect. An empty value is no position.
 * Any other query parameter, and a position that is not an {@link EVENT_ID}, is a 400.
 */
export function streamPositionOf(
  headers: Readonly<Record<string, string | undefined>>,
  query: Query | undefined,
  name: StreamPositionName,
): StreamPosition {
  const reader = new QueryReader<QuerySchema>(query ?? {}, streamQuery(name));
  const fromQuery = reader.raw(name);
  reader.done();
  const header = headers['last-event-id'];
  const [raw, from] = header !== undefined && header !== '' ? [header, 'header.last-event-id'] : [fromQuery, `query.${name}`];
  if (raw === undefined || raw === '') return { after: undefined, from };
  if (!/^\d+$/.test(raw) || Number(raw) > EVENT_ID.maximum) {
    throw new ValidationError(`"${cut(raw)}" is not an event id of this stream.`, [
      { path: from, message: `must be an event id: an integer from ${EVENT_ID.minimum} to ${EVENT_ID.maximum}` },
    ]);
  }
  return { after: Number(raw), from };
}

/** The query of `GET /schedules`: `limit` and `cursor`, as a webhook's deliveries. */
export const SCHEDULE_LIST_QUERY = DELIVERY_LIST_QUERY;

/** Query of `GET /schedules`: `limit` and `cursor`. */
export const scheduleListParams = (query: Query | undefined): { readonly limit: number; readonly cursor?: string } => deliveryListParams(query);

/** Query of a webhook's deliveries: `limit` and `cursor`, newest executions' first. */
export function deliveryListParams(query: Query | undefined): { readonly limit: number; readonly cursor?: string } {
  const reader = new QueryReader(query ?? {}, DELIVERY_LIST_QUERY);
  const limit = reader.integer('limit') ?? DELIVERY_LIST_QUERY.limit.default;
  const cursor = reader.string('cursor');
  reader.done();
  return { limit, ...(cursor ? { cursor } : {}) };
}

/** Query of the bulk action lists: `limit` and `cursor`. */
export function bulkListParams(query: Query | undefined): { readonly limit: number; readonly cursor?: string } {
  const reader = new QueryReader(query ?? {}, BULK_LIST_QUERY);
  const limit = reader.integer('limit') ?? BULK_LIST_QUERY.limit.default;
  const cursor = reader.string('cursor');
  reader.done();
  return { limit, ...(cursor ? { cursor } : {}) };
}
