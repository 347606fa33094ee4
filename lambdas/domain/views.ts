import { isPayloadReference } from './payload-limits.js';
import type { ProblemDetails } from './errors.js';
import type { ExecutionError, ExecutionRecord, Metadata, TransitionRecord } from './execution.js';
import type { ExecutionStatus, TransitionType } from './status.js';

/** How far an execution has come. */
export interface Progress {
  /** Index (0-based) of the step in progress, or of the last step reached. */
  readonly current_step: number;
  readonly step_name: string;
  readonly completed_steps: number;
  readonly total_steps: number;
  /** 0..100, one decimal; 100 once succeeded. */
  readonly percentage: number;
  readonly message: string | null;
}

/** The Execution resource of the HTTP API (Julep-compatible, plus progress and links). */
export interface ExecutionView {
  readonly id: string;
  readonly task_id: string;
  readonly status: ExecutionStatus;
  /** The input as sent; null when it was larger than the offload threshold (then `input_url` links to it). */
  readonly input: unknown;
  /** The result; null until it succeeds, and null when larger than the offload threshold (then `output_url` links to it). */
  readonly output: unknown;
  /**
   * A presigned link (15 minutes, answered by S3) to the input when it was offloaded to the payload
   * bucket, minted by `GET /executions/{id}` and the list routes; null otherwise.
   */
  readonly input_url: string | null;
  /** The same for the output: a presigned link when the output was offloaded, else null. */
  readonly output_url: string | null;
  /** Why it failed, in words (Julep's `error` is a string); null unless it failed. */
  readonly error: string | null;
  /** The same failure as data: its name, message and the step that failed. */
  readonly error_details: ExecutionError | null;
  readonly metadata: Metadata;
  readonly progress: Progress;
  readonly transition_count: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  readonly cancel_reason: string | null;
  /** The execution that started this one with `runTask`, or null. */
  readonly parent_execution_id: string | null;
  /** The recurring schedule this execution is a run of, or null. */
  readonly schedule_id: string | null;
  readonly console_url: string;
  readonly status_url: string;
  /** Its server-sent events (`GET /executions/{id}/events`). */
  readonly events_url: string;
  /**
   * The origin of its own webhooks' endpoint (set on create), or null: only the origin, as the
   * view reaches stream-token holders and webhook receivers, and a URL's path or query often holds
   * a credential.
   */
  readonly webhook_url: string | null;
  /** Its tags (`PUT /executions/{id}/tags` replaces them), or null for none. */
  readonly tags: readonly string[] | null;
  /** The batch that created it (`POST /executions/batch`), or null. */
  readonly batch_id: string | null;
  /** The execution this one replays (`POST /executions/{id}/replay`), or null. */
  readonly replayed_from: string | null;
  /** Times it was retried from its failed step (`POST /executions/{id}/retry`), or null if never. */
  readonly retry_count: number | null;
  /** Its priority (1 lowest, 5 highest) when the create gave one, or null. */
  readonly priority: number | null;
  /** Its concurrency key, or null. */
  readonly concurrency_key: string | null;
  /** When a delayed execution starts (it is `queued` until then), or null. */
  readonly start_at: string | null;
  /**
   * `GET /executions/{id}` only (other answers leave it out): why a `queued` execution waits and
   * where it stands; null when it does not wait.
   */
  readonly queue?: QueueView | null;
}

/** Why a `queued` execution has not started, and where it stands (GET /executions/{id}). */
export interface QueueView {
  /**
   * `start_at`: delayed until its start time; `tenant_limit`, `task_limit`, `key_limit`: that
   * limit of running executions is reached; `admitting`: a slot is free and admission is taking it
   * up; `starting`: admitted, its state machine is being started.
   */
  readonly reason: 'start_at' | 'tenant_limit' | 'task_limit' | 'key_limit' | 'admitting' | 'starting';
  /** 1 for the next to start in its tenant's queue (priority, then first in first out); null when not in the queue (delayed, starting). */
  readonly position: number | null;
  /** When a delayed execution becomes due, or null. */
  readonly start_at: string | null;
  /** The limit that holds it back, with the executions running in its scope, or null. */
  readonly limit: { readonly scope: string; readonly limit: number; readonly running: number } | null;
}

