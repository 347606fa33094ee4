import type { BulkActionName, BulkItemOutcome } from '../domain/bulk.js';
import type { ProblemDetails } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { cancelExecution, type ControlDeps } from './execution-control.js';

/** What an action needs: the control dependencies, and the job's own words (its reason). */
export interface BulkActionDeps extends ControlDeps {
  /** The job's reason, if it gave one. */
  readonly reason?: string;
  /** The job's id, for the default reason. */
  readonly jobId: string;
}

/**
 * What an action did to one execution. An action returns `succeeded` or throws: the worker turns a
 * thrown error into `skipped` (a 409: the execution no longer allows it) or `failed` with its problem
 * (`outcomeOfError`), never a job failure.
 */
export interface ActionOutcome {
  readonly outcome: BulkItemOutcome;
  readonly problem?: ProblemDetails;
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

/** The function of each action a job may apply. */
export const BULK_ACTION_FUNCTIONS: Readonly<Record<BulkActionName, BulkAction>> = { cancel };
