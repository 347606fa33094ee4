import type { CallbackLookup } from './callbacks.js';
import { ConflictError } from './errors.js';
import { START_EXECUTION_FAILED, type ExecutionError, type ExecutionRecord, type Metadata, type StepRef, type TransitionRecord } from './execution.js';
import { newTransitionId } from './ids.js';
import { nextStatus, type TransitionType } from './status.js';

/** A status change a writer asks for; {@link planTransition} decides whether it may happen. */
export interface TransitionRequest {
  readonly type: Exclude<TransitionType, 'init'>;
  /** The step this row is about (`start`, `step`, `wait`, `resume`). */
  readonly step?: StepRef;
  /** The step the execution moves on to (`step`, `resume`); omitted when it stays or ends. */
  readonly advanceTo?: StepRef;
  /** Step output, resume input, final output or error, stored on the row. */
  readonly output?: unknown;
  readonly metadata?: Metadata;
  /** The final output (`finish`). */
  readonly result?: unknown;
  /** Why it failed (`error`). */
  readonly error?: ExecutionError;
  /** Task token to keep until resume (`wait`). */
  readonly waitToken?: string;
  /** The wait's resume link (`wait`): its nonce, and the lookup item when this change creates the link. */
  readonly callback?: WaitCallback;
  /** Reason given by whoever cancelled (`cancel`). */
  readonly reason?: string;
  /** The task token the writer read (`resume`): the write fails if another wait replaced it. */
  readonly expectWaitToken?: string;
  /**
   * `cancel` only: Step Functions has already stopped the execution (it reported ABORTED), so the
   * cancel records what happened and is not refused once every step has completed.
   */
  readonly stopped?: boolean;
  /**
   * Nested rows (`step`, `init_branch`, `finish_branch` inside a parallel, map or choice): the scope
   * path they ran in. They leave the top-level step counters alone.
   */
  readonly scope?: string;
  /**
   * Idempotency key of this change within the execution (e.g. `step:summarize[3]:summarize-doc`):
   * the write also creates a marker item that must not exist yet, so a retried or duplicated
   * writer of the same change never writes a second row (it gets {@link AlreadyRecordedError}).
   */
  readonly marker?: string;
  /** Progress message to show after this change (e.g. "sleeping until …"). */
  readonly message?: string;
  /**
   * `finish_branch` of a branch or item of the current top-level step: counts it done out of
   * `total`, and shows that as the step's progress.
   */
  readonly countsToward?: { readonly total: number; readonly unit: 'items' | 'branches' };
}

/** A wait's resume link, as its `wait` transition records it (see `lambdas/domain/callbacks.ts`). */
export interface WaitCallback {
  /** Kept on the record while it waits, and on the row, which shows the link minted from it. */
  readonly nonce: string;
  /**
   * When this change creates the link (a wait's first row, not one restored after a resume that
   * could not be delivered): the token's hash, which keys the lookup item, and when the link
   * expires (epoch seconds; the item's TTL).
   */
  readonly lookup?: { readonly hash: string; readonly expiresAt: number };
}

/** The record fields a transition changes. */
export type RecordPatch = Partial<
  Pick<
    ExecutionRecord,
    | 'status'
    | 'transitionCount'
    | 'updatedAt'
    | 'startedAt'
    | 'completedAt'
    | 'output'
    | 'error'
    | 'stepIndex'
    | 'stepName'
    | 'stepsCompleted'
    | 'stepFraction'
    | 'progressMessage'
    | 'waitToken'
    | 'callbackNonce'
    | 'cancelReason'
    | 'branchesDone'
    | 'redriveCount'
  >
>;

/** What a writer persists, in one transaction, for one status change. */
export interface PlannedTransition {
  /** The record as it is after the change. */
  readonly record: ExecutionRecord;
  /** Only the fields that change (`undefined` values are removed from the stored record). */
  readonly patch: RecordPatch;
  readonly row: TransitionRecord;
  /** The stored task token must still be this one (see {@link TransitionRequest.expectWaitToken}). */
  readonly expectWaitToken?: string;
  /**
   * The stored record must still have a step to run: true for a cancel the API requested, which
   * must not land once the last step has recorded its output (see {@link planTransition}).
   */
  readonly expectStepsPending: boolean;
  /** Key of the marker item the write creates (see {@link TransitionRequest.marker}). */
  readonly marker?: string;
  /**
   * The resume link's lookup item to create in the same transaction (a `wait`), keyed by `hash`:
   * the wait function's store (`WaitStore`) writes it; no other function writes a wait that creates a link.
   */
  readonly callback?: CallbackLookup & { readonly hash: string };
}

/** Row `seq` of `record`, written at `now`; `fields` say what it records. Every row is built here. */
const rowOf = (record: ExecutionRecord, seq: number, now: string, fields: Omit<TransitionRecord, 'id' | 'executionId' | 'taskId' | 'seq' | 'createdAt'>): TransitionRecord => ({
  id: newTransitionId(seq, Date.parse(now)),
  executionId: record.id,
  taskId: record.taskId,
  seq,
  ...fields,
  createdAt: now,
});

function nextStepOf(type: TransitionType, record: ExecutionRecord, step: StepRef | undefined): number | null {
  switch (type) {
    case 'start':
    case 'wait':
      return step?.index ?? record.stepIndex;
    case 'step':
    case 'resume': {
      const next = (step?.index ?? record.stepIndex) + 1;
      return next < record.totalSteps ? next : null;
    }
    default:
      return null;
  }
}

/**
 * Plans one status change of `record`: checks it against the status table (409 when not
 * allowed) and computes the new record fields and the transition row, numbered `seq = count + 1`.
 */
