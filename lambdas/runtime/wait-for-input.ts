import { callbackHash, callbackToken, newCallbackNonce } from '../domain/callbacks.js';
import { isTerminal } from '../domain/status.js';
import type { WaitStore } from '../repository/wait-store.js';
import type { Logger } from '../shared/logger.js';
import type { StepView, TaskView } from '../tasks/catalogue.js';
import { ExecutionEndedError, guarded, type WaitPayload } from './payload.js';
import { progress } from './progression.js';
import { ensureStarted } from './step-runner.js';

/** What the wait function needs. */
export interface WaitDeps {
  readonly repository: WaitStore;
  /** The tasks' catalogue views: their structure and each wait's prompt and timeout, no code. */
  readonly tasks: ReadonlyMap<string, TaskView>;
  readonly logger: Logger;
  /** The key resume links are minted with (`callbackKey` of the deployment's secret). */
  readonly callbackKey: Uint8Array;
}

/**
 * Runs as the `.waitForTaskToken` Lambda of a wait step: stores the task token on the record and
 * writes the `wait` row (running → awaiting_input), and in the same transaction the lookup item of
 * the wait's resume link (`POST /callbacks/<token>`), which expires with the wait's timeout. The
 * token stays in DynamoDB and never leaves the service; resume claims it. A repeated invocation for
 * the same wait only refreshes the token, and keeps the same link, whose expiry it moves to the
 * new attempt's timeout: a caller may already hold the link.
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
  // Step Functions times each attempt of the wait from its start; waits always have a timeout (the
  // DSL's default is a day).
  const expiresAt = () => Math.floor(Date.now() / 1000) + (wait.timeout_seconds ?? 86_400);
  const link = (nonce: string) => {
    const target = { tenant: payload.tenant, executionId: payload.execution_id, stepIndex: index, nonce };
    return { ...target, hash: callbackHash(callbackToken(deps.callbackKey, target)), expiresAt: expiresAt() };
  };
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
      // A fresh nonce per attempt: a lost race writes nothing, so nothing refers to the last one.
      const { nonce, hash, expiresAt: at } = link(newCallbackNonce());
      return {
        type: 'wait',
        step: { index, name: wait.name },
        waitToken: payload.task_token,
        callback: { nonce, lookup: { hash, expiresAt: at } },
        output: { prompt: wait.prompt ?? null, input: payload.input, timeout_seconds: wait.timeout_seconds ?? null },
      };
    },
    record,
  );
  if (!result.applied && result.record.waitToken !== payload.task_token) {
    const nonce = result.record.callbackNonce;
    await deps.repository.replaceWaitToken(result.record, index, payload.task_token, nonce === undefined ? undefined : link(nonce));
  }
  deps.logger.info('waiting for input', { execution_id: record.id, step: wait.name, written: result.applied });
}
