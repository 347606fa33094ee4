import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, start, transitions, waitForStatus, type Execution } from './client.js';

// Retry from the failed step (Step Functions' RedriveExecution, run by the local engine) and replay,
// on the local stack. `test-retry`'s second step fails until its `ready` file exists; every step
// notes each run of it in `runs`, so the test sees what ran again and what did not.

const scratch = mkdtempSync(join(tmpdir(), 'recovery-it-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Recovered extends Execution {
  readonly retry_count: number | null;
  readonly replayed_from: string | null;
}

/** A folder of its own for one execution's files. */
const folder = (name: string): string => mkdtempSync(join(scratch, `${name}-`));
const runs = (dir: string): string[] => readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n');

describe('retry from the failed step', () => {
  it('resumes a failed execution at the step that failed: the step before is not run again and keeps its output row', async () => {
    const dir = folder('retry');
    const execution = await start('test-retry', { dir, n: 1 });
    const failed = (await waitForStatus(execution.id, 'failed')) as Recovered;
    expect(failed.error_details).toMatchObject({ message: 'not ready yet', step: { index: 1, name: 'flaky' } });
    expect(failed.retry_count).toBeNull();
    const before = await transitions(execution.id);
    const prepared = before.find((row) => row.type === 'step' && row.step?.name === 'prepare')!;

    writeFileSync(join(dir, 'ready'), '');
    const retried = await api<Recovered>('POST', `/executions/${execution.id}/retry`);

    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'running', retry_count: 1, error: null, completed_at: null });
    const done = (await waitForStatus(execution.id, 'succeeded')) as Recovered;
    expect(done).toMatchObject({ output: { n: 20 }, retry_count: 1, error: null });
    // prepare ran once; flaky failed once and ran again; finish ran once.
    expect(runs(dir)).toEqual(['prepare', 'flaky', 'flaky', 'finish']);
    const rows = await transitions(execution.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'error', 'retry', 'step', 'step', 'finish']);
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rows[2]).toMatchObject({ id: prepared.id, output: prepared.output });
    expect(rows[4]).toMatchObject({ type: 'retry', from: 'failed', to: 'running', step: { index: 1, name: 'flaky' } });
    expect(rows.filter((row) => row.type === 'step').map((row) => row.step?.name)).toEqual(['prepare', 'flaky', 'finish']);
  });

  it('answers 409 to a retry of an execution that is not failed (succeeded, cancelled, running) and to a second concurrent retry', async () => {
    const dir = folder('conflicts');
    const succeeded = await start('test-noop', { n: 1 });
    await waitForStatus(succeeded.id, 'succeeded');
    const slow = await start('test-slow', { ms: 20_000 });
    await waitForStatus(slow.id, 'running');
    const running = await api('POST', `/executions/${slow.id}/retry`);
    await api('POST', `/executions/${slow.id}/cancel`, { reason: 'done testing' });
    const cancelled = await api('POST', `/executions/${slow.id}/retry`);
    const again = await api('POST', `/executions/${succeeded.id}/retry`);

    expect(running.status).toBe(409);
    expect(cancelled.status).toBe(409);
    expect(cancelled.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.status).toBe(409);

    const execution = await start('test-retry', { dir, n: 1 });
    await waitForStatus(execution.id, 'failed');
    writeFileSync(join(dir, 'ready'), '');
    const both = await Promise.all([api('POST', `/executions/${execution.id}/retry`), api('POST', `/executions/${execution.id}/retry`)]);
    expect(both.map((reply) => reply.status).sort()).toEqual([200, 409]);
    const done = (await waitForStatus(execution.id, 'succeeded')) as Recovered;
    expect(done.retry_count).toBe(1);
    expect((await transitions(execution.id)).filter((row) => row.type === 'retry')).toHaveLength(1);
  });

  it('can retry again after the retried step fails again, counting each retry', async () => {
    const dir = folder('twice');
    const execution = await start('test-retry', { dir, n: 2 });
    await waitForStatus(execution.id, 'failed');

    expect((await api('POST', `/executions/${execution.id}/retry`)).status).toBe(200);
    const failedAgain = (await waitForStatus(execution.id, 'failed')) as Recovered;
    expect(failedAgain).toMatchObject({ retry_count: 1, error_details: { message: 'not ready yet' } });
    writeFileSync(join(dir, 'ready'), '');
    expect((await api<Recovered>('POST', `/executions/${execution.id}/retry`)).body.retry_count).toBe(2);

    expect(await waitForStatus(execution.id, 'succeeded')).toMatchObject({ output: { n: 30 } });
    expect(runs(dir)).toEqual(['prepare', 'flaky', 'flaky', 'flaky', 'finish']);
    expect((await transitions(execution.id)).map((row) => row.type)).toEqual(['init', 'start', 'step', 'error', 'retry', 'error', 'retry', 'step', 'step', 'finish']);
  });
});

