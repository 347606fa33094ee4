import type { ExecutionRecord } from '../domain/execution.js';
import { MAX_PAYLOAD_BYTES, jsonBytes } from '../domain/payload-limits.js';
import { isTerminal } from '../domain/status.js';
import type { ExecutionStore } from '../repository/execution-store.js';
import type { RuntimeStore } from '../repository/runtime-store.js';
import type { Logger } from '../shared/logger.js';
import type { LambdaStep, StepContext, TaskDefinition } from '../tasks/dsl.js';
import { stepAt } from '../tasks/registry.js';
import { progress } from './progression.js';
import { ExecutionEndedError, StepOutputTooLargeError, guarded, type StepPayload } from './payload.js';

/** What the step runner needs. */
export interface StepRunnerDeps {
  readonly repository: RuntimeStore;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly logger: Logger;
}

/** Finds the Lambda step a payload names; a mismatch is a deployment error, not bad input. */
export function resolveStep(tasks: ReadonlyMap<string, TaskDefinition>, payload: StepPayload): {
  task: TaskDefinition;
  step: LambdaStep;
} {
  const task = tasks.get(payload.task_id);
  const step = task?.steps[payload.step_index];
  if (!task || step?.kind !== 'step') {
    throw new Error(`No Lambda step ${payload.step_index} in task ${payload.task_id}: redeploy the state machine`);
  }
  return { task, step };
}

function ended(record: ExecutionRecord): ExecutionEndedError {
  return new ExecutionEndedError(`Execution ${record.id} is ${record.status}; step not run`);
}

/** Moves a `queued` execution to `running` (the `start` row), once, however many callers race. */
export async function ensureStarted(
  repository: ExecutionStore,
  record: ExecutionRecord,
  task: TaskDefinition,
): Promise<ExecutionRecord> {
  if (record.status !== 'queued') return record;
  const result = await progress(
    repository,
    record.tenant,
    record.id,
    (current) => (current.status === 'queued' ? { type: 'start', step: stepAt(task, 0) } : undefined),
    record,
  );
  return result.record;
}

/**
 * Runs one Lambda step of an execution: records `start` before the first step, runs the handler,
 * then records a `step` row with its output and the progress. A retried or duplicated invocation
 * of a step already recorded returns the recorded output without running the handler again, so
 * Lambda and Step Functions retries never write a second row.
 */
export async function runStep(deps: StepRunnerDeps, payload: StepPayload): Promise<unknown> {
  const logger = deps.logger.child({ execution_id: payload.execution_id, task_id: payload.task_id, step_index: payload.step_index });
  const index = payload.step_index;
  const prepared = await guarded(logger, async () => {
    const { task, step } = resolveStep(deps.tasks, payload);
    let record = await deps.repository.get(payload.tenant, payload.execution_id);
    if (record.stepsCompleted > index) return { done: await recordedOutput(deps, record, index) };
    if (isTerminal(record.status)) throw ended(record);
    record = await ensureStarted(deps.repository, record, task);
    if (record.status !== 'running') throw ended(record);
    return { task, step, record };
  });
  if ('done' in prepared) return prepared.done;
  const { task, step, record } = prepared;

  const context: StepContext = {
    executionId: record.id,
    taskId: task.id,
    stepIndex: index,
    stepName: step.name,
    attempt: payload.attempt,
    reportProgress: async (fraction, message) => {
      const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
      try {
        await deps.repository.updateProgress(record, index, clamped, message?.slice(0, 200), new Date().toISOString());
      } catch (error) {
        // Progress is advisory: losing one update must not fail the step.
        logger.warn('progress update failed', { error });
      }
    },
  };
  logger.info('step started', { attempt: payload.attempt });
  // The handler's own errors pass through unchanged: they are the step's failure, shown to callers.
  const output = (await step.run(payload.input, context)) ?? null;
  // Refused before it is recorded: the next state's payload would exceed Step Functions' quota.
  const bytes = jsonBytes(output);
  if (bytes > MAX_PAYLOAD_BYTES) throw new StepOutputTooLargeError(step.name, bytes);

  return guarded(logger, async () => {
    const result = await progress(
      deps.repository,
      record.tenant,
      record.id,
      (current) => {
        if (current.stepsCompleted > index) return undefined;
        if (isTerminal(current.status)) throw ended(current);
        return { type: 'step', step: { index, name: step.name }, advanceTo: stepAt(task, index + 1), output };
      },
      record,
    );
    if (!result.applied) return recordedOutput(deps, result.record, index);
    logger.info('step recorded', { seq: result.record.transitionCount });
    return output;
  });
}

/** The output an earlier invocation recorded for step `index`. */
async function recordedOutput(deps: StepRunnerDeps, record: ExecutionRecord, index: number): Promise<unknown> {
  const row = await deps.repository.findStepRow(record.tenant, record.id, index);
  if (!row) throw new Error(`Step ${index} of execution ${record.id} is marked done but has no row`);
  deps.logger.info('step already recorded; returning its output', { execution_id: record.id, step_index: index });
  return row.output;
}
