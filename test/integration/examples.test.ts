import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTasksModule, type TasksModule } from '../../infra/tasks-module.js';
import { synthForLocal } from '../../local/synth.js';
import { killStartedStacks, PROCESS_API_KEY, spawnStack } from './stack-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLES = join(ROOT, 'examples/tasks/index.ts');
const base = mkdtempSync(join(tmpdir(), 'examples-'));
let examples: TasksModule;
let url: string;

interface Execution {
  readonly id: string;
  readonly status: string;
  readonly output: unknown;
  readonly error: string | null;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${PROCESS_API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
}

async function settle(id: string): Promise<Execution> {
  for (let tries = 0; ; tries++) {
    const execution = await call<Execution>('GET', `/executions/${id}`);
    if (!['queued', 'running'].includes(execution.status) || tries > 300) return execution;
    await new Promise((done) => setTimeout(done, 100));
  }
}

beforeAll(async () => {
  examples = await loadTasksModule(EXAMPLES);
  const stack = spawnStack(join(base, 'stack'), ['--tasks', EXAMPLES], { template: synthForLocal(join(base, 'cdk.out'), examples) });
  ({ url } = await stack.ready);
}, 120_000);

afterAll(async () => {
  await killStartedStacks();
  rmSync(base, { recursive: true, force: true });
});

describe('the example tasks on the local stack (npm start)', () => {
  it('runs every example task from its first example input to success (approvals approved when asked)', async () => {
    for (const task of examples.tasks) {
      const created = await call<Execution>('POST', `/tasks/${task.id}/executions`, { input: task.examples[0] });
      let execution = await settle(created.id);
      if (execution.status === 'awaiting_input') {
        await call('POST', `/executions/${created.id}/resume`, { input: { approved: true, comment: 'fine' } });
        execution = await settle(created.id);
      }
      expect(execution, task.id).toMatchObject({ status: 'succeeded', error: null });
    }
  });

  it('summarizes a batch: the long document in chunks, the short one whole, one report', async () => {
    const created = await call<Execution>('POST', '/tasks/batch-summarize/executions', {
      input: { documents: [{ url: 'https://example.com/a/long.pdf', words: 4500 }, { url: 'https://example.com/a/short.pdf', words: 20 }], rate_limit_seconds: 0 },
    });

    const done = await settle(created.id);

    expect(done.output).toEqual({
      documents: 2,
      summaries: ['long.pdf: 3 parts on revenue and outlook.', 'short.pdf: 1 part on revenue and outlook.'],
      keywords: expect.arrayContaining(['outlook', 'revenue']),
    });
  });
});

describe('the research agent example', () => {
  it('researches each planned question as a child execution listed under it, then reports', async () => {
    const created = await call<Execution>('POST', '/tasks/research-agent/executions', { input: { topic: 'tidal power', max_questions: 2 } });

    const done = await settle(created.id);

    expect(done).toMatchObject({ status: 'succeeded', output: { findings: 2, gaps: [] } });
    const children = await call<{ items: Array<Execution & { task_id: string; parent_execution_id: string }> }>('GET', `/executions?parent_id=${created.id}`);
    expect(children.items.map((child) => [child.task_id, child.status, child.parent_execution_id])).toEqual([
      ['research-question', 'succeeded', created.id],
      ['research-question', 'succeeded', created.id],
    ]);
  });
});
