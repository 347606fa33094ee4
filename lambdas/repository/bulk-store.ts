import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  BULK_LIMITS,
  NO_PROGRESS,
  type BulkFilter,
  type BulkItemOutcome,
  type BulkItemResult,
  type BulkJob,
  type BulkJobStatus,
  type BulkProgress,
} from '../domain/bulk.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../domain/cursor.js';
import { IdempotencyMismatchError, NotFoundError, ResourceConflictError, dependencyUnavailable, type ProblemDetails } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { idBoundAt } from '../domain/ids.js';
import { isTerminal } from '../domain/status.js';
import { DAY_SECONDS, cancellationCodes, type Item } from './items.js';
import { INDEXES, INDEX_SORT_KEY, META_SK, OPEN_INDEX, executionPk, openKey, statusKey, tagPk, taskKey, tenantKey } from './keys.js';
import { readRecords } from './record-batch.js';

/** Partition of a tenant's jobs, its count of active jobs and its Idempotency-Keys of jobs. */
export const bulkPk = (tenant: string): string => `BULK#${tenant}`;
/** Partition of one job's item results, one item per execution (sort key: the execution id). */
export const bulkItemsPk = (tenant: string, jobId: string): string => `BULKITEMS#${tenant}#${jobId}`;
/** Partition of the markers of active jobs, across tenants: what the sweep reads (one Query). */
export const BULK_ACTIVE_PK = 'BULKACTIVE';
/** The partition keys of bulk items, for IAM `dynamodb:LeadingKeys`. */
export const BULK_LEADING_KEYS = ['BULK#*', 'BULKITEMS#*', BULK_ACTIVE_PK] as const;

const JOB_PREFIX = 'JOB#';
const jobSk = (id: string): string => `${JOB_PREFIX}${id}`;
const COUNTER_SK = 'ACTIVE';
const idempotencySk = (keyHash: string): string => `IDEM#${keyHash}`;

/** Settings of {@link BulkStore}. */
export interface BulkStoreOptions {
  readonly tableName: string;
  readonly cursorSecret: string;
  /** @default BULK_LIMITS.concurrentJobs */
  readonly concurrentJobs?: number;
  /** @default BULK_LIMITS.retentionDays */
  readonly retentionDays?: number;
}

/** A page of something and the cursor of the next (null on the last). */
export interface BulkPage<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** A page of executions a job's filter matched, read from one index. */
export interface MatchPage {
  readonly records: readonly ExecutionRecord[];
  /** The last execution id the Query read (a filtered-out one included): where the next page starts. */
  readonly lastId?: string;
  /** The index may hold more in range. */
  readonly more: boolean;
}

/**
 * Where a job's executions are read from: one partition, ordered by execution id. Every filter is
 * served by an index (never a Scan): a tag by the tag index (`TAG#<tenant>#<tag>` items of the
 * table itself, sorted by execution id), else an ended status by `by-ended`, an active status by the
 * tenant's range of `by-open` (sorted by `<tenant>#<id>`), else task or tenant by their index. The
 * indexes hold keys (and what the reconciler reads): a page's records are read after the Query.
 */
export interface MatchSource {
  /** The index read; absent for a tag, whose items are the table's own (`pk`, sorted by `sk`). */
  readonly index?: string;
  readonly partitionKey: string;
  readonly partition: string;
  /** The index's sort key attribute: the execution id, after {@link prefix}. */
  readonly sortKey: string;
  /** What precedes the execution id in the sort key (`<tenant>#` in `by-open`, else nothing). */
  readonly prefix: string;
  /** What the records must still match (the partition does not key them), checked on the records read. */
  readonly filters: Readonly<Record<string, string>>;
}

