import { NotFoundError, ValidationError } from '../domain/errors.js';
import { advance, formatComment, formatRetry, initialWatchState, isExhausted, type StreamKind, type WatchState } from '../domain/events.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import type { ViewLinks } from '../domain/views.js';
import type { Logger } from '../shared/logger.js';

/** What a watcher reads (`WatchStore`). */
export interface WatchSource {
  find(tenant: string, executionId: string): Promise<ExecutionRecord | undefined>;
  transitionsAfter(tenant: string, executionId: string, afterSeq: number, limit: number): Promise<TransitionRecord[]>;
}

/**
 * The polling schedule. Right after a connection or an event the next poll comes soon (the
 * execution is moving); each empty poll doubles the pause, up to `maxMs`, which bounds how late an
 * event written after a quiet spell arrives (every event of an execution of slow steps: 500 ms
 * keeps their p95 under the 1 s budget; an idle watcher then costs about two Queries a second).
 * While the execution runs, the record is also read at most every `progressEveryMs` for progress
 * reported within a step (it writes no row).
 */
export const POLL = { firstMs: 100, maxMs: 500, factor: 2, progressEveryMs: 1_000 } as const;

/**
 * The `retry:` hint: how long an `EventSource` waits before it reconnects after a response ends.
 * A bounded response ends after each batch of events, so this is added to the latency of every
 * event written meanwhile, which is most events of a busy execution (one watcher of a
 * batch-summarize execution on a loaded 2-core machine: 500 ms put the p95 of arrival at 0.9 s,
 * 250 ms at 0.4 s). The cost is requests: a watcher of a busy execution makes up to four a second.
 */
export const RETRY_MS = 250;

/** A comment at least this often while a response waits: what keeps proxies from closing an idle stream. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * How long a response waits for events by default (`EVENTS_WINDOW_SECONDS`): under API Gateway's
 * 30 s integration limit, with room for the last poll.
 */
export const DEFAULT_WINDOW_MS = 25_000;

/**
 * Bytes of events one response carries at most (one event more may pass it): the rest comes with
 * the next. Lambda refuses a response over 6 MB, counted after the body is escaped as JSON (up to
 * twice its size), and the largest single event (a status event with a 250 KiB input and output)
 * is about 0.5 MB.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Rows per Query: a poll after an idle spell finds a few; a first read of a long history pages. */
export const ROWS_PER_QUERY = 100;

/**
 * How a response ends:
 * - `bounded` (`/events`, and Julep's streams for an `EventSource`): as soon as it has events,
 *   after writing every event available then; otherwise at the end of the window;
 * - `whole` (Julep's streams for its SDK, which reads one whole body and reconnects only on an
 *   error): when the execution has ended; at the end of the window it has no answer (`window-elapsed`).
 */
export type StreamMode = 'bounded' | 'whole';

/** One watcher's request. */
export interface StreamRequest {
  readonly tenant: string;
  readonly executionId: string;
  readonly kind: StreamKind;
  readonly mode: StreamMode;
  /** The last `seq` the watcher has (`Last-Event-ID`, or Julep's `next_page_token`); undefined: none. */
  readonly after: number | undefined;
  /** Where `after` came from, as a 400 names it (`header.last-event-id`, `query.last_event_id`…). */
  readonly afterFrom: string;
  readonly links: ViewLinks;
}

/** Time, as the stream sees it (tests drive their own). */
export interface StreamClock {
  now(): number;
  sleep(milliseconds: number): Promise<void>;
}

/** When the response must be written. */
export interface StreamLimits {
  /** How long to wait for events (ms). */
  readonly windowMs: number;
  /**
   * No DynamoDB call starts after this time (ms since the epoch): the function's deadline less the
   * longest a call can stall, so a stalled call still leaves time to answer.
   */
  readonly lastCallAt: number;
  /** Aborted when nobody reads the response any more (its client has gone): no poll starts after it. */
  readonly signal?: AbortSignal;
}

/**
 * What the stream came to:
 * - `stream`: a text/event-stream body (`ended` once the execution's last event is in it; `seq`
 *   the last event's id in it, or the watcher's position when it has none);
 * - `exhausted`: nothing can ever follow the watcher's position (204, so `EventSource` stops);
 * - `window-elapsed`: a `whole` stream whose execution did not end within the window.
 */
export type StreamOutcome =
  | { readonly kind: 'stream'; readonly text: string; readonly ended: boolean; readonly seq: number }
  | { readonly kind: 'exhausted' }
  | { readonly kind: 'window-elapsed' };

/** The system clock. */
export const SYSTEM_CLOCK: StreamClock = {
  now: () => Date.now(),
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
};

