import { createHash } from 'node:crypto';
import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor, invalidCursor } from '../domain/cursor.js';
import {
  ConflictError,
  IdempotencyMismatchError,
  NotFoundError,
  ServiceUnavailableError,
} from '../domain/errors.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { idBoundAt } from '../domain/ids.js';
import type { ExecutionStatus } from '../domain/status.js';
import { initTransition, type PlannedTransition, type RecordPatch } from '../domain/transition.js';
import { decodePayload, encodePayload } from './codec.js';
import {
  IDEMPOTENCY_SK,
  INDEXES,
  INDEX_SORT_KEY,
  META_SK,
  TRANSITION_PREFIX,
  executionPk,
  idempotencyPk,
  statusKey,
  taskKey,
  tenantKey,
  transitionSk,
} from './keys.js';

type Item = Record<string, unknown>;

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

/** An Idempotency-Key as stored: hashes only. */
export interface IdempotencyClaim {
  /** Hash of the caller's key. */
  readonly keyHash: string;
  /** Hash of the request it was first used with. */
  readonly requestHash: string;
}

/** The result of {@link ExecutionsRepository.create}. */
export interface CreateResult {
  readonly record: ExecutionRecord;
  /** True when an earlier request with the same Idempotency-Key created it. */
  readonly replayed: boolean;
}

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

const DAY_SECONDS = 86_400;
/** Transition rows outlive any possible execution (Standard workflows run at most a year). */
const ROW_EXTRA_SECONDS = 366 * DAY_SECONDS;
const TRANSACTION_ATTEMPTS = 3;

/** Attribute names of record fields a transition can change. */
const PATCH_ATTRIBUTES: Readonly<Record<keyof RecordPatch, string>> = {
  status: 'status',
  transitionCount: 'transition_count',
  updatedAt: 'updated_at',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  output: 'output',
  error: 'error',
  stepIndex: 'step_index',
  stepName: 'step_name',
  stepsCompleted: 'steps_completed',
  stepFraction: 'step_fraction',
  progressMessage: 'progress_message',
  waitToken: 'wait_token',
  cancelReason: 'cancel_reason',
};

function epochSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

function scopeOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

function isThrottle(error: unknown): boolean {
  return (
    error instanceof Error &&
    ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'].includes(error.name)
  );
}

function unavailable(): ServiceUnavailableError {
  return new ServiceUnavailableError('The execution store is busy. Retry the request.');
}

/** The stored form of a record. */
function toItem(record: ExecutionRecord): Item {
  return {
    pk: executionPk(record.tenant, record.id),
    sk: META_SK,
    id: record.id,
    tenant: record.tenant,
    task_id: record.taskId,
    status: record.status,
    input: encodePayload(record.input),
    output: encodePayload(record.output),
    error: record.error,
    metadata: record.metadata,
    transition_count: record.transitionCount,
    step_index: record.stepIndex,
    step_name: record.stepName,
    steps_completed: record.stepsCompleted,
    total_steps: record.totalSteps,
    step_fraction: record.stepFraction,
    progress_message: record.progressMessage,
    execution_arn: record.executionArn,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    started_at: record.startedAt,
    completed_at: record.completedAt,
    wait_token: record.waitToken,
    cancel_reason: record.cancelReason,
    [INDEXES.byTenant.partitionKey]: tenantKey(record.tenant),
    [INDEXES.byTask.partitionKey]: taskKey(record.tenant, record.taskId),
    [INDEXES.byStatus.partitionKey]: statusKey(record.tenant, record.status),
  };
}

function str(item: Item, name: string): string | undefined {
  const value = item[name];
  return typeof value === 'string' ? value : undefined;
}

/** The domain form of a stored record. */
function fromItem(item: Item): ExecutionRecord {
  return {
    tenant: item.tenant as string,
    id: item.id as string,
    taskId: item.task_id as string,
    status: item.status as ExecutionStatus,
    input: decodePayload(item.input) ?? null,
    output: decodePayload(item.output),
    error: item.error as ExecutionRecord['error'],
    metadata: (item.metadata as ExecutionRecord['metadata'] | undefined) ?? {},
    transitionCount: item.transition_count as number,
    stepIndex: item.step_index as number,
    stepName: item.step_name as string,
    stepsCompleted: item.steps_completed as number,
    totalSteps: item.total_steps as number,
    stepFraction: (item.step_fraction as number | undefined) ?? 0,
    progressMessage: str(item, 'progress_message'),
    executionArn: item.execution_arn as string,
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
    startedAt: str(item, 'started_at'),
    completedAt: str(item, 'completed_at'),
    waitToken: str(item, 'wait_token'),
    cancelReason: str(item, 'cancel_reason'),
  };
}

