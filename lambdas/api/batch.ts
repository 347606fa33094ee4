import { createHash, randomUUID } from 'node:crypto';
import { BatchFailedError, DomainError, NotFoundError, ServiceUnavailableError, dependencyUnavailable, toProblem, type ProblemDetails } from '../domain/errors.js';
import { checkPayload } from '../domain/payload-limits.js';
import { toExecutionView, type BatchItemResult, type BatchResult, type ViewLinks } from '../domain/views.js';
import { startExecution, type CreateDeps } from '../runtime/execution-control.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import { batchItemBody, bodyOf, type BatchItemFields } from './bodies.js';
import { validateWith } from './validation.js';

/** How many items of a batch are created at once: enough to make 1,000 take seconds, few enough not to spike the table or Step Functions. */
export const BATCH_CONCURRENCY = 16;

/**
 * Time kept back from the function's remaining time: once less is left, the items not started yet
 * are answered 503 (not attempted) rather than cut off by the timeout with nothing answered.
 */
export const BATCH_RESERVE_MS = 4000;

/** What a batch needs. */
export interface BatchDeps extends CreateDeps {
  readonly tasks: ReadonlyMap<string, CatalogueTask>;
  /** Milliseconds the function has left (Lambda's context). */
  remainingMs(): number;
}

/** A batch to create: the tenant's raw items, and the request's Idempotency-Key. */
export interface BatchRequest {
  readonly tenant: string;
  readonly items: readonly unknown[];
  readonly idempotencyKey: string | undefined;
  readonly links: ViewLinks;
  /** The tenant has concurrency limits (the authorizer says so): its items wait for admission, as creates do. */
  readonly limited?: boolean;
}

/**
 * The batch's id: random, or, with an Idempotency-Key, the first 128 bits of the SHA-256 of the
 * tenant and the key, in a UUID's form, so a retried batch has the id of the first attempt.
 */
export function batchIdOf(tenant: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  return createHash('sha256').update(`batch\u0000${tenant}\u0000${idempotencyKey}`).digest('hex').slice(0, 32).replace(/(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
}

/**
 * The Idempotency-Key an item is created with: its own, else (when the request has one) the
 * request's key and the item's position, joined by a NUL, which no key sent in a header or an item
 * can hold: a derived key never equals a key a caller chose.
 */
export function itemKeyOf(item: Pick<BatchItemFields, 'idempotency_key'>, index: number, requestKey: string | undefined): string | undefined {
  return item.idempotency_key ?? (requestKey === undefined ? undefined : `${requestKey}\u0000${index}`);
}

/** The problem of a failed item; field paths are made relative to the request body (`/items/3/input`). */
function problemOf(error: unknown, index: number): ProblemDetails {
  const problem = toProblem(isDependencyUnavailable(error) ? dependencyUnavailable() : error);
  if (!problem.errors) return problem;
  return { ...problem, errors: problem.errors.map((field) => ({ ...field, path: `/items/${index}${field.path}` })) };
}

/** Creates one item as `POST /executions` creates (but its webhook), through {@link startExecution}. */
async function createItem(deps: BatchDeps, request: BatchRequest, batchId: string, raw: unknown, index: number): Promise<BatchItemResult> {
  try {
    const item = bodyOf(batchItemBody, raw);
    const task = deps.tasks.get(item.task_id);
    // Its schema bounds task_id to 64 characters, so the message stays small.
    if (!task) throw new NotFoundError(`No task ${item.task_id} exists.`);
    validateWith(task.input, item.input, '/input', `input of task ${task.id}`);
    checkPayload(item.input, 'The input');
    const key = itemKeyOf(item, index, request.idempotencyKey);
    const { record, replayed } = await startExecution(deps, {
      tenant: request.tenant,
      task,
      input: item.input,
      metadata: item.metadata ?? {},
      ...(key === undefined ? {} : { idempotencyKey: key }),
      ...(item.tags ? { tags: item.tags } : {}),
      batchId,
      limited: request.limited ?? false,
    });
    const { id, task_id, status, created_at, status_url, tags, batch_id } = toExecutionView(record, request.links);
    return { index, status: replayed ? 200 : 201, execution: { id, task_id, status, created_at, status_url, tags, batch_id } };
  } catch (error) {
    if (!(error instanceof DomainError)) deps.logger.error('batch item failed', { index, error });
    const problem = problemOf(error, index);
    return { index, status: problem.status, error: problem };
  }
}

/** The 503 of an item the batch had no time left to start. */
function notAttempted(index: number): BatchItemResult {
  const error = new ServiceUnavailableError('Not attempted: no time was left. Retry the batch with the same Idempotency-Key.').toProblem();
  return { index, status: error.status, error };
}

/**
 * Creates every item of a batch independently, {@link BATCH_CONCURRENCY} at a time, each through
 * {@link startExecution} with its own Idempotency-Key (or one derived from the request's), its
 * tags, and the batch's id: a bad or refused item fails alone. Results come in request order.
 * Items not started {@link BATCH_RESERVE_MS} before the function's end are answered 503.
 */
export async function createBatch(deps: BatchDeps, request: BatchRequest): Promise<BatchResult> {
  const batchId = batchIdOf(request.tenant, request.idempotencyKey);
  const results: BatchItemResult[] = new Array(request.items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < request.items.length; index = next++) {
      results[index] = deps.remainingMs() < BATCH_RESERVE_MS ? notAttempted(index) : await createItem(deps, request, batchId, request.items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, request.items.length) }, worker));
  const succeeded = results.filter((result) => result.status < 300).length;
  return { batch_id: batchId, succeeded, failed: results.length - succeeded, items: results };
}

/**
 * The status of a batch's answer: 200 when every item succeeded, 207 (Multi-Status) when some
 * did; when none did, the batch is a problem: 503 if any item failed for the service's sake
 * (retrying the batch may work), else 422 (every item was refused for what it asked).
 */
export function batchStatusOf(result: BatchResult): 200 | 207 | 422 | 503 {
  if (result.failed === 0) return 200;
  if (result.succeeded > 0) return 207;
  return result.items.some((item) => item.status >= 500) ? 503 : 422;
}

/**
 * The error a batch none of whose items succeeded is answered with (problem+json: 422, or 503 when
 * any item failed for the service's sake); the batch's id and per-item results are its extension
 * members, as in a 200 or 207.
 */
export function failedBatch(result: BatchResult): DomainError {
  const detail = `None of the ${result.items.length} items was created; see each item's error.`;
  const members = { batch_id: result.batch_id, succeeded: 0, failed: result.failed, items: result.items };
  return result.items.some((item) => item.status >= 500) ? new ServiceUnavailableError(`${detail} Retry with the same Idempotency-Key.`, members) : new BatchFailedError(detail, members);
}
