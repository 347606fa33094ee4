import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IdempotencyMismatchError, dependencyUnavailable } from '../domain/errors.js';
import { START_EXECUTION_FAILED, type ExecutionRecord } from '../domain/execution.js';
import { initTransition } from '../domain/transition.js';
import { ExecutionStore, type RepositoryOptions, type TransactItems } from './execution-store.js';
import { IDEMPOTENCY_SK, idempotencyPk } from './keys.js';
import { ROW_EXTRA_SECONDS, epochSeconds, rowItem, toItem } from './items.js';

/** An Idempotency-Key as stored: hashes only. */
export interface IdempotencyClaim {
  /** Hash of the caller's key. */
  readonly keyHash: string;
  /** Hash of the request it was first used with. */
  readonly requestHash: string;
}

/** The result of {@link CreateStore.create}. */
export interface CreateResult {
  readonly record: ExecutionRecord;
  /** True when an earlier request with the same Idempotency-Key created it. */
  readonly replayed: boolean;
}

/**
 * The write core plus creating executions (with Idempotency-Keys): only the create function
 * needs it, so the other functions' bundles leave it out.
 */
export class CreateStore extends ExecutionStore {
  private readonly idempotencySeconds: number;

  constructor(client: DynamoDBDocumentClient, options: RepositoryOptions) {
    super(client, options);
    this.idempotencySeconds = (options.idempotencyHours ?? 24) * 3600;
  }

  /**
   * Writes a new record, its `init` row and (optionally) the Idempotency-Key in one transaction.
   * A key seen before with the same request returns the first execution (`replayed`), unless that
   * execution never started, in which case this one takes the key over; with a different request
   * it throws {@link IdempotencyMismatchError}. An expired key is free again.
   *
   * A `held` record (a delayed start, or a tenant with limits) is marked `held`: the admission
   * function, which the table's stream invokes for it, puts it in its place (`ADMISSION_INDEX`) and
   * starts it in its turn. The create function's bundle is at its size budget, so the placing
   * lives there.
   */
  async create(record: ExecutionRecord, idempotency?: IdempotencyClaim, held?: boolean): Promise<CreateResult> {
    const init = initTransition(record);
    const created = epochSeconds(record.createdAt);
    const items: TransactItems = [
      { Put: { TableName: this.table, Item: { ...toItem(record), held: held || undefined }, ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Put: {
          TableName: this.table,
          Item: rowItem(record.tenant, init, created + this.retentionSeconds + ROW_EXTRA_SECONDS),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
    if (idempotency) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            pk: idempotencyPk(record.tenant, idempotency.keyHash),
            sk: IDEMPOTENCY_SK,
            request_hash: idempotency.requestHash,
            execution_id: record.id,
            created_at: record.createdAt,
            expires_at: created + this.idempotencySeconds,
          },
          // DynamoDB deletes expired items lazily: an expired key is free even while it still exists.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': created },
        },
      });
    }
    let replayed: CreateResult | undefined;
    const written = await this.transact(items, async (codes) => {
      if (!idempotency || codes?.[2] !== 'ConditionalCheckFailed') return undefined;
      replayed = await this.replay(record.tenant, idempotency);
      if (replayed.record.error?.name !== START_EXECUTION_FAILED) return 'settled';
      // The first execution under this key never started (the caller got a 503): the retry
      // takes the key over, unless another retry took it first.
      items[2] = {
        Put: {
          ...items[2]!.Put!,
          ConditionExpression: 'execution_id = :previous',
          ExpressionAttributeValues: { ':previous': replayed.record.id },
        },
      };
      return 'retry';
    });
    return written ? { record, replayed: false } : replayed!;
  }

  private async replay(tenant: string, idempotency: IdempotencyClaim): Promise<CreateResult> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: idempotencyPk(tenant, idempotency.keyHash), sk: IDEMPOTENCY_SK },
        ConsistentRead: true,
      }),
    );
    if (!Item) throw dependencyUnavailable();
    if (Item.request_hash !== idempotency.requestHash) {
      throw new IdempotencyMismatchError(
        'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
      );
    }
    return { record: await this.get(tenant, Item.execution_id as string), replayed: true };
  }
}
