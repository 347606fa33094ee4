import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ApiProblem, createClient } from '../../client/index.js';
import { api, baseUrl, type Reply } from './client.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/async-executions.js');
const scratch = mkdtempSync(join(tmpdir(), 'rate-it-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the keys CLI (npm run keys) against the test stack's DynamoDB Local. */
async function keysCli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/keys.ts', ...args, '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName')],
    { cwd: ROOT },
  );
  return stdout;
}

/** A new key of `tenant` with these keys CLI options (`--create-rate 3/10s`…): its secret and its id. */
async function newKey(tenant: string, ...options: string[]): Promise<{ key: string; id: string; printed: string }> {
  const printed = await keysCli('create', '--tenant', tenant, '--name', 'rate limits', ...options);
  return { key: printed.trim().split('\n').at(-1)!, id: /Created key (\w+)/.exec(printed)![1]!, printed };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const createWith = (key: string, n = 1) => api('POST', '/tasks/test-noop/executions', { input: { n } }, bearer(key));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Waits for the start of the next fixed window of `seconds` (windows are aligned to the epoch, on
 * this machine's clock, which the stack shares), so a burst of requests falls in one window.
 */
async function nextWindow(seconds: number): Promise<void> {
  const ms = seconds * 1000;
  await sleep(ms - (Date.now() % ms) + 50);
}

const statuses = (replies: readonly Reply[]) => replies.map((reply) => reply.status);

describe('rate limits per API key on the local stack', () => {
  it('admits exactly the create limit of a key per window, then answers 429 with Retry-After and the RateLimit fields; reads and another key of the tenant go on; the next window admits again', async () => {
    const first = await newKey('rate-tenant', '--create-rate', '3/10s');
    const second = await newKey('rate-tenant', '--create-rate', '3/10s');
    expect(first.printed).toContain('rate limits: create 3/10s, read default');

    await nextWindow(10);
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await createWith(first.key, i));
    const read = await api('GET', '/executions?limit=5', undefined, bearer(first.key));
    const other = await createWith(second.key);

    expect(statuses(replies)).toEqual([201, 201, 201, 429, 429]);
    expect(replies.slice(0, 3).map((reply) => reply.headers.get('ratelimit-policy'))).toEqual(Array(3).fill('"create";q=3;w=10'));
    expect(replies.slice(0, 3).map((reply) => reply.headers.get('ratelimit')?.replace(/;t=\d+$/, ''))).toEqual(['"create";r=2', '"create";r=1', '"create";r=0']);
    const refused = replies[3]!;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body).toMatchObject({ type: '/problems/rate-limited', title: 'Too many requests.', status: 429 });
    expect(String(refused.body.detail)).toContain('create limit of your API key (3 per 10 s)');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(refused.headers.get('ratelimit')).toBe(`"create";r=0;t=${retryAfter}`);
    expect(refused.headers.get('ratelimit-policy')).toBe('"create";q=3;w=10');
    // Only the admitted creates exist.
    expect((read.body as { items: unknown[] }).items).toHaveLength(3);
    expect(read.status).toBe(200);
    expect(read.headers.get('ratelimit-policy')).toMatch(/^"read";q=\d+;w=\d+$/);
    expect(other.status).toBe(201);
    expect(other.headers.get('ratelimit')).toMatch(/^"create";r=2;t=\d+$/);

    await sleep(Number(replies[4]!.headers.get('retry-after')) * 1000 + 100);
    const again = await createWith(first.key);

    expect(again.status).toBe(201);
    expect(again.headers.get('ratelimit')).toMatch(/^"create";r=2;t=\d+$/);
  }, 60_000);

  it('limits reads of a key apart from its creates', async () => {
    const { key } = await newKey('rate-reader', '--read-rate', '2/10s');

    await nextWindow(10);
    const reads = [];
    for (let i = 0; i < 3; i++) reads.push(await api('GET', '/executions', undefined, bearer(key)));
    const events = await api('GET', '/executions/01900000-0000-7000-8000-000000000000/events', undefined, bearer(key));
    const created = await createWith(key);

    expect(statuses(reads)).toEqual([200, 200, 429]);
    expect(reads[2]!.headers.get('ratelimit')).toMatch(/^"read";r=0;t=\d+$/);
    expect(String(reads[2]!.body.detail)).toContain('read limit of your API key (2 per 10 s)');
    expect(events.status).toBe(429);
    expect(created.status).toBe(201);
  }, 60_000);

  it('shows and changes a key\'s limits with the keys CLI, and lists them', async () => {
    const { id } = await newKey('rate-admin', '--create-rate', '5/s');

    const shown = await keysCli('limits', id);
    const changed = await keysCli('limits', id, '--create-rate', 'default', '--read-rate', '600/min');
    const listed = await keysCli('list', '--tenant', 'rate-admin');

    expect(shown).toContain(`Key ${id} of tenant "rate-admin" has the rate limits: create 5/s, read default.`);
    expect(changed).toContain('now has the rate limits: create default, read 600/min.');
    expect(listed).toContain('create default, read 600/min');
    await expect(keysCli('limits', id, '--read-rate', 'fast')).rejects.toThrow(/--read-rate must be/);
  }, 60_000);
});

