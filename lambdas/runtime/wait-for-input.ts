import { isTerminal } from '../domain/status.js';
import type { RuntimeStore } from '../repository/runtime-store.js';
import type { Logger } from '../shared/logger.js';
import type { StepView, TaskView } from '../tasks/catalogue.js';
import { ExecutionEndedError, guarded, type WaitPayload } from './payload.js';
import { progress } from './progression.js';
import { ensureStarted } from './step-runner.js';

/** What the wait function needs. */
export interface WaitDeps {
  readonly repository: RuntimeStore;
  /** The tasks' catalogue views: their structure and each wait's prompt and timeout, no code. */
  readonly tasks: ReadonlyMap<string, TaskView>;
  readonly logger: Logger;
}

/**
 * Runs as the `.waitForTaskToken` Lambda of a wait step: stores the task token on the record and
 * writes the `wait` row (running → awaiting_input). The token stays in DynamoDB and never leaves
 * the service; resume claims it. A repeated invocation for the same wait only refreshes the token.
 */
export function beginWait(deps: WaitDeps, payload: WaitPayload): Promise<void> {
  return guarded(deps.logger.child({ execution_id: payload.execution_id, step_index: payload.step_index }), () =>
    recordWait(deps, payload),
  );
}

async function recordWait(deps: WaitDeps, payload: WaitPayload): Promise<void> {
  const task = deps.tasks.get(payload.task_id);
  const step = task?.steps[payload.step_index];
  if (!task || step?.kind !== 'wait') {
    throw new Error(`No wait step ${payload.step_index} in task ${payload.task_id}: redeploy the state machine`);
  }
  const wait: StepView = step;
  const index = payload.step_index;
  let record = await deps.repository.get(payload.tenant, payload.execution_id);
  if (isTerminal(record.status)) throw new ExecutionEndedError(`Execution ${record.id} is ${record.status}`);
  record = await ensureStarted(deps.repository, record, task);

  const result = await progress(
    deps.repository,
    record.tenant,
    record.id,
    (current) => {
      if (current.status === 'awaiting_input' && current.stepIndex === index) return undefined;
      // A late duplicate of a wait already resumed must not move the execution back.
      if (current.stepsCompleted > index) {
        throw new ExecutionEndedError(`Execution ${current.id} is past wait step ${index}; duplicate call ignored`);
      }
      // Ended meanwhile (e.g. cancelled between the read and the write): not retried, like a step.
      if (isTerminal(current.status)) throw new ExecutionEndedError(`Execution ${current.id} is ${current.status}`);
      return {
        type: 'wait',
        step: { index, name: wait.name },
        waitToken: payload.task_token,
        output: { prompt: wait.prompt ?? null, input: payload.input, timeout_seconds: wait.timeout_seconds ?? null },
      };
    },
    record,
  );
  if (!result.applied && result.record.waitToken !== payload.task_token) {
    await deps.repository.replaceWaitToken(result.record, index, payload.task_token);
  }
  deps.logger.info('waiting for input', { execution_id: record.id, step: wait.name, written: result.applied });
}
