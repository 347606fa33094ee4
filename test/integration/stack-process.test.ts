import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStartedStacks, spawnStack } from './stack-process.js';

const base = mkdtempSync(join(tmpdir(), 'stack-process-'));
let dirs = 0;
/** A fresh LOCAL_DIR: each stack keeps its state file (and data) apart from the checkout's. */
const localDir = () => join(base, `local-${++dirs}`);

afterAll(async () => {
  await killStartedStacks();
  rmSync(base, { recursive: true, force: true });
});

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
