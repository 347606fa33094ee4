import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { defineTask, map, step } from '../../lambdas/tasks/dsl.js';
import { SAMPLE_TASKS, testApp } from './support.js';

const noop = (input: unknown) => input;
const withMap = (maxItems: number, distributed = false) =>
  defineTask({
    id: 'fan-out',
    description: 'A map over declared items',
    kind: 'test',
    input: z.object({ items: z.array(z.number()) }),
    examples: [{ items: [1] }],
    steps: [map('each', { items: 'items', maxItems, distributed }, [step('work', noop, { retry: false })])],
  });
const synth = (task: ReturnType<typeof withMap>) => new ExecutionsStack(testApp(), 'HistoryLimit', { tasksModule: { path: SAMPLE_TASKS.path, tasks: [task] } });

describe('the synth and the Step Functions history limit', () => {
  it('refuses a task whose inline map could pass 25,000 history events, with the numbers and the way out', () => {
    expect(() => synth(withMap(1000))).toThrow(
      'Task fan-out: an execution could record 31044 Step Functions history events in the worst case (every retry taken), over the limit of 25000 per execution; step "each" accounts for 31042 (1000 items × 31 events each). Run the items as a Distributed Map',
    );
  });

  it('synthesizes the same fan-out as a distributed map, and the inline map within the limit', () => {
    expect(() => synth(withMap(1000, true))).not.toThrow();
    expect(() => synth(withMap(800))).not.toThrow();
  });
});
