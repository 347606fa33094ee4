import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TransitionRecord } from '../domain/execution.js';
import { MAX_SEQ } from '../domain/ids.js';
import { ExecutionStore } from './execution-store.js';
import { fromRowItem } from './items.js';
import { executionPk, transitionSk } from './keys.js';

/**
 * What a watcher of an execution's events reads: the record (consistently, {@link ExecutionStore.find})
 * and the transition rows after the last one it has. Nothing here writes.
 */
export class WatchStore extends ExecutionStore {
  /**
   * The transition rows after `afterSeq`, oldest first, at most `limit`: one strongly consistent
   * Query of the execution's partition, its key condition starting right after `afterSeq`, so an
   * idle poll reads no row at all (it costs DynamoDB's minimum, one read unit).
   */
  async transitionsAfter(tenant: string, executionId: string, afterSeq: number, limit: number): Promise<TransitionRecord[]> {
    if (afterSeq >= MAX_SEQ) return [];
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': executionPk(tenant, executionId),
          ':from': transitionSk(afterSeq + 1),
          ':to': transitionSk(MAX_SEQ),
        },
        ScanIndexForward: true,
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? []).map(fromRowItem);
  }
}
