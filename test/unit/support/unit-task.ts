import { vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { RecordPayload, SleepPayload, StepPayload, WaitPayload } from '../../../lambdas/runtime/payload.js';
import type { ScopeChain, ScopeSegment } from '../../../lambdas/runtime/scope.js';
import type { TaskDefinition } from '../../../lambdas/tasks/dsl.js';
import { unitNested, unitStepHandlers, unitTaskDefinition, waitFirst, type StepHandler } from '../../support/unit-tasks.js';
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

/** `unit-nested` (test/support/unit-tasks.ts) with a fresh mock as every one of its Lambda steps. */
export interface NestedTask {
  readonly task: TaskDefinition;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  /** Runs for every nested Lambda step; `context.stepName` says which. */
  readonly handler: ReturnType<typeof vi.fn<StepHandler>>;
}

/** Installs a fresh mock as unit-nested's Lambda steps. */
export function nestedTask(): NestedTask {
  const handler = vi.fn<StepHandler>();
  unitStepHandlers.nested = handler;
  return { task: unitNested, tasks: new Map([[unitNested.id, unitNested]]), handler };
}

/** A running execution of `unit-nested` at its top-level step `stepIndex` (the map `each-doc` by default). */
export function nestedRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const stepIndex = overrides.stepIndex ?? 0;
  return executionRecord({
    taskId: 'unit-nested',
    status: 'running',
    transitionCount: 2,
    stepIndex,
    stepName: unitNested.steps[stepIndex]!.name,
    stepsCompleted: stepIndex,
    totalSteps: unitNested.steps.length,
    input: { docs: ['a.pdf', 'b.pdf', 'c.pdf'] },
    startedAt: '2026-01-02T03:04:06.000Z',
    ...overrides,
  });
}

/** Where a nested state runs and which levels it opens and closes, as the state machine passes it. */
export interface Place {
  readonly scope?: ScopeChain | null;
  readonly segments?: readonly ScopeSegment[];
  readonly opens?: number;
  readonly closes?: number;
}

/** Item `index` of map `name` (of `total` items), below `parent` (none at the top level, as the state machine leaves it out). */
export function itemOf(name: string, index: number, total: number, parent?: ScopeChain): ScopeChain {
  return { ...(parent === undefined ? {} : { parent }), name, index, total };
}

/** What the state machine passes to the Lambda of the step named `step` (index `stepIndex` in its sequence). */
export function namedPayload(record: ExecutionRecord, step: string, stepIndex: number, input: unknown, place: Place = {}, attempt = 0): StepPayload {
  return { ...stepPayload(record, stepIndex, input, attempt), step, ...place };
}

/** What the state machine passes to the recorder after step `step` ran in Step Functions. */
export function recordPayload(
  record: ExecutionRecord,
  step: string,
  stepIndex: number,
  output: unknown,
  extra: Place & { readonly execution?: unknown } = {},
): RecordPayload {
  // The recorder gets no input: the output is what it records.
  const { input: _input, ...address } = namedPayload(record, step, stepIndex, null);
  return { ...address, action: 'record', output, ...extra };
}

/** What the state machine passes to the recorder before sleep `step`'s Wait state. */
export function sleepPayload(
  record: ExecutionRecord,
  step: string,
  stepIndex: number,
  input: unknown,
  seconds: { readonly seconds?: number; readonly seconds_path?: string },
  place: Place = {},
): SleepPayload {
  return { ...namedPayload(record, step, stepIndex, input, place), action: 'sleep', ...seconds };
}
