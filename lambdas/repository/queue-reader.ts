import { BatchGetCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConcurrencyLimits, Scope } from '../domain/admission.js';
import type { ExecutionRecord } from '../domain/execution.js';
import type { HeldStage } from './admission-store.js';
import type { ReadOptions } from './execution-store.js';
import { fromItem } from './items.js';
import { ADMISSION_INDEX, META_SK, countersPk, executionPk, limitsKey, queueKey } from './keys.js';

/** Where a held record stands in admission, from its own item. */
export interface AdmissionPlace {
  readonly stage: HeldStage;
  /** Its sort key in its stage's partition (its queue place, when queued). */
  readonly sort?: string;
}

/**
 * What `GET /executions/{id}` reads of admission: the record and its place from ONE GetItem, and
 * for a queued record only, its position and the limits and counters that hold it back. Apart from
 * `AdmissionStore`, which the read function does not bundle.
 */
export class QueueReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** A record and its place in admission (none for one never held, or no longer). */
  async find(tenant: string, id: string, options: ReadOptions = {}): Promise<{ record: ExecutionRecord; place?: AdmissionPlace } | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: executionPk(tenant, id), sk: META_SK }, ConsistentRead: true }),
      options,
    );
    if (!Item) return undefined;
    const key = Item[ADMISSION_INDEX.partitionKey];
    const stage: HeldStage | undefined = Item.held
      ? 'held'
      : typeof key === 'string'
        ? ({ D: 'delayed', Q: 'queued', S: 'admitted' } as const)[key[0] as 'D' | 'Q' | 'S']
        : undefined;
    const sort = Item[ADMISSION_INDEX.sortKey];
    return { record: fromItem(Item), ...(stage ? { place: { stage, ...(typeof sort === 'string' ? { sort } : {}) } } : {}) };
  }

  /** The 1-based position of the queue place `sort` in its tenant's queue, counting at most `max` ahead. */
  async position(tenant: string, sort: string, max = 1000): Promise<number> {
    let ahead = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: ADMISSION_INDEX.name,
          KeyConditionExpression: '#pk = :pk AND #sort < :sort',
          ExpressionAttributeNames: { '#pk': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey },
          ExpressionAttributeValues: { ':pk': queueKey(tenant), ':sort': sort },
          Select: 'COUNT',
          Limit: max - ahead,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      ahead += result.Count ?? 0;
      startKey = result.LastEvaluatedKey;
    } while (startKey && ahead < max);
    return ahead + 1;
  }

  /** A tenant's limits (none: undefined) and the running counts of `scopes`, in one BatchGetItem. */
  async limits(tenant: string, scopes: readonly Scope[]): Promise<{ limits?: ConcurrencyLimits; running: Map<Scope, number> }> {
    const keys = [limitsKey(tenant), ...scopes.map((scope) => ({ pk: countersPk(tenant), sk: scope }))];
    const result = await this.client.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
    const running = new Map<Scope, number>();
    let limits: ConcurrencyLimits | undefined;
    for (const item of result.Responses?.[this.table] ?? []) {
      if (item.sk === 'LIMITS') {
        limits = {
          ...(typeof item.tenant_limit === 'number' ? { tenant: item.tenant_limit } : {}),
          ...(typeof item.key_limit === 'number' ? { perKey: item.key_limit } : {}),
          ...(item.task_limits && typeof item.task_limits === 'object' ? { tasks: item.task_limits as Record<string, number> } : {}),
        };
      } else {
        running.set(item.sk as Scope, typeof item.running === 'number' ? item.running : 0);
      }
    }
    return { ...(limits ? { limits } : {}), running };
  }
}
