import { randomUUID } from 'node:crypto';
import {
  BULK_LIMITS,
  isActiveJob,
  outcomeOfError,
  pageLimit,
  planCommit,
  snapshotBound,
  type BulkItemResult,
  type BulkJob,
} from '../domain/bulk.js';
import type { ExecutionRecord } from '../domain/execution.js';
import type { BulkStore } from '../repository/bulk-store.js';
import type { Logger } from '../shared/logger.js';
import { BULK_ACTION_FUNCTIONS, type BulkActionDeps } from './bulk-actions.js';
import type { ControlDeps } from './execution-control.js';

/** A message of the bulk queue: "do the page of job `jobId` that follows version `version`". */
export interface BulkMessage {
  readonly tenant: string;
  readonly jobId: string;
  readonly version: number;
}

/** Reads a message body; undefined for anything this service did not write. */
export function parseBulkMessage(body: string): BulkMessage | undefined {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value.tenant === 'string' && typeof value.job_id === 'string' && Number.isInteger(value.version)) {
      return { tenant: value.tenant, jobId: value.job_id, version: value.version as number };
    }
  } catch {
    // Not JSON: not ours.
  }
  return undefined;
}

/** The body of a message. */
export function bulkMessageBody(message: BulkMessage): string {
  return JSON.stringify({ tenant: message.tenant, job_id: message.jobId, version: message.version });
}

/** Sends a message to the bulk queue. */
export type SendBulkMessage = (message: BulkMessage) => Promise<void>;

/** What the worker needs. */
export interface BulkWorkerDeps {
  readonly store: Pick<BulkStore, 'find' | 'lease' | 'matches' | 'results' | 'record' | 'commit' | 'end'>;
  readonly control: ControlDeps;
  readonly send: SendBulkMessage;
  readonly logger: Logger;
  /** How long a lease holds (the worker function's timeout: a worker past it is dead). */
  readonly leaseMs: number;
  /** @default BULK_LIMITS.pageSize */
  readonly pageSize?: number;
  /** @default BULK_LIMITS.itemConcurrency */
  readonly concurrency?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What handling a message came to. */
export type PageResult = 'processed' | 'finished' | 'stale' | 'busy' | 'ended' | 'failed';

/** Runs `work` on each item, at most `limit` at once, and keeps their results in order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Handles one message: takes the job's lease (conditioned on the message's version, so a stale or
 * duplicate message does nothing), reads the next page of matching executions from the job's
 * cursor, acts on each one that has no result yet (a page a dead worker half did keeps what it
 * recorded), records each result once, then commits the cursor and counts in one conditional write
 * (the version moves on) and queues the next page. A dependency failure throws: the queue hands the
 * message back after its visibility timeout, when the lease has expired, and the page is tried
 * again, {@link BULK_LIMITS}`.maxPageAttempts` times before the job fails.
 */
export async function processBulkMessage(deps: BulkWorkerDeps, message: BulkMessage): Promise<PageResult> {
  const now = deps.now ?? Date.now;
  const job = await deps.store.find(message.tenant, message.jobId);
  if (!job || !isActiveJob(job.status)) return 'ended';
  if (job.version !== message.version) return 'stale';
  if (job.pageAttempts >= BULK_LIMITS.maxPageAttempts && (job.leaseUntil ?? 0) < now()) {
    const failed = await deps.store.end(job.tenant, job.id, {
      status: 'failed',
      now: new Date(now()).toISOString(),
      version: job.version,
      error: {
        title: 'A page of this bulk action kept failing.',
        detail: `Page ${job.version + 1} failed ${job.pageAttempts} times (a dependency kept failing); the items before it are done. Start a new bulk action to go on.`,
      },
    });
    deps.logger.error('bulk action failed: a page kept failing', { bulk_id: job.id, attempts: job.pageAttempts });
    return failed ? 'failed' : 'ended';
  }
  const leaseId = randomUUID();
  const leased = await deps.store.lease(job, leaseId, now(), deps.leaseMs);
  if (!leased) return 'busy';

  const page = await deps.store.matches(job.tenant, job.filter, job.cursor, snapshotBound(job), pageLimit(job, deps.pageSize));
  const done = await deps.store.results(job.tenant, job.id, page.records.map((record) => record.id));
  const actionDeps: BulkActionDeps = { ...deps.control, jobId: job.id, ...(job.reason === undefined ? {} : { reason: job.reason }) };
  const action = BULK_ACTION_FUNCTIONS[job.action];
  const results = await mapBounded(page.records, deps.concurrency ?? BULK_LIMITS.itemConcurrency, async (record: ExecutionRecord) => {
    const recorded = done.get(record.id);
    if (recorded) return recorded;
    let result: BulkItemResult;
    try {
      const { outcome, problem } = await action(actionDeps, record);
      result = { executionId: record.id, outcome, ...(problem ? { problem } : {}), at: new Date(now()).toISOString() };
    } catch (error) {
      const { outcome, problem } = outcomeOfError(error);
      if (outcome === 'failed' && problem.status >= 500) deps.logger.warn('bulk action item failed', { bulk_id: job.id, execution_id: record.id, error });
      result = { executionId: record.id, outcome, problem, at: new Date(now()).toISOString() };
    }
    return deps.store.record(job.tenant, job.id, result);
  });

  const plan = planCommit(job, results.map((result) => result.outcome), page);
  const committed = await deps.store.commit(leased, leaseId, plan, new Date(now()).toISOString());
  if (!committed) {
    // Our lease expired and another worker took the page: its commit counts it, not ours.
    deps.logger.warn('bulk action page lost its lease', { bulk_id: job.id });
    return 'busy';
  }
  if (committed.status !== 'running') return committed.status === 'succeeded' ? 'finished' : 'ended';
  try {
    await deps.send({ tenant: job.tenant, jobId: job.id, version: committed.version });
  } catch (error) {
    // Committed but not queued: the sweep finds the job idle and queues its next page.
    deps.logger.error('bulk action next page not queued; the sweep will', { bulk_id: job.id, error });
  }
  return 'processed';
}

/** What the sweep needs. */
export interface BulkSweepDeps {
  readonly store: Pick<BulkStore, 'activeJobs' | 'find'>;
  readonly send: SendBulkMessage;
  readonly logger: Logger;
  /** A job untouched this long, its lease expired, is stalled: its message was lost. */
  readonly stallMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Queues again the next page of every active job that is stalled: no lease held, and not updated
 * for `stallMs` (its message was lost, sent to the dead-letter queue, or never sent). A job whose
 * message is merely slow gets a second one; the version in both makes one of them do nothing.
 * @returns how many jobs were queued again.
 */
export async function sweepBulkJobs(deps: BulkSweepDeps): Promise<number> {
  const now = (deps.now ?? Date.now)();
  let queued = 0;
  for (const { tenant, id } of await deps.store.activeJobs()) {
    const job: BulkJob | undefined = await deps.store.find(tenant, id);
    if (!job || !isActiveJob(job.status)) continue;
    if ((job.leaseUntil ?? 0) >= now || now - Date.parse(job.updatedAt) < deps.stallMs) continue;
    await deps.send({ tenant, jobId: id, version: job.version });
    deps.logger.warn('bulk action stalled; its next page is queued again', { bulk_id: id, version: job.version });
    queued++;
  }
  return queued;
}