export function planTransition(record: ExecutionRecord, request: TransitionRequest, now: string): PlannedTransition {
  const to = nextStatus(request.type, record.status);
  const seq = record.transitionCount + 1;
  const patch: {
    -readonly [K in keyof RecordPatch]: RecordPatch[K];
  } = { status: to, transitionCount: seq, updatedAt: now };

  const nested = request.scope !== undefined;
  switch (request.type) {
    case 'init_branch':
      break;
    case 'finish_branch':
      if (request.countsToward) {
        const done = (record.branchesDone ?? 0) + 1;
        const { total, unit } = request.countsToward;
        patch.branchesDone = done;
        patch.stepFraction = Math.min(1, done / Math.max(1, total));
        patch.progressMessage = `${done} of ${total} ${unit} done`;
      }
      break;
    case 'start':
      patch.startedAt = now;
      break;
    case 'step':
    case 'resume':
      if (nested) break;
      // The branch count belonged to the step now done.
      if (record.branchesDone !== undefined) patch.branchesDone = undefined;
      patch.stepsCompleted = (request.step?.index ?? record.stepIndex) + 1;
      patch.stepFraction = 0;
      patch.progressMessage = undefined;
      if (request.advanceTo) {
        patch.stepIndex = request.advanceTo.index;
        patch.stepName = request.advanceTo.name;
      }
      if (request.type === 'resume') {
        patch.waitToken = undefined;
        // The link dies with the wait it resumes (by whichever path).
        if (record.callbackNonce !== undefined) patch.callbackNonce = undefined;
      }
      break;
    case 'wait':
      patch.waitToken = request.waitToken;
      if (request.callback) patch.callbackNonce = request.callback.nonce;
      // The wait step itself is not done; this also undoes a resume whose token could not be delivered.
      patch.stepsCompleted = request.step?.index ?? record.stepIndex;
      if (request.step) {
        patch.stepIndex = request.step.index;
        patch.stepName = request.step.name;
      }
      break;
    case 'finish':
      patch.completedAt = now;
      patch.output = request.result;
      patch.stepsCompleted = record.totalSteps;
      patch.stepFraction = 0;
      patch.progressMessage = undefined;
      break;
    case 'error':
      patch.completedAt = now;
      patch.error = request.error;
      patch.waitToken = undefined;
      if (record.callbackNonce !== undefined) patch.callbackNonce = undefined;
      break;
    case 'cancel':
      // Once every step has recorded its output, only Step Functions' success (the `finish`) is
      // still to come: a cancel would drop a finished result. A stop that already happened is exempt.
      if (!request.stopped && record.stepsCompleted >= record.totalSteps) {
        throw new ConflictError('Every step has completed: the execution is finishing.');
      }
      patch.completedAt = now;
      patch.cancelReason = request.reason;
      patch.waitToken = undefined;
      if (record.callbackNonce !== undefined) patch.callbackNonce = undefined;
      break;
  }

  if (request.message !== undefined) patch.progressMessage = request.message;

  const step = request.step ?? null;
  const row = rowOf(record, seq, now, {
    type: request.type,
    from: record.status,
    to,
    step,
    ...(nested ? { scope: request.scope } : {}),
    // A nested row is inside the top-level step the execution is at, which is also what runs next.
    currentStep: nested ? record.stepIndex : (step?.index ?? record.stepIndex),
    nextStep: nested ? record.stepIndex : nextStepOf(request.type, record, request.step),
    output: request.output ?? null,
    metadata: request.metadata ?? {},
    ...(request.callback ? { callbackNonce: request.callback.nonce } : {}),
  });
  const lookup = request.callback?.lookup;
  return {
    record: { ...record, ...patch },
    patch,
    row,
    ...(request.expectWaitToken === undefined ? {} : { expectWaitToken: request.expectWaitToken }),
    // Checked again in the write: a step recorded after this plan was read must still win.
    expectStepsPending: request.type === 'cancel' && !request.stopped,
    ...(request.marker === undefined ? {} : { marker: request.marker }),
    ...(lookup && step
      ? { callback: { ...lookup, tenant: record.tenant, executionId: record.id, stepIndex: step.index, nonce: request.callback!.nonce } }
      : {}),
  };
}

/** The `init` row every new execution starts with. */
export function initTransition(record: ExecutionRecord): TransitionRecord {
  return rowOf(record, 1, record.createdAt, {
    type: 'init',
    from: null,
    to: 'queued',
    step: null,
    currentStep: 0,
    nextStep: 0,
    output: record.input,
    metadata: record.metadata,
  });
}

/**
 * The `error` transition of a `queued` execution Step Functions refused to start: exactly what
 * {@link planTransition} plans for it (a test holds the two equal), written out because the
 * functions that create executions (create, batch) bundle this and not the whole status table,
 * which would put them over their size budget.
 */
export function unstartedFailure(record: ExecutionRecord, cause: string, now: string): PlannedTransition {
  const seq = record.transitionCount + 1;
  const error: ExecutionError = { name: START_EXECUTION_FAILED, message: `Step Functions refused to start the execution (${cause}).` };
  const patch = { status: 'failed' as const, transitionCount: seq, updatedAt: now, completedAt: now, error };
  return {
    record: { ...record, ...patch },
    patch,
    row: rowOf(record, seq, now, {
      type: 'error',
      from: record.status,
      to: 'failed',
      step: null,
      currentStep: record.stepIndex,
      nextStep: null,
      output: { name: START_EXECUTION_FAILED, cause },
      metadata: {},
    }),
    expectStepsPending: false,
  };
}
