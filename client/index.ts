import createFetchClient, { type Client } from 'openapi-fetch';
import { ApiProblem } from './problem.js';
import { abortableSleep, retryDelayMs, retryingFetch, type RequestFetch, type RetryOptions } from './retry.js';
import type { components, operations, paths } from './schema.js';
import { SseParser } from './sse.js';

export { ApiProblem, rateLimitOf, type Problem, type RateLimitInfo } from './problem.js';
export type { RetryNotice, RetryOptions } from './retry.js';
export type { components, operations, paths } from './schema.js';

type Schemas = components['schemas'];
/** An execution, as `GET /executions/{id}` shows it. */
export type Execution = Schemas['Execution'];
/** An execution as a create answers it (with `webhook_secret` when it has a `webhook_url`). */
export type CreatedExecution = Schemas['CreatedExecution'];
/** An execution's status. */
export type ExecutionStatus = Execution['status'];
/** One row of an execution's history. */
export type Transition = Schemas['Transition'];
/** A task, with its input JSON Schema and steps. */
export type Task = Schemas['Task'];
/** A read-only token for one execution's events. */
export type StreamToken = Schemas['StreamToken'];
/** The outcome of a batch: one result per item, in request order. */
export type BatchResult = Schemas['BatchResult'];
/** One item of a batch: a create's body with its task, its own Idempotency-Key and tags. */
export interface BatchItem extends Omit<CreateBody, 'webhook_url'> {
  readonly task_id: string;
  readonly tags?: readonly string[];
  readonly idempotency_key?: string;
}
/** A bulk action: a job acting on every execution a filter matched. */
export type BulkAction = Schemas['BulkAction'];
/** What a bulk action did to one execution. */
export type BulkItem = Schemas['BulkItem'];
/**
 * What `POST /bulk-actions` sends, for any deployment: the document's own body type names the example
 * tasks' ids only; the service checks `task_id` against the deployed tasks.
 */
export interface BulkActionBody {
  readonly action: BulkAction['action'];
  readonly filter: {
    readonly task_id?: string;
    readonly status?: ExecutionStatus;
    /** ISO 8601. */
    readonly created_after?: string;
    readonly created_before?: string;
    /** Only executions carrying this tag. */
    readonly tag?: string;
  };
  readonly reason?: string | null;
  readonly max_items?: number;
}
/** A recurring schedule: each run is an execution (`schedule_id`). */
export type Schedule = Schemas['Schedule'];

/** The filters of `GET /executions` (`limit` is the page size; pages are followed for you). */
export type ListExecutionsQuery = Omit<NonNullable<operations['listExecutions']['parameters']['query']>, 'cursor' | 'offset'>;
/** The filters of `GET /executions/{id}/transitions`. */
export type ListTransitionsQuery = Omit<NonNullable<operations['listTransitions']['parameters']['query']>, 'cursor' | 'offset'>;

/** What a create sends, for any task: the document's own body types name the example tasks only. */
export interface CreateBody {
  readonly input: unknown;
  readonly metadata?: Record<string, unknown> | null;
  readonly webhook_url?: string | null;
  /** Up to 10 labels (letters, digits, `_ . : / = + @ -`; 1–64 each). */
  readonly tags?: readonly string[];
  /** 1 (lowest) to 5 (highest): its place in its tenant's queue when concurrency limits hold work back. */
  readonly priority?: number;
  /** A key of your choosing: a tenant's per-key limit counts each key's running executions. */
  readonly concurrency_key?: string;
  /** Start no earlier than this (RFC 3339, at most 365 days ahead). Not with `delay_seconds`. */
  readonly start_at?: string;
  /** Start this many seconds from now (0 to 31,536,000). Not with `start_at`. */
  readonly delay_seconds?: number;
}

/** What a replay may change of the execution it replays (nothing: the same input and metadata). */
export interface ReplayBody {
  readonly input?: unknown;
  readonly metadata?: Record<string, unknown> | null;
}

/** Statuses that end an execution (a failed one can still be retried: {@link ExecutionsApi.retry}). */
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];
/** Whether an execution has ended. */
export const isTerminal = (status: ExecutionStatus): boolean => TERMINAL_STATUSES.includes(status);

/** One event of `GET /executions/{id}/events`, parsed. */
export type ExecutionEvent =
  | { readonly type: 'transition'; readonly id: number; readonly data: Transition }
  | { readonly type: 'status'; readonly id: number; readonly data: Execution }
  | { readonly type: 'end'; readonly id: number; readonly data: { readonly execution_id: string; readonly status: ExecutionStatus } };

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The API's base URL (`http://127.0.0.1:3000`, a stack's `ApiUrl`). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Headers for every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Retries of 503, 429 and lost connections (`false`: none). */
  readonly retry?: RetryOptions | false;
  /** The fetch to send with (default: the global one). */
  readonly fetch?: RequestFetch;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Options of a create. */
