import {
  GetCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { AlreadyRecordedError, ConflictError, NotFoundError, PayloadTooLargeError, dependencyUnavailable } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { isTerminal } from '../domain/status.js';
import type { PlannedTransition } from '../domain/transition.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { encodePayload } from './codec.js';
import { INDEXES, META_SK, OPEN_KEY, OPEN_SORT, executionPk, markerSk, statusKey } from './keys.js';
import { DAY_SECONDS, attributeOf, ROW_EXTRA_SECONDS, cancellationCodes, epochSeconds, fromItem, rowItem } from './items.js';

/** Settings of the repository. */
export interface RepositoryOptions {
  readonly tableName: string;
  /** Key of the HMAC that makes cursors tamper-evident. */
  readonly cursorSecret: string;
  /**
   * Days a finished execution is kept before DynamoDB's TTL removes it.
   * @default 90
   */
  readonly retentionDays?: number;
  /**
   * How long an Idempotency-Key is remembered, in hours.
   * @default 24
   */
  readonly idempotencyHours?: number;
}

/** How a read is made. */
export interface ReadOptions {
  /** Aborts the read (a held GET that must answer by its deadline). */
  readonly abortSignal?: AbortSignal;
}

/** The items of one `TransactWriteItems`. */
export type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

const TRANSACTION_ATTEMPTS = 3;

/** What a failed transaction becomes once each caller has handled its expected cancellations. */
function writeFailure(error: unknown, codes: readonly string[] | undefined): unknown {
  // With this repository's fixed expressions, a ValidationError means the 400 KB item limit.
  if (codes?.includes('ValidationError')) {
    return new PayloadTooLargeError('The execution record would exceed the 400 KB DynamoDB item limit.');
  }
  if (codes || isDependencyUnavailable(error)) return dependencyUnavailable();
  return error;
}

/**
 * The write core of the repository: reading an execution and changing its status. One table
 * holds execution records (`META`), their transition rows (`TR#<seq>`, same partition) and
 * idempotency keys. Every status change is one `TransactWriteItems`: the record update,
 * conditioned on the status and transition count the writer read, and the new row, conditioned
 * on not existing. Functions that only resume, cancel or record a status change use this class
 * alone, so their bundles carry neither creating ({@link CreateStore}) nor listing
 * ({@link ExecutionsRepository}) code.
 */
export class ExecutionStore {
  protected readonly table: string;
  protected readonly retentionSeconds: number;

  constructor(
    protected readonly client: DynamoDBDocumentClient,
    options: RepositoryOptions,
  ) {
    this.table = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? 90) * DAY_SECONDS;
  }

  /**
   * Persists a planned status change in ONE transaction: the record update is conditioned on the
   * status and transition count the plan started from, so of two concurrent writers exactly one
   * wins; the loser gets {@link ConflictError}. `extra` items join the same transaction (a wait's
   * resume link: see `WaitStore`).
   */
  async applyTransition(before: ExecutionRecord, planned: PlannedTransition, extra?: TransactItems): Promise<ExecutionRecord> {
    const names: Record<string, string> = { '#status': 'status', '#count': 'transition_count' };
    const values: Record<string, unknown> = {
      ':from': before.status,
      ':count': before.transitionCount,
    };
    const sets: string[] = [];
    const removes: string[] = [];
    for (const [field, raw] of Object.entries(planned.patch)) {
      const attribute = attributeOf(field);
      const name = `#${attribute}`;
      names[name] = attribute;
      const value = field === 'output' ? encodePayload(raw) : raw;
      if (value === undefined) {
        removes.push(name);
      } else {
        values[`:${attribute}`] = value;
        sets.push(`${name} = :${attribute}`);
      }
    }
    if (isTerminal(planned.record.status) && planned.record.status !== before.status) {
      // Into sparse `by-ended`, and out of `by-open`, in the transaction that ends the execution.
      names['#status_key'] = INDEXES.byStatus.partitionKey;
      values[':status_key'] = statusKey(before.tenant, planned.record.status);
      sets.push('#status_key = :status_key');
      names['#open_key'] = OPEN_KEY;
      names['#open_sort'] = OPEN_SORT;
      removes.push('#open_key', '#open_sort');
    }
    if (planned.record.completedAt && !before.completedAt) {
      names['#expires_at'] = 'expires_at';
      values[':expires_at'] = epochSeconds(planned.record.completedAt) + this.retentionSeconds;
      sets.push('#expires_at = :expires_at');
    }
    let condition = '#status = :from AND #count = :count';
    if (planned.expectWaitToken !== undefined) {
      names['#wait_token'] = 'wait_token';
      values[':expected_token'] = planned.expectWaitToken;
      condition += ' AND #wait_token = :expected_token';
    }
    if (planned.expectStepsPending) condition += ' AND steps_completed < total_steps';
    const update = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    const created = epochSeconds(before.createdAt);

    const items: TransactItems = [
      {
        Update: {
          TableName: this.table,
          Key: { pk: executionPk(before.tenant, before.id), sk: META_SK },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: rowItem(before.tenant, planned.row, created + this.retentionSeconds + ROW_EXTRA_SECONDS),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
    if (planned.marker !== undefined) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            pk: executionPk(before.tenant, before.id),
            sk: markerSk(planned.marker),
            seq: planned.row.seq,
            expires_at: created + this.retentionSeconds + ROW_EXTRA_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    if (extra) items.push(...extra);
    await this.transact(items, (codes) => {
      // The marker first: once the change is recorded, a stale count is beside the point.
      if (planned.marker !== undefined && codes?.[2] === 'ConditionalCheckFailed') throw new AlreadyRecordedError(planned.marker);
      // A transaction conflict is a race lost to a concurrent transaction on the record: the caller
      // re-reads and retries with its own backoff (`progress`), rather than retrying blind here.
      if (codes?.includes('ConditionalCheckFailed') || codes?.includes('TransactionConflict')) {
        throw new ConflictError('The execution changed while this request was handled. Read it again and retry.');
      }
      return undefined;
    });
    return planned.record;
  }

  /**
   * Sends one transaction, again while DynamoDB cancels it for a concurrent transaction on the same
   * items (`TransactionConflict`), {@link TRANSACTION_ATTEMPTS} times at most. `cancelled` sees the
   * cancellation codes of a failed attempt first: it may throw the caller's own error, answer
   * `'retry'` to send `items` again (which it may have changed) or `'settled'` when the caller has
   * its answer without the write (then this returns false).
   * @returns true when the transaction was written.
   */
  protected async transact(
    items: TransactItems,
    cancelled: (codes: readonly string[] | undefined) => Promise<'retry' | 'settled' | undefined> | 'retry' | 'settled' | undefined,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (error) {
        const codes = cancellationCodes(error);
        const next = await cancelled(codes);
        if (next === 'settled') return false;
        if (attempt < TRANSACTION_ATTEMPTS && (next === 'retry' || codes?.includes('TransactionConflict'))) continue;
        throw writeFailure(error, codes);
      }
    }
  }

  /** Reads a record if it exists in this tenant. */
  async find(tenant: string, executionId: string, options: ReadOptions = {}): Promise<ExecutionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: executionPk(tenant, executionId), sk: META_SK },
        ConsistentRead: true,
      }),
      options,
    );
    return Item ? fromItem(Item) : undefined;
  }

  /**
   * Reads a record.
   * @throws NotFoundError when no such execution exists in this tenant.
   */
  async get(tenant: string, executionId: string, options: ReadOptions = {}): Promise<ExecutionRecord> {
    const record = await this.find(tenant, executionId, options);
    if (!record) throw new NotFoundError(`No execution ${executionId} exists.`);
    return record;
  }

}
