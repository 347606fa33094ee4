import {
  BatchGetCommand,
  GetCommand,
  type BatchGetCommandOutput,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  DEFAULT_PRIORITY,
  limitOf,
  queueSort,
  scopesOf,
  type ConcurrencyLimits,
  type QueueEntry,
  type Scope,
} from '../domain/admission.js';
import { TERMINAL_STATUSES, type ExecutionStatus } from '../domain/status.js';
import { ExecutionStore, type RepositoryOptions, type TransactItems } from './execution-store.js';
import { readTenantLimits, tenantLimited } from './tenant-limits.js';
import type { Item } from './items.js';
import {
  ACTIVE_SHARDS,
  ADMISSION_INDEX,
  INDEXES,
  INDEX_SORT_KEY,
  LIMITS_PARTITION,
  META_SK,
  countersPk,
  delayedKey,
  executionPk,
  limitsKey,
  queueKey,
  slotKey,
} from './keys.js';

/** Where a held execution stands in admission (docs/architecture.md, "Admission"). */
export type HeldStage =
  /** Written held by create; not placed yet (the stream's insert places it). */
  | 'held'
  /** Waiting for its start time. */
  | 'delayed'
  /** In its tenant's queue. */
  | 'queued'
  /** Admitted: holds its slot (if its tenant counts slots) until it ends. */
  | 'admitted';

/** A held record as admission reads it. */
export interface HeldState {
  readonly stage: HeldStage;
  readonly status: ExecutionStatus;
  readonly taskId: string;
  readonly priority: number;
  readonly concurrencyKey?: string;
  readonly startAt?: string;
  /** Its place in its stage's partition (the queue's sort key, for a queued one). */
  readonly sort?: string;
  /** The scopes whose counters it holds a slot in (admitted). */
  readonly slot?: readonly Scope[];
}

/** A running-executions counter as stored. */
export interface SlotCounter {
  readonly scope: Scope;
  readonly running: number;
  /** Bumped by every admission, release and repair: a repair is conditioned on it. */
  readonly version: number;
  /** When an admission or release last changed it, ms since the epoch. */
  readonly updatedAt: number;
}

/** An execution that holds a slot, as the `by-admission` index projects it. */
export interface SlotHolder {
  readonly id: string;
  readonly status: ExecutionStatus;
  readonly slot: readonly Scope[];
}

/** What {@link AdmissionStore.admit} did. */
export type AdmitOutcome =
  | { readonly admitted: true; readonly slot: readonly Scope[] }
  /** Not admitted: the record had left the queue (cancelled, or another admission took it), or `full` was at its limit. */
  | { readonly admitted: false; readonly full?: Scope };

const TERMINAL = [...TERMINAL_STATUSES];
const TERMINAL_VALUES = { ':t0': TERMINAL[0], ':t1': TERMINAL[1], ':t2': TERMINAL[2] };
const IS_TERMINAL = '#status IN (:t0, :t1, :t2)';

function stageOf(key: unknown): HeldStage | undefined {
  if (typeof key !== 'string') return undefined;
  return key.startsWith('D#') ? 'delayed' : key.startsWith('Q#') ? 'queued' : key.startsWith('S#') ? 'admitted' : undefined;
}

/**
 * Concurrency limits, queues, slots and delayed starts (docs/architecture.md, "Admission"), in the
 * executions table:
 * - a tenant's limits: one item (`limitsKey`), listed through `by-tenant-keys` (partition `LIMITS`);
 * - its counters of running executions: one item per scope (`countersPk`, sort key = the scope),
 *   `running` and `version`, changed only in the same transaction as the record that takes or gives
 *   back the slot, so a counter equals its holders at every commit;
 * - held records move through the stages of `ADMISSION_INDEX` (delayed → queued → admitted), each
 *   move one conditional write, so a repeated or late event finds it moved and changes nothing.
 */
export class AdmissionStore extends ExecutionStore {
  constructor(client: DynamoDBDocumentClient, options: RepositoryOptions) {
    super(client, options);
  }

  /** A tenant's limits; undefined when it has none set (then no slot is counted). */
  limits(tenant: string): Promise<ConcurrencyLimits | undefined> {
    return readTenantLimits(this.client, this.table, tenant);
  }

  /** Whether a tenant has a limit of some scope (see {@link tenantLimited}). One read. */
  limited(tenant: string): Promise<boolean> {
    return tenantLimited(this.client, this.table, tenant);
  }