export interface CreateOptions extends CallOptions {
  /** Makes a retry safe (the same key and body answer the first execution). Generated when not given. */
  readonly idempotencyKey?: string;
}

/** Options of {@link ExecutionsApi.waitFor}. */
export interface WaitOptions extends CallOptions {
  /** Called with the execution first, then with every change (status or progress). */
  readonly onProgress?: (execution: Execution) => void;
  /** Gives up after this long with a {@link WaitTimeout}. */
  readonly timeoutMs?: number;
  /**
   * `'settled'` (default): returns when the execution has ended or awaits input (nothing more
   * happens without you); `'end'`: only when it has ended.
   */
  readonly until?: 'settled' | 'end';
}

/** Options of {@link ExecutionsApi.stream}. */
export interface StreamOptions extends CallOptions {
  /** Start after this event (the `id` of the last event you have). */
  readonly lastEventId?: number;
}

/** Thrown by `waitFor` when its `timeoutMs` passes first. */
export class WaitTimeout extends Error {
  override readonly name = 'WaitTimeout';
  /** The execution as last seen. */
  readonly execution: Execution | undefined;

  constructor(timeoutMs: number, execution: Execution | undefined) {
    super(`The execution did not settle within ${timeoutMs} ms${execution ? ` (it is ${execution.status})` : ''}.`);
    this.execution = execution;
  }
}

/** Items of a list, page after page, following `next_cursor`; `pages()` gives the pages themselves. */
export interface Paged<T> extends AsyncIterable<T> {
  pages(): AsyncIterable<{ readonly items: readonly T[]; readonly next_cursor: string | null }>;
}

/** The executions routes. */
export interface ExecutionsApi {
  /** Starts an execution (`POST /executions`), with an `Idempotency-Key`, so its retries are safe. */
  create(taskId: string, body: CreateBody, options?: CreateOptions): Promise<CreatedExecution>;
  /** One execution. */
  get(id: string, options?: CallOptions): Promise<Execution>;
  /** Executions, newest first, filtered; iterate it (`for await`). */
  list(query?: ListExecutionsQuery, options?: CallOptions): Paged<Execution>;
  /** An execution's history, oldest first. */
  transitions(id: string, query?: ListTransitionsQuery, options?: CallOptions): Paged<Transition>;
  /** Resumes an execution that awaits input. */
  resume(id: string, input: unknown, options?: CallOptions): Promise<Execution>;
  /** Cancels an execution. */
  cancel(id: string, reason?: string, options?: CallOptions): Promise<Execution>;
  /** Retries a failed execution from the step that failed (`POST /executions/{id}/retry`): it runs again. */
  retry(id: string, options?: CallOptions): Promise<Execution>;
  /**
   * Starts a new execution with the same input as `id` (or `body.input`), linked by `replayed_from`,
   * with an `Idempotency-Key`, so its retries are safe.
   */
  replay(id: string, body?: ReplayBody, options?: CreateOptions): Promise<CreatedExecution>;
  /**
   * Follows an execution with long polls (`Prefer: wait=20` and `If-None-Match`: one request per
   * change or per 20 s) until it settles (see {@link WaitOptions.until}).
   */
  waitFor(id: string, options?: WaitOptions): Promise<Execution>;
  /**
   * The execution's server-sent events, parsed, reconnecting with `Last-Event-ID` after each
   * response until `end` (or a 204: nothing can follow). Breaking out of the loop closes it.
   */
  stream(id: string, options?: StreamOptions): AsyncIterableIterator<ExecutionEvent>;
  /** A read-only token for a browser's `EventSource` (`events_url`). */
  streamToken(id: string, ttlSeconds?: number, options?: CallOptions): Promise<StreamToken>;
  /**
   * Starts up to 1,000 executions (`POST /executions/batch`), with an `Idempotency-Key` (generated when
   * not given) so a retried batch creates nothing twice. Resolves with every item's result (200 or
   * 207: check each item's `status`); a batch none of whose items succeeded throws an
   * {@link ApiProblem} (422, or 503) whose problem holds the same `items`.
   */
  createBatch(items: readonly BatchItem[], options?: CreateOptions): Promise<BatchResult>;
  /** Replaces an execution's tags (`[]` removes them). */
  setTags(id: string, tags: readonly string[], options?: CallOptions): Promise<Execution>;
}

