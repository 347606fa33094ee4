import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { idTimestamp } from '../domain/ids.js';
import { FamilyStore } from './family-store.js';
import { FOLLOW_UP_SK, OPEN_INDEX, activeKey } from './keys.js';

/**
 * An execution that is not terminal, as the `by-open` index projects it (not its status: read the
 * record for that); or (`followUp`) the follow-up item of an execution that may owe its family
 * something once it ends, which carries no ARN.
 */
export interface ActiveExecution {
  readonly tenant: string;
  readonly id: string;
  readonly taskId: string;
  readonly executionArn: string;
  /** True for a follow-up item (see `FOLLOW_UP_SK`) rather than the record itself. */
  readonly followUp: boolean;
  /** Its place in the shard (`<tenant>#<id>`): where a run that stops after it starts again. */
  readonly position: string;
}

/** What {@link ExecutionsRepository.activeExecutions} reads from one shard of `by-open`. */
export interface ActiveQuery {
  /** The shard, 0 ≤ shard < `ACTIVE_SHARDS`. */
  readonly shard: number;
  /** Only executions created at or before this time, ms since the epoch (read and skipped otherwise). */
  readonly createdBefore: number;
  /** Start at this position (inclusive, see {@link ActiveExecution.position}) instead of the start. */
  readonly from?: string;
  /** Items per Query. */
  readonly pageSize: number;
}

/** Where the reconciler stopped in each `by-open` shard: the position of the last item it checked. */
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
   * The executions (and follow-up items) of one `by-open` shard, by tenant then id, from `from`
   * (inclusive), created up to `createdBefore` (the shard is sorted by tenant first, so younger ones
   * are read and skipped; the index holds only executions that have not ended). Reads a page of
   * `pageSize` at a time, only as far as the caller iterates.
   */
  async *activeExecutions(query: ActiveQuery): AsyncGenerator<ActiveExecution, void, undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.query(
        {
          TableName: this.table,
          IndexName: OPEN_INDEX.name,
          KeyConditionExpression: query.from === undefined ? '#pk = :pk' : '#pk = :pk AND #sort >= :from',
          ExpressionAttributeNames: { '#pk': OPEN_INDEX.partitionKey, ...(query.from === undefined ? {} : { '#sort': OPEN_INDEX.sortKey }) },
          ExpressionAttributeValues: { ':pk': activeKey(query.shard), ...(query.from === undefined ? {} : { ':from': query.from }) },
          ScanIndexForward: true,
          Limit: query.pageSize,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        false,
      );
      for (const item of result.Items ?? []) {
        const position = item[OPEN_INDEX.sortKey] as string;
        const id = position.slice(position.indexOf('#') + 1);
        if (idTimestamp(id) > query.createdBefore) continue;
        yield {
          tenant: item.tenant as string,
          id,
          taskId: item.task_id as string,
          executionArn: item.execution_arn as string,
          followUp: item.sk === FOLLOW_UP_SK,
          position,
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
