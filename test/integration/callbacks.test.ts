import { describe, expect, it } from 'vitest';
import { api, baseUrl, start, transitions, waitForStatus, type Execution } from './client.js';

/** The resume link of an execution's wait, read from its wait row. */
async function linkOf(id: string): Promise<string> {
  const wait = (await transitions(id)).find((row) => row.type === 'wait');
  if (!wait?.callback_url) throw new Error(`no wait row with a callback_url in ${id}`);
  return wait.callback_url;
}

/** POSTs JSON to a link as a stranger would: no Authorization header at all. */
async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

/** A sample-approval execution waiting at `review`. */
async function waiting(): Promise<Execution> {
  const created = await start('sample-approval', { title: 'Launch', body: 'We launch next week.' });
  return waitForStatus(created.id, 'awaiting_input');
}

describe('resume links', () => {
  it('resumes a waiting execution through the callback_url of its wait row, without an API key, once', async () => {
    const execution = await waiting();
    const url = await linkOf(execution.id);
    expect(url).toMatch(new RegExp(`^${baseUrl().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/callbacks/[A-Za-z0-9_-]{43}$`));

    const first = await post(url, { approved: true, comment: 'ship it' });

    expect(first.status).toBe(200);
    expect(first.body).toEqual({ resumed: true, execution_id: execution.id, step: { index: 1, name: 'review' } });
    const done = await waitForStatus(execution.id, 'succeeded');
    expect(done.output).toEqual({ decision: 'approved', comment: 'ship it', reviewed_by: null });

    const second = await post(url, { approved: false });

    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect(second.headers.get('x-should-retry')).toBe('false');
    const rows = await transitions(execution.id);
    expect(rows.filter((row) => row.type === 'resume')).toHaveLength(1);
    expect((await api<Execution>('GET', `/executions/${execution.id}`)).body.output).toEqual(done.output);
    // The history still shows the link on the wait row; only the nonce it was made from is stored.
    expect(rows.find((row) => row.type === 'wait')?.callback_url).toBe(url);
  });

  it('answers 400 to a body the wait\'s schema refuses, and the execution keeps waiting for a good one', async () => {
    const execution = await waiting();
    const url = await linkOf(execution.id);

    const refused = await post(url, { approved: 'yes' });

    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: '/approved', message: 'must be true or false' }]);
    expect((await api<Execution>('GET', `/executions/${execution.id}`)).body.status).toBe('awaiting_input');
    expect((await post(url, { approved: false })).status).toBe(200);
    expect((await waitForStatus(execution.id, 'succeeded')).output).toMatchObject({ decision: 'rejected' });
  });

  it('answers 404 to the link of a cancelled execution', async () => {
    const execution = await waiting();
    const url = await linkOf(execution.id);
    expect((await api('POST', `/executions/${execution.id}/cancel`, { reason: 'not needed' })).status).toBe(200);

    const reply = await post(url, { approved: true });

    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ status: 404, type: '/problems/not-found' });
    expect((await api<Execution>('GET', `/executions/${execution.id}`)).body.status).toBe('cancelled');
  });

  it('resumes nothing once the wait was resumed through the API', async () => {
    const execution = await waiting();
    const url = await linkOf(execution.id);
    expect((await api('POST', `/executions/${execution.id}/resume`, { input: { approved: true } })).status).toBe(200);

    expect((await post(url, { approved: false })).status).toBe(409);
    expect((await waitForStatus(execution.id, 'succeeded')).output).toMatchObject({ decision: 'approved' });
  });

  it('answers 404 problem+json, not 401, to made-up and malformed tokens', async () => {
    for (const token of ['A'.repeat(43), 'nope', '%00', '..%2F..%2Fexecutions', 'A'.repeat(2000)]) {
      const reply = await post(`${baseUrl()}/callbacks/${token}`, { approved: true });

      expect(reply.status, token).toBe(404);
      expect(reply.headers.get('content-type'), token).toBe('application/problem+json');
    }
  });
});
