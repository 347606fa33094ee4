import { bulkReplayKey, type BulkActionName, type BulkItemOutcome } from '../domain/bulk.js';
import type { ProblemDetails } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import type { TaskOutline } from '../tasks/task-catalogue.js';
import { cancelExecution, taskOf } from './execution-control.js';
import { replayExecution, retryExecution, type RecoveryDeps } from './execution-recovery.js';

/**
 * What the worker's actions share: the recovery dependencies (a store that can reopen a failed
 * record and create one) and the deployed tasks (a retried or replayed execution's task must still
 * be deployed, as on the single routes; a replay needs its outline).
 */
export interface BulkControlDeps extends RecoveryDeps {
  /** The tasks this stack deployed, by id. */
  readonly tasks: ReadonlyMap<string, TaskOutline>;
  /** Whether a tenant has concurrency limits (`AdmissionStore.limited`): its replays then wait for admission. */
  limited(tenant: string): Promise<boolean>;
}

/** What an action needs: the control dependencies, and the job's own words (its id, its reason). */
export interface BulkActionDeps extends BulkControlDeps {
  /** The job's reason, if it gave one. */
  readonly reason?: string;
  /** The job's id, for the default reason and the replay's Idempotency-Key. */
  readonly jobId: string;
  /** A replay job only: its tenant has concurrency limits (read once per page). */
  readonly tenantLimited?: boolean;
}

/**
 * What an action did to one execution. An action returns `succeeded` or throws: the worker turns a
 * thrown error into `skipped` (a 409: the execution no longer allows it) or `failed` with its problem
 * (`outcomeOfError`), never a job failure.
 */
export interface ActionOutcome {
  readonly outcome: BulkItemOutcome;
  readonly problem?: ProblemDetails;
  /** The execution the action started (a replay's). */
  readonly resultExecutionId?: string;
}

/** One bulk action: applied to one execution as its single-execution route would. */
export type BulkAction = (deps: BulkActionDeps, record: ExecutionRecord) => Promise<ActionOutcome>;

/**
 * Cancel: exactly `POST /executions/{id}/cancel` (`cancelExecution`): the conditional `cancel`
 * transition decides (a terminal execution throws the 409 that becomes `skipped`), then the state
 * machine is stopped.
 */
const cancel: BulkAction = async (deps, record) => {
  await cancelExecution(deps, record, deps.reason ?? `Cancelled by bulk action ${deps.jobId}`);
  return { outcome: 'succeeded' };
};

/**
 * Retry: exactly `POST /executions/{id}/retry` (`retryExecution`): its task must still be deployed
 * (else 404, `failed`); the conditional `retry` transition decides (an execution that is not failed,
 * or that another retry took first, throws the 409 that becomes `skipped`), then the redrive. Step
 * Functions' refusals are the route's: 409 (`skipped`: not redrivable, the execution failed again)
 * or 503 (`failed`: a quota or throttling, or an answer lost).
 */
const retry: BulkAction = async (deps, matched) => {
  taskOf(deps.tasks, matched);
  // The record as the route reads it (strongly consistent): the index copy the page matched may lag
  // the record's last write, and the transition is conditioned on the count it reads.
  const record = matched.status === 'failed' ? await deps.repository.get(matched.tenant, matched.id) : matched;
  await retryExecution(deps, record);
  return { outcome: 'succeeded' };
};

/**
 * Replay: exactly `POST /executions/{id}/replay` without a body (`replayExecution`): a new execution
 * of the same task, input and metadata, `replayed_from` the matched one, under an Idempotency-Key
 * of the job and the execution ({@link bulkReplayKey}), so a page done again finds the replay it
 * started (the same new execution, recorded as this item's result) and never starts a second one.
 */
const replay: BulkAction = async (deps, record) => {
  const task = taskOf(deps.tasks, record);
  const { record: started } = await replayExecution(deps, record, task, {}, bulkReplayKey(deps.jobId, record.id), deps.tenantLimited);
  return { outcome: 'succeeded', resultExecutionId: started.id };
};

/** The function of each action a job may apply. */
export const BULK_ACTION_FUNCTIONS: Readonly<Record<BulkActionName, BulkAction>> = { cancel, retry, replay };