/** The bulk action routes. */
export interface BulkActionsApi {
  /** Accepts a job (`POST /bulk-actions`), with an `Idempotency-Key`, so its retries are safe. */
  create(body: BulkActionBody, options?: CreateOptions): Promise<BulkAction>;
  /** One job and its progress. */
  get(id: string, options?: CallOptions): Promise<BulkAction>;
  /** The tenant's jobs, newest first; iterate it (`for await`). */
  list(options?: CallOptions): Paged<BulkAction>;
  /** What a job did to each execution, by execution id. */
  items(id: string, options?: CallOptions): Paged<BulkItem>;
  /** Stops a job (what it did stays done). */
  cancel(id: string, options?: CallOptions): Promise<BulkAction>;
}

/** The tasks routes. */
export interface TasksApi {
  /** Every task. */
  list(options?: CallOptions): Promise<Task[]>;
  /** One task. */
  get(taskId: string, options?: CallOptions): Promise<Task>;
}

/**
 * What `POST /schedules` takes: a task, exactly one of `cron` and `rate`, an input, and optionally a
 * time zone, metadata, a description and dates. The task and its input are any deployment's (the
 * document types them by its example tasks; the service checks them against the deployed ones).
 */
export type CreateScheduleBody = Omit<JsonBody<'createSchedule'>, 'input' | 'task_id'> & { readonly task_id: string; readonly input: unknown };

/** The recurring schedules routes. */
export interface SchedulesApi {
  /** Creates a schedule (`POST /schedules`). */
  create(body: CreateScheduleBody, options?: CallOptions): Promise<Schedule>;
  /** One schedule. */
  get(id: string, options?: CallOptions): Promise<Schedule>;
  /** The tenant's schedules; iterate it (`for await`). */
  list(options?: CallOptions): Paged<Schedule>;
  /** Pauses a schedule: no runs until it is resumed. */
  pause(id: string, options?: CallOptions): Promise<Schedule>;
  /** Resumes a paused schedule. */
  resume(id: string, options?: CallOptions): Promise<Schedule>;
  /** Deletes a schedule (its runs stay). */
  delete(id: string, options?: CallOptions): Promise<void>;
}

/** A client of the service. */
export interface AsyncExecutionsClient {
  /** Every route, typed from the OpenAPI document (openapi-fetch: `{ data, error, response }`, never throws on a status). */
  readonly raw: Client<paths>;
  readonly tasks: TasksApi;
  readonly executions: ExecutionsApi;
  readonly bulk: BulkActionsApi;
  readonly schedules: SchedulesApi;
}

/** The longest a waitFor request is held (the service caps a hold at 25 s; 20 leaves room under proxies' 30 s). */
const HOLD_SECONDS = 20;
/** The pause before a reconnect when a response gives no `retry:` (the service sends 250). */
const DEFAULT_RECONNECT_MS = 250;

/** The data of a success, or the error of anything else as an {@link ApiProblem}. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw ApiProblem.of(result.response, result.error);
}

/**
 * A request body for any task. The document's bodies type `input` as the union of its example
 * tasks' inputs, which another deployment's tasks need not match; the service checks the input
 * against the deployed task's own schema.
 */
