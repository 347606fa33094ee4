import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTasksModule } from '../../infra/tasks-module.js';
import { synthForLocal } from '../../local/synth.js';
import { killStartedStacks, PROCESS_API_KEY, spawnStack } from './stack-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, 'test/infra/fixtures/one-task.ts');
const base = mkdtempSync(join(tmpdir(), 'tasks-module-'));
let template: string;

beforeAll(async () => {
  template = synthForLocal(join(base, 'cdk.out'), await loadTasksModule(FIXTURE));
});

afterAll(async () => {
  await killStartedStacks();
  rmSync(base, { recursive: true, force: true });
});

async function call<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${PROCESS_API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
}

describe('npm start -- --tasks <file>', () => {
  it('serves exactly the tasks of that module, and runs their steps', async () => {
    const { tasks } = await loadTasksModule(FIXTURE);
    const stack = spawnStack(join(base, 'served'), ['--tasks', FIXTURE], { template });
    const { url } = await stack.ready;

    const listed = await call<{ items: { id: string }[] }>(url, 'GET', '/tasks');
    expect(listed.items.map((task) => task.id)).toEqual(tasks.map((task) => task.id));

    const [task] = tasks;
    const created = await call<{ id: string }>(url, 'POST', `/tasks/${task!.id}/executions`, { input: task!.examples[0] });
    let execution = await call<{ status: string; output?: unknown }>(url, 'GET', `/executions/${created.id}`);
    for (let tries = 0; tries < 100 && execution.status !== 'succeeded' && execution.status !== 'failed'; tries++) {
      await new Promise((done) => setTimeout(done, 100));
      execution = await call(url, 'GET', `/executions/${created.id}`);
    }
    expect(execution).toMatchObject({ status: 'succeeded', output: task!.examples[0] });
  });

  it('refuses at start a task with a Distributed Map, naming the state and saying why', async () => {
    const fixture = join(ROOT, 'test/infra/fixtures/distributed-map.ts');
    const distributed = synthForLocal(join(base, 'distributed.out'), await loadTasksModule(fixture));
    const stack = spawnStack(join(base, 'distributed'), ['--tasks', fixture], { template: distributed });
    const { code } = await stack.exited;
    expect(code).toBe(1);
    expect(stack.errors()).toMatch(/state "Each": a Distributed Map is not supported by the local stack/);
  });

  it('refuses a template synthesized with another tasks module, naming both', async () => {
    const other = join(ROOT, 'examples/tasks/index.ts');
    const stack = spawnStack(join(base, 'refused'), ['--tasks', other], { template });
    const { code } = await stack.exited;
    expect(code).toBe(1);
    expect(stack.errors()).toContain(`was synthesized with tasks module ${FIXTURE}, not ${other}`);
  });
});
