import { randomBytes } from 'node:crypto';
import { ConflictError, DomainError, type ProblemDetails } from './errors.js';
import type { ExecutionStatus } from './status.js';

// Bulk actions: a job that applies one action to every execution a filter matches, page by page
// (docs/contract.md "Bulk actions", docs/architecture.md). Pure: no AWS here.

/**
 * The actions a job may apply. Each is one small function `(deps, record) => outcome` in
 * `lambdas/runtime/bulk-actions.ts`; adding one is adding its name here and its function there.
 */
export const BULK_ACTIONS = ['cancel', 'retry', 'replay'] as const;

/** An action a job applies to each execution it matches. */
export type BulkActionName = (typeof BULK_ACTIONS)[number];

/**
 * Where a job stands. `queued` until a worker takes its first page, `running` while pages remain,
 * then exactly one of the three terminal statuses: `succeeded` (every matching execution, up to
 * `max_items`, was handled: each item has its own outcome, failed ones included), `failed` (the job
 * itself could not go on: a page kept failing) or `cancelled` (stopped through the API).
 */
export const BULK_JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/** A status of a bulk job. */
export type BulkJobStatus = (typeof BULK_JOB_STATUSES)[number];

/** How one execution came out of a job's action. */
export type BulkItemOutcome = 'succeeded' | 'failed' | 'skipped';

/** Bounds of bulk jobs (documented in docs/contract.md). */
export const BULK_LIMITS = {
  /** `max_items` when the request names none. */
  defaultMaxItems: 10_000,
  /** The largest `max_items`. */
  maxItems: 100_000,
  /** Jobs a tenant may have queued or running at once. */
  concurrentJobs: 5,
  /** Executions read (and acted on) per page: one Query, one message. */
  pageSize: 50,
  /** Actions of one page run at most this many at once. */
  itemConcurrency: 8,
  /** Times a page may be attempted (a worker crashed or a dependency failed) before the job fails. */
  maxPageAttempts: 5,
  /** Days a job is kept after it ends, and each item result after it is written (their TTL). */
  retentionDays: 30,
} as const;

/** What a job acts on: every execution of the tenant that matches all given fields. */
export interface BulkFilter {
  readonly taskId?: string;
  readonly status?: ExecutionStatus;
  /** Inclusive bounds on creation time, ms since the epoch. */
  readonly createdAfter?: number;
  readonly createdBefore?: number;
  /** Only executions carrying this tag: read from the tag index (`TAG_PATTERN`, lambdas/domain/tags.ts). */
  readonly tag?: string;
}