  /**
   * Sets a tenant's limits (replacing what was set). An item with no limit left still counts slots,
   * so executions admitted under a limit give their slot back correctly.
   */
  async setLimits(tenant: string, limits: ConcurrencyLimits, now: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...limitsKey(tenant),
          tenant,
          tenant_limit: limits.tenant,
          key_limit: limits.perKey,
          task_limits: limits.tasks && Object.keys(limits.tasks).length > 0 ? limits.tasks : undefined,
          updated_at: now,
          [INDEXES.byTenant.partitionKey]: LIMITS_PARTITION,
          [INDEX_SORT_KEY]: tenant,
        },
      }),
    );
  }

  /** Every tenant with a limits item, by name. */
  async limitedTenants(): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.table,
      IndexName: INDEXES.byTenant.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byTenant.partitionKey },
      ExpressionAttributeValues: { ':pk': LIMITS_PARTITION },
    });
    // The index holds keys only; its sort key is the tenant's name.
    return items.map((item) => item[INDEX_SORT_KEY] as string);
  }

  /** Where a record stands in admission; undefined for a record that was never held (or is gone). */
  async heldState(tenant: string, id: string): Promise<HeldState | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: executionPk(tenant, id), sk: META_SK }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const stage = Item.held ? 'held' : stageOf(Item[ADMISSION_INDEX.partitionKey]);
    if (!stage) return undefined;
    return {
      stage,
      status: Item.status as ExecutionStatus,
      taskId: Item.task_id as string,
      priority: typeof Item.priority === 'number' ? Item.priority : DEFAULT_PRIORITY,
      ...(typeof Item.concurrency_key === 'string' ? { concurrencyKey: Item.concurrency_key } : {}),
      ...(typeof Item.start_at === 'string' ? { startAt: Item.start_at } : {}),
      ...(typeof Item[ADMISSION_INDEX.sortKey] === 'string' ? { sort: Item[ADMISSION_INDEX.sortKey] as string } : {}),
      ...(Array.isArray(Item.slot) ? { slot: Item.slot as Scope[] } : {}),
    };
  }

  /**
   * Places a record create wrote `held`: delayed while its start time is ahead of `now`, else in its
   * tenant's queue. Once: the write is conditioned on the `held` mark it removes.
   * @returns where it went, or undefined when it was placed already (or has ended: then only the mark goes).
   */
  async place(tenant: string, id: string, now: number): Promise<'delayed' | 'queued' | undefined> {
    const state = await this.heldState(tenant, id);
    if (state?.stage !== 'held') return undefined;
    const Key = { pk: executionPk(tenant, id), sk: META_SK };
    if (state.status !== 'queued') {
      await this.client.send(new UpdateCommand({ TableName: this.table, Key, UpdateExpression: 'REMOVE held' })).catch(() => undefined);
      return undefined;
    }
    const delayed = state.startAt !== undefined && Date.parse(state.startAt) > now;
    const placed = await this.move(tenant, id, 'attribute_exists(held)', {}, delayed
      ? { key: delayedKey(id), sort: `${state.startAt}#${id}` }
      : { key: queueKey(tenant), sort: queueSort(state.priority, id) }, 'REMOVE held');
    return placed ? (delayed ? 'delayed' : 'queued') : undefined;
  }

  /** Delayed records of one shard whose start time is at or before `now` (ms), oldest first. */
  async due(shard: number, now: number, limit = 100): Promise<Array<{ tenant: string; id: string; priority: number; status: ExecutionStatus }>> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: ADMISSION_INDEX.name,
        KeyConditionExpression: '#pk = :pk AND #sort <= :due',
        ExpressionAttributeNames: { '#pk': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey },
        // `<start_at>#<id>`: every entry due by now sorts before `<now>#~`.
        ExpressionAttributeValues: { ':pk': `D#${shard}`, ':due': `${new Date(now).toISOString()}#~` },
        Limit: limit,
      }),
    );
    return Items.map((item) => ({
      tenant: item.tenant as string,
      id: item.id as string,
      priority: typeof item.priority === 'number' ? item.priority : DEFAULT_PRIORITY,
      status: item.status as ExecutionStatus,
    }));
  }

  /** Moves a delayed record that is due into its tenant's queue (once: conditioned on its delayed stage). */
  async makeDue(tenant: string, id: string, priority: number): Promise<boolean> {
    return this.move(tenant, id, '#key = :from', { ':from': delayedKey(id) }, { key: queueKey(tenant), sort: queueSort(priority, id) });
  }

  /** The shards of delayed records. */
  get delayedShards(): number {
    return ACTIVE_SHARDS;
  }

  /**
   * The first `max` records of a tenant's queue, in its order (priority, then first in first out),
   * still `queued`; and the ids of those among them that have ended (cancelled while queued: the
   * stream takes them out, unless its record was lost, and then the caller does).
   */
  async waiting(tenant: string, max: number): Promise<{ entries: QueueEntry[]; ended: string[] }> {
    const items = await this.queryAll(
      {
        TableName: this.table,
        IndexName: ADMISSION_INDEX.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': ADMISSION_INDEX.partitionKey },
        ExpressionAttributeValues: { ':pk': queueKey(tenant) },
      },
      max,
    );
    return {
      entries: items
        .filter((item) => item.status === 'queued')
        .map((item) => ({
          id: item.id as string,
          taskId: item.task_id as string,
          priority: typeof item.priority === 'number' ? item.priority : DEFAULT_PRIORITY,
          key: typeof item.concurrency_key === 'string' ? item.concurrency_key : '',
        })),
      ended: items.filter((item) => TERMINAL_STATUSES.has(item.status as ExecutionStatus)).map((item) => item.id as string),
    };
  }

  /** The running counts of a tenant's scopes (0 for a scope without a counter yet). */
  async running(tenant: string, scopes: readonly Scope[]): Promise<Map<Scope, number>> {
    const counts = new Map<Scope, number>(scopes.map((scope) => [scope, 0]));
    const unique = [...new Set(scopes)];
    for (let from = 0; from < unique.length; from += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(from, from + 100).map((scope) => ({ pk: countersPk(tenant), sk: scope }));
      // Unprocessed keys (throttling) are asked again, a bounded number of times.
      for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt++) {
        const result: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.table] ?? []) counts.set(item.sk as Scope, (item.running as number | undefined) ?? 0);
        keys = result.UnprocessedKeys?.[this.table]?.Keys;
      }
      if (keys && keys.length > 0) throw new Error('The slot counters could not be read (throttled); admission runs again on the next event');
    }
    return counts;
  }

  /**
   * Admits one queued record: ONE transaction moves the record from its tenant's queue to the slot
   * holders (conditioned on still being queued there) and adds 1 to the counter of each of its scopes,
   * each conditioned on being under that scope's limit. So a slot is taken exactly once, and never
   * past a limit, however many admissions race. A tenant without limits counts nothing: the record
   * still becomes a holder (of no slot), so its end is handled like any other.
   */
  async admit(tenant: string, entry: QueueEntry, limits: ConcurrencyLimits | undefined, now: number): Promise<AdmitOutcome> {
    const scopes = limits ? scopesOf(entry.taskId, entry.key) : [];
    const at = new Date(now).toISOString();
    const items: TransactItems = [
      {
        Update: {
          TableName: this.table,
          Key: { pk: executionPk(tenant, entry.id), sk: META_SK },
          UpdateExpression: 'SET #key = :slots, #sort = :id, slot = :scopes, admitted_at = :at',
          ConditionExpression: '#key = :queue AND #sort = :place AND #status = :queued',
          ExpressionAttributeNames: { '#key': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey, '#status': 'status' },
          ExpressionAttributeValues: {
            ':slots': slotKey(tenant),
            ':id': entry.id,
            ':scopes': scopes,
            ':at': at,
            ':queue': queueKey(tenant),
            ':place': queueSort(entry.priority, entry.id),
            ':queued': 'queued',
          },
        },
      },
      ...scopes.map((scope) => this.counterChange(tenant, scope, 1, at, limits && limitOf(limits, scope))),
    ];
    let outcome: AdmitOutcome = { admitted: true, slot: scopes };
    await this.transact(items, (codes) => {
      if (!codes?.includes('ConditionalCheckFailed')) return undefined;
      const failed = codes.findIndex((code) => code === 'ConditionalCheckFailed');
      outcome = failed === 0 ? { admitted: false } : { admitted: false, full: scopes[failed - 1]! };
      return 'settled';
    });
    return outcome;
  }

  /**
   * Gives back the slot of a record that has ended: ONE transaction takes it out of the holders
   * (conditioned on holding, and on a terminal status) and subtracts 1 from each counter it added
   * to. A repeated call finds it no holder and changes nothing.
   * @returns true when this call released it.
   */
  async release(tenant: string, id: string, now: number): Promise<boolean> {
    const state = await this.heldState(tenant, id);
    if (state?.stage !== 'admitted' || !TERMINAL_STATUSES.has(state.status)) return false;
    const at = new Date(now).toISOString();
    const items: TransactItems = [
      {
        Update: {
          TableName: this.table,
          Key: { pk: executionPk(tenant, id), sk: META_SK },
          UpdateExpression: 'REMOVE #key, #sort, slot',
          ConditionExpression: `#key = :slots AND ${IS_TERMINAL}`,
          ExpressionAttributeNames: { '#key': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey, '#status': 'status' },
          ExpressionAttributeValues: { ':slots': slotKey(tenant), ...TERMINAL_VALUES },
        },
      },
      ...(state.slot ?? []).map((scope) => this.counterChange(tenant, scope, -1, at)),
    ];
    return this.transact(items, (codes) => (codes?.[0] === 'ConditionalCheckFailed' ? 'settled' : undefined));
  }

  /**
   * Takes a record that ended while it waited (cancelled while held, delayed or queued) out of
   * admission: it held no slot, so no counter changes.
   * @returns true when this call took it out.
   */
  async dropWaiting(tenant: string, id: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: executionPk(tenant, id), sk: META_SK },
          UpdateExpression: 'REMOVE #key, #sort, held',
          ConditionExpression: `${IS_TERMINAL} AND (attribute_exists(held) OR begins_with(#key, :q) OR begins_with(#key, :d))`,
          ExpressionAttributeNames: { '#key': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey, '#status': 'status' },
          ExpressionAttributeValues: { ':q': 'Q#', ':d': 'D#', ...TERMINAL_VALUES },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** The executions of a tenant that hold a slot (the `S#` partition), from the index: eventually consistent. */
  async holders(tenant: string): Promise<SlotHolder[]> {
    const items = await this.queryAll({
      TableName: this.table,
      IndexName: ADMISSION_INDEX.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': ADMISSION_INDEX.partitionKey },
      ExpressionAttributeValues: { ':pk': slotKey(tenant) },
    });
    return items.map((item) => ({
      id: item.id as string,
      status: item.status as ExecutionStatus,
      slot: Array.isArray(item.slot) ? (item.slot as Scope[]) : [],
    }));
  }

  /** Every counter of a tenant, read consistently. */
  async counters(tenant: string): Promise<SlotCounter[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': countersPk(tenant) },
      ConsistentRead: true,
    });
    return items.map((item) => ({
      scope: item.sk as Scope,
      running: (item.running as number | undefined) ?? 0,
      version: (item.version as number | undefined) ?? 0,
      updatedAt: typeof item.updated_at === 'string' ? Date.parse(item.updated_at) : 0,
    }));
  }

  /**
   * Sets a counter to the count of its holders, conditioned on its version: an admission or release
   * since the caller read it wins, and the repair waits for the next run.
   * @returns true when it was set.
   */
  async repairCounter(tenant: string, counter: SlotCounter, running: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: countersPk(tenant), sk: counter.scope },
          UpdateExpression: 'SET running = :running, updated_at = :at ADD version :one',
          ConditionExpression: counter.version === 0 ? 'attribute_not_exists(version)' : 'version = :version',
          ExpressionAttributeValues: {
            ':running': running,
            ':at': new Date(now).toISOString(),
            ':one': 1,
            ...(counter.version === 0 ? {} : { ':version': counter.version }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** One counter's change in an admission (+1, under `limit` when there is one) or a release (-1). */
  private counterChange(tenant: string, scope: Scope, delta: 1 | -1, at: string, limit?: number): NonNullable<TransactItems[number]> {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: countersPk(tenant), sk: scope },
        UpdateExpression: 'SET updated_at = :at ADD running :delta, version :one',
        ...(limit === undefined ? {} : { ConditionExpression: 'attribute_not_exists(running) OR running < :limit' }),
        ExpressionAttributeValues: { ':at': at, ':delta': delta, ':one': 1, ...(limit === undefined ? {} : { ':limit': limit }) },
      },
    };
  }

  /** Moves a record to another stage of `ADMISSION_INDEX` (status still `queued`), conditioned on `condition`. */
  private async move(
    tenant: string,
    id: string,
    condition: string,
    values: Record<string, unknown>,
    to: { key: string; sort: string },
    also = '',
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: executionPk(tenant, id), sk: META_SK },
          UpdateExpression: `SET #key = :key, #sort = :sort ${also}`,
          ConditionExpression: `${condition} AND #status = :queued`,
          ExpressionAttributeNames: { '#key': ADMISSION_INDEX.partitionKey, '#sort': ADMISSION_INDEX.sortKey, '#status': 'status' },
          ExpressionAttributeValues: { ...values, ':key': to.key, ':sort': to.sort, ':queued': 'queued' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Every item of a query (up to `max`), page by page. */
  private async queryAll(input: QueryCommandInput, max = Number.POSITIVE_INFINITY): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          ...input,
          ...(Number.isFinite(max) ? { Limit: Math.min(1000, max - items.length) } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey && items.length < max);
    return items;
  }
}
