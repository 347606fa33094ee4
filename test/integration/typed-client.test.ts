import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiProblem, createClient, type ExecutionEvent } from '../../client/index.js';
import { checkoutTempDir } from '../support/checkout-temp.js';
import { readmeBlock } from '../support/readme.js';
import { apiKey, baseUrl } from './client.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const dir = checkoutTempDir('typed-client-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const client = () => createClient({ baseUrl: baseUrl(), apiKey: apiKey() });

describe('async-executions/client against the local stack', () => {
  it('runs the README example to the end (on a test task), importing the package by name', async () => {
    const example = readmeBlock('## Client', 'ts');
    const readmeTask = "'document-pipeline', { input: { document_url: 'https://example.com/reports/q3.pdf' } }";
    expect(example).toContain(readmeTask);
    const file = join(dir, 'readme-client.ts');
    writeFileSync(file, example.replace(readmeTask, "'test-slow', { input: { ms: 600 } }"));

    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, ASYNC_EXECUTIONS_URL: baseUrl(), ASYNC_EXECUTIONS_API_KEY: apiKey() },
      timeout: 45_000,
    });

    const lines = stdout.trim().split('\n');
    expect(lines).toContain('succeeded { worked_ms: 600 }');
    expect(lines).toContain('succeeded 100%');
    expect(lines.at(-1)).toMatch(/^409 /);
  });

  it('waits through progress reports with held GETs, each change reported once', async () => {
    const api = client();
    // Progress is written at most once a second: 4 s of work gives about three running updates.
    const { id } = await api.executions.create('test-slow', { input: { ms: 4000 } });
    const seen: string[] = [];

    const done = await api.executions.waitFor(id, { onProgress: (execution) => seen.push(`${execution.status} ${execution.progress.percentage}`), timeoutMs: 30_000 });

    expect(done.status).toBe('succeeded');
    expect(seen.at(-1)).toBe('succeeded 100');
    expect(new Set(seen).size).toBe(seen.length);
    // Progress within the slow step arrives as it is reported, not only at the end.
    expect(seen.filter((entry) => entry.startsWith('running')).length).toBeGreaterThan(2);
  });

  it('returns from waitFor when the execution awaits input, and WaitTimeout when it takes too long', async () => {
    const api = client();
    const waiting = await api.executions.create('test-child-holder', { input: {} });
    const slow = await api.executions.create('test-slow', { input: { ms: 20_000 } });

    expect((await api.executions.waitFor(waiting.id, { timeoutMs: 30_000 })).status).toBe('awaiting_input');
    await expect(api.executions.waitFor(slow.id, { timeoutMs: 1500 })).rejects.toMatchObject({ name: 'WaitTimeout' });

    await api.executions.cancel(waiting.id, 'done');
    await api.executions.cancel(slow.id, 'done');
  });

  it('streams every event in order across bounded responses until end', async () => {
    const api = client();
    const { id } = await api.executions.create('test-slow', { input: { ms: 800 } });

    const events: ExecutionEvent[] = [];
    for await (const event of api.executions.stream(id)) events.push(event);

    const transitions = events.filter((event) => event.type === 'transition');
    expect(transitions.map((event) => event.id)).toEqual(transitions.map((_event, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'end', data: { execution_id: id, status: 'succeeded' } });
    expect(events.some((event) => event.type === 'status' && event.data.progress.step_name === 'work')).toBe(true);
  });

  it('creates a batch, edits tags and lists by tag and batch, typed', async () => {
    const api = client();
    const tag = `client-${Date.now()}`;

    const batch = await api.executions.createBatch([{ task_id: 'test-noop', input: { n: 1 } }, { task_id: 'test-noop', input: { n: 2 } }]);
    const [first, second] = batch.items.map((item) => item.execution!.id);
    await api.executions.setTags(first!, [tag]);
    const tagged = await api.executions.setTags(second!, [tag, 'second']);

    expect(batch.succeeded).toBe(2);
    expect(tagged.tags).toEqual([tag, 'second']);
    const listed: string[] = [];
    for await (const item of api.executions.list({ tag })) listed.push(item.id);
    expect(listed.sort()).toEqual([first, second].sort());
    const inBatch: string[] = [];
    for await (const item of api.executions.list({ batch_id: batch.batch_id })) inBatch.push(item.id);
    expect(inBatch.sort()).toEqual([first, second].sort());
    const failed = await api.executions.createBatch([{ task_id: 'no-such-task', input: {} }]).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ApiProblem);
    expect((failed as ApiProblem).problem.items?.[0]?.status).toBe(404);
  });

  it('follows next_cursor through pages of one', async () => {
    const api = client();
    for (const n of [1, 2, 3]) await api.executions.create('test-noop', { input: { n } });

    const pages: number[] = [];
    const ids = new Set<string>();
    for await (const page of api.executions.list({ task_id: 'test-noop', limit: 1 }).pages()) {
      pages.push(page.items.length);
      for (const item of page.items) ids.add(item.id);
      if (pages.length === 3) break;
    }

    expect(pages).toEqual([1, 1, 1]);
    expect(ids.size).toBe(3);
  });

  it('throws the 400 problem of a bad input, and a 401 problem for a wrong key', async () => {
    const bad = await client().executions.create('test-noop', { input: { n: 'one' } }).catch((error: unknown) => error);
    const refused = await createClient({ baseUrl: baseUrl(), apiKey: 'not-a-key' }).tasks.list().catch((error: unknown) => error);

    expect(bad).toBeInstanceOf(ApiProblem);
    expect((bad as ApiProblem).status).toBe(400);
    expect((bad as ApiProblem).errors.map((error) => error.path)).toEqual(['/input/n']);
    expect(refused).toBeInstanceOf(ApiProblem);
    expect((refused as ApiProblem).status).toBe(401);
  });
});
