import type { ExecutionStatus, TransitionType } from './status.js';

/** Identifies a step of a task by its position and name. */
export interface StepRef {
  readonly index: number;
  readonly name: string;
}

/** Why an execution failed. `step` names the step that failed, when one did. */
export interface ExecutionError {
  readonly name: string;
  readonly message: string;
  readonly step?: StepRef;
}

/** Error name of an execution Step Functions refused to start (the caller got a 503). */
export const START_EXECUTION_FAILED = 'StartExecutionFailed';

/** A small JSON object callers attach to an execution, returned exactly as they sent it. */
export type Metadata = Readonly<Record<string, unknown>>;

/** An execution as stored: the source of every API view. */
export interface ExecutionRecord {
  readonly tenant: string;
  readonly id: string;
  readonly taskId: string;
  readonly status: ExecutionStatus;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: ExecutionError;
  readonly metadata: Metadata;
  /** Number of transition rows; the optimistic-lock version of the record. */
  readonly transitionCount: number;
  /** Index of the step in progress, or of the last step reached. */
  readonly stepIndex: number;
  readonly stepName: string;
  readonly stepsCompleted: number;
  readonly totalSteps: number;
  /** Fraction (0..1) of the current step done, as reported by its handler. */
  readonly stepFraction: number;
  readonly progressMessage?: string;
  readonly executionArn: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  /** Step Functions task token of the pending wait; never leaves the service. */
  readonly waitToken?: string;
  /**
   * Nonce of the pending wait's resume link (`lambdas/domain/callbacks.ts`): a link works only while
   * the record waits with this nonce. Kept as long as the wait token.
   */
  readonly callbackNonce?: string;
  readonly cancelReason?: string;
  /** Branches or items of the current top-level parallel or map step that have finished. */
  readonly branchesDone?: number;
  /** The execution whose `runTask` step started this one (a child execution); absent for others. */
  readonly parentExecutionId?: string;
  /** Where this execution's own webhooks go (`webhook_url` on create); absent for none. */
  readonly webhookUrl?: string;
  /** The secret that signs them (`whsec_…`), shown in the create response only; never in a view. */
  readonly webhookSecret?: string;
  /** Caller's labels (at most 10, `lambdas/domain/tags.ts`), indexed one item per tag; absent for none. */
  readonly tags?: readonly string[];
  /** The batch (`POST /executions/batch`) that created it; absent for others. */
  readonly batchId?: string;
  /** The execution this one replays (`POST /executions/{id}/replay`); absent for others. */
  readonly replayedFrom?: string;
  /**
   * Times the execution was retried from its failed step (`POST /executions/{id}/retry`), which is
   * Step Functions' `redriveCount` of the attempt now running; absent (0) until the first retry.
   */
  readonly redriveCount?: number;
  /** The recurring schedule (`POST /schedules`) this execution is a run of; absent for others. */
  readonly scheduleId?: string;
  /** Its priority in its tenant's queue, 1 (lowest) to 5 (highest), when the create gave one. */
  readonly priority?: number;
  /** The caller's concurrency key (`concurrency_key`): limits and fairness per key. */
  readonly concurrencyKey?: string;
  /** When a delayed execution is to start (ISO 8601); absent for one that starts at once. */
  readonly startAt?: string;
}

/**
 * An execution with what its family's follow-ups need (read by `FamilyStore` only, so the functions
 * that never deal with children do not carry the code).
 */
export interface FamilyRecord extends ExecutionRecord {
  /**
   * Task token of the parent's `runTask` state that waits for this child; answered when the child
   * ends. Never leaves the service.
   */
  readonly parentToken?: string;
  /** The Step Functions attempt (`$$.State.RetryCount`) that stored {@link parentToken}. */
  readonly parentAttempt?: number;
  /** Children created under this execution so far. */
  readonly childCount: number;
}

/** One immutable row of an execution's history. */
export interface TransitionRecord {
  readonly id: string;
  readonly executionId: string;
  readonly taskId: string;
  readonly seq: number;
  readonly type: TransitionType;
  readonly from: ExecutionStatus | null;
  readonly to: ExecutionStatus;
  readonly step: StepRef | null;
  /**
   * Where nested work ran: the path of parallel branches, map items and choice cases from the top
   * level (`summarize[3]/both[1]`); absent for top-level rows.
   */
  readonly scope?: string;
  /** Index of the top-level step reached when the row was written. */
  readonly currentStep: number;
  /** Index of the step that runs next, or null when none will. */
  readonly nextStep: number | null;
  readonly output: unknown;
  readonly metadata: Metadata;
  readonly createdAt: string;
  /** `wait` rows: the nonce its resume link is minted from (the view shows the link, never the nonce). */
  readonly callbackNonce?: string;
}
