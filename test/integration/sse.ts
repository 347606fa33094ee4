import { apiKey, baseUrl } from './client.js';

/** One dispatched event, as an `EventSource` delivers it. */
export interface SseEvent {
  /** The `event` field, or `message`. */
  readonly event: string;
  /** The last event id when it was dispatched (its own `id`, or the one before). */
  readonly id: string;
  readonly data: string;
}

/** A parsed text/event-stream body. */
export interface SseBody {
  readonly events: readonly SseEvent[];
  /** The last `retry:` value, if any. */
  readonly retry?: number;
  /** Comment lines, without the colon. */
  readonly comments: readonly string[];
}

/**
 * Parses a text/event-stream body as the HTML standard's event stream interpretation does
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end at CRLF, LF or CR; a blank line dispatches the event when its data is not empty; `id`
 * sets the last event id; `retry` takes digits only; unknown fields are ignored.
 */
export function parseSse(text: string): SseBody {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let retry: number | undefined;
  let lastId = '';
  let data = '';
  let type = '';
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data !== '') events.push({ event: type || 'message', id: lastId, data: data.endsWith('\n') ? data.slice(0, -1) : data });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return { events, comments, ...(retry === undefined ? {} : { retry }) };
}

/** One response of an event stream route. */
export interface StreamReply extends SseBody {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
}

/** How a request says where it resumes. */
export type ResumeVia = 'header' | 'query';

/**
 * GETs an event stream route (`path` from the base URL) as tenant `default` (or `headers`), resuming
 * after `lastEventId` when given, through the header or the `last_event_id` query parameter.
 */
export async function getStream(
  path: string,
  lastEventId?: string,
  via: ResumeVia = 'header',
  headers: Record<string, string> = {},
): Promise<StreamReply> {
  const query = lastEventId !== undefined && via === 'query' ? `${path.includes('?') ? '&' : '?'}last_event_id=${lastEventId}` : '';
  const response = await fetch(`${baseUrl()}${path}${query}`, {
    headers: {
      authorization: `Bearer ${apiKey()}`,
      accept: 'text/event-stream',
      ...(lastEventId !== undefined && via === 'header' ? { 'last-event-id': lastEventId } : {}),
      ...headers,
    },
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, ...parseSse(text) };
}

/** What a watcher saw of an execution's events, start to end. */
export interface Watched {
  /** `seq` of every transition event, in arrival order. */
  readonly transitions: number[];
  /** Status of every status event, in arrival order. */
  readonly statuses: string[];
  /** How it learnt the end: the `end` event, or a 204 after the last (terminal) transition. */
  readonly endedBy: 'end' | '204' | undefined;
  readonly responses: number;
}

/** What a watcher does between responses: keep the first `keep` events (the rest are lost), then wait. */
export interface Reconnect {
  readonly keep?: number;
  readonly via?: ResumeVia;
  readonly pauseMs?: number;
}

/**
 * Watches an execution's `/events` as an `EventSource` does, reconnecting with the last event id
 * after each response (after its `retry`, unless `plan` says otherwise) until `end` or a 204.
 * `plan(n)` may drop the tail of the n-th response, as a connection lost mid-body would.
 */
export async function watchEvents(executionId: string, plan: (response: number) => Reconnect = () => ({}), timeoutMs = 30_000): Promise<Watched> {
  const seen: Watched = { transitions: [], statuses: [], endedBy: undefined, responses: 0 };
  const deadline = Date.now() + timeoutMs;
  let lastId: string | undefined;
  for (let n = 0; Date.now() < deadline; n++) {
    const step = plan(n);
    const reply = await getStream(`/executions/${executionId}/events`, lastId, step.via ?? 'header');
    (seen as { responses: number }).responses++;
    if (reply.status === 204) {
      (seen as { endedBy: Watched['endedBy'] }).endedBy = '204';
      return seen;
    }
    if (reply.status !== 200) throw new Error(`events of ${executionId} → ${reply.status}: ${reply.text}`);
    const kept = reply.events.slice(0, step.keep ?? reply.events.length);
    for (const event of kept) {
      if (event.event === 'transition') seen.transitions.push(Number(event.id));
      if (event.event === 'status') seen.statuses.push((JSON.parse(event.data) as { status: string }).status);
      lastId = event.id;
      if (event.event === 'end') {
        (seen as { endedBy: Watched['endedBy'] }).endedBy = 'end';
        return seen;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, step.pauseMs ?? reply.retry ?? 0));
  }
  throw new Error(`events of ${executionId} did not end within ${timeoutMs} ms: ${JSON.stringify(seen)}`);
}
