import { ConflictError } from './errors.js';
import { START_EXECUTION_FAILED, type ExecutionError, type ExecutionRecord } from './execution.js';
import { planTransition, type PlannedTransition, type RecordPatch } from './transition.js';

// Retrying a failed execution from the step that failed (Step Functions' RedriveExecution), as
// pure planning: which records may be retried, the `retry` change that reopens one, and the `error`
// change that closes it again when Step Functions refuses. Kept out of transition.ts, which every
// step function bundles: none of them ever plans a retry.

/** Error names of executions Step Functions never ran: nothing to redrive (replay them instead). */
export const NEVER_STARTED_ERRORS: readonly string[] = [START_EXECUTION_FAILED, 'ExecutionNotStarted'];

/** Error name of a retry Step Functions refused (the record is failed again). */
export const RETRY_REFUSED = 'RetryRefused';

/** Error name of a retry recorded but never taken up by Step Functions (the reconciler fails it again). */
export const RETRY_NOT_STARTED = 'RetryNotStarted';

/**
 * Checks that `record` may be retried: it failed (a cancelled or succeeded execution is final), Step
 * Functions ran it, and it is not a child execution (its parent's `runTask` state already has its
 * answer: retry the parent, or replay the child).
 * @throws ConflictError (409) naming why not.
 */
export function checkRetryable(record: ExecutionRecord): void {
  if (record.status !== 'failed') {
    throw new ConflictError(`Only a failed execution can be retried; this one is ${record.status}. Replay it to run it again.`);
  }
  if (record.error && NEVER_STARTED_ERRORS.includes(record.error.name)) {
    throw new ConflictError('This execution never started in Step Functions, so there is no failed step to retry from. Replay it instead.');
  }
  if (record.parentExecutionId !== undefined) {
    throw new ConflictError(`A child execution has answered its parent ${record.parentExecutionId} already. Retry the parent, or replay this execution.`);
  }
}

/**
 * Plans the `retry` of a failed record (failed → running): the row names the step that failed and
 * the error it failed with; the record loses `completed_at` and `error` and counts one more retry
 * (`redrive_count`, Step Functions' `redriveCount` of the attempt it starts). The repository also
 * takes it off TTL and back into the reconciler's index (`RecoveryStore.reopen`).
 * @throws ConflictError when the status table does not allow it.
 */
export function planRetry(record: ExecutionRecord, now: string): PlannedTransition {
  checkRetryable(record);
  const retries = (record.redriveCount ?? 0) + 1;
  const step = record.error?.step;
  const planned = planTransition(
    record,
    { type: 'retry', ...(step ? { step } : {}), output: { retry: retries, previous_error: record.error ?? null } },
    now,
  );
  const patch: RecordPatch = {
    ...planned.patch,
    completedAt: undefined,
    error: undefined,
    redriveCount: retries,
    progressMessage: `retry ${retries}: resuming from step "${step?.name ?? record.stepName}"`,
  };
  // The step that failed is the one that runs next.
  const row = { ...planned.row, nextStep: step?.index ?? record.stepIndex };
  const { completedAt: _completed, error: _error, ...kept } = planned.record;
  return { ...planned, patch, row, record: { ...kept, ...patch, completedAt: undefined, error: undefined } as typeof planned.record };
}

/**
 * Plans the `error` that closes a retry Step Functions did not take up (running → failed): refused
 * (`RetryRefused`) or never reached (`RetryNotStarted`, found by the reconciler). `redrive_count`
 * goes back to what Step Functions counts (`sfnRedriveCount`): it counts only redrives that
 * started, and late status events are told apart by that count.
 */
export function planRetryLapsed(retried: ExecutionRecord, error: ExecutionError, sfnRedriveCount: number | undefined, cause: string, now: string): PlannedTransition {
  const planned = planTransition(retried, { type: 'error', error, output: { ...error, cause } }, now);
  const redriveCount = sfnRedriveCount || undefined;
  return { ...planned, patch: { ...planned.patch, redriveCount }, record: { ...planned.record, redriveCount } };
}

/** The error of a retry Step Functions refused, keeping the first failure's step and words. */
export function retryRefusedError(previous: ExecutionError | undefined, cause: string): ExecutionError {
  return {
    name: RETRY_REFUSED,
    message: `Step Functions refused to retry the execution (${cause}).${previous ? ` It had failed with ${previous.name}: ${previous.message}` : ''}`.slice(0, 1000),
    ...(previous?.step ? { step: previous.step } : {}),
  };
}

/** True when a status report of attempt `reportedRedriveCount` predates the record's latest retry. */
export function isEarlierAttempt(record: ExecutionRecord, reportedRedriveCount: number | undefined): boolean {
  return (reportedRedriveCount ?? 0) < (record.redriveCount ?? 0);
}