describe('retry of a failed parallel or map step', () => {
  it('runs only the failed work again: a branch or item whose step was recorded is not run again, and no row is written twice', async () => {
    const dir = folder('nested');
    const execution = await start('test-retry-nested', { dir, items: ['a', 'boom', 'c'] });
    const first = (await waitForStatus(execution.id, 'failed')) as Recovered;
    expect(first.error_details).toMatchObject({ message: 'right not ready', step: { index: 0, name: 'both' } });

    writeFileSync(join(dir, 'ready'), '');
    expect((await api('POST', `/executions/${execution.id}/retry`)).status).toBe(200);
    const second = (await waitForStatus(execution.id, 'failed')) as Recovered;
    expect(second.error_details).toMatchObject({ message: 'item not ready', step: { index: 2, name: 'each' } });

    writeFileSync(join(dir, 'ready-map'), '');
    expect((await api<Recovered>('POST', `/executions/${execution.id}/retry`)).body.retry_count).toBe(2);
    const done = await waitForStatus(execution.id, 'succeeded');
    expect(done.output).toEqual(['a', 'boom', 'c']);

    const ran = runs(dir);
    // The left branch ran once (locally its parallel runs again whole, and its recorded step is a no-op); the right one twice.
    expect(ran.filter((line) => line === 'left')).toHaveLength(1);
    expect(ran.filter((line) => line === 'right')).toHaveLength(2);
    expect(ran.filter((line) => line === 'item:a')).toHaveLength(1);
    expect(ran.filter((line) => line === 'item:boom')).toHaveLength(2);
    expect(ran.filter((line) => line === 'item:c')).toHaveLength(1);
    const rows = await transitions(execution.id);
    expect(rows.map((row) => row.seq)).toEqual(rows.map((_, index) => index + 1));
    const keys = rows.filter((row) => row.scope !== null).map((row) => `${row.type}:${row.scope}:${row.step?.name ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(rows.filter((row) => row.type === 'retry')).toHaveLength(2);
    expect(rows.filter((row) => row.type === 'step' && row.scope === null).map((row) => row.step?.name)).toEqual(['both', 'unwrap', 'each']);
  });
});

describe('replay', () => {
  it('starts a new execution with the same input, or an override checked against the task\'s schema, linked by replayed_from', async () => {
    const dir = folder('replay');
    const original = await start('test-retry', { dir, n: 1 }, { team: 'a' });
    await waitForStatus(original.id, 'failed');
    writeFileSync(join(dir, 'ready'), '');

    const same = await api<Recovered>('POST', `/executions/${original.id}/replay`);
    const other = await api<Recovered>('POST', `/executions/${original.id}/replay`, { input: { dir, n: 5 }, metadata: { team: 'b' } });
    const invalid = await api('POST', `/executions/${original.id}/replay`, { input: { dir } });
    const unknownField = await api('POST', `/executions/${original.id}/replay`, { inputs: {} });

    expect(same.status).toBe(201);
    expect(same.headers.get('location')).toBe(same.body.status_url);
    expect(same.body).toMatchObject({ replayed_from: original.id, input: { dir, n: 1 }, metadata: { team: 'a' }, retry_count: null });
    expect(same.body.id).not.toBe(original.id);
    expect(other.status).toBe(201);
    expect(other.body).toMatchObject({ replayed_from: original.id, input: { dir, n: 5 }, metadata: { team: 'b' } });
    expect(invalid.status).toBe(400);
    expect(unknownField.status).toBe(400);
    expect(await waitForStatus(same.body.id, 'succeeded')).toMatchObject({ output: { n: 20 } });
    expect(await waitForStatus(other.body.id, 'succeeded')).toMatchObject({ output: { n: 60 } });
    // The original stays as it was.
    expect((await api<Recovered>('GET', `/executions/${original.id}`)).body).toMatchObject({ status: 'failed', retry_count: null });
  });

  it('honours an Idempotency-Key like a create: the same replay again answers 200 with the first', async () => {
    const original = await start('test-noop', { n: 3 });
    await waitForStatus(original.id, 'succeeded');
    const headers = { 'idempotency-key': `replay-${original.id}` };

    const first = await api<Recovered>('POST', `/executions/${original.id}/replay`, {}, headers);
    const repeat = await api<Recovered>('POST', `/executions/${original.id}/replay`, {}, headers);
    const changed = await api('POST', `/executions/${original.id}/replay`, { input: { n: 4 } }, headers);

    expect(first.status).toBe(201);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    expect(changed.status).toBe(422);
    expect((await api('POST', '/executions/01942500-0000-7000-8000-000000000009/replay')).status).toBe(404);
  });
});
