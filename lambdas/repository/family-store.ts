import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { ExecutionRecord, FamilyRecord } from '../domain/execution.js';
import { EXECUTION_STATUSES, isTerminal, type ExecutionStatus } from '../domain/status.js';
import { initTransition } from '../domain/transition.js';
import type { ReadOptions, TransactItems } from './execution-store.js';
import { ROW_EXTRA_SECONDS, epochSeconds, fromItem, rowItem, str, toItem, type Item } from './items.js';
import { FOLLOW_UP_SK, META_SK, OPEN_INDEX, PARENT_INDEX, executionPk, openKey, openSort, parentKey } from './keys.js';
import { RuntimeStore } from './runtime-store.js';

/** A child of an execution, as the `by-parent` index lists it. */
export interface ChildRef {
  readonly id: string;
  readonly status: ExecutionStatus;
}

/** The result of {@link FamilyStore.createChild}. */
export interface ChildCreation {
  readonly record: FamilyRecord;
  /** False when an earlier attempt of the same `runTask` step instance had created it. */
  readonly created: boolean;
}

/** The link to its parent that a child is created with. */
export interface ParentLink {
  readonly parent: ExecutionRecord;
  /** Task token of the parent's waiting `runTask` state. */
  readonly token: string;
  /** `$$.State.RetryCount` of the attempt that sent the token. */
  readonly attempt: number;
}

/** Statuses a child may be created under, and a parent token replaced in: the status table's non-terminal ones. */
const LIVE_STATUSES = EXECUTION_STATUSES.filter((status) => !isTerminal(status));
const LIVE: Readonly<Record<string, string>> = Object.fromEntries(LIVE_STATUSES.map((status, index) => [`:live${index}`, status]));
const IS_LIVE = `#status IN (${Object.keys(LIVE).join(', ')})`;

/** The family fields of a stored record. */
function familyOf(item: Item): FamilyRecord {
  return {
    ...fromItem(item),
    parentToken: str(item, 'parent_token'),
    parentAttempt: typeof item.parent_attempt === 'number' ? item.parent_attempt : undefined,
    childCount: typeof item.child_count === 'number' ? item.child_count : 0,
  };
}

/**
 * The runtime store plus child executions: creating a child with its link to the parent, the
 * parent's task token the child answers when it ends, the children of an execution (the sparse
 * `by-parent` index) and the follow-up items the reconciler finds (see {@link FOLLOW_UP_SK}). Only
 * the functions that deal with children carry it: child start, status change, the reconciler and
 * (through `ExecutionsRepository`) the read function.
 */