const anyBody = <T>(body: unknown): T => body as T;
type JsonBody<O extends keyof operations> = operations[O] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** Creates a client. */
export function createClient(options: ClientOptions): AsyncExecutionsClient {
  const baseFetch: RequestFetch = options.fetch ?? ((request) => globalThis.fetch(request));
  const retry = options.retry === false ? undefined : (options.retry ?? {});
  const raw = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    fetch: retry ? retryingFetch(baseFetch, retry) : baseFetch,
    headers: { ...options.headers, ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
  });

  function paged<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>): Paged<T> {
    async function* pages() {
      let cursor: string | undefined;
      do {
        const page = await fetchPage(cursor);
        yield page;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    }
    return {
      pages,
      async *[Symbol.asyncIterator]() {
        for await (const page of pages()) yield* page.items;
      },
    };
  }

  const executions: ExecutionsApi = {
    async create(taskId, body, { idempotencyKey, signal } = {}) {
      return ok(
        await raw.POST('/executions', {
          params: { header: { 'Idempotency-Key': idempotencyKey ?? globalThis.crypto.randomUUID() } },
          body: anyBody<JsonBody<'createExecution'>>({ task_id: taskId, ...body }),
          signal,
        }),
      );
    },
    async get(id, { signal } = {}) {
      return ok(await raw.GET('/executions/{id}', { params: { path: { id } }, signal }));
    },
    list(query = {}, { signal } = {}) {
      return paged(async (cursor) => ok(await raw.GET('/executions', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } }, signal })));
    },
    transitions(id, query = {}, { signal } = {}) {
      return paged(async (cursor) =>
        ok(await raw.GET('/executions/{id}/transitions', { params: { path: { id }, query: { ...query, ...(cursor ? { cursor } : {}) } }, signal })),
      );
    },
    async resume(id, input, { signal } = {}) {
      return ok(await raw.POST('/executions/{id}/resume', { params: { path: { id } }, body: anyBody<JsonBody<'resumeExecution'>>({ input }), signal }));
    },
    async cancel(id, reason, { signal } = {}) {
      return ok(await raw.POST('/executions/{id}/cancel', { params: { path: { id } }, body: reason === undefined ? {} : { reason }, signal }));
    },
    async retry(id, { signal } = {}) {
      return ok(await raw.POST('/executions/{id}/retry', { params: { path: { id } }, signal }));
    },
    async replay(id, body = {}, { idempotencyKey, signal } = {}) {
      return ok(
        await raw.POST('/executions/{id}/replay', {
          params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey ?? globalThis.crypto.randomUUID() } },
          body: anyBody<JsonBody<'replayExecution'>>(body),
          signal,
        }),
      );
    },
    async streamToken(id, ttlSeconds, { signal } = {}) {
      return ok(
        await raw.POST('/executions/{id}/stream-token', {
          params: { path: { id } },
          body: ttlSeconds === undefined ? {} : { ttl_seconds: ttlSeconds },
          signal,
        }),
      );
    },
    async createBatch(items, { idempotencyKey, signal } = {}) {
      return ok(
        await raw.POST('/executions/batch', {
          params: { header: { 'Idempotency-Key': idempotencyKey ?? globalThis.crypto.randomUUID() } },
          body: anyBody<JsonBody<'createExecutionBatch'>>({ items }),
          signal,
        }),
      );
    },
    async setTags(id, tags, { signal } = {}) {
      return ok(await raw.PUT('/executions/{id}/tags', { params: { path: { id } }, body: { tags: [...tags] }, signal }));
    },
    waitFor: (id, waitOptions = {}) => waitFor(raw, id, waitOptions),
    stream: (id, streamOptions = {}) => stream(raw, id, retry ?? {}, streamOptions),
  };

  const tasks: TasksApi = {
    async list({ signal } = {}) {
      return ok(await raw.GET('/tasks', { signal })).items;
    },
    async get(taskId, { signal } = {}) {
      return ok(await raw.GET('/tasks/{task_id}', { params: { path: { task_id: taskId } }, signal }));
    },
  };

  const bulk: BulkActionsApi = {
    async create(body, { idempotencyKey, signal } = {}) {
      return ok(
        await raw.POST('/bulk-actions', {
          params: { header: { 'Idempotency-Key': idempotencyKey ?? globalThis.crypto.randomUUID() } },
          body: anyBody<JsonBody<'createBulkAction'>>(body),
          signal,
        }),
      );
    },
    async get(id, { signal } = {}) {
      return ok(await raw.GET('/bulk-actions/{id}', { params: { path: { id } }, signal }));
    },
    list({ signal } = {}) {
      return paged(async (cursor) => ok(await raw.GET('/bulk-actions', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } }, signal })));
    },
    items(id, { signal } = {}) {
      return paged(async (cursor) =>
        ok(await raw.GET('/bulk-actions/{id}/items', { params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } }, signal })),
      );
    },
    async cancel(id, { signal } = {}) {
      return ok(await raw.POST('/bulk-actions/{id}/cancel', { params: { path: { id } }, signal }));
    },
  };

  
  const path = (id: string) => ({ params: { path: { id } } });
  const schedules: SchedulesApi = {
    async create(body, { signal } = {}) {
      return ok(await raw.POST('/schedules', { body: anyBody<JsonBody<'createSchedule'>>(body), signal }));
    },
    async get(id, { signal } = {}) {
      return ok(await raw.GET('/schedules/{id}', { ...path(id), signal }));
    },
    list({ signal } = {}) {
      return paged(async (cursor) => ok(await raw.GET('/schedules', { params: { query: cursor ? { cursor } : {} }, signal })));
    },
    async pause(id, { signal } = {}) {
      return ok(await raw.POST('/schedules/{id}/pause', { ...path(id), signal }));
    },
    async resume(id, { signal } = {}) {
      return ok(await raw.POST('/schedules/{id}/resume', { ...path(id), signal }));
    },
    async delete(id, { signal } = {}) {
      const result = await raw.DELETE('/schedules/{id}', { ...path(id), signal });
      if (!result.response.ok) throw ApiProblem.of(result.response, result.error);
    },
  };

  return { raw, tasks, executions, bulk, schedules };
}

