import { ValidationError, type FieldError } from '../domain/errors.js';
import { MAX_SEQ, isExecutionId, transitionSeq } from '../domain/ids.js';
import { EXECUTION_STATUSES, parseStatus, type ExecutionStatus } from '../domain/status.js';
import type { Direction } from '../repository/executions-repository.js';
import { cut, ECHO_LENGTH, ECHO_NAMES, invalid } from './validation.js';

// Paths, queries and headers are checked by hand, without a schema library: the read function
// needs only these, and its bundle stays free of zod (docs/performance.md).

/**
 * Page size bounds. Julep's routes default to Julep's 100: its SDK does not follow pages on its
 * own, so a smaller default silently hides executions from `executions.list(taskId)`.
 */
export const LIMIT = { min: 1, max: 100, default: 20, julepDefault: 100 } as const;
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
  readonly createdAfter?: number;
  readonly createdBefore?: number;
}

type Query = Readonly<Record<string, string | undefined>>;

/** How many unknown query parameters a 400 names (each cut to 64 characters, as body fields are). */
export const UNKNOWN_ECHO = { names: ECHO_NAMES, length: ECHO_LENGTH } as const;

/** Reads query parameters strictly: unknown names and malformed values are collected as 400 errors. */
class QueryReader {
  readonly errors: FieldError[] = [];
  private readonly used = new Set<string>();

  constructor(private readonly query: Query) {}

  /** The value as sent, empty included. */
  raw(name: string): string | undefined {
    this.used.add(name);
    return this.query[name];
  }

