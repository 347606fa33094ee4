import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../../../client/sse.js';

const STREAM = 'retry: 250\r\n\r\n: keep-alive\r\nid: 1\r\nevent: transition\r\ndata: {"seq":1}\r\n\r\nid: 2\revent: status\rdata: {"a":\rdata: 1}\r\rid: 3\nevent: end\ndata: {"status":"succeeded"}\n\n';

const parseAll = (chunks: readonly string[]): { events: SseMessage[]; parser: SseParser } => {
  const parser = new SseParser();
  return { events: chunks.flatMap((chunk) => parser.push(chunk)), parser };
};

describe('SseParser', () => {
  it('dispatches each event at its blank line with its type, last id and data lines joined', () => {
    const { events, parser } = parseAll([STREAM]);

    expect(events).toEqual([
      { event: 'transition', id: '1', data: '{"seq":1}' },
      { event: 'status', id: '2', data: '{"a":\n1}' },
      { event: 'end', id: '3', data: '{"status":"succeeded"}' },
    ]);
    expect(parser.retryMs).toBe(250);
  });

  it('gives the same events wherever the chunks split the text, a CRLF split in two included', () => {
    const whole = parseAll([STREAM]).events;
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)]).events, `split at ${cut}`).toEqual(whole);
    }
    expect(parseAll([...STREAM]).events).toEqual(whole);
  });

  it('holds an event back until its blank line arrives, and drops one without data', () => {
    const parser = new SseParser();

    expect(parser.push('id: 7\nevent: status\ndata: {}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'status', id: '7', data: '{}' }]);
    expect(parser.push('event: nothing\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('7');
  });

  it('ignores a retry that is not all digits and an id holding NUL', () => {
    const { events, parser } = parseAll(['retry: 1.5\nid: 4\0\ndata: x\n\n']);

    expect(parser.retryMs).toBeUndefined();
    expect(events).toEqual([{ event: 'message', id: '', data: 'x' }]);
  });
});
