import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { api, apiKey, start, waitForStatus } from './client.js';
import { parseSse } from './sse.js';

/** A JSON log line a function wrote (the stack's output holds them, among its own lines). */
interface LogLine {
  readonly message: string;
  readonly timestamp: string;
  readonly [field: string]: unknown;
}

/** The function log lines so far that match `wanted`. */
function logLines(wanted: (line: LogLine) => boolean): LogLine[] {
  return readFileSync(inject('stackOutputPath'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    })
    .filter(wanted);
}

const streamUrl = (id: string) => `${inject('eventsStreamUrl')}/executions/${id}/events`;

describe('the streaming events Function URL through the local stack', () => {
  it('streams the first transition while the execution runs, in one response, and end at the end', async () => {
    // A step of 3 s: the stream must deliver the first transitions well before the execution ends.
    const created = await start('test-slow', { ms: 3_000 });
    const opened = Date.now();
    const response = await fetch(streamUrl(created.id), { headers: { authorization: `Bearer ${apiKey()}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');

    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let firstTransitionAfterMs: number | undefined;
    let chunks = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks += 1;
      text += value;
      if (firstTransitionAfterMs === undefined && /event: transition/.test(text)) firstTransitionAfterMs = Date.now() - opened;
    }
    const body = parseSse(text);
    const names = body.events.map((event) => event.event);

    expect(firstTransitionAfterMs).toBeLessThan(2_000);
    expect(chunks).toBeGreaterThan(1);
    expect(names).toContain('transition');
    expect(body.events.at(-1)).toMatchObject({ event: 'end' });
    expect(JSON.parse(body.events.at(-1)!.data)).toMatchObject({ execution_id: created.id, status: 'succeeded' });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(2_500);
  });

  it('refuses a request without a valid key with a 401 problem+json, and answers a CORS preflight', async () => {
    const created = await start('test-noop', { n: 1 });

    const refused = await fetch(streamUrl(created.id), { headers: { authorization: 'Bearer nope' } });
    const preflight = await fetch(streamUrl(created.id), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,last-event-id' },
    });

    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(await refused.json()).toMatchObject({ status: 401 });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('last-event-id');
  });

  it('stops reading the table within about a second once the client disconnects (it would poll for 15 minutes)', async () => {
    // Waits for 5 minutes: nothing would end the stream but the client leaving.
    const created = await start('test-child-holder', {});
    await waitForStatus(created.id, 'awaiting_input');
    const client = new AbortController();
    const response = await fetch(streamUrl(created.id), { headers: { authorization: `Bearer ${apiKey()}` }, signal: client.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: status/.test(text)) text += (await reader.read()).value ?? '';

    const leftAt = Date.now();
    client.abort();
    const closed = (line: LogLine) => line.message === 'events stream closed' && line.execution_id === created.id;
    const deadline = leftAt + 10_000;
    while (logLines(closed).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await api('POST', `/executions/${created.id}/cancel`, { reason: 'test done' });

    const [line] = logLines(closed);
    expect(line).toMatchObject({ reason: 'client-gone', via: 'key' });
    expect(Date.parse(line!.timestamp) - leftAt).toBeLessThan(1_500);
  });
});