/** Julep's pointer to a place in a workflow. */
export interface WorkflowPosition {
  readonly workflow: string;
  readonly step: number;
  readonly scope_id: string;
}

/** The Transition resource of the HTTP API (Julep-compatible). */
export interface TransitionView {
  readonly id: string;
  readonly execution_id: string;
  readonly seq: number;
  readonly type: TransitionType;
  readonly from: ExecutionStatus | null;
  readonly to: ExecutionStatus;
  readonly step: { readonly index: number; readonly name: string } | null;
  /** Where nested work ran (`summarize[3]/both[1]`: map items and branches from the top level); null at the top level. */
  readonly scope: string | null;
  /** The row's value (a step's output, a resume input); null when offloaded (then `output_url` links to it). */
  readonly output: unknown;
  /** A presigned link (15 minutes) to the row's value when it was offloaded to the payload bucket, else null. */
  readonly output_url: string | null;
  readonly metadata: Metadata;
  readonly current: WorkflowPosition;
  readonly next: WorkflowPosition | null;
  readonly step_label: string | null;
  /**
   * `wait` rows: the wait's resume link, which resumes it once with the JSON body POSTed to it, no
   * API key needed, until its timeout; dead once the wait has ended. Null on every other row.
   */
  readonly callback_url: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** A page of a list: its items, and the cursor of the next page (null on the last). */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next_cursor: string | null;
}

/** An execution as its create answer shows it: with the secret that signs its own webhook's events, when it has one. */
export interface CreatedExecutionView extends ExecutionView {
  readonly webhook_secret?: string;
}

/**
 * An execution as a batch's result shows it: what identifies it and where to follow it, without the
 * input and metadata the caller sent (1,000 echoed inputs would outgrow Lambda's 6 MB answer).
 */
export type BatchExecutionView = Pick<ExecutionView, 'id' | 'task_id' | 'status' | 'created_at' | 'status_url' | 'tags' | 'batch_id'>;

/** The outcome of one item of a batch (`POST /executions/batch`), in request order. */
export interface BatchItemResult {
  /** Its position in the request's `items`. */
  readonly index: number;
  /** 201 created, 200 an Idempotency-Key replay, else the status of `error`. */
  readonly status: number;
  readonly execution?: BatchExecutionView;
  readonly error?: ProblemDetails;
}

/** The answer of `POST /executions/batch`. */
export interface BatchResult {
  readonly batch_id: string;
  /** Items created (201) or replayed (200). */
  readonly succeeded: number;
  readonly failed: number;
  readonly items: readonly BatchItemResult[];
}

/** The answer of `POST /executions/{id}/stream-token`. */
export interface StreamTokenView {
  readonly token: string;
  /** ISO 8601: when the token stops working. */
  readonly expires_at: string;
  /** The execution's events with the token in the query (the streaming URL's when there is one). */
  readonly events_url: string;
}

/** The answer of a resume link (`POST /callbacks/{token}`): that it worked, and where; nothing else of the execution. */
export interface CallbackResultView {
  readonly resumed: true;
  readonly execution_id: string;
  readonly step: { readonly index: number; readonly name: string };
}

/** A webhook subscription as the API shows it: never its secrets, but once when made and when rotated (`secret`). */
export interface WebhookView {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly task_id: string | null;
  readonly description: string | null;
  readonly status: 'enabled' | 'failing';
  readonly failing_since: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly deliveries_url: string;
  readonly secret?: string;
}

/** One attempt of a delivery. */
export interface DeliveryAttemptView {
  readonly at: string;
  readonly status_code: number | null;
  readonly error: string | null;
  readonly duration_ms: number;
}

/** A webhook delivery as the API shows it; one delivery alone also shows the `payload` it sends. */
export interface DeliveryView {
  readonly id: string;
  readonly type: string;
  readonly execution_id: string | null;
  readonly status: 'pending' | 'sending' | 'retrying' | 'delivered' | 'failed';
  readonly attempt_count: number;
  readonly attempts: readonly DeliveryAttemptView[];
  readonly next_attempt_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly payload?: unknown;
}

/** The answer of `POST /webhooks/{id}/test`: the test event's delivery, queued. */
export interface TestDeliveryView {
  readonly delivery_id: string;
  readonly status: 'pending';
}

