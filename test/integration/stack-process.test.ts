import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnLocalStack } from '../../local/spawn-stack.js';
import { isRunning } from '../../local/state-file.js';
import type { Execution, Transition } from './client.js';
import { commandLine, killStartedStacks, PROCESS_API_KEY, processGroup, spawnStack, waitUntil } from './stack-process.js';
import { STAND_IN_ARGS } from './stand-ins.js';

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
    const { url } = await stack.starting;

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
    stack.child.kill('SIGTERM');
    expect((await stack.exited).code).toBe(0);
  }, 90_000);
});

describe('a stack spawned to be waited for', () => {
  it('is stopped when it is not ready in time, before its ready line is given up on', async () => {
    // Loading the modules alone takes longer than this: the timeout strikes while it starts.
    const stack = spawnLocalStack(['--template', inject('templatePath'), ...STAND_IN_ARGS, '--port', '0'], {
      env: { LOCAL_DIR: localDir(), LOCAL_API_KEY: PROCESS_API_KEY },
      timeoutMs: 300,
    });

    await expect(stack.ready).rejects.toThrow('printed no ready line in 0.3 s');
    expect(stack.child.exitCode !== null || stack.child.signalCode !== null).toBe(true);
    await expect(stack.starting).rejects.toThrow('printed no ready line');
  });

  it('gives up on its ready line when it exits first, with what it wrote to stderr', async () => {
    const stack = spawnLocalStack(['--template', join(localDir(), 'missing.template.json'), '--port', '0'], {
      env: { LOCAL_DIR: localDir(), LOCAL_API_KEY: PROCESS_API_KEY },
    });

    const failure = await stack.ready.catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/the local stack exited \(1\) before its ready line:\n.*missing\.template\.json/s);
    expect((await stack.exited).code).toBe(1);
  });
});

describe('the startup time the stack reports', () => {
  it('counts from its process start, module loading included, so it matches the time a caller waited', async () => {
    const stack = spawnStack(localDir());

    const ready = await stack.ready;
    const waitedSeconds = stack.readyAfterMs()! / 1000;

    // Spawning a process takes milliseconds; loading the modules took 0.7-1.5 s here.
    expect(waitedSeconds - Number(ready.seconds)).toBeLessThan(0.4);
    stack.child.kill('SIGTERM');
    expect((await stack.exited).code).toBe(0);
  }, 90_000);
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

  it('is not SIGKILLed with its stack\'s process group, but stopped by its watchdog within seconds', async () => {
    const stack = spawnStack(localDir(), [], { ownProcessGroup: true });
    const ready = await stack.ready;
    const group = processGroup(ready.pid);

    const javaGroup = processGroup(ready.dynamodbPid);
    process.kill(-ready.pid, 'SIGKILL');
    await stack.exited;

    // SIGKILL would lose writes DynamoDB Local had acknowledged but not yet committed.
    expect(group).toBe(ready.pid);
    expect(javaGroup).not.toBe(group);
    await waitUntil(() => !isRunning(ready.dynamodbPid), 5000, `java ${ready.dynamodbPid} after kill -9 of the stack's process group`);
  }, 90_000);

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

describe('the S3 server never outlives its stack', () => {
  /** Whether anything still answers at `endpoint`. */
  const answers = (endpoint: string) =>
    fetch(endpoint, { signal: AbortSignal.timeout(2_000) }).then(
      () => true,
      () => false,
    );

  it('answers while the stack runs, and is gone after Ctrl-C (SIGINT) and after kill -9 alike', async () => {
    const clean = spawnStack(localDir());
    const running = await clean.ready;
    expect(running.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await answers(running.s3!)).toBe(true);
    clean.child.kill('SIGINT');
    expect((await clean.exited).code).toBe(0);
    expect(await answers(running.s3!)).toBe(false);

    const killed = spawnStack(localDir());
    const ready = await killed.ready;
    expect(await answers(ready.s3!)).toBe(true);
    killed.child.kill('SIGKILL');
    await killed.exited;
    // In the stack's own process: nothing of it can survive the process.
    expect(await answers(ready.s3!)).toBe(false);
  }, 120_000);
});

/** Calls a stack started here as tenant `default`. */
async function call<T>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${PROCESS_API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function statusOf(url: string, id: string, status: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await call<Execution>(url, 'GET', `/executions/${id}`)).body.status !== status) {
    if (Date.now() > deadline) throw new Error(`execution ${id} never reached ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('executions across a --persist restart', () => {
  it('ends those that were waiting or running when the stack was killed as failed with ExecutionLost, before the API serves', async () => {
    const dir = localDir();
    const first = spawnStack(dir, ['--persist']);
    const { url, dynamodbPid } = await first.ready;
    const waiting = (await call<Execution>(url, 'POST', '/executions', { task_id: 'sample-approval', input: { title: 'Launch', body: 'Next week.' } })).body;
    const running = (await call<Execution>(url, 'POST', '/tasks/test-slow/executions', { input: { ms: 30_000 } })).body;
    await statusOf(url, waiting.id, 'awaiting_input');
    await statusOf(url, running.id, 'running');
    first.child.kill('SIGKILL');
    await waitUntil(() => !isRunning(dynamodbPid), 10_000, 'DynamoDB Local of the killed stack');

    const second = spawnStack(dir, ['--persist']);
    const next = await second.ready;
    const afterWait = (await call<Execution>(next.url, 'GET', `/executions/${waiting.id}`)).body;
    const afterRun = (await call<Execution>(next.url, 'GET', `/executions/${running.id}`)).body;
    const resume = await call<{ status: number }>(next.url, 'POST', `/executions/${waiting.id}/resume`, { input: { approved: true } });

    for (const [execution, from] of [[afterWait, 'awaiting_input'], [afterRun, 'running']] as const) {
      expect(execution.status).toBe('failed');
      expect(execution.error).toContain('local Step Functions engine was restarted');
      expect(execution.error_details).toMatchObject({ name: 'ExecutionLost' });
      const rows = (await call<{ items: Transition[] }>(next.url, 'GET', `/executions/${execution.id}/transitions?limit=100`)).body.items;
      expect(rows.at(-1)).toMatchObject({ type: 'error', from, to: 'failed' });
      expect(rows.filter((row) => row.type === 'error')).toHaveLength(1);
    }
    expect(resume.status).toBe(409);
    expect(second.errors()).toContain('left 2 executions unfinished');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);
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