describe('the typed client and the CLI against a rate-limited key', () => {
  it('the client waits out a 429 (its Retry-After) and creates; past its patience it throws an ApiProblem naming the limit', async () => {
    const { key } = await newKey('rate-client', '--create-rate', '1/3s');
    const { key: daily } = await newKey('rate-client', '--create-rate', '1/d');
    const client = createClient({ baseUrl: baseUrl(), apiKey: key });
    const strict = createClient({ baseUrl: baseUrl(), apiKey: daily });

    await nextWindow(3);
    const one = await client.executions.create('test-noop', { input: { n: 1 } });
    const started = Date.now();
    const two = await client.executions.create('test-noop', { input: { n: 2 } });
    await strict.executions.create('test-noop', { input: { n: 3 } });
    const refused = await strict.executions.create('test-noop', { input: { n: 4 } }).catch((error: unknown) => error);

    expect(two.id).not.toBe(one.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(refused).toBeInstanceOf(ApiProblem);
    expect((refused as ApiProblem).status).toBe(429);
    expect((refused as ApiProblem).rateLimit).toMatchObject({ policy: 'create', quota: 1, windowSeconds: 86_400, remaining: 0 });
    expect((refused as ApiProblem).retryAfterSeconds).toBeGreaterThan(30);
  }, 60_000);

  it('the CLI retries a 429 saying so, and gives up with a clear message when the wait is too long', async () => {
    const { key } = await newKey('rate-cli', '--create-rate', '1/3s');
    const { key: daily } = await newKey('rate-cli', '--create-rate', '1/d');
    const cli = async (apiKey: string, ...args: string[]) => {
      const env = { ...process.env, LOCAL_DIR: join(scratch, 'no-stack'), ASYNC_EXECUTIONS_URL: baseUrl(), ASYNC_EXECUTIONS_API_KEY: apiKey };
      return run(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 45_000 }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout: string; stderr: string }) => ({ code: error.code ?? null, stdout: error.stdout, stderr: error.stderr }),
      );
    };

    await nextWindow(3);
    const first = await cli(key, 'start', 'test-noop', '--input', '{"n":1}');
    const retried = await cli(key, 'start', 'test-noop', '--input', '{"n":2}');
    await cli(daily, 'start', 'test-noop', '--input', '{"n":3}');
    const gaveUp = await cli(daily, 'start', 'test-noop', '--input', '{"n":4}');

    expect(first.code).toBe(0);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toMatch(/Rate limited: the create limit \(1 per 3 s\) of this API key is used up; retrying in \d+ s \(attempt 2 of 4\)\./);
    expect(gaveUp.code).toBe(5);
    expect(gaveUp.stderr).toContain('Error 429: Too many requests.');
    expect(gaveUp.stderr).toMatch(/Gave up: the create limit \(1 per 86400 s\) of this API key is used up, longer than the 30 s it waits\. Try again in \d+ s, or ask for a higher limit\./);
  }, 90_000);
});