/** The partition a job's filter reads: a tag first (the index items of one tag), then status (the narrowest index), else task, else every execution of the tenant. */
export function matchSource(tenant: string, filter: BulkFilter): MatchSource {
  const task: Record<string, string> = filter.taskId ? { task_id: filter.taskId } : {};
  if (filter.tag) {
    return { partitionKey: 'pk', partition: tagPk(tenant, filter.tag), sortKey: 'sk', prefix: '', filters: { ...(filter.status ? { status: filter.status } : {}), ...task } };
  }
  if (filter.status && !isTerminal(filter.status)) {
    return { index: OPEN_INDEX.name, partitionKey: OPEN_INDEX.partitionKey, partition: openKey(tenant), sortKey: OPEN_INDEX.sortKey, prefix: `${tenant}#`, filters: { status: filter.status, ...task } };
  }
  if (filter.status) {
    return { index: INDEXES.byStatus.name, partitionKey: INDEXES.byStatus.partitionKey, partition: statusKey(tenant, filter.status), sortKey: INDEX_SORT_KEY, prefix: '', filters: { status: filter.status, ...task } };
  }
  if (filter.taskId) {
    return { index: INDEXES.byTask.name, partitionKey: INDEXES.byTask.partitionKey, partition: taskKey(tenant, filter.taskId), sortKey: INDEX_SORT_KEY, prefix: '', filters: {} };
  }
  return { index: INDEXES.byTenant.name, partitionKey: INDEXES.byTenant.partitionKey, partition: tenantKey(tenant), sortKey: INDEX_SORT_KEY, prefix: '', filters: {} };
}