function rowItem(tenant: string, row: TransitionRecord, expiresAt: number): Item {
  return {
    pk: executionPk(tenant, row.executionId),
    sk: transitionSk(row.seq),
    id: row.id,
    execution_id: row.executionId,
    task_id: row.taskId,
    seq: row.seq,
    type: row.type,
    from: row.from,
    to: row.to,
    step: row.step,
    current_step: row.currentStep,
    next_step: row.nextStep,
    output: encodePayload(row.output),
    metadata: row.metadata,
    created_at: row.createdAt,
    expires_at: expiresAt,
  };
}

function fromRowItem(item: Item): TransitionRecord {
  return {
    id: item.id as string,
    executionId: item.execution_id as string,
    taskId: item.task_id as string,
    seq: item.seq as number,
    type: item.type as TransitionRecord['type'],
    from: (item.from as ExecutionStatus | null | undefined) ?? null,
    to: item.to as ExecutionStatus,
    step: (item.step as TransitionRecord['step'] | undefined) ?? null,
    currentStep: item.current_step as number,
    nextStep: (item.next_step as number | null | undefined) ?? null,
    output: decodePayload(item.output) ?? null,
    metadata: (item.metadata as TransitionRecord['metadata'] | undefined) ?? {},
    createdAt: item.created_at as string,
  };
}

/**
 * The only code that talks to DynamoDB. One table holds execution records (`META`), their
 * transition rows (`TR#<seq>`, same partition) and idempotency keys. Every status change is one
 * `TransactWriteItems`: the record update, conditioned on the status and transition count the
 * writer read, and the new row, conditioned on not existing.
 */