/** Counts of a job's items so far. */
export interface BulkProgress {
  /** Executions the filter matched and the job handled (each has an item result). */
  readonly matched: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A bulk job as stored. */
export interface BulkJob {
  readonly tenant: string;
  readonly id: string;
  readonly action: BulkActionName;
  readonly filter: BulkFilter;
  readonly reason?: string;
  readonly maxItems: number;
  readonly status: BulkJobStatus;
  readonly progress: BulkProgress;
  /** True once the job stopped at `maxItems` with executions possibly left unmatched. */
  readonly limitReached: boolean;
  /** The last execution id the job has read past (its position in the index); absent before the first page. */
  readonly cursor?: string;
  /** Bumped by each committed page: a message names the version it continues, so a stale copy does nothing. */
  readonly version: number;
  /** The worker that holds the job's page, and until when (ms since the epoch). */
  readonly leaseId?: string;
  readonly leaseUntil?: number;
  /** Attempts at the current page so far. */
  readonly pageAttempts: number;
  /** Why a `failed` job failed. */
  readonly error?: { readonly title: string; readonly detail: string };
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

/** The result of one execution in a job. */
export interface BulkItemResult {
  readonly executionId: string;
  readonly outcome: BulkItemOutcome;
  /** Why it failed or was skipped (e.g. the 409 of an execution already terminal). */
  readonly problem?: ProblemDetails;
  /** The execution the action started (a replay's new execution). */
  readonly resultExecutionId?: string;
  readonly at: string;
}

/**
 * The Idempotency-Key of the replay of execution `executionId` by job `jobId`: a page done again
 * (a worker died before recording its results, a duplicate message after a lease expired) finds the
 * replay it already started instead of starting another.
 */
export function bulkReplayKey(jobId: string, executionId: string): string {
  return `${jobId}/replay/${executionId}`;
}

/** A job id: `bulk_` and 32 lower-case hex digits of a UUIDv7, so ids sort by creation time. */
export const BULK_JOB_ID_PATTERN = /^bulk_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/;

/** A new job id, carrying `nowMs` in its first 12 hex digits. */
export function newBulkJobId(nowMs: number = Date.now()): string {
  const random = randomBytes(10);
  random[0] = (random[0]! & 0x0f) | 0x70;
  random[2] = (random[2]! & 0x3f) | 0x80;
  return `bulk_${Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12)}${random.toString('hex')}`;
}

/** The creation time a job id carries, ms since the epoch. */
export function bulkJobTime(id: string): number {
  return Number.parseInt(id.slice(5, 17), 16);
}

/** True while a job may still act (queued or running). */
export function isActiveJob(status: BulkJobStatus): boolean {
  return status === 'queued' || status === 'running';
}

/** No progress yet. */
export const NO_PROGRESS: BulkProgress = { matched: 0, succeeded: 0, failed: 0, skipped: 0 };

/**
 * The newest creation time a job acts on: its own creation (snapshot semantics: executions created
 * after the job was accepted are never matched), or the filter's `created_before` if earlier.
 */
export function snapshotBound(job: Pick<BulkJob, 'id' | 'filter'>): number {
  const created = bulkJobTime(job.id);
  return job.filter.createdBefore === undefined ? created : Math.min(created, job.filter.createdBefore);
}

/** How many executions the next page may read: a page, or what is left of `maxItems`. */
export function pageLimit(job: Pick<BulkJob, 'maxItems' | 'progress'>, pageSize: number = BULK_LIMITS.pageSize): number {
  return Math.max(0, Math.min(pageSize, job.maxItems - job.progress.matched));
}

/**
 * How an action's error becomes an item's outcome: the 409 of an execution that no longer allows
 * the action (already terminal, a concurrent change won) is `skipped`; any other refusal the caller
 * would see as problem+json is `failed` with that problem; anything else is `failed` with a 503
 * problem (a dependency failed: running the job again retries it), never a job failure.
 */
export function outcomeOfError(error: unknown): { outcome: BulkItemOutcome; problem: ProblemDetails } {
  if (error instanceof ConflictError) return { outcome: 'skipped', problem: error.toProblem() };
  if (error instanceof DomainError) return { outcome: 'failed', problem: error.toProblem() };
  return {
    outcome: 'failed',
    problem: {
      type: '/problems/service-unavailable',
      title: 'The service could not complete this request now.',
      status: 503,
      detail: 'A dependency failed while acting on this execution; a later job over the same filter may act on it.',
    },
  };
}

/** Adds the outcomes of a page to the counts. */
export function countOutcomes(outcomes: readonly BulkItemOutcome[]): BulkProgress {
  const count = (outcome: BulkItemOutcome) => outcomes.filter((value) => value === outcome).length;
  return { matched: outcomes.length, succeeded: count('succeeded'), failed: count('failed'), skipped: count('skipped') };
}

/** What a committed page does to a job: its new counts, and whether the job ends there. */
export interface PageCommit {
  readonly delta: BulkProgress;
  /** The last execution id read (the new cursor); undefined when the page read nothing. */
  readonly cursor?: string;
  /** The job is done: nothing more to read, or `maxItems` reached. */
  readonly finished: boolean;
  readonly limitReached: boolean;
}

/**
 * Decides what a page means for its job. The job finishes when the index has nothing more in range,
 * or when `maxItems` executions were handled (then `limitReached` if the index may hold more).
 */
export function planCommit(
  job: Pick<BulkJob, 'maxItems' | 'progress' | 'cursor'>,
  outcomes: readonly BulkItemOutcome[],
  page: { readonly lastId?: string; readonly more: boolean },
): PageCommit {
  const delta = countOutcomes(outcomes);
  const atLimit = job.progress.matched + delta.matched >= job.maxItems;
  return {
    delta,
    ...(page.lastId ?? job.cursor ? { cursor: page.lastId ?? job.cursor } : {}),
    finished: !page.more || atLimit,
    limitReached: atLimit && page.more,
  };
}

/** A job as the API shows it. */
export interface BulkJobView {
  readonly id: string;
  readonly status: BulkJobStatus;
  readonly action: BulkActionName;
  readonly filter: {
    readonly task_id: string | null;
    readonly status: ExecutionStatus | null;
    readonly created_after: string | null;
    readonly created_before: string | null;
    readonly tag: string | null;
  };
  readonly reason: string | null;
  readonly max_items: number;
  readonly progress: BulkProgress;
  readonly limit_reached: boolean;
  readonly error: { readonly title: string; readonly detail: string } | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly finished_at: string | null;
  readonly url: string;
  readonly items_url: string;
  readonly cancel_url: string;
}

/** An item result as the API shows it. */
export interface BulkItemView {
  readonly execution_id: string;
  readonly outcome: BulkItemOutcome;
  readonly problem: ProblemDetails | null;
  /** The execution the action started (a replay's new one); null for the other actions and when none was started. */
  readonly result_execution_id: string | null;
  readonly at: string;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The view of a job, its links on the API at `apiBaseUrl`. */
export function toBulkJobView(job: BulkJob, apiBaseUrl: string): BulkJobView {
  const url = `${apiBaseUrl}/bulk-actions/${job.id}`;
  return {
    id: job.id,
    status: job.status,
    action: job.action,
    filter: {
      task_id: job.filter.taskId ?? null,
      status: job.filter.status ?? null,
      created_after: iso(job.filter.createdAfter),
      created_before: iso(job.filter.createdBefore),
      tag: job.filter.tag ?? null,
    },
    reason: job.reason ?? null,
    max_items: job.maxItems,
    progress: job.progress,
    limit_reached: job.limitReached,
    error: job.error ?? null,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    finished_at: job.finishedAt ?? null,
    url,
    items_url: `${url}/items`,
    cancel_url: `${url}/cancel`,
  };
}

/** The view of an item result. */
export function toBulkItemView(result: BulkItemResult): BulkItemView {
  return {
    execution_id: result.executionId,
    outcome: result.outcome,
    problem: result.problem ?? null,
    result_execution_id: result.resultExecutionId ?? null,
    at: result.at,
  };
}
