import { vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { StepPayload, WaitPayload } from '../../../lambdas/runtime/payload.js';
import type { TaskDefinition } from '../../../lambdas/tasks/dsl.js';
import { unitStepHandlers, unitTaskDefinition, waitFirst, type StepHandler } from '../../support/unit-tasks.js';
import { executionRecord } from './records.js';

export type { StepHandler };

/** A three-step task (Lambda step, wait, Lambda step) whose handlers are mocks. */
export interface UnitTask {
  readonly task: TaskDefinition;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly first: ReturnType<typeof vi.fn<StepHandler>>;
  readonly last: ReturnType<typeof vi.fn<StepHandler>>;
}

/**
 * `unit-task`: `first` (Lambda) → `approve` (wait) → `last` (Lambda), plus `wait-first` (wait →
 * Lambda), with fresh mocks as their Lambda steps. The tasks are the ones the unit project's `#tasks`
 * serves (test/support/unit-tasks.ts), so the mocks of the latest call are the ones that run.
 */
export function unitTask(): UnitTask {
  const first = vi.fn<StepHandler>();
  const last = vi.fn<StepHandler>();
  unitStepHandlers.first = first;
  unitStepHandlers.last = last;
  return { task: unitTaskDefinition, tasks: new Map([[unitTaskDefinition.id, unitTaskDefinition], [waitFirst.id, waitFirst]]), first, last };
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
