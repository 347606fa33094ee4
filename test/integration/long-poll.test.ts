import { describe, expect, it } from 'vitest';
import { api, start, waitForStatus, type Execution, type Reply } from './client.js';

/** Starts an approval and returns it once it waits for the decision, with its ETag. */
async function awaitingApproval(): Promise<{ id: string; etag: string; view: Execution }> {
  const created = await start('sample-approval', { title: 'Long poll', body: 'Held GETs.' });
  await waitForStatus(created.id, 'awaiting_input');
  const reply = await api<Execution>('GET', `/executions/${created.id}`);
  const etag = reply.headers.get('etag');
  if (reply.status !== 200 || !etag) throw new Error(`GET → ${reply.status} without an ETag`);
  return { id: created.id, etag, view: reply.body };
}

/** A GET sent now, with when its answer arrived (ms since the epoch). */
function heldGet(id: string, headers: Record<string, string>): Promise<{ reply: Reply<Execution | null>; answeredAt: number }> {
  return api<Execution | null>('GET', `/executions/${id}`, undefined, headers).then((reply) => ({ reply, answeredAt: Date.now() }));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Concurrent: each holds a request for seconds, and none touches another's execution.
describe.concurrent('GET /executions/{id} held with Prefer: wait, through the local gateway', () => {
  it('answers a held GET within about a second of a resume sent by another request, with the new status and ETag', async () => {
    const { id, etag, view } = await awaitingApproval();
    const held = heldGet(id, { 'if-none-match': etag, prefer: 'wait=10' });
    let answered = false;
    void held.then(() => (answered = true));
    // Well into the hold, where it polls once a second.
    await pause(2_500);
    expect(answered).toBe(false);

    const resumedAt = Date.now();
    const resume = await api('POST', `/executions/${id}/resume`, { input: { approved: true } });
    const { reply, answeredAt } = await held;

    expect(resume.status).toBe(200);
    expect(reply.status).toBe(200);
    expect(reply.body?.status).not.toBe('awaiting_input');
    expect(reply.body?.transition_count).toBeGreaterThan(view.transition_count);
    expect(reply.headers.get('etag')).not.toBe(etag);
    expect(reply.headers.get('preference-applied')).toBe('wait=10');
    // A poll a second, plus the resume's own write; at most 2 s on a loaded machine.
    expect(answeredAt - resumedAt).toBeLessThan(2_000);
  });

  it('answers 304 without a body after the wait when nothing changed', async () => {
    const { id, etag } = await awaitingApproval();
    const sentAt = Date.now();

    const { reply, answeredAt } = await heldGet(id, { 'if-none-match': `W/${etag}`, prefer: 'wait=2' });

    expect(reply.status).toBe(304);
    expect(reply.body).toBeNull();
    expect(reply.headers.get('content-type')).toBeNull();
    expect(reply.headers.get('etag')).toBe(etag);
    expect(reply.headers.get('preference-applied')).toBe('wait=2');
    expect(answeredAt - sentAt).toBeGreaterThanOrEqual(2_000);
    expect(answeredAt - sentAt).toBeLessThan(4_000);
  });

  it('holds a request the full 25 s when a longer wait is asked (the function and the gateway allow it), then answers 304', async () => {
    const { id, etag } = await awaitingApproval();
    const sentAt = Date.now();

    const { reply, answeredAt } = await heldGet(id, { 'if-none-match': etag, prefer: 'wait=60' });

    expect(reply.status).toBe(304);
    expect(reply.headers.get('preference-applied')).toBe('wait=25');
    expect(answeredAt - sentAt).toBeGreaterThanOrEqual(25_000);
    expect(answeredAt - sentAt).toBeLessThan(28_000);
  }, 60_000);

  it('answers at once, with 200 and an ETag, when If-None-Match names an older version', async () => {
    const { id, etag, view } = await awaitingApproval();
    const sentAt = Date.now();

    const { reply, answeredAt } = await heldGet(id, { 'if-none-match': '"1-older"', prefer: 'wait=10' });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(view);
    expect(reply.headers.get('etag')).toBe(etag);
    expect(reply.headers.get('preference-applied')).toBeNull();
    expect(answeredAt - sentAt).toBeLessThan(2_000);
  });
});

describe('GET /executions/{id}/transitions with If-None-Match', () => {
  it('answers 304 for the page the caller has, and 200 once it has grown', async () => {
    const { id } = await awaitingApproval();
    const page = await api('GET', `/executions/${id}/transitions`);
    const etag = page.headers.get('etag')!;

    const unchanged = await api('GET', `/executions/${id}/transitions`, undefined, { 'if-none-match': etag });
    await api('POST', `/executions/${id}/resume`, { input: { approved: false } });
    await waitForStatus(id, 'succeeded');
    const grown = await api<{ items: unknown[] }>('GET', `/executions/${id}/transitions`, undefined, { 'if-none-match': etag });

    expect(page.status).toBe(200);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeNull();
    expect(grown.status).toBe(200);
    expect(grown.headers.get('etag')).not.toBe(etag);
  });
});