/** Progress of an execution, from its stored counters. */
export function progressOf(record: ExecutionRecord): Progress {
  const total = Math.max(1, record.totalSteps);
  const done = record.status === 'succeeded' ? total : Math.min(record.stepsCompleted + record.stepFraction, total);
  return {
    current_step: record.stepIndex,
    step_name: record.stepName,
    completed_steps: record.status === 'succeeded' ? record.totalSteps : record.stepsCompleted,
    total_steps: record.totalSteps,
    percentage: Math.round((done / total) * 1000) / 10,
    message: record.progressMessage ?? null,
  };
}

/** Presigned links of a view's offloaded values, minted by the adapter (signing needs the S3 client). */
export interface PayloadUrlsView {
  readonly input?: string | null;
  readonly output?: string | null;
}

/** Builds links that depend on where the service is deployed. */
export interface ViewLinks {
  /** Base URL of the API as the caller reached it, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** AWS region, for the console link. */
  readonly region: string;
}

/** The AWS console page of a Step Functions execution. */
export function consoleUrl(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** A value as a view shows it: an offloaded value's reference never leaves the service (its link stands for it). */
export function inlineValue(value: unknown): unknown {
  return isPayloadReference(value) ? null : value ?? null;
}

/**
 * The API view of an execution record; the wait token never appears in it. `urls` are the
 * presigned links of its offloaded input and output, where the caller can mint them.
 */
export function toExecutionView(record: ExecutionRecord, links: ViewLinks, urls: PayloadUrlsView = {}): ExecutionView {
  return {
    id: record.id,
    task_id: record.taskId,
    status: record.status,
    input: inlineValue(record.input),
    output: inlineValue(record.output),
    input_url: urls.input ?? null,
    output_url: urls.output ?? null,
    // A failure without a message still shows as a failure: Julep clients test `error`.
    error: record.error ? record.error.message || record.error.name : null,
    error_details: record.error ?? null,
    metadata: record.metadata,
    progress: progressOf(record),
    transition_count: record.transitionCount,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    started_at: record.startedAt ?? null,
    completed_at: record.completedAt ?? null,
    cancel_reason: record.cancelReason ?? null,
    parent_execution_id: record.parentExecutionId ?? null,
    schedule_id: record.scheduleId ?? null,
    console_url: consoleUrl(links.region, record.executionArn),
    status_url: `${links.apiBaseUrl}/executions/${record.id}`,
    events_url: `${links.apiBaseUrl}/executions/${record.id}/events`,
    webhook_url: record.webhookUrl ? new URL(record.webhookUrl).origin : null,
    tags: record.tags ?? null,
    batch_id: record.batchId ?? null,
    replayed_from: record.replayedFrom ?? null,
    retry_count: record.redriveCount ?? null,
    priority: record.priority ?? null,
    concurrency_key: record.concurrencyKey ?? null,
    start_at: record.startAt ?? null,
  };
}

/**
 * The API view of a transition row, with Julep's `current`/`next`/`step_label`. A top-level row's
 * scope is the execution; a nested row's is the execution and its branch or item path, its
 * `current.step` is the step's index within that branch, and it has no `next`. `callbackUrl` is the
 * resume link of a `wait` row (minted by the caller, which holds the key: the row has its nonce only).
 */
export function toTransitionView(row: TransitionRecord, callbackUrl: string | null = null, outputUrl: string | null = null): TransitionView {
  const scopeId = row.scope === undefined ? row.executionId : `${row.executionId}/${row.scope}`;
  const position = (step: number): WorkflowPosition => ({
    workflow: row.taskId,
    step,
    scope_id: scopeId,
  });
  return {
    id: row.id,
    execution_id: row.executionId,
    seq: row.seq,
    type: row.type,
    from: row.from,
    to: row.to,
    step: row.step,
    scope: row.scope ?? null,
    output: inlineValue(row.output),
    output_url: outputUrl,
    metadata: row.metadata,
    current: position(row.scope === undefined ? row.currentStep : (row.step?.index ?? 0)),
    // What runs next inside a branch is up to Step Functions: a nested row names no next position.
    next: row.nextStep === null || row.scope !== undefined ? null : position(row.nextStep),
    step_label: row.step?.name ?? null,
    callback_url: callbackUrl,
    created_at: row.createdAt,
    updated_at: row.createdAt,
  };
}