/**
 * Watches one execution by polling its partition and returns the response's events. The first
 * reads are the record (404 for an unknown id or another tenant's, 400 for a position past its
 * last row) and the rows after the watcher's position, together; later polls Query the rows after
 * the last one sent and read the record only when rows came or progress may have moved.
 * @throws NotFoundError, ValidationError before any event; a failed first read as itself (503).
 */
export async function watchExecution(
  source: WatchSource,
  request: StreamRequest,
  clock: StreamClock,
  limits: StreamLimits,
  logger: Logger,
): Promise<StreamOutcome> {
  const { tenant, executionId, kind, mode, links } = request;
  const started = clock.now();
  // Both reads at once: a reconnect is answered after one round trip rather than two. The rows are
  // of the caller's own partition (the tenant is in the key), so an unknown id reads nothing.
  const [found, first] = await Promise.all([
    source.find(tenant, executionId),
    source.transitionsAfter(tenant, executionId, request.after ?? 0, ROWS_PER_QUERY),
  ]);
  let record = found;
  if (!record) throw new NotFoundError(`No execution ${executionId} exists.`);
  if (request.after !== undefined && request.after > record.transitionCount) {
    throw new ValidationError(
      `Event ${request.after} is past the last event (${record.transitionCount}) of execution ${executionId}.`,
      [{ path: request.afterFrom, message: `must be at most ${record.transitionCount}, the last event of this execution` }],
    );
  }
  let state: WatchState = initialWatchState(record, request.after);
  if (isExhausted(state, record)) return { kind: 'exhausted' };

  let text = formatRetry(RETRY_MS);
  let bytes = 0;
  let sent = 0;
  /** Adds the events of `given` and of the rows after them up to the record's count, within the byte budget. */
  const catchUp = async (current: ExecutionRecord, given: readonly TransitionRecord[]): Promise<void> => {
    let rows = given;
    for (;;) {
      const next = advance(kind, state, rows, current, links, MAX_RESPONSE_BYTES - bytes);
      state = next.state;
      text += next.text;
      bytes += next.bytes;
      sent += next.events.length;
      if (state.ended || state.seq >= current.transitionCount || bytes >= MAX_RESPONSE_BYTES) return;
      const last = rows.at(-1)?.seq ?? state.seq;
      // The budget stopped it short of rows it was given: those come with the next response.
      if (last > state.seq) return;
      rows = await source.transitionsAfter(tenant, executionId, state.seq, ROWS_PER_QUERY);
      if (rows.length === 0) return;
    }
  };
  const done = (): boolean => state.ended || bytes >= MAX_RESPONSE_BYTES || (mode === 'bounded' && sent > 0);

  await catchUp(record, first);
  const windowEnd = started + limits.windowMs;
  let interval: number = POLL.firstMs;
  let recordReadAt = clock.now();
  let keptAliveAt = started;
  while (!done()) {
    if (clock.now() + interval > Math.min(windowEnd, limits.lastCallAt)) break;
    await clock.sleep(interval);
    // Checked between the pause and the poll: a client that left is noticed within one pause (at most half a second).
    if (limits.signal?.aborted) break;
    const now = clock.now();
    if (now - keptAliveAt >= KEEP_ALIVE_MS) {
      text += formatComment('keep-alive');
      keptAliveAt = now;
    }
    try {
      const rows = await source.transitionsAfter(tenant, executionId, state.seq, ROWS_PER_QUERY);
      const progressDue = record.status === 'running' && now - recordReadAt >= POLL.progressEveryMs;
      if (rows.length === 0 && !progressDue) {
        interval = Math.min(interval * POLL.factor, POLL.maxMs);
        continue;
      }
      const current = await source.find(tenant, executionId);
      recordReadAt = clock.now();
      // Gone (its retention passed) while watched: nothing more will come.
      if (!current) break;
      record = current;
      const before = sent;
      await catchUp(record, rows);
      interval = sent > before ? POLL.firstMs : Math.min(interval * POLL.factor, POLL.maxMs);
    } catch (error) {
      // Events already read stay valid; an EventSource reconnects after a 200 and gives up on a 5xx.
      if (mode === 'whole') throw error;
      logger.warn('poll failed; ending the response early', { error, execution_id: executionId });
      break;
    }
  }
  if (done()) return { kind: 'stream', text, ended: state.ended, seq: state.seq };
  if (mode === 'whole') return { kind: 'window-elapsed' };
  return { kind: 'stream', text: sent > 0 ? text : text + formatComment('keep-alive'), ended: false, seq: state.seq };
}