export class FamilyStore extends RuntimeStore {
  /** Reads a record, with its family fields, if it exists in this tenant. */
  override async find(tenant: string, executionId: string, options: ReadOptions = {}): Promise<FamilyRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: executionPk(tenant, executionId), sk: META_SK }, ConsistentRead: true }),
      options,
    );
    return Item ? familyOf(Item) : undefined;
  }

  /**
   * Reads a record with its family fields.
   * @throws NotFoundError when no such execution exists in this tenant.
   */
  override async get(tenant: string, executionId: string, options: ReadOptions = {}): Promise<FamilyRecord> {
    const record = await this.find(tenant, executionId, options);
    if (!record) throw new NotFoundError(`No execution ${executionId} exists.`);
    return record;
  }

  /**
   * Creates child `record` of `link.parent` in ONE transaction: the child's record (with the parent
   * id, token and attempt, and its `by-parent` key), its `init` row and its follow-up item; the
   * parent's `child_count` incremented, conditioned on the parent not having ended (so no child is
   * ever created under an ended parent, whose children are cancelled once); and the parent's
   * follow-up item. The child's id is derived from the parent and the `runTask` instance, so a
   * retried start finds the child an earlier attempt created: then nothing is written and that child
   * is returned (`created: false`).
   * @throws ConflictError when the parent has ended (or does not exist).
   */
  async createChild(record: ExecutionRecord, link: ParentLink): Promise<ChildCreation> {
    const { parent } = link;
    const rowExpiry = epochSeconds(record.createdAt) + this.retentionSeconds + ROW_EXTRA_SECONDS;
    const items: TransactItems = [
      {
        Put: {
          TableName: this.table,
          Item: {
            ...toItem(record),
            parent_execution_id: parent.id,
            parent_token: link.token,
            parent_attempt: link.attempt,
            [PARENT_INDEX.partitionKey]: parentKey(parent.tenant, parent.id),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: rowItem(record.tenant, initTransition(record), rowExpiry),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.followUpItem(record),
      {
        Update: {
          TableName: this.table,
          Key: { pk: executionPk(parent.tenant, parent.id), sk: META_SK },
          UpdateExpression: 'ADD #child_count :one',
          ConditionExpression: IS_LIVE,
          ExpressionAttributeNames: { '#child_count': 'child_count', '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ...LIVE },
        },
      },
      this.followUpItem(parent),
    ];
    const written = await this.transact(items, (codes) => {
      // An earlier attempt created it (checked first: that child exists whatever the parent is now).
      if (codes?.[0] === 'ConditionalCheckFailed') return 'settled';
      if (codes?.[3] === 'ConditionalCheckFailed') {
        throw new ConflictError(`Parent execution ${parent.id} has ended; it starts no more children.`);
      }
      return undefined;
    });
    if (!written) return { record: await this.get(record.tenant, record.id), created: false };
    const child = { ...record, parentExecutionId: parent.id, parentToken: link.token, parentAttempt: link.attempt, childCount: 0 };
    return { record: child, created: true };
  }

  /**
   * The (idempotent) write of an execution's follow-up item: in the reconciler's index until
   * {@link settled}, and removed by TTL with the execution's rows.
   */
  private followUpItem(of: ExecutionRecord): TransactItems[number] {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: executionPk(of.tenant, of.id), sk: FOLLOW_UP_SK },
        UpdateExpression: 'SET #open_key = :open_key, #open_sort = :open_sort, #id = :id, #tenant = :tenant, #task_id = :task_id, #expires_at = :expires_at',
        ExpressionAttributeNames: {
          '#open_key': OPEN_INDEX.partitionKey,
          '#open_sort': OPEN_INDEX.sortKey,
          '#id': 'id',
          '#tenant': 'tenant',
          '#task_id': 'task_id',
          '#expires_at': 'expires_at',
        },
        ExpressionAttributeValues: {
          ':open_key': openKey(of.tenant),
          ':open_sort': openSort(of.tenant, of.id),
          ':id': of.id,
          ':tenant': of.tenant,
          ':task_id': of.taskId,
          ':expires_at': epochSeconds(of.createdAt) + this.retentionSeconds + ROW_EXTRA_SECONDS,
        },
      },
    };
  }

  /**
   * Stores the token of a new attempt of the parent's `runTask` state (Step Functions issues a new
   * token per attempt) while the child has not ended; a token once the child has ended is frozen
   * (the one its end answers), and a late call of an older attempt never replaces a newer token.
   * @returns false when the child has ended or a newer attempt's token is stored.
   */
  async replaceParentToken(child: Pick<ExecutionRecord, 'tenant' | 'id'>, token: string, attempt: number): Promise<boolean> {
    return this.updateRecordIf(child, {
      UpdateExpression: 'SET parent_token = :token, parent_attempt = :attempt',
      ConditionExpression: `${IS_LIVE} AND parent_attempt <= :attempt`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':token': token, ':attempt': attempt, ...LIVE },
    });
  }

  /**
   * Every child of an execution, oldest first, read page by page from the `by-parent` index (an
   * index is eventually consistent: compare the count with the parent's `childCount` to know that
   * none is missing).
   */
  async *childrenOf(tenant: string, parentId: string): AsyncGenerator<ChildRef, void, undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.query(
        {
          TableName: this.table,
          IndexName: PARENT_INDEX.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': PARENT_INDEX.partitionKey },
          ExpressionAttributeValues: { ':pk': parentKey(tenant, parentId) },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        false,
      );
      for (const item of result.Items ?? []) yield { id: item.id as string, status: item.status as ExecutionStatus };
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  }

  /**
   * Records that an ended execution owes its family nothing more: its follow-up item leaves the
   * reconciler's index. A no-op for an execution without one.
   */
  async settled(record: Pick<ExecutionRecord, 'tenant' | 'id'>, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: executionPk(record.tenant, record.id), sk: FOLLOW_UP_SK },
          UpdateExpression: 'SET #settled_at = :now REMOVE #open_key, #open_sort',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#settled_at': 'settled_at', '#open_key': OPEN_INDEX.partitionKey, '#open_sort': OPEN_INDEX.sortKey },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }
}
