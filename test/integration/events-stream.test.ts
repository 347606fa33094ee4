import { describe, expect, inject, it } from 'vitest';
import { apiKey, start } from './client.js';
import { parseSse } from './sse.js';

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
});
