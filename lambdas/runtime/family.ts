import { SendTaskFailureCommand, SendTaskSuccessCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { parentAnswerOf, parentEndedReason } from '../domain/children.js';
import type { ExecutionRecord, FamilyRecord } from '../domain/execution.js';
import { isTerminal } from '../domain/status.js';
import type { FamilyStore } from '../repository/family-store.js';
import type { Logger } from '../shared/logger.js';
import { progress } from './progression.js';
import { errorName } from '../shared/dependency-errors.js';

/** What answering parents and cancelling children need. */
export interface FamilyDeps {
  readonly repository: FamilyStore;
  readonly sfn: SFNClient;
  readonly logger: Logger;
}

/** What {@link settleFamily} found. */
export type SettleOutcome =
  /** The execution has not ended: nothing is owed yet. */
  | 'active'
  /** It had ended: its parent is answered, its children are cancelled, and its follow-up item is settled. */
  | 'settled'
  /** No such record (TTL removed it): its follow-up item is settled. */
  | 'missing';

/** What answering the parent's token did. */
export type AnswerOutcome = 'answered' | 'gone';

/** Answers of Step Functions meaning the token no longer waits: the parent moved on (timed out, stopped, retried). */
const TOKEN_GONE = ['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken'];

/** Children cancelled at once when a parent ends; the rest wait for a free slot. */
const CANCEL_CONCURRENCY = 8;

/** True when an execution may owe its family something once it ends: it is a child, or has children. */
export function hasFamily(record: ExecutionRecord): boolean {
  return record.parentExecutionId !== undefined || ((record as Partial<FamilyRecord>).childCount ?? 0) > 0;
}

/**
 * Answers the parent's `runTask` state that waits on `token` with how `child` ended
 * ({@link parentAnswerOf}). At least once: Step Functions takes the first answer and refuses later
 * ones with `TaskDoesNotExist`, which, like `TaskTimedOut` and `InvalidToken`, means the parent no
 * longer waits (it timed out, was stopped, or a retry holds a newer token): logged and dropped, so
 * a duplicated event never becomes a retry storm. Anything else is thrown, for the caller's retry.
 */
export async function answerParent(deps: FamilyDeps, child: ExecutionRecord, token: string): Promise<AnswerOutcome> {
  const answer = parentAnswerOf(child);
  const logger = deps.logger.child({ execution_id: child.id, parent_execution_id: child.parentExecutionId });
  try {
    if (answer.succeeded) await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(answer.output) }));
    else await deps.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: answer.error, cause: answer.cause }));
  } catch (error) {
    if (!TOKEN_GONE.includes(errorName(error))) throw error;
    logger.warn('the parent no longer waits for this child; its answer is dropped', { answer: errorName(error) });
    return 'gone';
  }
  logger.info('parent answered', { child_status: child.status });
  return 'answered';
}

/**
 * Cancels one child of an ended parent: the `cancel` transition (so a child that ends at the same
 * moment either ends first, and is left as it ended, or finds itself cancelled: one winner), then
 * `StopExecution`. A child whose every step has completed is left to finish (only Step Functions'
 * success is still to come, and a cancel would be refused). Its own children follow when its end is
 * recorded: its ABORTED event, or the reconciler for a child that never started.
 * @returns true when this call cancelled it.
 */
export async function cancelChild(deps: FamilyDeps, tenant: string, childId: string, reason: string): Promise<boolean> {
  const { record, applied } = await progress(deps.repository, tenant, childId, (current) =>
    isTerminal(current.status) || current.stepsCompleted >= current.totalSteps
      ? undefined
      : { type: 'cancel', reason, output: { reason, parent_execution_id: current.parentExecutionId ?? null } },
  );
  if (!applied) return false;
  try {
    await deps.sfn.send(new StopExecutionCommand({ executionArn: record.executionArn, error: 'Cancelled', cause: reason.slice(0, 32_000) }));
  } catch (error) {
    // The record is authoritative: a running step sees `cancelled` and ends the state machine. One
    // that never started has nothing to stop.
    if (errorName(error) !== 'ExecutionDoesNotExist') deps.logger.error('StopExecution of a child failed after its cancel', { execution_id: childId, error });
  }
  return true;
}

/**
 * Cancels the children of an ended parent that have not ended, a few at a time. The `by-parent`
 * index is eventually consistent, so the children it lists are counted against the parent's
 * `childCount` (incremented in each child's create transaction): when some are not listed yet, the
 * ones found are cancelled and this throws, so the caller's retry (the event's, or the reconciler's
 * next run) finds the rest.
 * @returns how many this call cancelled.
 */
export async function cancelChildren(deps: FamilyDeps, parent: FamilyRecord): Promise<number> {
  const reason = parentEndedReason(parent.id, parent.status);
  const live: string[] = [];
  let listed = 0;
  for await (const child of deps.repository.childrenOf(parent.tenant, parent.id)) {
    listed++;
    if (!isTerminal(child.status)) live.push(child.id);
  }
  let cancelled = 0;
  for (let i = 0; i < live.length; i += CANCEL_CONCURRENCY) {
    const batch = await Promise.all(live.slice(i, i + CANCEL_CONCURRENCY).map((id) => cancelChild(deps, parent.tenant, id, reason)));
    cancelled += batch.filter(Boolean).length;
  }
  if (listed < parent.childCount) {
    throw new Error(`Execution ${parent.id} has ${parent.childCount} children, ${listed} listed so far (the index lags); retry to cancel the rest`);
  }
  return cancelled;
}

/**
 * Does what an ended execution owes its family, at least once and in any order with its duplicates:
 * answers its parent's `runTask` state (a child) and cancels its children that still run (a
 * parent), then settles its follow-up item so the reconciler stops looking at it. Called when the
 * end is recorded (the status-change event), and by the reconciler for follow-up items a lost or
 * failed event left behind. Reads the record again: a retried `runTask` may have stored a newer
 * token, which is frozen once the child has ended.
 */
export async function settleFamily(deps: FamilyDeps, tenant: string, executionId: string): Promise<SettleOutcome> {
  const record = await deps.repository.find(tenant, executionId);
  const now = new Date().toISOString();
  if (!record) {
    await deps.repository.settled({ tenant, id: executionId }, now);
    return 'missing';
  }
  if (!isTerminal(record.status)) return 'active';
  if (record.parentToken !== undefined) await answerParent(deps, record, record.parentToken);
  if (record.childCount > 0) await cancelChildren(deps, record);
  await deps.repository.settled(record, now);
  return 'settled';
}
