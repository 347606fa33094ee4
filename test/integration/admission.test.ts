import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { api, type Execution } from './client.js';

// Concurrency limits, priority and delayed starts on the local stack: the keys CLI sets a tenant's
// limits, the authorizer passes them on, admission (stream + schedule, every second here) starts
// the held work in its turn.

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

async function keysCli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/keys.ts', ...args, '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName')],
    { cwd: ROOT },
  );
  return stdout;
}

interface Queued extends Execution {
  readonly started_at: string | null;
  readonly completed_at: string | null;
  readonly priority: number | null;
  readonly concurrency_key: string | null;
  readonly start_at: string | null;
  readonly queue?: { reason: string; position: number | null; start_at: string | null; limit: { scope: string; limit: number; running: number } | null } | null;
}

/** A tenant with these limits (set before its key is made, so the key carries them) and its key. */
async function limitedTenant(tenant: string, ...limits: string[]): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; body: Queued }>> {
  await keysCli('concurrency', 'set', '--tenant', tenant, ...limits);
  const key = (await keysCli('create', '--tenant', tenant)).trim().split('\n').at(-1)!;
  return (method, path, body) => api<Queued>(method, path, body, { authorization: `Bearer ${key}` });
}

const slow = (ms: number) => ({ ms });

async function createAs(
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Queued }>,
  fields: Record<string, unknown>,
): Promise<Queued> {
  const reply = await call('POST', '/tasks/test-slow/executions', { input: slow(1200), ...fields });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

async function readAs(call: (method: string, path: string) => Promise<{ status: number; body: Queued }>, id: string): Promise<Queued> {
  const reply = await call('GET', `/executions/${id}`);
  expect(reply.status).toBe(200);
  return reply.body;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Polls an execution of the caller's tenant until it has `status`. */
const waitAs = (call: (method: string, path: string) => Promise<{ status: number; body: Queued }>, id: string, status: string, timeoutMs = 60_000) =>
  until(`${id} to be ${status}`, async () => {
    const view = await readAs(call, id);
    return view.status === status ? view : undefined;
  }, timeoutMs);

const asDefault = (method: string, path: string, body?: unknown) => api<Queued>(method, path, body);

describe('a tenant limit of 2 with 10 creates', () => {
  it('runs 2 at a time, holds 8 queued with their positions, and starts them highest priority first, first in first out within one', async () => {
    const call = await limitedTenant('flow-two', '--limit', '2');
    // The first two run long enough for the rest to be created and looked at while they wait.
    const first = [await createAs(call, { input: slow(8000) }), await createAs(call, { input: slow(8000) })];
    expect(first.map((execution) => execution.status)).toEqual(['queued', 'queued']);
    await until('both first executions to run', async () => {
      const views = await Promise.all(first.map((execution) => readAs(call, execution.id)));
      return views.every((view) => view.status === 'running') ? true : undefined;
    });

    const priorities = [1, 5, 3, 2, 5, 4, 1, 3];
    const rest: Queued[] = [];
    for (const priority of priorities) rest.push(await createAs(call, { priority, input: slow(800) }));
    // Highest priority first, then by creation (ids are time-ordered).
    const expected = rest
      .map((execution, index) => ({ id: execution.id, priority: priorities[index]!, index }))
      .sort((a, b) => b.priority - a.priority || a.index - b.index)
      .map((entry) => entry.id);

    const waiting = await until('the 8 to be placed in the queue', async () => {
      const views = await Promise.all(rest.map((execution) => readAs(call, execution.id)));
      return views.every((view) => view.queue?.position != null) ? views : undefined;
    });
    expect(waiting.map((view) => view.status)).toEqual(Array(8).fill('queued'));
    expect(waiting.every((view) => view.queue?.reason === 'tenant_limit')).toBe(true);
    expect(waiting[0]!.queue?.limit).toEqual({ scope: 'TENANT', limit: 2, running: 2 });
    const byPosition = [...waiting].sort((a, b) => a.queue!.position! - b.queue!.position!).map((view) => view.id);
    expect(byPosition).toEqual(expected);
    expect(waiting.map((view) => view.queue!.position).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // Never more than 2 running, until all 10 have finished.
    const all = [...first, ...rest];
    let most = 0;
    const done = await until(
      'all 10 to finish',
      async () => {
        const views = await Promise.all(all.map((execution) => readAs(call, execution.id)));
        most = Math.max(most, views.filter((view) => view.status === 'running' || view.status === 'awaiting_input').length);
        return views.every((view) => TERMINAL.has(view.status)) ? views : undefined;
      },
      90_000,
    );
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBe(2);
    expect(done.map((view) => view.status)).toEqual(Array(10).fill('succeeded'));
    expect(done.every((view) => view.queue === null)).toBe(true);

    // Started in that order: two admitted by one freed pair may start their first step a moment apart either way.
    const startedAt = new Map(done.map((view) => [view.id, Date.parse(view.started_at!)]));
    for (let i = 0; i < expected.length; i++) {
      for (let j = i + 1; j < expected.length; j++) {
        expect(startedAt.get(expected[i]!)!, `${i} before ${j}`).toBeLessThanOrEqual(startedAt.get(expected[j]!)! + 500);
      }
    }
  }, 150_000);
});

describe('limits set on a tenant that already has a key', () => {
  it('marks its keys, so its creates beyond the limit are held, and clear unmarks them', async () => {
    const key = (await keysCli('create', '--tenant', 'flow-late')).trim().split('\n').at(-1)!;
    const set = await keysCli('concurrency', 'set', '--tenant', 'flow-late', '--limit', '1');
    expect(set).toContain('1 running in all (1 API key marked)');
    const call = (method: string, path: string, body?: unknown) => api<Queued>(method, path, body, { authorization: `Bearer ${key}` });

    const running = await createAs(call, { input: slow(2500) });
    const held = await createAs(call, {});

    expect(held.status).toBe('queued');
    await waitAs(call, held.id, 'succeeded');
    expect(Date.parse((await readAs(call, held.id)).started_at!)).toBeGreaterThanOrEqual(Date.parse((await readAs(call, running.id)).completed_at!));
    expect(await keysCli('concurrency', 'clear', '--tenant', 'flow-late')).toContain('no limit (1 API key marked)');
  }, 60_000);
});

describe('the keys CLI refusing a limit', () => {
  it('names the text it refuses and says what parseArgs found, without a stack trace', async () => {
    await expect(keysCli('concurrency', 'set', '--tenant', 'flow-typo', '--limit', 'abc')).rejects.toThrow(/The tenant limit must be a whole number from 1 to 100000, not "abc"\./);
    const negative = keysCli('concurrency', 'set', '--tenant', 'flow-typo', '--limit', '-1');
    await expect(negative).rejects.toThrow(/Option '--limit' argument is ambiguous/);
    await expect(negative).rejects.not.toThrow(/node:internal|ERR_PARSE_ARGS/);
    expect(await keysCli('concurrency', 'show', '--tenant', 'flow-typo')).toContain('no limit');
  }, 30_000);
});

describe('cancelling a queued execution', () => {
  it('cancels it where it waits and frees nothing it did not hold: the next one still waits for the running one', async () => {
    const call = await limitedTenant('flow-cancel', '--limit', '1');
    const running = await createAs(call, { input: slow(2500) });
    await until('the first to run', async () => ((await readAs(call, running.id)).status === 'running' ? true : undefined));
    const doomed = await createAs(call, {});
    const next = await createAs(call, {});
    await until('the two to be queued', async () => ((await readAs(call, next.id)).queue?.position === 2 ? true : undefined));

    const cancelled = await call('POST', `/executions/${doomed.id}/cancel`, { reason: 'not needed' });

    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const after = await until('the next to move up', async () => {
      const view = await readAs(call, next.id);
      return view.queue?.position === 1 ? view : undefined;
    });
    expect(after).toMatchObject({ status: 'queued', queue: { reason: 'tenant_limit', limit: { scope: 'TENANT', limit: 1, running: 1 } } });
    // It starts only when the running one ends, and all end well.
    const finished = await waitAs(call, next.id, 'succeeded');
    const first = await readAs(call, running.id);
    expect(Date.parse(finished.started_at!)).toBeGreaterThanOrEqual(Date.parse(first.completed_at!));
    expect((await readAs(call, doomed.id)).status).toBe('cancelled');
  }, 60_000);
});

describe('delayed starts', () => {
  it('holds an execution with delay_seconds queued with its start time, then starts it on time', async () => {
    const created = Date.now();
    const reply = await api<Queued>('POST', '/tasks/test-noop/executions', { input: { n: 1 }, delay_seconds: 3 });

    expect(reply.status).toBe(201);
    expect(reply.body.status).toBe('queued');
    const startAt = Date.parse(reply.body.start_at!);
    expect(startAt).toBeGreaterThanOrEqual(created + 3000);
    const waiting = await until('it to be placed', async () => {
      const view = (await api<Queued>('GET', `/executions/${reply.body.id}`)).body;
      return view.queue?.reason === 'start_at' ? view : undefined;
    });
    expect(waiting.queue).toEqual({ reason: 'start_at', position: null, start_at: reply.body.start_at, limit: null });

    const done = await waitAs(asDefault, reply.body.id, 'succeeded', 30_000);
    const started = Date.parse(done.started_at!);
    expect(started).toBeGreaterThanOrEqual(startAt);
    // The schedule runs every second here (every minute deployed).
    expect(started - startAt).toBeLessThan(3000);
  }, 60_000);

  it('starts at once with a start_at that has passed, and answers 400 to one over a year ahead or to both fields', async () => {
    const past = await api<Queued>('POST', '/tasks/test-noop/executions', { input: { n: 1 }, start_at: '2020-01-01T00:00:00Z' });
    const far = await api('POST', '/tasks/test-noop/executions', { input: { n: 1 }, start_at: new Date(Date.now() + 400 * 86_400_000).toISOString() });
    const both = await api('POST', '/tasks/test-noop/executions', { input: { n: 1 }, start_at: new Date(Date.now() + 60_000).toISOString(), delay_seconds: 5 });

    expect(past.status).toBe(201);
    expect(past.body.start_at).toBeNull();
    await waitAs(asDefault, past.body.id, 'succeeded', 15_000);
    expect(far.status).toBe(400);
    expect(both.status).toBe(400);
  }, 30_000);
});

describe('fairness between concurrency keys', () => {
  it('passes over a key at its limit: another key starts while the busy key\'s work waits with reason key_limit', async () => {
    const call = await limitedTenant('flow-keys', '--limit', '3', '--key-limit', '1');
    const busy: Queued[] = [];
    for (let i = 0; i < 3; i++) busy.push(await createAs(call, { concurrency_key: 'busy', input: slow(2000) }));
    const other = await createAs(call, { concurrency_key: 'other', input: slow(2000) });

    const views = await until('the first of each key to run', async () => {
      const all = await Promise.all([...busy, other].map((execution) => readAs(call, execution.id)));
      return all[0]!.status === 'running' && all[3]!.status === 'running' ? all : undefined;
    });
    expect(views[1]).toMatchObject({ status: 'queued', concurrency_key: 'busy', queue: { reason: 'key_limit', limit: { scope: 'KEY#busy', limit: 1, running: 1 } } });
    expect(views[2]).toMatchObject({ status: 'queued', queue: { reason: 'key_limit' } });
    for (const execution of [...busy, other]) await waitAs(call, execution.id, 'succeeded');
  }, 90_000);
});
