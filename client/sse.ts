/** One dispatched server-sent event. */
export interface SseMessage {
  /** The `event` field, or `message`. */
  readonly event: string;
  /** The last event id at dispatch (its own `id`, or the one before it; `''` when none came). */
  readonly id: string;
  readonly data: string;
}

/**
 * An incremental text/event-stream parser, as the HTML standard interprets a stream
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end at CRLF, LF or CR (a CR at the end of a chunk may be the first half of a CRLF split
 * across chunks); a blank line dispatches the event when its data is not empty; `id` sets the last
 * event id; `retry` takes digits only; comments and unknown fields are ignored.
 */
export class SseParser {
  /** The last `retry:` value, in ms. */
  retryMs: number | undefined;
  /** The last event id seen, dispatched or not. */
  lastEventId = '';
  private buffer = '';
  private data = '';
  private type = '';
  /** True when the last chunk ended in CR: a LF starting the next one belongs to it. */
  private pendingCr = false;

  /** Feeds decoded text; returns the events it completes. */
  push(text: string): SseMessage[] {
    let chunk = text;
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    const events: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A CR at the very end may be half of a CRLF: take the line, remember to drop the LF.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      const data = this.data;
      const type = this.type;
      this.data = '';
      this.type = '';
      if (data === '') return undefined;
      return { event: type || 'message', id: this.lastEventId, data: data.slice(0, -1) };
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data += `${value}\n`;
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