  string(name: string, maxLength = 2048): string | undefined {
    this.used.add(name);
    const value = this.query[name];
    if (value === undefined) return undefined;
    if (value === '' || value.length > maxLength) {
      this.fail(name, `must be 1 to ${maxLength} characters`);
      return undefined;
    }
    return value;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.string(name, 12);
    if (raw === undefined) return undefined;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      this.fail(name, `must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const raw = this.string(name, 64);
    if (raw === undefined) return undefined;
    if (!(values as readonly string[]).includes(raw)) {
      this.fail(name, `must be one of ${values.map((value) => `"${value}"`).join(', ')}`);
      return undefined;
    }
    return raw as T;
  }

  timestamp(name: string): number | undefined {
    const raw = this.string(name, 40);
    if (raw === undefined) return undefined;
    const value = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (Number.isNaN(value)) {
      this.fail(name, 'must be an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z');
      return undefined;
    }
    return value;
  }

  fail(name: string, message: string): void {
    this.errors.push({ path: `query.${name}`, message });
  }

  /**
   * Throws the collected errors, with unknown parameters among them: at most
   * {@link UNKNOWN_ECHO}`.names` of them, each name cut to `.length`, so that an 11 KB query of
   * made-up names cannot make a 170 KB answer.
   */
  done(): void {
    const unknown = Object.keys(this.query).filter((name) => !this.used.has(name));
    for (const name of unknown.slice(0, UNKNOWN_ECHO.names)) this.fail(cut(name), 'is not a parameter of this route');
    const more = unknown.length - UNKNOWN_ECHO.names;
    if (more > 0) this.errors.push({ path: 'query', message: `has ${more} more unknown parameter${more === 1 ? '' : 's'}` });
    if (this.errors.length > 0) throw invalid('query', this.errors);
  }
}

function pageParams(reader: QueryReader, sortBy: readonly string[], defaultLimit: number = LIMIT.default): PageParams {
  const limit = reader.integer('limit', LIMIT.min, LIMIT.max) ?? defaultLimit;
  const offset = reader.integer('offset', 0, MAX_OFFSET);
  const cursor = reader.string('cursor');
  if (offset && cursor) reader.fail('offset', 'cannot be combined with cursor');
  reader.oneOf('sort_by', sortBy);
  const direction = reader.oneOf('direction', ['asc', 'desc'] as const);
  return {
    limit,
    direction: direction ?? 'desc',
    ...(offset ? { offset } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/**
 * Query of an executions list. Executions are ordered by creation (their ids are time-ordered;
 * `parent_id`'s children by their `created_at`); `sort_by` accepts `created_at` only. Defaults: newest first, {@link LIMIT}`.default` per page, or
 * `julepDefault` on Julep's route, `GET /tasks/{task_id}/executions`, whose task is `fixedTaskId`.
 */
export function executionListParams(query: Query | undefined, fixedTaskId?: string): ExecutionListParams {
  const reader = new QueryReader(query ?? {});
  const page = pageParams(reader, ['created_at'], fixedTaskId === undefined ? LIMIT.default : LIMIT.julepDefault);
  const rawStatus = reader.string('status', 32);
  const status = rawStatus === undefined ? undefined : parseStatus(rawStatus);
  if (rawStatus !== undefined && status === undefined) {
    reader.fail('status', `must be one of ${EXECUTION_STATUSES.map((value) => `"${value}"`).join(', ')}`);
  }
  const taskId = fixedTaskId ?? reader.string('task_id', 64);
  const parentId = reader.string('parent_id', 64);
  if (parentId !== undefined && !isExecutionId(parentId)) reader.fail('parent_id', 'must be an execution id (a lower-case UUIDv7)');
  const createdAfter = reader.timestamp('created_after');
  const createdBefore = reader.timestamp('created_before');
  if (createdAfter !== undefined && createdBefore !== undefined && createdAfter > createdBefore) {
    reader.fail('created_after', 'must not be later than created_before');
  }
  reader.done();
  return {
    ...page,
    ...(status ? { status } : {}),
    ...(taskId ? { taskId } : {}),
    ...(parentId ? { parentId } : {}),
    ...(createdAfter === undefined ? {} : { createdAfter }),
    ...(createdBefore === undefined ? {} : { createdBefore }),
  };
}

/** Query of a transitions list: ordered by `seq`, oldest first by default. */
export function transitionListParams(query: Query | undefined): PageParams {
  const reader = new QueryReader(query ?? {});
  const page = pageParams(reader, ['seq', 'created_at', 'updated_at']);
  reader.string('scope_id', 64); // Julep's SDK may send it; every transition has the execution as scope.
  reader.done();
  return { ...page, direction: query?.direction === 'desc' ? 'desc' : 'asc' };
}

/** Where an event stream resumes, and which field of the request said so. */
export interface StreamPosition {
  /** The last event (`seq`) the caller has; undefined: none, the stream starts at the first. */
  readonly after: number | undefined;
  /** The field `after` came from, as a 400 names it. */
  readonly from: string;
}

const EVENT_ID = /^\d{1,10}$/;

/**
 * Where an event stream resumes: the `Last-Event-ID` header an `EventSource` sends when it
 * reconnects, else the query parameter `name` (`last_event_id`, or Julep's `next_page_token`), for
 * clients that cannot set headers. The header wins: an `EventSource` keeps the URL it was opened
 * with, query included, and sends the header on every reconnect. An empty value is no position.
 * Any other query parameter, and a position that is not an integer from 0 to the largest `seq`,
 * is a 400.
 */
export function streamPositionOf(
  headers: Readonly<Record<string, string | undefined>>,
  query: Query | undefined,
  name: 'last_event_id' | 'next_page_token',
): StreamPosition {
  const reader = new QueryReader(query ?? {});
  const fromQuery = reader.raw(name);
  reader.done();
  const header = headers['last-event-id'];
  const [raw, from] = header !== undefined && header !== '' ? [header, 'header.last-event-id'] : [fromQuery, `query.${name}`];
  if (raw === undefined || raw === '') return { after: undefined, from };
  if (!EVENT_ID.test(raw) || Number(raw) > MAX_SEQ) {
    throw new ValidationError(`"${cut(raw)}" is not an event id of this stream.`, [
      { path: from, message: `must be an event id: an integer from 0 to ${MAX_SEQ}` },
    ]);
  }
  return { after: Number(raw), from };
}

/** Query of a webhook's deliveries: `limit` and `cursor`, newest executions' first. */
export function deliveryListParams(query: Query | undefined): { readonly limit: number; readonly cursor?: string } {
  const reader = new QueryReader(query ?? {});
  const limit = reader.integer('limit', LIMIT.min, LIMIT.max) ?? LIMIT.default;
  const cursor = reader.string('cursor');
  reader.done();
  return { limit, ...(cursor ? { cursor } : {}) };
}
