import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLine, isRunning, killStartedStacks, spawnStack, waitUntil } from './stack-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'stack-process-'));
let dirs = 0;
/** A fresh LOCAL_DIR: each stack keeps its state file (and data) apart from the checkout's. */
const localDir = () => join(base, `local-${++dirs}`);

afterAll(async () => {
  await killStartedStacks();
  rmSync(base, { recursive: true, force: true });
});

/** Runs the keys CLI as `npm run keys` does, against the state file in `dir`. */
async function keysCli(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_DIR: dir },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

describe('a request sent while the stack starts', () => {
  it('is answered within a second: 503 problem+json with Retry-After, and the health check says starting', async () => {
    const stack = spawnStack(localDir());
    const url = await stack.starting;

    const since = performance.now();
    const [health, create] = await Promise.all([
      fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }),
      fetch(`${url}/tasks/test-noop/executions`, {
        method: 'POST',
        headers: { authorization: 'Bearer anything', 'content-type': 'application/json' },
        body: JSON.stringify({ input: { n: 1 } }),
        signal: AbortSignal.timeout(1000),
      }),
    ]);
    const elapsed = performance.now() - since;
    const answeredBeforeReady = !stack.isReady();

    expect(answeredBeforeReady).toBe(true);
    expect(elapsed).toBeLessThan(1000);
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('1');
    expect(await health.json()).toEqual({ status: 'starting' });
    expect(create.status).toBe(503);
    expect(create.headers.get('retry-after')).toBe('1');
    expect(create.headers.get('content-type')).toBe('application/problem+json');
    expect(await create.json()).toEqual({
      type: '/problems/service-unavailable',
      title: expect.any(String),
      status: 503,
      detail: expect.stringContaining('starting'),
    });
    await stack.ready;
    const after = await fetch(`${url}/health`);
    expect(after.status).toBe(200);
  });
});

describe('DynamoDB Local never outlives its stack', () => {
  it('is gone within seconds after the stack is killed with SIGKILL, and the next start replaces the stale state file', async () => {
    const dir = localDir();
    const first = spawnStack(dir);
    const ready = await first.ready;
    expect(commandLine(ready.dynamodbPid)).toContain(`-port ${new URL(ready.dynamodb).port}`);

    first.child.kill('SIGKILL');
    const javaGoneMs = await waitUntil(() => !isRunning(ready.dynamodbPid), 10_000, `java ${ready.dynamodbPid} after kill -9 of the stack`);
    console.info(`DynamoDB Local (pid ${ready.dynamodbPid}) was gone ${Math.round(javaGoneMs)} ms after kill -9 of its stack`);

    expect(javaGoneMs).toBeLessThan(5000);
    expect(existsSync(join(dir, 'stack.json'))).toBe(true);
    const second = spawnStack(dir);
    const next = await second.ready;
    expect(second.errors()).toContain('replacing the stale');
    expect((await keysCli(dir, 'list')).stdout).toContain('local-dev');
    expect(next.pid).not.toBe(ready.pid);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);

  it('stops cleanly on SIGHUP, as on SIGINT and SIGTERM: exit 0, no Java left, no state file', async () => {
    const dir = localDir();
    const stack = spawnStack(dir);
    const ready = await stack.ready;

    stack.child.kill('SIGHUP');
    const { code } = await stack.exited;

    expect(code).toBe(0);
    await waitUntil(() => !isRunning(ready.dynamodbPid), 5000, `java ${ready.dynamodbPid} after SIGHUP`);
    expect(existsSync(join(dir, 'stack.json'))).toBe(false);
  }, 90_000);
});

describe('the keys CLI', () => {
  it('says no local stack is running when the state file is stale, instead of calling a dead endpoint', async () => {
    const dir = localDir();
    mkdirSync(dir, { recursive: true });
    // The pid of a process that has exited, and an endpoint where nothing listens.
    const { stdout: gonePid } = await run(process.execPath, ['-e', 'console.log(process.pid)']);
    writeFileSync(
      join(dir, 'stack.json'),
      JSON.stringify({ url: 'http://127.0.0.1:9', dynamodb: 'http://127.0.0.1:9', sfn: 'http://127.0.0.1:9', table: 't', apiKey: 'k', pid: Number(gonePid) }),
    );

    const result = await keysCli(dir, 'list');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No local stack is running \(.*stack\.json is stale: its process \d+ has exited\); start one with npm start/);
  });

  it('also calls a state file stale when its process looks alive but its endpoint does not answer', async () => {
    const dir = localDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'stack.json'),
      JSON.stringify({ url: 'http://127.0.0.1:9', dynamodb: 'http://127.0.0.1:9', sfn: 'http://127.0.0.1:9', table: 't', apiKey: 'k', pid: process.pid }),
    );

    const result = await keysCli(dir, 'list');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stack\.json is stale: nothing answers at http:\/\/127\.0\.0\.1:9\); start one with npm start/);
  });
});
