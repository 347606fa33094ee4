import { createHash } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { matchesMetadata, type MetadataFilter } from '../domain/metadata-filter.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { idBoundAt } from '../domain/ids.js';
import { isTerminal, type ExecutionStatus } from '../domain/status.js';
import type { RepositoryOptions } from './execution-store.js';
import { ReconcileStore } from './reconcile-store.js';
import { fromItem, fromRowItem, type Item } from './items.js';
import { readRecords } from './record-batch.js';
import {
  COMPLETED_INDEX,
  GROUP_INDEX,
  INDEXES,
  INDEX_SORT_KEY,
  META_SK,
  OPEN_INDEX,
  PARENT_INDEX,
  STARTED_INDEX,
  openKey,
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
   * The order: by creation (the default); ended executions only, by `completed_at` (the
   * `by-completed-keys` index); started executions only, by `started_at` (`by-started`). Status,
   * task and creation time filter the records those read. Not with the parent, schedule, batch or
   * tag lists.
   */
  readonly sortBy?: 'created_at' | 'completed_at' | 'started_at';
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



/** Index items a list reads per Query: one BatchGetItem reads at most 100 records. */
const LIST_READ_MAX = 100;
/** Queries a page of a list of keys makes at most (beyond those an offset needs); then it may be short. */
const LIST_ROUNDS = 10;

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
   * parent, schedule or batch. Each round is one Query of one index and, for an index of keys, one
   * BatchGetItem of the records it names ({@link readRecords}), so items are complete and current:
   * children of a parent come from `by-parent` (by `created_at`), a schedule's or a batch's
   * executions from `by-group` (by id), both projecting everything; otherwise by creation from
   * `by-tenant-keys`, or `by-task-keys` with a task, or with an ended status `by-ended`, or with an
   * active status the tenant's range of `by-open` (the record says which status); by end from
   * `by-completed-keys`, by start from `by-started`. What the index does not key (an active status;
   * a task with a status, a parent, a schedule or a batch; the creation range when sorted by end or
   * start; metadata) is checked on the records read: such a page reads `limit` index items once and
   * may hold fewer (even none) while `next_cursor` goes on. An offset is skipped by reading on.
   */
  async list(query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    if (query.tags && query.tags.length > 0) return this.listByTags(query, query.tags);
    const { tenant, status, taskId, metadataFilter: filter, parentId } = query;
    const group = query.scheduleId ? scheduleGroupKey(tenant, query.scheduleId) : query.batchId && batchGroupKey(tenant, query.batchId);
    const grouped = parentId ? PARENT_INDEX : group ? GROUP_INDEX : undefined;
    const sorted = grouped ? undefined : query.sortBy === 'completed_at' ? COMPLETED_INDEX : query.sortBy === 'started_at' ? STARTED_INDEX : undefined;
    const open = !grouped && !sorted && status !== undefined && !isTerminal(status);
    const index = grouped ?? sorted ?? (open ? OPEN_INDEX : status ? INDEXES.byStatus : taskId ? INDEXES.byTask : INDEXES.byTenant);
    const partition = parentId
      ? parentKey(tenant, parentId)
      : group || (sorted ? tenantKey(tenant) : open ? openKey(tenant) : status ? statusKey(tenant, status) : taskId ? taskKey(tenant, taskId) : tenantKey(tenant));
    const ranged = query.createdAfter !== undefined || query.createdBefore !== undefined;
    const after = query.createdAfter ?? 0;
    const before = query.createdBefore ?? 2 ** 48 - 1;
    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': partition };
    let condition = '#pk = :pk';
    if (!sorted && (ranged || open)) {
      // Keyed by id (after the tenant's prefix in `by-open`) or, children, by `created_at`: the
      // creation range is a key condition. `created_at` is ISO 8601 text of 4-digit years, which sorts
      // as time does (an open end is the last such text, not Date's largest year, '+275760…').
      const prefix = open ? `${tenant}#` : '';
      names['#sort'] = parentId ? PARENT_INDEX.sortKey : open ? OPEN_INDEX.sortKey : INDEX_SORT_KEY;
      values[':lo'] = parentId ? new Date(after).toISOString() : prefix + idBoundAt(after, 'min');
      values[':hi'] = parentId ? (query.createdBefore === undefined ? '9999-12-31T23:59:59.999Z' : new Date(before).toISOString()) : prefix + idBoundAt(before, 'max');
      condition += ' AND #sort BETWEEN :lo AND :hi';
    }
    const keep = (record: ExecutionRecord, at = Date.parse(record.createdAt)): boolean =>
      (!status || record.status === status) &&
      (!taskId || record.taskId === taskId) &&
      (!sorted || (at >= after && at <= before)) &&
      (!filter || matchesMetadata(record.metadata, filter));
    // Whether `keep` can drop a record the index holds: then a page reads once, and may be short.
    const short = !!filter || (sorted ? !!status || !!taskId || ranged : grouped ? !!status || !!taskId : open || (!!status && !!taskId));
    const scope = scopeOf(['executions', tenant, index.name, partition, condition, values, query.direction, status ?? null, taskId ?? null, filter ?? null]);
    let startKey: Record<string, unknown> | undefined = query.cursor ? decodeCursor(query.cursor, this.secret, scope) : undefined;
    let skip = query.offset ?? 0;
    // Index entries without a record (being created, or expiring) are read past, within a bound.
    let rounds = LIST_ROUNDS + Math.ceil(skip / LIST_READ_MAX);
    const items: ExecutionRecord[] = [];
    const prefix = executionPk(tenant, '');
    do {
      const result = await this.query(
        {
          TableName: this.table,
          IndexName: index.name,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: query.direction === 'asc',
          Limit: Math.min(LIST_READ_MAX, skip + query.limit - items.length),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        query.cursor !== undefined,
      );
      // Execution records only (`by-open` also holds follow-up items), by id (from the table key).
      const found = (result.Items ?? []).filter((item) => item.sk === META_SK);
      let ids = found.map((item) => (item.pk as string).slice(prefix.length));
      if (!short) {
        // Nothing to check but existence: an offset is skipped without reading those records.
        const skipped = Math.min(skip, ids.length);
        skip -= skipped;
        ids = ids.slice(skipped);
      }
      const records = grouped
        ? new Map(found.map((item) => [item.id as string, fromItem(item)]))
        : ids.length > 0
          ? await readRecords(this.client, this.table, tenant, ids)
          : new Map<string, ExecutionRecord>();
      for (const id of ids) {
        const record = records.get(id);
        if (!record || !keep(record)) continue;
        if (skip > 0) skip--;
        else if (items.length < query.limit) items.push(record);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey && --rounds > 0 && (skip > 0 || (items.length < query.limit && !short)));
    return { items, nextCursor: startKey ? encodeCursor({ scope, key: startKey as Record<string, string> }, this.secret) : null };
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
   * Each Query asks for what the page still needs, so its last key is where the next page starts.
   */
  private async page(input: QueryCommandInput, scope: string, query: { readonly limit: number; readonly cursor?: string; readonly offset?: number }): Promise<Page<Item>> {
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
        else items.push(item);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey && (skip > 0 || items.length < query.limit));
    return { items, nextCursor: startKey ? encodeCursor({ scope, key: startKey as Record<string, string> }, this.secret) : null };
  }
}
