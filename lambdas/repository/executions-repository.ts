import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { idBoundAt } from '../domain/ids.js';
import type { ExecutionStatus } from '../domain/status.js';
import type { RepositoryOptions } from './execution-store.js';
import { fromItem, fromRowItem, type Item } from './items.js';
import {
  INDEXES,
  INDEX_SORT_KEY,
  TRANSITION_PREFIX,
  activeKey,
  executionPk,
  statusKey,
  taskKey,
  tenantKey,
  transitionSk,
} from './keys.js';
import { RuntimeStore } from './runtime-store.js';

export type { RepositoryOptions } from './execution-store.js';

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
  /** Inclusive bounds on creation time, ms since the epoch. */
  readonly createdAfter?: number;
  readonly createdBefore?: number;
  readonly limit: number;
  readonly direction: Direction;
  readonly cursor?: string;
  /** Items to skip first (Julep's offset paging); costs reading them. */
  readonly offset?: number;
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



/** An execution that is not terminal, as the `by-activity` index projects it. */
export interface ActiveExecution {
  readonly tenant: string;
  readonly id: string;
  readonly taskId: string;
  readonly status: ExecutionStatus;
  readonly executionArn: string;
}

/** What {@link ExecutionsRepository.activeExecutions} reads from one shard of `by-activity`. */
export interface ActiveQuery {
  /** The shard, 0 ≤ shard < `ACTIVE_SHARDS`. */
  readonly shard: number;
  /** Only executions created at or before this time, ms since the epoch (a key bound on the id). */
  readonly createdBefore: number;
  /** Start at this execution id (inclusive) instead of the oldest. */
  readonly fromId?: string;
  /** Items per Query. */
  readonly pageSize: number;
}

/** Where the reconciler stopped in each `by-activity` shard: the last execution id it checked. */
export type ReconcilePositions = Readonly<Record<string, string>>;

/** Key of the item holding the reconciler's positions (no tenant: it is the service's own). */
const RECONCILER_KEY = { pk: 'RECONCILER', sk: 'POSITIONS' } as const;

function scopeOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

/**
 * The whole repository: status changes ({@link ExecutionStore}), the runtime's reads and writes
 * ({@link RuntimeStore}), plus tenant-scoped lists with signed cursors and the reconciler's scan
 * of active executions (an index query, never a Scan). The only code that talks to DynamoDB is in
 * this folder.
 */
export class ExecutionsRepository extends RuntimeStore {
  private readonly secret: string;

  constructor(client: DynamoDBDocumentClient, options: RepositoryOptions) {
    super(client, options);
    this.secret = options.cursorSecret;
  }

  /**
   * The executions of one `by-activity` shard that are not terminal, oldest first, created up to
   * `createdBefore` (a key condition on the time-ordered id: no Scan, no filter, no tenant needed).
   * Reads a page of `pageSize` at a time, only as far as the caller iterates.
   */
  async *activeExecutions(query: ActiveQuery): AsyncGenerator<ActiveExecution, void, undefined> {
    const index = INDEXES.byActivity;
    const lo = query.fromId ?? idBoundAt(0, 'min');
    const hi = idBoundAt(query.createdBefore, 'max');
    // A position newer than the bound (the bound moved back): nothing to read from there.
    if (lo > hi) return;
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.query(
        {
          TableName: this.table,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk AND #id BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': index.partitionKey, '#id': INDEX_SORT_KEY },
          ExpressionAttributeValues: {
            ':pk': activeKey(query.shard),
            ':lo': lo,
            ':hi': hi,
          },
          ScanIndexForward: true,
          Limit: query.pageSize,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        false,
      );
      for (const item of result.Items ?? []) {
        yield {
          tenant: item.tenant as string,
          id: item.id as string,
          taskId: item.task_id as string,
          status: item.status as ExecutionStatus,
          executionArn: item.execution_arn as string,
        };
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  }

  /** Where the reconciler stopped in each shard (empty when it has not stopped anywhere). */
  async reconcilePositions(): Promise<ReconcilePositions> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: RECONCILER_KEY, ConsistentRead: true }),
    );
    const positions = Item?.positions;
    return positions !== null && typeof positions === 'object' ? (positions as ReconcilePositions) : {};
  }

  /** Records where the reconciler stopped in each shard, for its next run. */
  async saveReconcilePositions(positions: ReconcilePositions, now: string): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { ...RECONCILER_KEY, positions, updated_at: now } }),
    );
  }

  /** One page of a tenant's executions, newest or oldest first, optionally by task, status and time. */
  async list(query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    const index = query.status ? INDEXES.byStatus : query.taskId ? INDEXES.byTask : INDEXES.byTenant;
    const partition = query.status
      ? statusKey(query.tenant, query.status)
      : query.taskId
        ? taskKey(query.tenant, query.taskId)
        : tenantKey(query.tenant);
    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': partition };
    let condition = '#pk = :pk';
    if (query.createdAfter !== undefined || query.createdBefore !== undefined) {
      names['#id'] = INDEX_SORT_KEY;
      values[':lo'] = idBoundAt(query.createdAfter ?? 0, 'min');
      values[':hi'] = idBoundAt(query.createdBefore ?? 2 ** 48 - 1, 'max');
      condition += ' AND #id BETWEEN :lo AND :hi';
    }
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: index.name,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: query.direction === 'asc',
    };
    if (query.status && query.taskId) {
      names['#task_id'] = 'task_id';
      values[':task_id'] = query.taskId;
      input.FilterExpression = '#task_id = :task_id';
    }
    const scope = scopeOf(['executions', query.tenant, index.name, partition, condition, values, query.direction]);
    const page = await this.page(input, scope, query);
    return { items: page.items.map(fromItem), nextCursor: page.nextCursor };
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
        else if (items.length < query.limit) items.push(item);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey && (skip > 0 || (items.length < query.limit && !input.FilterExpression)));

    if (!startKey) return { items, nextCursor: null };
    const last = items.at(-1);
    const resumeAt = items.length === query.limit && last ? this.keyOf(last, input.IndexName) : startKey;
    return { items, nextCursor: encodeCursor({ scope, key: resumeAt as Record<string, string> }, this.secret) };
  }

  /** The ExclusiveStartKey that resumes a query right after `item`. */
  private keyOf(item: Item, indexName: string | undefined): Record<string, string> {
    const key: Record<string, string> = { pk: item.pk as string, sk: item.sk as string };
    const index = Object.values(INDEXES).find((candidate) => candidate.name === indexName);
    if (index) {
      key[index.partitionKey] = item[index.partitionKey] as string;
      key[INDEX_SORT_KEY] = item[INDEX_SORT_KEY] as string;
    }
    return key;
  }
}