/** An Idempotency-Key of a job request: the key's hash and the request's. */
export interface BulkIdempotency {
  readonly keyHash: string;
  readonly requestHash: string;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

function jobItem(job: BulkJob): Item {
  return {
    pk: bulkPk(job.tenant),
    sk: jobSk(job.id),
    id: job.id,
    tenant: job.tenant,
    action: job.action,
    filter: {
      ...(job.filter.taskId === undefined ? {} : { task_id: job.filter.taskId }),
      ...(job.filter.status === undefined ? {} : { status: job.filter.status }),
      ...(job.filter.createdAfter === undefined ? {} : { created_after: job.filter.createdAfter }),
      ...(job.filter.createdBefore === undefined ? {} : { created_before: job.filter.createdBefore }),
      ...(job.filter.tag === undefined ? {} : { tag: job.filter.tag }),
    },
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    max_items: job.maxItems,
    status: job.status,
    matched: job.progress.matched,
    succeeded: job.progress.succeeded,
    failed: job.progress.failed,
    skipped: job.progress.skipped,
    limit_reached: job.limitReached,
    version: job.version,
    page_attempts: job.pageAttempts,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
}

function fromJobItem(item: Item): BulkJob {
  const filter = (item.filter ?? {}) as Record<string, unknown>;
  const error = item.error as { title?: unknown; detail?: unknown } | undefined;
  return {
    tenant: item.tenant as string,
    id: item.id as string,
    action: item.action as BulkJob['action'],
    filter: {
      ...(typeof filter.task_id === 'string' ? { taskId: filter.task_id } : {}),
      ...(typeof filter.status === 'string' ? { status: filter.status as BulkFilter['status'] } : {}),
      ...(typeof filter.created_after === 'number' ? { createdAfter: filter.created_after } : {}),
      ...(typeof filter.created_before === 'number' ? { createdBefore: filter.created_before } : {}),
      ...(typeof filter.tag === 'string' ? { tag: filter.tag } : {}),
    },
    ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
    maxItems: num(item.max_items),
    status: item.status as BulkJobStatus,
    progress: { matched: num(item.matched), succeeded: num(item.succeeded), failed: num(item.failed), skipped: num(item.skipped) },
    limitReached: item.limit_reached === true,
    ...(typeof item.cursor === 'string' ? { cursor: item.cursor } : {}),
    version: num(item.version),
    ...(typeof item.lease_id === 'string' ? { leaseId: item.lease_id } : {}),
    ...(typeof item.lease_until === 'number' ? { leaseUntil: item.lease_until } : {}),
    pageAttempts: num(item.page_attempts),
    ...(error && typeof error.title === 'string' && typeof error.detail === 'string' ? { error: { title: error.title, detail: error.detail } } : {}),
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
    ...(typeof item.finished_at === 'string' ? { finishedAt: item.finished_at } : {}),
  };
}

function fromResultItem(item: Item): BulkItemResult {
  return {
    executionId: item.sk as string,
    outcome: item.outcome as BulkItemOutcome,
    ...(item.problem && typeof item.problem === 'object' ? { problem: item.problem as ProblemDetails } : {}),
    ...(typeof item.result_execution_id === 'string' ? { resultExecutionId: item.result_execution_id } : {}),
    at: item.at as string,
  };
}

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** Attempts of a transaction that DynamoDB cancels for a concurrent one on the same items. */
const TRANSACTION_ATTEMPTS = 4;

/**
 * Bulk jobs and their item results, in the executions table (docs/architecture.md "Bulk actions").
 * A tenant's jobs share a partition (`BULK#<tenant>`, sorted by job id = creation time) with the
 * count of its active jobs, which bounds them; a job's results have a partition of their own, one
 * item per execution, each written once (conditionally), so a page done twice records nothing
 * twice. Every status change of a job is a conditional write; the ones that end it also give back
 * its place in the count and drop its marker in the sweep's partition, in the same transaction.
 */
export class BulkStore {
  private readonly table: string;
  private readonly secret: string;
  private readonly concurrentJobs: number;
  private readonly retentionSeconds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: BulkStoreOptions,
  ) {
    this.table = options.tableName;
    this.secret = options.cursorSecret;
    this.concurrentJobs = options.concurrentJobs ?? BULK_LIMITS.concurrentJobs;
    this.retentionSeconds = (options.retentionDays ?? BULK_LIMITS.retentionDays) * DAY_SECONDS;
  }

  private expiresAt(iso: string): number {
    return Math.floor(Date.parse(iso) / 1000) + this.retentionSeconds;
  }

  /**
   * Sends a transaction, again (after a short jittered pause) while DynamoDB cancels it only for a
   * concurrent transaction on one of its items (`TransactionConflict`: the tenant's count is shared
   * by its jobs' starts and ends); a condition that failed is the caller's to read. Still in
   * conflict after {@link TRANSACTION_ATTEMPTS}: a 503.
   * @returns undefined when written, else the cancellation codes, item by item.
   */
  private async transact(items: TransactItems): Promise<readonly string[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes) throw error;
        if (codes.includes('ConditionalCheckFailed') || !codes.includes('TransactionConflict')) return codes;
        if (attempt >= TRANSACTION_ATTEMPTS) throw dependencyUnavailable();
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  /**
   * Stores a new (queued) job in one transaction with its place in the tenant's count of active
   * jobs, its sweep marker and, with one, its Idempotency-Key. A key already used for the same
   * request returns that request's job (`replayed`).
   * @throws ResourceConflictError (409) when the tenant has `concurrentJobs` active jobs;
   * IdempotencyMismatchError (422) when the key was used for another request.
   */
  async create(job: BulkJob, idempotency?: BulkIdempotency): Promise<{ job: BulkJob; replayed: boolean }> {
    const pk = bulkPk(job.tenant);
    const items: TransactItems = [
      { Put: { TableName: this.table, Item: jobItem(job), ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Update: {
          TableName: this.table,
          Key: { pk, sk: COUNTER_SK },
          UpdateExpression: 'ADD active_jobs :one',
          ConditionExpression: 'attribute_not_exists(active_jobs) OR active_jobs < :cap',
          ExpressionAttributeValues: { ':one': 1, ':cap': this.concurrentJobs },
        },
      },
      { Put: { TableName: this.table, Item: { pk: BULK_ACTIVE_PK, sk: job.id, tenant: job.tenant } } },
    ];
    if (idempotency) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            pk,
            sk: idempotencySk(idempotency.keyHash),
            job_id: job.id,
            request_hash: idempotency.requestHash,
            expires_at: this.expiresAt(job.createdAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    const codes = await this.transact(items);
    if (!codes) return { job, replayed: false };
    if (idempotency && codes[3] === 'ConditionalCheckFailed') {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { pk, sk: idempotencySk(idempotency.keyHash) }, ConsistentRead: true }),
      );
      if (Item && Item.request_hash !== idempotency.requestHash) {
        throw new IdempotencyMismatchError('This Idempotency-Key was used with a different bulk action request.');
      }
      const earlier = Item ? await this.find(job.tenant, Item.job_id as string) : undefined;
      if (earlier) return { job: earlier, replayed: true };
    }
    if (codes[1] === 'ConditionalCheckFailed') {
      throw new ResourceConflictError(
        `A tenant may have at most ${this.concurrentJobs} bulk actions queued or running at once. Wait for one to end, or cancel one.`,
      );
    }
    // A key whose first job is gone (their expiries crossed), or a cancellation of another kind.
    throw dependencyUnavailable();
  }

