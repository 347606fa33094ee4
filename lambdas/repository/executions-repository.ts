import { createHash } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { matchesMetadata, type MetadataFilter } from '../domain/metadata-filter.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { idBoundAt } from '../domain/ids.js';
import type { ExecutionStatus } from '../domain/status.js';
import type { RepositoryOptions } from './execution-store.js';
import { ReconcileStore } from './reconcile-store.js';
import { fromItem, fromRowItem, type Item } from './items.js';
import { readRecords } from './record-batch.js';
import {
  COMPLETED_INDEX,
  GROUP_INDEX,
  INDEXES,
  INDEX_SORT_KEY,
  PARENT_INDEX,
  scheduleGroupKey,
  TRANSITION_PREFIX,
  executionPk,
  parentKey,
  batchGroupKey,
  statusKey,
  tagPk,
  taskKey,
  tenantKey,
  transitionSk,
} from './keys.js';

export type { RepositoryOptions } from './execution-store.js';
export type { ActiveExecution, ActiveQuery, ReconcilePositions } from './reconcile-store.js';

/** Sort direction of a list. */
export type Direction = 'asc' | 'desc';

/** A page of results and the cursor of the next page (null on the last). */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** What to list. The index is chosen from the filters; every page is one Query. */
export interface ExecutionQuery {
  readonly tenant: string;
  readonly taskId?: string;
  readonly status?: ExecutionStatus;
  /** Only the children of this execution (the `by-parent` index; status and task become filters). */
  readonly parentId?: string;
  /** Only the runs of this schedule (the `by-group` index; status and task become filters). */
  readonly scheduleId?: string;
  /** Inclusive bounds on creation time, ms since the epoch. */
  readonly createdAfter?: number;
  readonly createdBefore?: number;
  readonly limit: number;
  readonly direction: Direction;
  readonly cursor?: string;
  /** Items to skip first (Julep's offset paging); costs reading them. */
  readonly offset?: number;
  /** Only executions with every one of these tags: read from the tag index of the first (no offset). */
  readonly tags?: readonly string[];
  /** Only executions whose metadata has these keys and values (filtered in memory after the read; no offset). */
  readonly metadataFilter?: MetadataFilter;
  /** Only the executions of this batch (the `by-group` index; status and task become filters). */
  readonly batchId?: string;
  /**
   * The order: by creation (the default) or, ended executions only, by `completed_at` (the
   * `by-completed` index; status, task and creation time become filters). Not with the parent,
   * schedule, batch or tag lists.
   */
  readonly sortBy?: 'created_at' | 'completed_at';
}

/** What to list of one execution's transitions. */
export interface TransitionQuery {
  readonly tenant: string;
  readonly executionId: string;
  readonly limit: number;
  readonly direction: Direction;
  readonly cursor?: string;
  readonly offset?: number;
}



function scopeOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

/**
 * The whole repository: status changes ({@link ExecutionStore}), the runtime's reads and writes
 * ({@link RuntimeStore}), child executions ({@link FamilyStore}), plus tenant-scoped lists with
 * signed cursors, and the reconciler's scan of active executions ({@link ReconcileStore}).
 * The only code that talks to DynamoDB is in this folder.
 */
export class ExecutionsRepository extends ReconcileStore {
  private readonly secret: string;

  constructor(client: DynamoDBDocumentClient, options: RepositoryOptions) {
    super(client, options);
    this.secret = options.cursorSecret;
  }

