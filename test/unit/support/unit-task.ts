import { vi } from 'vitest';
import * as z from 'zod/mini';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { StepPayload, WaitPayload } from '../../../lambdas/runtime/payload.js';
import { defineTask, step, waitForInput, type StepContext, type TaskDefinition } from '../../../lambdas/tasks/dsl.js';
import { executionRecord } from './records.js';

/** A step handler the test controls. */
export type StepHandler = (input: unknown, context: StepContext) => unknown;

/** A three-step task (Lambda step, wait, Lambda step) whose handlers are mocks. */
export interface UnitTask {
  readonly task: TaskDefinition;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly first: ReturnType<typeof vi.fn<StepHandler>>;
  readonly last: ReturnType<typeof vi.fn<StepHandler>>;
}

/** Builds `unit-task`: `first` (Lambda) → `approve` (wait) → `last` (Lambda), plus `wait-first` (wait → Lambda). */
export function unitTask(): UnitTask {
  const first = vi.fn<StepHandler>();
  const last = vi.fn<StepHandler>();
  const task = defineTask({
    id: 'unit-task',
    description: 'A task for unit tests.',
    kind: 'pipeline',
    input: z.strictObject({ n: z.number() }),
    examples: [{ n: 2 }],
    steps: [
      step('first', (input: unknown, context: StepContext) => first(input, context)),
      waitForInput('approve', { timeoutSeconds: 3600, prompt: 'Approve?' }),
      step('last', (input: unknown, context: StepContext) => last(input, context)),
    ],
  });
  const waitFirst = defineTask({
    id: 'wait-first',
    description: 'Waits before doing anything.',
    kind: 'agent',
    input: z.object({}),
    examples: [{}],
    steps: [waitForInput('gate'), step('after', (input: unknown, context: StepContext) => last(input, context))],
  });
  return { task, tasks: new Map([[task.id, task], [waitFirst.id, waitFirst]]), first, last };
}

/** A queued execution of `unit-task`. */
export function unitRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return executionRecord({ taskId: 'unit-task', stepName: 'first', totalSteps: 3, input: { n: 2 }, ...overrides });
}

/** What the state machine passes to the Lambda of step `stepIndex`. */
export function stepPayload(record: ExecutionRecord, stepIndex: number, input: unknown, attempt = 0): StepPayload {
  return { execution_id: record.id, tenant: record.tenant, task_id: record.taskId, step_index: stepIndex, attempt, input };
}

/** What the state machine passes to the `.waitForTaskToken` Lambda of wait step `stepIndex`. */
export function waitPayload(record: ExecutionRecord, stepIndex: number, token: string, input: unknown = { doubled: 4 }): WaitPayload {
  return { ...stepPayload(record, stepIndex, input), task_token: token };
}