  /** Reads a job of this tenant, if it exists. */
  async find(tenant: string, id: string): Promise<BulkJob | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: bulkPk(tenant), sk: jobSk(id) }, ConsistentRead: true }),
    );
    return Item ? fromJobItem(Item) : undefined;
  }

  /**
   * Reads a job of this tenant.
   * @throws NotFoundError (404) when the tenant has no such job (another tenant's included).
   */
  async get(tenant: string, id: string): Promise<BulkJob> {
    const job = await this.find(tenant, id);
    if (!job) throw new NotFoundError(`No bulk action ${id} exists.`);
    return job;
  }

  /** One page of a tenant's jobs, newest first. */
  async list(tenant: string, limit: number, cursor?: string): Promise<BulkPage<BulkJob>> {
    const scope = `bulk-jobs:${tenant}`;
    const page = await this.page(
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': bulkPk(tenant), ':prefix': JOB_PREFIX },
        ScanIndexForward: false,
      },
      limit,
      cursor === undefined ? undefined : this.startKey(cursor, scope, bulkPk(tenant)),
      scope,
    );
    return { items: page.items.map(fromJobItem), nextCursor: page.nextCursor };
  }

  /** One page of a job's item results, by execution id. */
  async listResults(tenant: string, jobId: string, limit: number, cursor?: string): Promise<BulkPage<BulkItemResult>> {
    const pk = bulkItemsPk(tenant, jobId);
    const scope = `bulk-items:${pk}`;
    const page = await this.page(
      { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } },
      limit,
      cursor === undefined ? undefined : this.startKey(cursor, scope, pk),
      scope,
    );
    return { items: page.items.map(fromResultItem), nextCursor: page.nextCursor };
  }

  /**
   * One page of a partition: reads one item more than the page, so the last page says it is the
   * last (no cursor to an empty page when the items fill whole pages).
   */
  private async page(input: QueryCommandInput, limit: number, startKey: Record<string, string> | undefined, scope: string): Promise<BulkPage<Item>> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({ ...input, Limit: limit + 1, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    if (Items.length > limit) return { items: Items.slice(0, limit), nextCursor: this.nextCursor(Items[limit - 1], scope) };
    return { items: Items, nextCursor: this.nextCursor(LastEvaluatedKey, scope) };
  }

  private startKey(cursor: string, scope: string, pk: string): Record<string, string> {
    const key = decodeCursor(cursor, this.secret, scope);
    // The scope names the partition; the key's own pk must be it too (a cursor is signed, but be exact).
    if (key.pk !== pk || typeof key.sk !== 'string') throw invalidCursor();
    return { pk, sk: key.sk };
  }

  private nextCursor(key: Record<string, unknown> | undefined, scope: string): string | null {
    return key ? encodeCursor({ scope, key: { pk: key.pk as string, sk: key.sk as string } }, this.secret) : null;
  }

  /**
   * Stops a job: `cancelled` if it is queued or running, giving back its place in the count, in one
   * transaction. What its pages already did stays done; a page in progress finishes and is counted.
   * @throws NotFoundError (404) when there is no such job; ResourceConflictError (409) when it has ended.
   */
  async cancel(tenant: string, id: string, now: string): Promise<BulkJob> {
    const ended = await this.end(tenant, id, { status: 'cancelled', now });
    if (ended) return ended;
    const job = await this.get(tenant, id);
    throw new ResourceConflictError(`This bulk action has already ended (${job.status}); only a queued or running one can be cancelled.`);
  }

  /**
   * Ends an active job as `status` (and with `error`, and `version` when given as a condition), with
   * its count and marker, in one transaction. Undefined when the job was not active (or at that version).
   */
  async end(
    tenant: string,
    id: string,
    change: { status: 'cancelled' | 'failed'; now: string; error?: { title: string; detail: string }; version?: number },
  ): Promise<BulkJob | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {
      ':status': change.status,
      ':queued': 'queued',
      ':running': 'running',
      ':now': change.now,
      ':expires': this.expiresAt(change.now),
    };
    let condition = '#status IN (:queued, :running)';
    if (change.version !== undefined) {
      values[':version'] = change.version;
      condition += ' AND version = :version';
    }
    let update = 'SET #status = :status, updated_at = :now, finished_at = :now, expires_at = :expires';
    if (change.error) {
      values[':error'] = change.error;
      update += ', #error = :error';
      names['#error'] = 'error';
    }
    const codes = await this.transact([
      {
        Update: {
          TableName: this.table,
          Key: { pk: bulkPk(tenant), sk: jobSk(id) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      ...this.release(tenant, id),
    ]);
    if (codes?.[0] === 'ConditionalCheckFailed') return undefined;
    if (codes) throw dependencyUnavailable();
    return this.find(tenant, id);
  }

  /** The writes that take an ending job out of the count and the sweep's partition. */
  private release(tenant: string, id: string) {
    return [
      {
        Update: {
          TableName: this.table,
          Key: { pk: bulkPk(tenant), sk: COUNTER_SK },
          UpdateExpression: 'ADD active_jobs :minus',
          ExpressionAttributeValues: { ':minus': -1 },
        },
      },
      { Delete: { TableName: this.table, Key: { pk: BULK_ACTIVE_PK, sk: id } } },
    ];
  }

  /**
   * Takes a job's next page for one worker: conditioned on the version the message names, on the
   * job being active and on no other worker holding an unexpired lease. The job becomes `running`
   * and its attempts at this page one more. Undefined when the condition fails (a stale message, a
   * job that ended, a page another worker holds).
   */
  async lease(job: BulkJob, leaseId: string, nowMs: number, leaseMs: number): Promise<BulkJob | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: bulkPk(job.tenant), sk: jobSk(job.id) },
          UpdateExpression:
            'SET #status = :running, lease_id = :lease, lease_until = :until, updated_at = :now, page_attempts = if_not_exists(page_attempts, :zero) + :one',
          // Active at this version, and no lease or an expired one (written as two alternatives).
          ConditionExpression:
            '(version = :version AND #status IN (:queued, :running) AND attribute_not_exists(lease_until)) OR ' +
            '(version = :version AND #status IN (:queued, :running) AND lease_until < :nowMs)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':lease': leaseId,
            ':until': nowMs + leaseMs,
            ':now': new Date(nowMs).toISOString(),
            ':nowMs': nowMs,
            ':version': job.version,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromJobItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Commits a page the lease holder did: the new cursor, the counts added (ADD, so each committed
   * page counts once: the update is conditioned on the version and lease the page was done under,
   * and bumps the version), the lease released. When the page ends the job, the same transaction
   * makes it `succeeded` and gives back its place, unless it was cancelled meanwhile: then the page
   * is still counted and the job stays cancelled. Undefined when the lease was lost.
   */
  async commit(
    job: BulkJob,
    leaseId: string,
    commit: { delta: BulkProgress; cursor?: string; finished: boolean; limitReached: boolean },
    now: string,
  ): Promise<BulkJob | undefined> {
    const key = { pk: bulkPk(job.tenant), sk: jobSk(job.id) };
    const names: Record<string, string> = { '#skipped': 'skipped', '#failed': 'failed' };
    const values: Record<string, unknown> = {
      ':version': job.version,
      ':next': job.version + 1,
      ':lease': leaseId,
      ':now': now,
      ':matched': commit.delta.matched,
      ':succeeded': commit.delta.succeeded,
      ':failed': commit.delta.failed,
      ':skipped': commit.delta.skipped,
      ':limit': commit.limitReached,
      ':zero': 0,
    };
    let sets = 'version = :next, updated_at = :now, limit_reached = :limit, page_attempts = :zero';
    if (commit.cursor !== undefined) {
      values[':cursor'] = commit.cursor;
      sets += ', #cursor = :cursor';
      names['#cursor'] = 'cursor';
    }
    const adds = 'ADD matched :matched, succeeded :succeeded, #failed :failed, #skipped :skipped';
    const condition = 'version = :version AND lease_id = :lease';
    if (commit.finished) {
      const codes = await this.transact([
        {
          Update: {
            TableName: this.table,
            Key: key,
            UpdateExpression: `SET ${sets}, #status = :succeeded_status, finished_at = :now, expires_at = :expires ${adds} REMOVE lease_id, lease_until`,
            ConditionExpression: `${condition} AND #status = :running`,
            ExpressionAttributeNames: { ...names, '#status': 'status' },
            ExpressionAttributeValues: { ...values, ':succeeded_status': 'succeeded', ':running': 'running', ':expires': this.expiresAt(now) },
          },
        },
        ...this.release(job.tenant, job.id),
      ]);
      if (!codes) return this.find(job.tenant, job.id);
      // Cancelled meanwhile (or the lease lost): count the page without ending the job, below.
      if (codes[0] !== 'ConditionalCheckFailed') throw dependencyUnavailable();
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET ${sets} ${adds} REMOVE lease_id, lease_until`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromJobItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * The next page of executions a job's filter matches, oldest first, from after `after` (an
   * execution id) up to `upperMs` (an id bound: creation time), at most `limit` read. One Query of
   * one index (see {@link matchSource}) and one BatchGetItem of the records it names; a filter the
   * index does not key is checked on those records (a record that changed since still counts as it
   * is now), so a page may hold fewer than it read. A tag's page is read alike ({@link BulkStore.tagged}).
   */
  async matches(tenant: string, filter: BulkFilter, after: string | undefined, upperMs: number, limit: number): Promise<MatchPage> {
    const source = matchSource(tenant, filter);
    const lo = idBoundAt(filter.createdAfter ?? 0, 'min');
    const hi = idBoundAt(upperMs, 'max');
    if (limit <= 0 || lo > hi || (after !== undefined && after >= hi)) return { records: [], more: false };
    if (source.index === undefined) return this.tagged(tenant, filter, source.partition, after, lo, hi, limit);
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: source.index,
      KeyConditionExpression: '#pk = :pk AND #sort BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': source.partitionKey, '#sort': source.sortKey },
      ExpressionAttributeValues: { ':pk': source.partition, ':lo': source.prefix + lo, ':hi': source.prefix + hi },
      ScanIndexForward: true,
      Limit: limit,
      // The position after `after` in this index: every key of an index item is derived from its id.
      ...(after !== undefined && after >= lo
        ? { ExclusiveStartKey: { pk: executionPk(tenant, after), sk: META_SK, [source.partitionKey]: source.partition, [source.sortKey]: source.prefix + after } }
        : {}),
    };
    const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand(input));
    const idOf = (item: Record<string, unknown>): string => (item[source.sortKey] as string).slice(source.prefix.length);
    // Execution records only (`by-open` also holds follow-up items).
    const ids = Items.filter((item) => item.sk === META_SK).map(idOf);
    const found = ids.length > 0 ? await readRecords(this.client, this.table, tenant, ids) : new Map<string, ExecutionRecord>();
    const records = ids.flatMap((id) => {
      const record = found.get(id);
      if (!record) return [];
      if ((source.filters.status && record.status !== source.filters.status) || (source.filters.task_id && record.taskId !== source.filters.task_id)) return [];
      return [record];
    });
    const last = LastEvaluatedKey ?? Items.at(-1);
    const lastId = last ? idOf(last) : undefined;
    return { records, ...(lastId ? { lastId } : {}), more: LastEvaluatedKey !== undefined };
  }

  /**
   * A page of a tag's executions: a Query of the tag's index items (by execution id, within
   * `lo`..`hi`, after `after`, at most `limit`), then one BatchGetItem of their records. Kept: a
   * record that still exists, still has the tag (an index item may be stale: the tag was removed,
   * the record expired) and matches the filter's status and task. The cursor moves past every item
   * read, kept or not, so a page of stale items still moves the job on.
   */
  private async tagged(tenant: string, filter: BulkFilter, partition: string, after: string | undefined, lo: string, hi: string, limit: number): Promise<MatchPage> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': partition, ':lo': lo, ':hi': hi },
        ScanIndexForward: true,
        Limit: limit,
        ...(after !== undefined && after >= lo ? { ExclusiveStartKey: { pk: partition, sk: after } } : {}),
      }),
    );
    const ids = Items.map((item) => item.sk as string);
    const found = ids.length > 0 ? await readRecords(this.client, this.table, tenant, ids) : new Map<string, ExecutionRecord>();
    const records = ids.flatMap((id) => {
      const record = found.get(id);
      if (!record || !record.tags?.includes(filter.tag!)) return [];
      if ((filter.status && record.status !== filter.status) || (filter.taskId && record.taskId !== filter.taskId)) return [];
      return [record];
    });
    const lastId = (LastEvaluatedKey?.sk as string | undefined) ?? ids.at(-1);
    return { records, ...(lastId ? { lastId } : {}), more: LastEvaluatedKey !== undefined };
  }

  /** The results a job already has among `executionIds` (a page done before, by a worker that then died). */
  async results(tenant: string, jobId: string, executionIds: readonly string[]): Promise<Map<string, BulkItemResult>> {
    const found = new Map<string, BulkItemResult>();
    if (executionIds.length === 0) return found;
    const sorted = [...executionIds].sort();
    const wanted = new Set(executionIds);
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items, LastEvaluatedKey } = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': bulkItemsPk(tenant, jobId), ':lo': sorted[0], ':hi': sorted.at(-1) },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of Items ?? []) if (wanted.has(item.sk as string)) found.set(item.sk as string, fromResultItem(item));
      startKey = LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  /**
   * Records an execution's result in a job, once: a result already there (a duplicate of the page)
   * wins and is returned instead.
   */
  async record(tenant: string, jobId: string, result: BulkItemResult): Promise<BulkItemResult> {
    const key = { pk: bulkItemsPk(tenant, jobId), sk: result.executionId };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...key,
            outcome: result.outcome,
            ...(result.problem ? { problem: result.problem } : {}),
            ...(result.resultExecutionId ? { result_execution_id: result.resultExecutionId } : {}),
            at: result.at,
            expires_at: this.expiresAt(result.at),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return result;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      return Item ? fromResultItem(Item) : result;
    }
  }

  /** The active jobs of every tenant (their markers: one Query, as many as tenants × their cap at most). */
  async activeJobs(): Promise<{ tenant: string; id: string }[]> {
    const jobs: { tenant: string; id: string }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items, LastEvaluatedKey } = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': BULK_ACTIVE_PK },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of Items ?? []) jobs.push({ tenant: item.tenant as string, id: item.sk as string });
      startKey = LastEvaluatedKey;
    } while (startKey);
    return jobs;
  }
}

/** A new job as stored when it is accepted. */
export function queuedJob(fields: Pick<BulkJob, 'tenant' | 'id' | 'action' | 'filter' | 'reason' | 'maxItems'>, now: string): BulkJob {
  return {
    ...fields,
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
    status: 'queued',
    progress: NO_PROGRESS,
    limitReached: false,
    version: 0,
    pageAttempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}