async function waitFor(raw: Client<paths>, id: string, options: WaitOptions): Promise<Execution> {
  const { onProgress, signal, timeoutMs, until = 'settled' } = options;
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const combined = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const done = (execution: Execution) => isTerminal(execution.status) || (until === 'settled' && execution.status === 'awaiting_input');
  let last: Execution | undefined;
  let etag: string | undefined;
  try {
    for (;;) {
      // The first request answers at once; the next ones are held until the execution differs from `etag`.
      const hold = Math.max(1, Math.min(HOLD_SECONDS, Math.ceil((deadline - Date.now()) / 1000)));
      const result = await raw.GET('/executions/{id}', {
        params: { path: { id }, header: etag ? { 'If-None-Match': etag, Prefer: `wait=${hold}` } : {} },
        signal: combined,
      });
      if (result.response.status === 304) continue;
      const execution = ok(result);
      const previous = etag;
      etag = result.response.headers.get('etag') ?? undefined;
      // The ETag changes with every transition and progress report, and with nothing else.
      if (etag === undefined || etag !== previous) onProgress?.(execution);
      last = execution;
      if (done(execution)) return execution;
      // Without an ETag nothing can be held: poll, rather than spin.
      if (etag === undefined) await abortableSleep(1000, combined);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timeout?.aborted) throw new WaitTimeout(timeoutMs ?? 0, last);
    throw error;
  }
}

function toEvent(message: { event: string; id: string; data: string }): ExecutionEvent | undefined {
  const id = Number(message.id);
  switch (message.event) {
    case 'transition':
      return { type: 'transition', id, data: JSON.parse(message.data) as Transition };
    case 'status':
      return { type: 'status', id, data: JSON.parse(message.data) as Execution };
    case 'end':
      return { type: 'end', id, data: JSON.parse(message.data) as { execution_id: string; status: ExecutionStatus } };
    default:
      // An event this client does not know (a later version's): skipped, as an EventSource without a listener would.
      return undefined;
  }
}

async function* stream(raw: Client<paths>, id: string, retry: RetryOptions, options: StreamOptions): AsyncGenerator<ExecutionEvent> {
  const { signal } = options;
  // The reconnect position is the last *status* (or end) had, not the last row: a status event has
  // the id of the row before it, and the service takes a position as "its status was had", so a
  // drop between a row and its status would otherwise lose the status (and, at the end, `end`).
  let lastEventId = options.lastEventId;
  // Rows up to here were yielded; a reconnect from the last status replays the rows after it.
  let rowsHad = Number(options.lastEventId ?? 0);
  let failures = 0;
  const attempts = Math.max(1, retry.attempts ?? 4);
  for (;;) {
    let reconnectMs = DEFAULT_RECONNECT_MS;
    try {
      const result = await raw.GET('/executions/{id}/events', {
        params: { path: { id }, header: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId } },
        headers: { accept: 'text/event-stream' },
        parseAs: 'stream',
        signal,
      });
      // Nothing can follow the position: the execution has ended and every event was had.
      if (result.response.status === 204) return;
      const body = ok(result);
      if (!body) throw new Error('The events response has no body.');
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const message of parser.push(value)) {
            const event = toEvent(message);
            if (!event) continue;
            failures = 0;
            if (event.type === 'transition') {
              if (Number(event.id) <= rowsHad) continue;
              rowsHad = Number(event.id);
            } else {
              lastEventId = event.id;
            }
            yield event;
            if (event.type === 'end') return;
          }
        }
      } finally {
        // Closes the response when the caller stops early (not awaited: a teed body's cancel waits for its twin).
        void reader.cancel().catch(() => undefined);
      }
      reconnectMs = parser.retryMs ?? DEFAULT_RECONNECT_MS;
    } catch (error) {
      // A problem the service answered (400, 401, 404…) is final; a lost connection is retried, boundedly.
      if (error instanceof ApiProblem || signal?.aborted) throw error;
      failures++;
      if (failures >= attempts) throw error;
      reconnectMs = retryDelayMs(null, failures, retry) ?? DEFAULT_RECONNECT_MS;
    }
    await abortableSleep(reconnectMs, signal);
  }
}
