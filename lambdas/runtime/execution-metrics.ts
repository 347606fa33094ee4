import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { putMetrics } from '../shared/metrics.js';

/**
 * The executions' metrics (namespace `AsyncExecutions`, dimension `TaskId`, and without dimensions
 * for the whole service) by what they measure, as the dashboard reads them. {@link countTransition}
 * spells the names out: the bundles that write them carry no object of them.
 */
export const EXECUTION_METRICS = {
  started: 'ExecutionsStarted',
  succeeded: 'ExecutionsSucceeded',
  failed: 'ExecutionsFailed',
  cancelled: 'ExecutionsCancelled',
  /** From the `start` transition to the terminal one, in milliseconds. */
  duration: 'ExecutionDuration',
  /** From a `wait` transition to what ends the wait (`resume`, `error`, `cancel`), in milliseconds. */
  waiting: 'WaitDuration',
} as const;

/**
 * Writes the metrics of a transition this writer has just applied (`applied: true`: the transaction
 * is conditioned on the transition count, so exactly one writer of each transition gets here): an
 * execution started (`start`), ended (`finish`, `error`, `cancel`; with its duration when it had
 * started), stopped waiting for input (anything that leaves `awaiting_input`: while an execution
 * waits its record changes only by transitions, so `updatedAt` is when the wait began). Nothing for
 * the other rows. After the write, as a log line: nothing here can fail it.
 */
export function countTransition(before: ExecutionRecord, row: TransitionRecord): void {
  const at = Date.parse(row.createdAt);
  const metrics: Record<string, number> = {};
  const counted = ({ start: 'Started', finish: 'Succeeded', error: 'Failed', cancel: 'Cancelled' } as Partial<Record<string, string>>)[row.type];
  if (counted) {
    metrics[`Executions${counted}`] = 1;
    // Set by the `start` transition itself, so never on its own row.
    if (before.startedAt) metrics.ExecutionDuration = at - Date.parse(before.startedAt);
  }
  if (before.status === 'awaiting_input') metrics.WaitDuration = at - Date.parse(before.updatedAt);
  if (Object.keys(metrics).length > 0) putMetrics(metrics, { TaskId: before.taskId }, { execution_id: before.id, task_id: before.taskId, tenant: before.tenant });
}