  /**
   * One page of a tenant's executions, newest or oldest first, optionally by task, status, time, or
   * parent or schedule. Children of a parent come from `by-parent` (by `created_at`), a schedule's
   * runs from `by-group` (by id); status and task filter those;
   * otherwise the index is chosen from the status and task (status + task filters by task).
   */
  async list(query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    if (query.tags && query.tags.length > 0) return this.listByTags(query, query.tags);
    const byCompletion = query.sortBy === 'completed_at';
    const grouped = byCompletion || query.parentId !== undefined || query.scheduleId !== undefined || query.batchId !== undefined;
    const { index, partition, sortKey } = byCompletion
      ? { index: COMPLETED_INDEX, partition: tenantKey(query.tenant), sortKey: COMPLETED_INDEX.sortKey }
      : query.parentId
        ? { index: PARENT_INDEX, partition: parentKey(query.tenant, query.parentId), sortKey: PARENT_INDEX.sortKey }
        : query.scheduleId
          ? { index: GROUP_INDEX, partition: scheduleGroupKey(query.tenant, query.scheduleId), sortKey: GROUP_INDEX.sortKey }
          : query.batchId
            ? { index: GROUP_INDEX, partition: batchGroupKey(query.tenant, query.batchId), sortKey: GROUP_INDEX.sortKey }
            : query.status
              ? { index: INDEXES.byStatus, partition: statusKey(query.tenant, query.status), sortKey: INDEX_SORT_KEY }
              : query.taskId
                ? { index: INDEXES.byTask, partition: taskKey(query.tenant, query.taskId), sortKey: INDEX_SORT_KEY }
                : { index: INDEXES.byTenant, partition: tenantKey(query.tenant), sortKey: INDEX_SORT_KEY };
    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': partition };
    let condition = '#pk = :pk';
    const filters: string[] = [];
    if (byCompletion && (query.createdAfter !== undefined || query.createdBefore !== undefined)) {
      // Sorted by completion: the creation range filters what a page reads.
      names['#created_at'] = 'created_at';
      values[':lo'] = new Date(query.createdAfter ?? 0).toISOString();
      values[':hi'] = query.createdBefore === undefined ? '9999-12-31T23:59:59.999Z' : new Date(query.createdBefore).toISOString();
      filters.push('#created_at BETWEEN :lo AND :hi');
    } else if (query.createdAfter !== undefined || query.createdBefore !== undefined) {
      const sortName = sortKey === INDEX_SORT_KEY ? '#id' : '#created_at';
      names[sortName] = sortKey;
      // Ids carry their creation time (UUIDv7); `created_at` is ISO 8601 text of 4-digit years,
      // which sorts as time does (an open end is the last such text, not Date's largest year, '+275760…').
      values[':lo'] = sortKey === INDEX_SORT_KEY ? idBoundAt(query.createdAfter ?? 0, 'min') : new Date(query.createdAfter ?? 0).toISOString();
      values[':hi'] =
        sortKey === INDEX_SORT_KEY
          ? idBoundAt(query.createdBefore ?? 2 ** 48 - 1, 'max')
          : query.createdBefore === undefined
            ? '9999-12-31T23:59:59.999Z'
            : new Date(query.createdBefore).toISOString();
      condition += ` AND ${sortName} BETWEEN :lo AND :hi`;
    }
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: index.name,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: query.direction === 'asc',
    };
    if (grouped && query.status) {
      names['#status'] = 'status';
      values[':status'] = query.status;
      filters.push('#status = :status');
    }
    if (query.taskId && (query.status || grouped)) {
      names['#task_id'] = 'task_id';
      values[':task_id'] = query.taskId;
      filters.push('#task_id = :task_id');
    }
    if (filters.length > 0) input.FilterExpression = filters.join(' AND ');
    const filter = query.metadataFilter;
    const scope = scopeOf(['executions', query.tenant, index.name, partition, condition, values, query.direction, filter ?? null]);
    const page = await this.page(input, scope, query, filter ? (item) => matchesMetadata(fromItem(item).metadata, filter) : undefined);
    return { items: page.items.map(fromItem), nextCursor: page.nextCursor };
  }

  /**
   * One page of the executions with every tag of `tags`: a Query of the tag index partition of the
   * first tag (at most `limit` items, by execution id, within the created range), then ONE
   * BatchGetItem of their records (retried for keys it leaves unprocessed), kept in index order when
   * the record still exists, still has every tag (an index item may be stale: the tag was removed, or
   * the record expired) and passes the status, task and metadata filters. A page reads at most
   * `limit` index items and `limit` records, so it may hold fewer than `limit` executions (even none)
   * while `next_cursor` goes on.
   */
  private async listByTags(query: ExecutionQuery, tags: readonly string[]): Promise<Page<ExecutionRecord>> {
    const pk = tagPk(query.tenant, tags[0]!);
    const values: Record<string, unknown> = { ':pk': pk };
    let condition = 'pk = :pk';
    if (query.createdAfter !== undefined || query.createdBefore !== undefined) {
      values[':lo'] = idBoundAt(query.createdAfter ?? 0, 'min');
      values[':hi'] = idBoundAt(query.createdBefore ?? 2 ** 48 - 1, 'max');
      condition += ' AND sk BETWEEN :lo AND :hi';
    }
    const filter = query.metadataFilter;
    const scope = scopeOf(['tagged', query.tenant, [...tags].sort(), condition, values, query.direction, query.status ?? null, query.taskId ?? null, filter ?? null]);
    const startKey = query.cursor ? decodeCursor(query.cursor, this.secret, scope) : undefined;
    const result = await this.query(
      {
        TableName: this.table,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ScanIndexForward: query.direction === 'asc',
        Limit: query.limit,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      },
      query.cursor !== undefined,
    );
    const ids = (result.Items ?? []).map((item) => item.sk as string);
    const records = await readRecords(this.client, this.table, query.tenant, ids);
    const items = ids.flatMap((id) => {
      const record = records.get(id);
      if (!record || !tags.every((tag) => record.tags?.includes(tag))) return [];
      if (query.status && record.status !== query.status) return [];
      if (query.taskId && record.taskId !== query.taskId) return [];
      if (query.parentId && record.parentExecutionId !== query.parentId) return [];
      if (filter && !matchesMetadata(record.metadata, filter)) return [];
      return [record];
    });
    const next = result.LastEvaluatedKey;
    return { items, nextCursor: next ? encodeCursor({ scope, key: next as Record<string, string> }, this.secret) : null };
  }

  /** One page of an execution's transition rows, by `seq`. */
  async listTransitions(query: TransitionQuery): Promise<Page<TransitionRecord>> {
    const pk = executionPk(query.tenant, query.executionId);
    const input: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': TRANSITION_PREFIX },
      ScanIndexForward: query.direction === 'asc',
      ConsistentRead: true,
    };
    const scope = scopeOf(['transitions', pk, query.direction]);
    const page = await this.page(input, scope, query);
    return { items: page.items.map(fromRowItem), nextCursor: page.nextCursor };
  }

  /** Reads one transition row; undefined when the execution has no such row. */
  async findTransition(tenant: string, executionId: string, seq: number): Promise<TransitionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: executionPk(tenant, executionId), sk: transitionSk(seq) },
      }),
    );
    return Item ? fromRowItem(Item) : undefined;
  }

  /**
   * Runs a paged Query: one Query per page when reading by cursor. With an offset it reads and
   * drops `offset` items first (Julep-style paging), continuing across DynamoDB pages as needed.
   * A filtered query may return a short page; its cursor then continues after what was read.
   */
  private async page(
    input: QueryCommandInput,
    scope: string,
    query: { readonly limit: number; readonly cursor?: string; readonly offset?: number },
    keep?: (item: Item) => boolean,
  ): Promise<Page<Item>> {
    let startKey: Record<string, unknown> | undefined = query.cursor
      ? decodeCursor(query.cursor, this.secret, scope)
      : undefined;
    let skip = query.offset ?? 0;
    const items: Item[] = [];
    do {
      const result = await this.query({
        ...input,
        Limit: skip + query.limit - items.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }, query.cursor !== undefined);
      for (const item of result.Items ?? []) {
        if (skip > 0) skip--;
        else if (items.length < query.limit && (!keep || keep(item))) items.push(item);
      }
      startKey = result.LastEvaluatedKey;
      // A filtered page (DynamoDB's filter, or `keep`) reads `limit` items once: it may come back short.
    } while (startKey && (skip > 0 || (items.length < query.limit && !input.FilterExpression && !keep)));

    if (!startKey) return { items, nextCursor: null };
    const last = items.at(-1);
    const resumeAt = items.length === query.limit && last ? this.keyOf(last, input.IndexName) : startKey;
    return { items, nextCursor: encodeCursor({ scope, key: resumeAt as Record<string, string> }, this.secret) };
  }

  /** The ExclusiveStartKey that resumes a query right after `item`. */
  private keyOf(item: Item, indexName: string | undefined): Record<string, string> {
    const key: Record<string, string> = { pk: item.pk as string, sk: item.sk as string };
    for (const sparse of [PARENT_INDEX, GROUP_INDEX, COMPLETED_INDEX]) {
      if (indexName !== sparse.name) continue;
      key[sparse.partitionKey] = item[sparse.partitionKey] as string;
      key[sparse.sortKey] = item[sparse.sortKey] as string;
      return key;
    }
    const index = Object.values(INDEXES).find((candidate) => candidate.name === indexName);
    if (index) {
      key[index.partitionKey] = item[index.partitionKey] as string;
      key[INDEX_SORT_KEY] = item[INDEX_SORT_KEY] as string;
    }
    return key;
  }
}
