import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { NotFoundError, ResourceConflictError, dependencyUnavailable } from '../domain/errors.js';
import { MAX_SCHEDULES, type ScheduleRecord, type ScheduleState } from '../domain/schedules.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { decodeMetadata, decodePayload, encodePayload } from './codec.js';
import { cancellationCodes, type Item } from './items.js';

/** Partition of a tenant's schedules and their counter. */
export function schedulesPk(tenant: string): string {
  return `SCHEDULES#${tenant}`;
}
function scheduleSk(id: string): string {
  return `SCH#${id}`;
}
const COUNTER_SK = 'COUNT';

/** The partition keys of schedule items, for the IAM condition of the functions that touch only them. */
export const SCHEDULE_LEADING_KEYS = ['SCHEDULES#*'] as const;

/** A page of schedules. */
export interface SchedulePage {
  readonly items: readonly ScheduleRecord[];
  readonly nextCursor?: string;
}

/** Settings of {@link ScheduleStore}. */
export interface ScheduleStoreOptions {
  readonly tableName: string;
  /** Key of the HMAC of page cursors. */
  readonly cursorSecret: string;
}

function fromItem(item: Item): ScheduleRecord {
  return {
    id: item.id as string,
    tenant: item.tenant as string,
    taskId: item.task_id as string,
    expression: item.expression as string,
    timezone: item.timezone as string,
    input: decodePayload(item.input) ?? null,
    metadata: decodeMetadata(item.metadata),
    ...(typeof item.description === 'string' ? { description: item.description } : {}),
    ...(typeof item.start_date === 'string' ? { startDate: item.start_date } : {}),
    ...(typeof item.end_date === 'string' ? { endDate: item.end_date } : {}),
    state: item.state as ScheduleState,
    synced: item.synced === true,
    version: item.version as number,
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
  };
}

const notFound = (id: string) => new NotFoundError(`No schedule ${id.slice(0, 64)} exists.`);

/**
 * Recurring schedules, in the executions table: a tenant's schedules share one partition
 * (`SCHEDULES#<tenant>`, one item per schedule) with a counter item that bounds them
 * ({@link MAX_SCHEDULES}), kept in the same transactions as the items it counts. Every change is
 * conditional on the item's `version`, so of two concurrent changes exactly one wins.
 */