export class ExecutionsRepository {
  private readonly table: string;
  private readonly secret: string;
  private readonly retentionSeconds: number;
  private readonly idempotencySeconds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: RepositoryOptions,
  ) {
    this.table = options.tableName;
    this.secret = options.cursorSecret;
    this.retentionSeconds = (options.retentionDays ?? 90) * DAY_SECONDS;
    this.idempotencySeconds = (options.idempotencyHours ?? 24) * 3600;
  }

  /**
   * Writes a new record, its `init` row and (optionally) the Idempotency-Key in one transaction.
   * A key seen before with the same request returns the first execution (`replayed`);
   * with a different request it throws {@link IdempotencyMismatchError}.
   */
  async create(record: ExecutionRecord, idempotency?: IdempotencyClaim): Promise<CreateResult> {
    const init = initTransition(record);
    const created = epochSeconds(record.createdAt);
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      { Put: { TableName: this.table, Item: toItem(record), ConditionExpression: 'attribute_not_exists(pk)' } },
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
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return { record, replayed: false };
      } catch (error) {
        const codes = cancellationCodes(error);
        if (idempotency && codes?.[2] === 'ConditionalCheckFailed') {
          return this.replay(record.tenant, idempotency);
        }
        if (codes?.includes('TransactionConflict') && attempt < TRANSACTION_ATTEMPTS) continue;
        if (codes || isThrottle(error)) throw unavailable();
        throw error;
      }
    }
  }

  private async replay(tenant: string, idempotency: IdempotencyClaim): Promise<CreateResult> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: idempotencyPk(tenant, idempotency.keyHash), sk: IDEMPOTENCY_SK },
        ConsistentRead: true,
      }),
    );
    if (!Item) throw unavailable();
    if (Item.request_hash !== idempotency.requestHash) {
      throw new IdempotencyMismatchError(
        'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
      );
    }
    return { record: await this.get(tenant, Item.execution_id as string), replayed: true };
  }

  /**
   * Persists a planned status change in ONE transaction: the record update is conditioned on the
   * status and transition count the plan started from, so of two concurrent writers exactly one
   * wins; the loser gets {@link ConflictError}.
   */
  async applyTransition(before: ExecutionRecord, planned: PlannedTransition): Promise<ExecutionRecord> {
    const names: Record<string, string> = { '#status': 'status', '#count': 'transition_count' };
    const values: Record<string, unknown> = {
      ':from': before.status,
      ':count': before.transitionCount,
    };
    const sets: string[] = [];
    const removes: string[] = [];
    const patch = planned.patch as Record<string, unknown>;
    for (const [field, attribute] of Object.entries(PATCH_ATTRIBUTES)) {
      if (!(field in patch)) continue;
      const name = `#${attribute}`;
      names[name] = attribute;
      const value = field === 'output' ? encodePayload(patch[field]) : patch[field];
      if (value === undefined) {
        removes.push(name);
      } else {
        values[`:${attribute}`] = value;
        sets.push(`${name} = :${attribute}`);
      }
    }
    if (planned.patch.status !== undefined && planned.patch.status !== before.status) {
      names['#status_key'] = INDEXES.byStatus.partitionKey;
      values[':status_key'] = statusKey(before.tenant, planned.patch.status);
      sets.push('#status_key = :status_key');
    }
    if (planned.record.completedAt && !before.completedAt) {
      names['#expires_at'] = 'expires_at';
      values[':expires_at'] = epochSeconds(planned.record.completedAt) + this.retentionSeconds;
      sets.push('#expires_at = :expires_at');
    }
    const update = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    const created = epochSeconds(before.createdAt);

    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.table,
                  Key: { pk: executionPk(before.tenant, before.id), sk: META_SK },
                  UpdateExpression: update,
                  ConditionExpression: '#status = :from AND #count = :count',
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
            ],
          }),
        );
        return planned.record;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes?.includes('ConditionalCheckFailed')) {
          throw new ConflictError('The execution changed while this request was handled. Read it again and retry.');
        }
        if (codes?.includes('TransactionConflict') && attempt < TRANSACTION_ATTEMPTS) continue;
        if (codes || isThrottle(error)) throw unavailable();
        throw error;
      }
    }
  }

  /** Reads a record if it exists in this tenant. */
  async find(tenant: string, executionId: string): Promise<ExecutionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: executionPk(tenant, executionId), sk: META_SK },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  /**
   * Reads a record.
   * @throws NotFoundError when no such execution exists in this tenant.
   */
  async get(tenant: string, executionId: string): Promise<ExecutionRecord> {
    const record = await this.find(tenant, executionId);
    if (!record) throw new NotFoundError(`No execution ${executionId} exists.`);
    return record;
  }

  /**
   * Records how far the current step is (not a status change, so no transition row).
   * Ignored when the execution has moved on.
   */
  async updateProgress(
    record: Pick<ExecutionRecord, 'tenant' | 'id'>,
    stepIndex: number,
    fraction: number,
    message: string | undefined,
    now: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: executionPk(record.tenant, record.id), sk: META_SK },
          UpdateExpression:
            message === undefined
              ? 'SET step_fraction = :f, updated_at = :now REMOVE progress_message'
              : 'SET step_fraction = :f, updated_at = :now, progress_message = :m',
          ConditionExpression: '#status = :running AND step_index = :i',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':f': fraction,
            ':now': now,
            ':running': 'running',
            ':i': stepIndex,
            ...(message === undefined ? {} : { ':m': message }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Swaps the stored task token of a wait that Step Functions invoked again (a new token for the
   * same wait). Not a status change, so no row; ignored when the execution is no longer waiting there.
   */
  async replaceWaitToken(
    record: Pick<ExecutionRecord, 'tenant' | 'id'>,
    stepIndex: number,
    token: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: executionPk(record.tenant, record.id), sk: META_SK },
          UpdateExpression: 'SET wait_token = :token',
          ConditionExpression: '#status = :waiting AND step_index = :i',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':token': token, ':waiting': 'awaiting_input', ':i': stepIndex },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
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

  /** The `step` row that recorded step `stepIndex`, if one did (newest first: it is near the end). */
  async findStepRow(tenant: string, executionId: string, stepIndex: number): Promise<TransitionRecord | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.query(
        {
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: '#type = :step AND #step.#index = :index',
          ExpressionAttributeNames: { '#type': 'type', '#step': 'step', '#index': 'index' },
          ExpressionAttributeValues: {
            ':pk': executionPk(tenant, executionId),
            ':prefix': TRANSITION_PREFIX,
            ':step': 'step',
            ':index': stepIndex,
          },
          ScanIndexForward: false,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        false,
      );
      const item = result.Items?.[0];
      if (item) return fromRowItem(item);
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return undefined;
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

  private async query(input: QueryCommandInput, fromCursor: boolean) {
    try {
      return await this.client.send(new QueryCommand(input));
    } catch (error) {
      // A signed cursor whose key still does not fit this query's key schema.
      if (fromCursor && error instanceof Error && error.name === 'ValidationException') throw invalidCursor();
      if (isThrottle(error)) throw unavailable();
      throw error;
    }
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
