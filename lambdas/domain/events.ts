import type { ExecutionRecord, Metadata, TransitionRecord } from './execution.js';
import { TERMINAL_STATUSES, type ExecutionStatus } from './status.js';
import { progressOf, toExecutionView, toTransitionView, type Progress, type TransitionView, type ViewLinks } from './views.js';

// Server-sent events of an execution: which events a watcher is owed after what it has seen, and
// their text (https://html.spec.whatwg.org/multipage/server-sent-events.html). Pure: the handler
// reads the table and sleeps; this module decides.

/**
 * What a stream carries:
 * - `events` (`GET /executions/{id}/events`): `transition`, `status` and `end` events;
 * - `julep-status` (Julep's `status.stream`): unnamed events, each Julep's execution status event;
 * - `julep-transitions` (Julep's `transitions.stream`): unnamed events, each `{ transition, next_page_token }`.
 */
export type StreamKind = 'events' | 'julep-status' | 'julep-transitions';

/** One server-sent event. Its `id` is always a transition `seq`: what `Last-Event-ID` resumes after. */
export interface StreamEvent {
  /** The `event:` field; none for Julep's unnamed (`message`) events. */
  readonly name?: 'transition' | 'status' | 'end';
  readonly id: number;
  readonly data: unknown;
}

/** What a watcher has seen of an execution: where its stream resumes. */
export interface WatchState {
  /** The last transition `seq` the watcher has (0: none). */
  readonly seq: number;
  /** {@link statusFingerprint} of the last status it was sent (or is assumed to have); null: none yet. */
  readonly statusSeen: string | null;
  /** True once `end` was sent: the stream has nothing more. */
  readonly ended: boolean;
}

/** Julep's execution status event (its `status.stream` data), plus this service's progress. */
export interface StatusEventView {
  readonly execution_id: string;
  readonly status: ExecutionStatus;
  readonly updated_at: string;
  readonly error: string | null;
  readonly transition_count: number;
  readonly metadata: Metadata;
  readonly progress: Progress;
}

/** Julep's transitions stream data: the transition and the token that resumes right after it. */
export interface TransitionEventView {
  readonly transition: TransitionView;
  readonly next_page_token: string;
}

/**
 * What a status event shows changing: the status and the progress (its message included). A
 * watcher is sent a status event whenever this differs from what it saw last.
 */
export function statusFingerprint(record: ExecutionRecord): string {
  return JSON.stringify([record.status, progressOf(record)]);
}

/**
 * Where a new stream starts. Without a position (`after` undefined) the watcher has seen nothing:
 * it gets every row and then the status. With one, it has every row up to `after`; it is assumed
 * to have the status too when nothing was written since, so an idle reconnect is sent nothing
 * rather than the same status again (a progress change made while it was away shows with the
 * next change).
 */
export function initialWatchState(record: ExecutionRecord, after: number | undefined): WatchState {
  const seq = after ?? 0;
  const current = after !== undefined && after === record.transitionCount;
  return { seq, statusSeen: current ? statusFingerprint(record) : null, ended: false };
}

/**
 * True when a stream that starts at `state` can never carry an event: the execution has ended and
 * the watcher has its last row. (Answered 204, which tells an `EventSource` to stop reconnecting.)
 */
export function isExhausted(state: WatchState, record: ExecutionRecord): boolean {
  return TERMINAL_STATUSES.has(record.status) && state.seq >= record.transitionCount && state.statusSeen !== null;
}

/** Julep's status event of a record. */
export function toStatusEventView(record: ExecutionRecord): StatusEventView {
  return {
    execution_id: record.id,
    status: record.status,
    updated_at: record.updatedAt,
    error: record.error ? record.error.message || record.error.name : null,
    transition_count: record.transitionCount,
    metadata: record.metadata,
    progress: progressOf(record),
  };
}

/** What {@link advance} decided: the events owed, their text, and where the watcher then is. */
export interface Advance {
  readonly state: WatchState;
  readonly events: readonly StreamEvent[];
  /** The events as stream text, in order. */
  readonly text: string;
  /** UTF-8 bytes of {@link text}. */
  readonly bytes: number;
}

const utf8 = new TextEncoder();

/**
 * The events a watcher at `state` is owed, given `rows` read after `state.seq` and the record read
 * after them (so the record's `transitionCount` covers every row), and the state after them.
 *
 * Rows are taken in `seq` order from `state.seq + 1` on, each once: a row at or before `state.seq`
 * is skipped (never repeated), and the first gap stops them (never lost: the rows from there come
 * with a later read). So does `maxBytes`: once the text would pass it, the remaining rows are left
 * for the next read (the first event is always taken, so a stream always moves on). A status event
 * comes only once the watcher has every row the record counts, so a status event with id `n`
 * always shows the execution as of row `n`; `end` follows the status of a terminal record.
 */
export function advance(
  kind: StreamKind,
  state: WatchState,
  rows: readonly TransitionRecord[],
  record: ExecutionRecord,
  links: ViewLinks,
  maxBytes = Number.POSITIVE_INFINITY,
): Advance {
  if (state.ended) return { state, events: [], text: '', bytes: 0 };
  const events: StreamEvent[] = [];
  let text = '';
  let bytes = 0;
  const add = (event: StreamEvent): void => {
    const formatted = formatEvent(event);
    events.push(event);
    text += formatted;
    bytes += utf8.encode(formatted).length;
  };
  let { seq, statusSeen } = state;
  for (const row of [...rows].sort((a, b) => a.seq - b.seq)) {
    if (row.seq <= seq) continue;
    if (row.seq !== seq + 1 || row.seq > record.transitionCount || bytes >= maxBytes) break;
    seq = row.seq;
    if (kind === 'events') add({ name: 'transition', id: seq, data: toTransitionView(row) });
    if (kind === 'julep-transitions') {
      add({ id: seq, data: { transition: toTransitionView(row), next_page_token: String(seq) } satisfies TransitionEventView });
    }
  }
  if (seq < record.transitionCount) return { state: { seq, statusSeen, ended: false }, events, text, bytes };
  const fingerprint = statusFingerprint(record);
  if (fingerprint !== statusSeen) {
    statusSeen = fingerprint;
    if (kind === 'events') add({ name: 'status', id: seq, data: toExecutionView(record, links) });
    if (kind === 'julep-status') add({ id: seq, data: toStatusEventView(record) });
  }
  const ended = TERMINAL_STATUSES.has(record.status);
  if (ended && kind === 'events') add({ name: 'end', id: seq, data: { execution_id: record.id, status: record.status } });
  return { state: { seq, statusSeen, ended }, events, text, bytes };
}

/** The text of one event: `id`, `event` (when named) and one `data` line per line of its JSON. */
export function formatEvent(event: StreamEvent): string {
  // JSON.stringify never writes a raw line break, but a data field must not hold one: split anyway.
  const data = JSON.stringify(event.data ?? null)
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `id: ${event.id}\n${event.name ? `event: ${event.name}\n` : ''}${data}\n`;
}

/** A comment line (ignored by clients; keeps idle connections open). */
export function formatComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** The `retry:` field: how long a client waits before reconnecting after the stream closes. */
export function formatRetry(milliseconds: number): string {
  return `retry: ${Math.max(0, Math.round(milliseconds))}\n\n`;
}
