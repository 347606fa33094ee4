import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { idBoundAt } from '../domain/ids.js';
import type { ExecutionStatus } from '../domain/status.js';
import { FamilyStore } from './family-store.js';
import { FOLLOW_UP_SK, INDEXES, INDEX_SORT_KEY, activeKey } from './keys.js';

/**
 * An execution that is not terminal, as the `by-activity` index projects it; or (`followUp`) the
 * follow-up item of an execution that may owe its family something once it ends, which carries
 * neither status nor ARN.
 */
export interface ActiveExecution {
  readonly tenant: string;
  readonly id: string;
  readonly taskId: string;
  readonly status: ExecutionStatus;
  readonly executionArn: string;
  /** True for a follow-up item (see `FOLLOW_UP_SK`) rather than the record itself. */
  readonly followUp: boolean;
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

/**
 * What the reconciler reads besides records and their family: the scan of active executions (an
 * index query, never a Scan) and where it stopped. A class of its own, so the reconciler's bundle
 * leaves out the tenant-scoped lists ({@link ExecutionsRepository} extends this).
 */
export class ReconcileStore extends FamilyStore {
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
          followUp: item.sk === FOLLOW_UP_SK,
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
}
