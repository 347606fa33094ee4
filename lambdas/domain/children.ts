import { createHash } from 'node:crypto';
import type { ExecutionRecord } from './execution.js';
import { idBoundAt, idTimestamp } from './ids.js';
import { isTerminal, type ExecutionStatus } from './status.js';

// Child executions (`runTask`): how a child's id is derived, and how its end answers its parent.

/**
 * Error names a `runTask` state fails with. The child-start function throws the first three (the
 * Lambda error's name, as Step Functions reports it); the child's end answers the parent's task
 * token with the last three, or with the child's own error name.
 */
export const CHILD_ERRORS = {
  /** No task of that id is deployed (child-start; retrying cannot help). */
  taskNotFound: 'ChildTaskNotFound',
  /** The child input fails the child task's input schema or is over 250 KiB (child-start; retrying cannot help). */
  inputInvalid: 'ChildInputInvalid',
  /** The parent has ended, so it starts no child (child-start; retrying cannot help). */
  parentEnded: 'ExecutionEnded',
  /** The child was cancelled (by the API, or because an ancestor ended). */
  cancelled: 'ChildCancelled',
  /** The child exceeded its time limit (its own error is `States.Timeout`, a name only Step Functions may raise). */
  timedOut: 'ChildTimedOut',
  /**
   * The child failed with an error whose name the parent's `runTask` state must not see as its
   * own: `States.*` (which only Step Functions may raise) other than a timeout, `Lambda.*` (which
   * the state retries as Lambda refusing the invocation) or {@link CHILD_ERRORS.startFailed}.
   */
  failed: 'ChildFailed',
  /** The child-start function itself failed (DynamoDB or Step Functions): the one error its state retries. */
  startFailed: 'ChildStartFailed',
} as const;

/** Errors of the child-start function that the same call would raise again: never worth a retry. */
export const CHILD_START_FINAL_ERRORS: readonly string[] = [CHILD_ERRORS.taskNotFound, CHILD_ERRORS.inputInvalid, CHILD_ERRORS.parentEnded];

/** Step Functions' limits on `SendTaskFailure`: the error name and the cause. */
const ERROR_MAX = 256;
const CAUSE_MAX = 32_768;

/**
 * The id of the child execution that parent `parentId` starts at `instance` (one `runTask` step
 * instance, stable across Step Functions retries): the same for every retry, so a retried start finds
 * the child it created instead of creating a second one. A UUIDv7 like any execution id (the API
 * takes it as one), whose time is the PARENT's creation time, the only time that every retry knows,
 * and whose 74 other bits are SHA-256 of the parent id and the instance.
 */
export function childExecutionId(parentId: string, instance: string): string {
  const hash = createHash('sha256').update(`${parentId}\n${instance}`).digest();
  hash[0] = (hash[0]! & 0x0f) | 0x70; // version 7
  hash[2] = (hash[2]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = hash.toString('hex');
  // The time part of an id is its first 13 characters ("tttttttt-tttt").
  return `${idBoundAt(idTimestamp(parentId), 'min').slice(0, 13)}-${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 20)}`;
}

/** How a child's end answers its parent's `runTask` state: its output, or a failure. */
export type ParentAnswer =
  | { readonly succeeded: true; readonly output: unknown }
  | { readonly succeeded: false; readonly error: string; readonly cause: string };

/**
 * What the parent's `runTask` state receives when `child` has ended: a success carries the child's
 * output (as stored: over DynamoDB's item limit, its `output_too_large` marker); a failure the
 * child's error name and message, a cancel `ChildCancelled` with the reason. Error names starting
 * with `States.` are Step Functions' own and cannot be sent: a timeout becomes `ChildTimedOut`, any
 * other `ChildFailed`, with the original name in the cause.
 * @throws Error when the child has not ended.
 */
export function parentAnswerOf(child: ExecutionRecord): ParentAnswer {
  if (!isTerminal(child.status)) throw new Error(`Child execution ${child.id} is ${child.status}: it has no answer yet`);
  if (child.status === 'succeeded') return { succeeded: true, output: child.output ?? null };
  if (child.status === 'cancelled') {
    return { succeeded: false, error: CHILD_ERRORS.cancelled, cause: (child.cancelReason ?? `Child execution ${child.id} was cancelled.`).slice(0, CAUSE_MAX) };
  }
  const name = child.error?.name || 'Error';
  const message = child.error?.message || name;
  // A name the parent's state would retry (or that only Step Functions may raise) is passed on inside the cause.
  const reserved = name.startsWith('States.') || name.startsWith('Lambda.') || name === CHILD_ERRORS.startFailed;
  if (!reserved) return { succeeded: false, error: name.slice(0, ERROR_MAX), cause: message.slice(0, CAUSE_MAX) };
  const error = name === 'States.Timeout' ? CHILD_ERRORS.timedOut : CHILD_ERRORS.failed;
  return { succeeded: false, error, cause: `${name}: ${message}`.slice(0, CAUSE_MAX) };
}

/** The reason a child is cancelled with when its parent has ended. */
export function parentEndedReason(parentId: string, status: ExecutionStatus): string {
  return status === 'cancelled' ? `Parent execution ${parentId} was cancelled.` : `Parent execution ${parentId} ${status}.`;
}