export class ScheduleStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: ScheduleStoreOptions,
  ) {}

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isDependencyUnavailable(error)) throw dependencyUnavailable();
      throw error;
    }
  }

  /**
   * Stores a new schedule (unsynced), counted against the tenant's limit in the same transaction.
   * @throws ResourceConflictError (409) when the tenant has {@link MAX_SCHEDULES} already.
   */
  async create(schedule: ScheduleRecord): Promise<void> {
    const pk = schedulesPk(schedule.tenant);
    try {
      await this.call(() =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.options.tableName,
                  Key: { pk, sk: COUNTER_SK },
                  UpdateExpression: 'ADD #count :one',
                  ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
                  ExpressionAttributeNames: { '#count': 'count' },
                  ExpressionAttributeValues: { ':one': 1, ':max': MAX_SCHEDULES },
                },
              },
              {
                Put: {
                  TableName: this.options.tableName,
                  Item: {
                    pk,
                    sk: scheduleSk(schedule.id),
                    id: schedule.id,
                    tenant: schedule.tenant,
                    task_id: schedule.taskId,
                    expression: schedule.expression,
                    timezone: schedule.timezone,
                    input: encodePayload(schedule.input),
                    metadata: encodePayload(schedule.metadata),
                    description: schedule.description,
                    start_date: schedule.startDate,
                    end_date: schedule.endDate,
                    state: schedule.state,
                    synced: schedule.synced,
                    version: schedule.version,
                    created_at: schedule.createdAt,
                    updated_at: schedule.updatedAt,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
          }),
        ),
      );
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') {
        throw new ResourceConflictError(`A tenant may have at most ${MAX_SCHEDULES} schedules; delete one first.`);
      }
      throw error;
    }
  }

  /** A schedule, or undefined. Strongly consistent: a run must see a pause that was just written. */
  async find(tenant: string, id: string): Promise<ScheduleRecord | undefined> {
    const result = await this.call(() =>
      this.client.send(
        new GetCommand({ TableName: this.options.tableName, Key: { pk: schedulesPk(tenant), sk: scheduleSk(id) }, ConsistentRead: true }),
      ),
    );
    return result.Item ? fromItem(result.Item) : undefined;
  }

  /**
   * A schedule.
   * @throws NotFoundError (404).
   */
  async get(tenant: string, id: string): Promise<ScheduleRecord> {
    const found = await this.find(tenant, id);
    if (!found) throw notFound(id);
    return found;
  }

  /** One page of a tenant's schedules, by id (random: no order is promised). */
  async list(tenant: string, limit: number, cursor?: string): Promise<SchedulePage> {
    const pk = schedulesPk(tenant);
    const result = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sch)',
          ExpressionAttributeValues: { ':pk': pk, ':sch': 'SCH#' },
          Limit: limit,
          ...(cursor ? { ExclusiveStartKey: { ...decodeCursor(cursor, this.options.cursorSecret, pk), pk } } : {}),
        }),
      ),
    );
    const last = result.LastEvaluatedKey;
    return {
      items: (result.Items ?? []).map(fromItem),
      ...(last ? { nextCursor: encodeCursor({ scope: pk, key: { sk: last.sk as string } }, this.options.cursorSecret) } : {}),
    };
  }

  /**
   * Sets a schedule's wanted state, unsynced, if it is still at `expectedVersion`.
   * @returns the changed schedule.
   * @throws NotFoundError (404) when it is gone; ResourceConflictError (409) when another change came first.
   */
  async setState(schedule: ScheduleRecord, state: ScheduleState, now: string): Promise<ScheduleRecord> {
    try {
      const result = await this.call(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: schedulesPk(schedule.tenant), sk: scheduleSk(schedule.id) },
            UpdateExpression: 'SET #state = :state, synced = :false, version = :next, updated_at = :now',
            ConditionExpression: 'version = :version',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':state': state, ':false': false, ':next': schedule.version + 1, ':version': schedule.version, ':now': now },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromItem(result.Attributes!);
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') {
        if (!(await this.find(schedule.tenant, schedule.id))) throw notFound(schedule.id);
        throw new ResourceConflictError('Another request changed this schedule first; read it and try again.');
      }
      throw error;
    }
  }

  /**
   * Marks a schedule synced with EventBridge Scheduler, if nothing changed it since `version`
   * (a later change is pushed by its own request). False when it did not hold.
   */
  async markSynced(tenant: string, id: string, version: number): Promise<boolean> {
    try {
      await this.call(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: schedulesPk(tenant), sk: scheduleSk(id) },
            UpdateExpression: 'SET synced = :true',
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ':true': true, ':version': version },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Deletes a schedule and gives its place back (one transaction).
   * @throws NotFoundError (404) when there is none (a second delete included).
   */
  async delete(tenant: string, id: string): Promise<void> {
    const pk = schedulesPk(tenant);
    try {
      await this.call(() =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Delete: { TableName: this.options.tableName, Key: { pk, sk: scheduleSk(id) }, ConditionExpression: 'attribute_exists(pk)' } },
              {
                Update: {
                  TableName: this.options.tableName,
                  Key: { pk, sk: COUNTER_SK },
                  UpdateExpression: 'ADD #count :minus',
                  ExpressionAttributeNames: { '#count': 'count' },
                  ExpressionAttributeValues: { ':minus': -1 },
                },
              },
            ],
          }),
        ),
      );
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') throw notFound(id);
      throw error;
    }
  }
}
