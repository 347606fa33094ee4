import { describe, expect, inject, it } from 'vitest';
import { api, baseUrl, start, waitForStatus } from './client.js';
import { parseSse } from './sse.js';

/** The answer of `POST /executions/{id}/stream-token`. */
interface Minted {
  readonly token: string;
  readonly expires_at: string;
  readonly events_url: string;
}

async function mint(id: string, body?: unknown): Promise<Minted> {
  const reply = await api<Minted>('POST', `/executions/${id}/stream-token`, body);
  if (reply.status !== 201) throw new Error(`stream-token of ${id} → ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** GETs `url` as a browser's `EventSource` does: no Authorization header, an Origin. */
const asEventSource = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers: { origin: 'https://app.example', accept: 'text/event-stream', ...headers } });

describe('stream tokens for a browser EventSource, on the local stack', () => {
  it('mints a token whose events_url streams the events from the streaming URL to `end`, without a key', async () => {
    const created = await start('test-slow', { ms: 1_000 });
    const before = Date.now();

    const minted = await mint(created.id, { ttl_seconds: 60 });
    const response = await asEventSource(minted.events_url);
    const text = await response.text();

    expect(minted.events_url).toBe(`${inject('eventsStreamUrl')}/executions/${created.id}/events?token=${minted.token}`);
    expect(Date.parse(minted.expires_at) - before).toBeGreaterThan(55_000);
    expect(Date.parse(minted.expires_at) - before).toBeLessThanOrEqual(61_000);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const events = parseSse(text).events;
    expect(events.map((event) => event.event)).toContain('transition');
    expect(events.at(-1)).toMatchObject({ event: 'end' });
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ execution_id: created.id, status: 'succeeded' });
  });

  it("lets the token read the HTTP API's bounded events route too, and no other route", async () => {
    const created = await start('test-noop', { n: 1 });
    await waitForStatus(created.id, 'succeeded');
    const { token } = await mint(created.id);

    const events = await asEventSource(`${baseUrl()}/executions/${created.id}/events?token=${token}`);
    const read = await api('GET', `/executions/${created.id}?token=${token}`, undefined, { authorization: null });
    const asKey = await api('GET', `/executions/${created.id}`, undefined, { authorization: `Bearer ${token}` });
    const cancel = await api('POST', `/executions/${created.id}/cancel`, {}, { authorization: `Bearer ${token}` });
    const another = await api('POST', `/executions/${created.id}/stream-token`, undefined, { authorization: `Bearer ${token}` });
    const julep = await api('GET', `/executions/${created.id}/status.stream?token=${token}`, undefined, { authorization: null });

    expect(events.status).toBe(200);
    expect(parseSse(await events.text()).events.at(-1)).toMatchObject({ event: 'end' });
    // Without an Authorization header API Gateway itself answers 401; as a key the token is unknown.
    expect([read.status, asKey.status, cancel.status, another.status, julep.status]).toEqual([401, 401, 401, 401, 401]);
    expect(asKey.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a token for another execution, a tampered one and a forged one with a 401 problem+json before any event', async () => {
    const mine = await start('test-noop', { n: 1 });
    const other = await start('test-noop', { n: 2 });
    const { token } = await mint(mine.id);
    const [claims, signature] = token.split('.') as [string, string];
    const [tenant, id, expiresAt] = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as [string, string, number];
    const tampered = `${Buffer.from(JSON.stringify([tenant, id, expiresAt + 86_400])).toString('base64url')}.${signature}`;
    const forged = `${claims}.${'A'.repeat(43)}`;
    const streamUrl = (execution: string, value: string) => `${inject('eventsStreamUrl')}/executions/${execution}/events?token=${value}`;

    const replies = await Promise.all([
      asEventSource(streamUrl(other.id, token)),
      asEventSource(streamUrl(mine.id, tampered)),
      asEventSource(streamUrl(mine.id, forged)),
      asEventSource(`${baseUrl()}/executions/${other.id}/events?token=${token}`),
    ]);

    for (const reply of replies) {
      expect(reply.status).toBe(401);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
      expect(await reply.json()).toMatchObject({ status: 401, detail: expect.stringContaining('stream token') });
    }
  });

  it('answers 400 problem+json to a lifetime out of bounds, and 404 to an execution the key cannot see', async () => {
    const created = await start('test-noop', { n: 1 });

    const short = await api('POST', `/executions/${created.id}/stream-token`, { ttl_seconds: 59 });
    const unknown = await api('POST', '/executions/019b7ca9-8c88-71f4-b9cc-4734b7ac0d5d/stream-token');

    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({ errors: [{ path: '/ttl_seconds' }] });
    expect(unknown.status).toBe(404);
  });
});
