import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { NotFoundError, ResourceConflictError, dependencyUnavailable } from '../domain/errors.js';
import { MAX_SUBSCRIPTIONS, ROTATION_OVERLAP_SECONDS, type WebhookEventType } from '../domain/webhooks.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { DAY_SECONDS, cancellationCodes, type Item } from './items.js';
import { DUE_INDEX, dueKey } from './keys.js';

/** A webhook subscription of a tenant. */
export interface WebhookSubscription {
  readonly id: string;
  readonly tenant: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  /** Only this task's executions; absent for all. */
  readonly taskId?: string;
  readonly description?: string;
  /** `enabled`, or `failing` once an event exhausted its attempts (until a delivery succeeds again). */
  readonly status: 'enabled' | 'failing';
  readonly failingSince?: string;
  /** The signing secret (`whsec_…`). */
  readonly secret: string;
  /** The secret before the last rotation, still signing until {@link previousSecretUntil}. */
  readonly previousSecret?: string;
  /** Epoch seconds. */
  readonly previousSecretUntil?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A subscription as where messages go. */
export interface SubscriptionTarget {
  readonly kind: 'subscription';
  readonly tenant: string;
  readonly subscriptionId: string;
}

/** Where a message goes: a subscription, or the `webhook_url` of one execution. */
export type DeliveryTarget = SubscriptionTarget | { readonly kind: 'execution'; readonly tenant: string; readonly executionId: string };

/** One attempt at delivering a message. */
export interface DeliveryAttempt {
  readonly at: string;
  /** The endpoint's HTTP status; absent when no response came. */
  readonly statusCode?: number;
  /** Why there was no (2xx) response: `timeout`, `connection refused`, `address not allowed`… */
  readonly error?: string;
  readonly durationMs: number;
}

/** Where a message's delivery stands. */
export type DeliveryStatus = 'pending' | 'sending' | 'retrying' | 'delivered' | 'failed';

/** A message's delivery to one target. */
export interface Delivery {
  readonly messageId: string;
  readonly type: string;
  readonly executionId?: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt?: string;
  /** The signed body, kept so a redelivery sends the same bytes. */
  readonly payload: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A page of deliveries. */
export interface DeliveryPage {
  readonly items: readonly Delivery[];
  readonly nextCursor?: string;
}

/** Deliveries are kept this long (their TTL), however they ended. */
export const DELIVERY_RETENTION_DAYS = 30;

/** Attempts one delivery may make, redeliveries included: bounds the item. */
export const MAX_DELIVERY_ATTEMPTS = 50;

const COUNTER_SK = 'COUNT';

function subscriptionsPk(tenant: string): string {
  return `WEBHOOKS#${tenant}`;
}
function subscriptionSk(id: string): string {
  return `SUB#${id}`;
}
function deliveriesPk(target: DeliveryTarget): string {
  return target.kind === 'subscription'
    ? `WEBHOOK#${target.tenant}#${target.subscriptionId}`
    : `WEBHOOK#${target.tenant}#execution:${target.executionId}`;
}
function deliverySk(messageId: string): string {
  return `DLV#${messageId}`;
}

function fromSubscriptionItem(item: Item): WebhookSubscription {
  return {
    id: item.id as string,
    tenant: item.tenant as string,
    url: item.url as string,
    events: item.events as WebhookEventType[],
    ...(typeof item.task_id === 'string' ? { taskId: item.task_id } : {}),
    ...(typeof item.description === 'string' ? { description: item.description } : {}),
    status: item.status === 'failing' ? 'failing' : 'enabled',
    ...(typeof item.failing_since === 'string' ? { failingSince: item.failing_since } : {}),
    secret: item.secret as string,
    ...(typeof item.previous_secret === 'string' ? { previousSecret: item.previous_secret } : {}),
    ...(typeof item.previous_secret_until === 'number' ? { previousSecretUntil: item.previous_secret_until } : {}),
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
  };
}

function fromDeliveryItem(item: Item): Delivery {
  return {
    messageId: item.message_id as string,
    type: item.type as string,
    ...(typeof item.execution_id === 'string' ? { executionId: item.execution_id } : {}),
    status: item.status as DeliveryStatus,
    attemptCount: (item.attempt_count as number | undefined) ?? 0,
    attempts: ((item.attempts as Item[] | undefined) ?? []).map((attempt) => ({
      at: attempt.at as string,
      ...(typeof attempt.status_code === 'number' ? { statusCode: attempt.status_code } : {}),
      ...(typeof attempt.error === 'string' ? { error: attempt.error } : {}),
      durationMs: attempt.duration_ms as number,
    })),
    ...(typeof item.next_attempt_at === 'string' ? { nextAttemptAt: item.next_attempt_at } : {}),
    payload: item.payload as string,
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
  };
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** What a message to deliver is: enough to create its delivery item on the first attempt. */
export interface MessageToDeliver {
  readonly messageId: string;
  readonly type: string;
  readonly executionId?: string;
  readonly payload: string;
}

/** A queued message as its delivery item keeps it, so it can be queued again if it is lost. */
export interface PlannedMessage extends MessageToDeliver {
  readonly target: DeliveryTarget;
  readonly url?: string;
  readonly secret?: string;
  /** A redelivery asked for through the API: one attempt, whose failure changes nothing else. */
  readonly redelivery?: boolean;
}

/** A delivery whose message is overdue: it should have come back from the queue by now. */
export interface OverdueDelivery {
  readonly message: PlannedMessage;
  readonly status: DeliveryStatus;
  /** When it was due (the version the redrive conditions its rearm on). */
  readonly dueAt: string;
}

/**
 * How long after it is due a message counts as lost, unless the store is told otherwise: its queue
 * hands it back at the due time (the first attempt, the next retry), and an attempt that crashed
 * comes back after the queue's visibility timeout. The construct passes the timeout plus a minute.
 */
export const DUE_GRACE_SECONDS = 300;

/** How early a copy of a retrying message may come back and still make the next attempt (clocks differ). */
const RETRY_EARLY_SECONDS = 5;

/** Settings of {@link WebhookStore}. */
export interface WebhookStoreOptions {
  readonly tableName: string;
  /** Key of the HMAC of delivery page cursors. */
  readonly cursorSecret: string;
  /** @default DUE_GRACE_SECONDS */
  readonly dueGraceSeconds?: number;
}

/** How a started attempt ended, and what comes next. */
export type AttemptOutcome = { readonly status: 'delivered' | 'failed' } | { readonly status: 'retrying'; readonly nextAttemptAt: string };

/**
 * Webhook subscriptions and their deliveries, in the executions table. A tenant's subscriptions
 * share one partition (`WEBHOOKS#<tenant>`) with a counter item that bounds them
 * ({@link MAX_SUBSCRIPTIONS}): every status change reads them with one Query. Each target's
 * deliveries have a partition of their own, one item per message (`DLV#<message id>`), which
 * records every attempt and expires after {@link DELIVERY_RETENTION_DAYS}.
 */
export class WebhookStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: WebhookStoreOptions,
  ) {}

  /** When a message handed out at `at` (plus `plusSeconds`) counts as lost. */
  private dueAt(at: Date | string, plusSeconds = 0): string {
    return new Date(new Date(at).getTime() + (plusSeconds + (this.options.dueGraceSeconds ?? DUE_GRACE_SECONDS)) * 1000).toISOString();
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isDependencyUnavailable(error)) throw dependencyUnavailable();
      throw error;
    }
  }

  /** A conditional update of one item; false when its condition did not hold (nothing written). */
  private async updateIf(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await this.call(() => this.client.send(new UpdateCommand({ TableName: this.options.tableName, ...input })));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Settles a delivery as `status`, out of the due index, when `condition` holds of it. */
  private async settle(target: DeliveryTarget, messageId: string, status: DeliveryStatus, condition: string, values: Record<string, unknown>): Promise<void> {
    await this.updateIf({
      Key: { pk: deliveriesPk(target), sk: deliverySk(messageId) },
      UpdateExpression: 'SET #status = :status, updated_at = :now REMOVE next_attempt_at, #dueKey, #dueAt',
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#status': 'status', '#dueKey': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey },
      ExpressionAttributeValues: { ':status': status, ...values },
    });
  }

  /**
   * Stores a new subscription, counted against the tenant's limit in the same transaction.
   * @throws ResourceConflictError (409) when the tenant has {@link MAX_SUBSCRIPTIONS} already.
   */
  async create(subscription: WebhookSubscription): Promise<void> {
    const pk = subscriptionsPk(subscription.tenant);
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
                  ExpressionAttributeValues: { ':one': 1, ':max': MAX_SUBSCRIPTIONS },
                },
              },
              {
                Put: {
                  TableName: this.options.tableName,
                  Item: {
                    pk,
                    sk: subscriptionSk(subscription.id),
                    id: subscription.id,
                    tenant: subscription.tenant,
                    url: subscription.url,
                    events: [...subscription.events],
                    task_id: subscription.taskId,
                    description: subscription.description,
                    status: subscription.status,
                    secret: subscription.secret,
                    created_at: subscription.createdAt,
                    updated_at: subscription.updatedAt,
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
        throw new ResourceConflictError(`A tenant may have at most ${MAX_SUBSCRIPTIONS} webhooks; delete one first.`);
      }
      throw error;
    }
  }

  /** Every subscription of a tenant (at most {@link MAX_SUBSCRIPTIONS}: one page). */
  async list(tenant: string): Promise<WebhookSubscription[]> {
    const result = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
          ExpressionAttributeValues: { ':pk': subscriptionsPk(tenant), ':sub': 'SUB#' },
        }),
      ),
    );
    return (result.Items ?? []).map(fromSubscriptionItem);
  }

  /** A subscription, or undefined. */
  async find(tenant: string, id: string): Promise<WebhookSubscription | undefined> {
    const result = await this.call(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: subscriptionsPk(tenant), sk: subscriptionSk(id) } })),
    );
    return result.Item ? fromSubscriptionItem(result.Item) : undefined;
  }

  /**
   * A subscription.
   * @throws NotFoundError (404).
   */
  async get(tenant: string, id: string): Promise<WebhookSubscription> {
    const found = await this.find(tenant, id);
    if (!found) throw new NotFoundError(`No webhook ${id.slice(0, 64)} exists.`);
    return found;
  }

  /**
   * Deletes a subscription and gives its place back. Its deliveries expire on their own.
   * @throws NotFoundError (404) when there is none (a second delete included).
   */
  async delete(tenant: string, id: string): Promise<void> {
    const pk = subscriptionsPk(tenant);
    try {
      await this.call(() =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.options.tableName,
                  Key: { pk, sk: subscriptionSk(id) },
                  ConditionExpression: 'attribute_exists(pk)',
                },
              },
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
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') throw new NotFoundError(`No webhook ${id.slice(0, 64)} exists.`);
      throw error;
    }
  }

  /**
   * Replaces the signing secret; the one it replaces keeps signing beside it for
   * {@link ROTATION_OVERLAP_SECONDS}.
   * @throws NotFoundError (404).
   */
  async rotateSecret(tenant: string, id: string, secret: string, now: Date): Promise<WebhookSubscription> {
    try {
      const result = await this.call(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: subscriptionsPk(tenant), sk: subscriptionSk(id) },
            UpdateExpression: 'SET previous_secret = secret, previous_secret_until = :until, secret = :secret, updated_at = :now',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: {
              ':until': Math.floor(now.getTime() / 1000) + ROTATION_OVERLAP_SECONDS,
              ':secret': secret,
              ':now': now.toISOString(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromSubscriptionItem(result.Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`No webhook ${id.slice(0, 64)} exists.`);
      throw error;
    }
  }

  /**
   * Marks a subscription failing (an event exhausted its attempts) or enabled again (a delivery
   * succeeded); a deleted one stays deleted.
   */
  async setHealth(tenant: string, id: string, failing: boolean, now: Date): Promise<void> {
    await this.updateIf({
      Key: { pk: subscriptionsPk(tenant), sk: subscriptionSk(id) },
      UpdateExpression: failing
        ? 'SET #status = :failing, failing_since = if_not_exists(failing_since, :now), updated_at = :now'
        : 'SET #status = :enabled, updated_at = :now REMOVE failing_since',
      ConditionExpression: failing ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND #status = :failing',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: failing ? { ':failing': 'failing', ':now': now.toISOString() } : { ':failing': 'failing', ':enabled': 'enabled', ':now': now.toISOString() },
    });
  }

  /**
   * Records a message about to be queued (`pending`, due back within {@link DUE_GRACE_SECONDS}), so a
   * message the queue loses is found and queued again ({@link overdue}). A duplicate (the same
   * change dispatched twice) finds it recorded and changes nothing.
   */
  async plan(message: PlannedMessage, now: Date): Promise<void> {
    try {
      await this.call(() =>
        this.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: {
              pk: deliveriesPk(message.target),
              sk: deliverySk(message.messageId),
              message_id: message.messageId,
              type: message.type,
              execution_id: message.executionId,
              target: { ...message.target },
              url: message.url,
              secret: message.secret,
              payload: message.payload,
              status: 'pending',
              attempt_count: 0,
              created_at: now.toISOString(),
              updated_at: now.toISOString(),
              expires_at: Math.floor(now.getTime() / 1000) + DELIVERY_RETENTION_DAYS * DAY_SECONDS,
              [DUE_INDEX.partitionKey]: dueKey(message.messageId),
              [DUE_INDEX.sortKey]: this.dueAt(now),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** The target a deliveries partition key names. */
  private targetOfKey(pk: string): DeliveryTarget {
    const [, tenant = '', rest = ''] = /^WEBHOOK#(.*)#([^#]*)$/.exec(pk) ?? [];
    return rest.startsWith('execution:')
      ? { kind: 'execution', tenant, executionId: rest.slice('execution:'.length) }
      : { kind: 'subscription', tenant, subscriptionId: rest };
  }

  /** Keys of deliveries due before `now` in one `by-due` shard, oldest first. */
  async overdue(shard: number, now: Date, limit: number): Promise<Array<{ pk: string; sk: string }>> {
    const result = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: DUE_INDEX.name,
          KeyConditionExpression: '#due = :due AND #at <= :now',
          ExpressionAttributeNames: { '#due': DUE_INDEX.partitionKey, '#at': DUE_INDEX.sortKey },
          ExpressionAttributeValues: { ':due': `DUE#${shard}`, ':now': now.toISOString() },
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? []).map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
  }

  /** An overdue delivery read whole (consistently), or undefined when it is settled or not due any more. */
  async findOverdue(key: { pk: string; sk: string }, now: Date): Promise<OverdueDelivery | undefined> {
    const result = await this.call(() => this.client.send(new GetCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true })));
    const item = result.Item;
    const due = item?.[DUE_INDEX.sortKey];
    if (!item || typeof due !== 'string' || due > now.toISOString()) return undefined;
    if (!item.target) {
      // Written before deliveries kept their target: it cannot be queued again, only settled.
      await this.abandon(this.targetOfKey(key.pk), item.message_id as string, now);
      return undefined;
    }
    return {
      status: item.status as DeliveryStatus,
      dueAt: due,
      message: {
        messageId: item.message_id as string,
        type: item.type as string,
        target: item.target as DeliveryTarget,
        payload: item.payload as string,
        ...(typeof item.execution_id === 'string' ? { executionId: item.execution_id } : {}),
        ...(typeof item.url === 'string' ? { url: item.url } : {}),
        ...(typeof item.secret === 'string' ? { secret: item.secret } : {}),
        ...(item.redelivery === true ? { redelivery: true } : {}),
      },
    };
  }

  /**
   * Pushes an overdue delivery's due time forward before its message is queued again; false when
   * another run (or an attempt) moved it first, so exactly one re-queues it.
   */
  async rearm(delivery: OverdueDelivery, now: Date): Promise<boolean> {
    return this.updateIf({
      Key: { pk: deliveriesPk(delivery.message.target), sk: deliverySk(delivery.message.messageId) },
      UpdateExpression: 'SET #at = :next',
      ConditionExpression: '#at = :due',
      ExpressionAttributeNames: { '#at': DUE_INDEX.sortKey },
      ExpressionAttributeValues: { ':next': this.dueAt(now), ':due': delivery.dueAt },
    });
  }

  /**
   * Starts an attempt: counts it and marks the delivery `sending`. Only one copy of a message gets
   * to: a delivery that is `pending`, `retrying` and due (give or take a few seconds of clock), or
   * `sending` for longer than its grace (the attempt's function died). Returns the attempt's
   * number, or undefined for a copy that must be dropped: the delivery is settled, being attempted,
   * not due yet, or out of attempts ({@link MAX_DELIVERY_ATTEMPTS}).
   */
  async beginAttempt(target: DeliveryTarget, message: MessageToDeliver, now: Date): Promise<number | undefined> {
    const nowIso = now.toISOString();
    try {
      const result = await this.call(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: deliveriesPk(target), sk: deliverySk(message.messageId) },
            UpdateExpression:
              'SET attempt_count = if_not_exists(attempt_count, :zero) + :one, #status = :sending, updated_at = :now, ' +
              'message_id = :id, #type = :type, payload = if_not_exists(payload, :payload), created_at = if_not_exists(created_at, :now), ' +
              'expires_at = :expires, #dueKey = :dueKey, #dueAt = :dueAt' +
              (message.executionId ? ', execution_id = :execution' : ''),
            ConditionExpression:
              'attribute_not_exists(pk) OR (#status = :pending AND attempt_count < :max) ' +
              'OR (#status = :retrying AND attempt_count < :max AND next_attempt_at <= :soon) ' +
              'OR (#status = :sending AND attempt_count < :max AND #dueAt <= :now)',
            ExpressionAttributeNames: { '#status': 'status', '#type': 'type', '#dueKey': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey },
            ExpressionAttributeValues: {
              ':dueKey': dueKey(message.messageId),
              ':dueAt': this.dueAt(now),
              ':zero': 0,
              ':one': 1,
              ':sending': 'sending',
              ':pending': 'pending',
              ':retrying': 'retrying',
              ':soon': new Date(now.getTime() + RETRY_EARLY_SECONDS * 1000).toISOString(),
              ':max': MAX_DELIVERY_ATTEMPTS,
              ':now': nowIso,
              ':id': message.messageId,
              ':type': message.type,
              ':payload': message.payload,
              ':expires': Math.floor(now.getTime() / 1000) + DELIVERY_RETENTION_DAYS * DAY_SECONDS,
              ...(message.executionId ? { ':execution': message.executionId } : {}),
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return result.Attributes?.attempt_count as number;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records how attempt `number` ended and what comes next (`retrying` with its time, or final).
   * Returns false, recording nothing, when that attempt is no longer the delivery's current one
   * (another copy took over after it was thought dead): its outcome must not overwrite the other's.
   */
  async endAttempt(target: DeliveryTarget, messageId: string, number: number, attempt: DeliveryAttempt, outcome: AttemptOutcome): Promise<boolean> {
    return this.updateIf({
      Key: { pk: deliveriesPk(target), sk: deliverySk(messageId) },
      UpdateExpression:
        'SET #status = :status, updated_at = :now, attempts = list_append(if_not_exists(attempts, :none), :attempt)' +
        (outcome.status === 'retrying' ? ', next_attempt_at = :next, #dueAt = :dueAt' : ' REMOVE next_attempt_at, #dueKey, #dueAt'),
      ConditionExpression: '#status = :sending AND attempt_count = :number',
      ExpressionAttributeNames: { '#status': 'status', '#dueAt': DUE_INDEX.sortKey, ...(outcome.status === 'retrying' ? {} : { '#dueKey': DUE_INDEX.partitionKey }) },
      ExpressionAttributeValues: {
        ':sending': 'sending',
        ':number': number,
        ':status': outcome.status,
        ':now': attempt.at,
        ':none': [],
        ':attempt': [
          {
            at: attempt.at,
            ...(attempt.statusCode !== undefined ? { status_code: attempt.statusCode } : {}),
            ...(attempt.error !== undefined ? { error: attempt.error } : {}),
            duration_ms: attempt.durationMs,
          },
        ],
        ...(outcome.status === 'retrying' ? { ':next': outcome.nextAttemptAt, ':dueAt': this.dueAt(outcome.nextAttemptAt) } : {}),
      },
    });
  }

  /** A delivery, or undefined. */
  async findDelivery(target: DeliveryTarget, messageId: string): Promise<Delivery | undefined> {
    const result = await this.call(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: deliveriesPk(target), sk: deliverySk(messageId) } })),
    );
    return result.Item ? fromDeliveryItem(result.Item) : undefined;
  }

  /**
   * Settles a delivery nobody will attempt again (its subscription was deleted, or it used every
   * attempt): `failed`, out of the due index, so the redrive stops queueing it. A delivered one stays so.
   */
  async abandon(target: DeliveryTarget, messageId: string, now: Date): Promise<void> {
    await this.settle(target, messageId, 'failed', 'attribute_exists(pk) AND #status <> :delivered', { ':delivered': 'delivered', ':now': now.toISOString() });
  }

  /**
   * Readies a delivered or failed message for one more attempt (a redelivery).
   * @throws NotFoundError (404) when there is no such delivery; ResourceConflictError (409) while
   * attempts are still under way, or when it used {@link MAX_DELIVERY_ATTEMPTS}.
   */
  async reopen(target: DeliveryTarget, messageId: string, now: Date): Promise<Delivery & { readonly previousStatus: 'delivered' | 'failed' }> {
    try {
      const result = await this.call(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: deliveriesPk(target), sk: deliverySk(messageId) },
            UpdateExpression: 'SET #status = :pending, updated_at = :now, next_attempt_at = :now, redelivery = :true, #dueKey = :dueKey, #dueAt = :dueAt',
            ConditionExpression: 'attribute_exists(pk) AND #status IN (:delivered, :failed) AND attempt_count < :max',
            ExpressionAttributeNames: { '#status': 'status', '#dueKey': DUE_INDEX.partitionKey, '#dueAt': DUE_INDEX.sortKey },
            ExpressionAttributeValues: {
              ':dueKey': dueKey(messageId),
              ':dueAt': this.dueAt(now),
              ':true': true,
              ':pending': 'pending',
              ':delivered': 'delivered',
              ':failed': 'failed',
              ':max': MAX_DELIVERY_ATTEMPTS,
              ':now': now.toISOString(),
            },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      const before = fromDeliveryItem(result.Attributes!);
      return { ...before, status: 'pending', nextAttemptAt: now.toISOString(), updatedAt: now.toISOString(), previousStatus: before.status as 'delivered' | 'failed' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.findDelivery(target, messageId);
      if (!existing) throw new NotFoundError(`No delivery ${messageId.slice(0, 100)} exists.`);
      throw new ResourceConflictError(
        existing.attemptCount >= MAX_DELIVERY_ATTEMPTS
          ? `This delivery made ${existing.attemptCount} attempts, the most allowed.`
          : `This delivery is ${existing.status}; redeliver it once its attempts have ended.`,
      );
    }
  }

  /**
   * Undoes {@link reopen} when the redelivery could not be queued: the delivery goes back to the
   * status it had, so it can be redelivered again (it would otherwise stay `pending` for good).
   */
  async restore(target: DeliveryTarget, messageId: string, status: 'delivered' | 'failed', now: Date): Promise<void> {
    await this.settle(target, messageId, status, '#status = :pending', { ':pending': 'pending', ':now': now.toISOString() });
  }

  /** A target's deliveries, newest executions' first, a page at a time. */
  async listDeliveries(target: DeliveryTarget, limit: number, cursor?: string): Promise<DeliveryPage> {
    const pk = deliveriesPk(target);
    const result = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :dlv)',
          ExpressionAttributeValues: { ':pk': pk, ':dlv': 'DLV#' },
          ScanIndexForward: false,
          Limit: limit,
          ...(cursor ? { ExclusiveStartKey: { ...decodeCursor(cursor, this.options.cursorSecret, pk), pk } } : {}),
        }),
      ),
    );
    const last = result.LastEvaluatedKey;
    return {
      items: (result.Items ?? []).map(fromDeliveryItem),
      ...(last ? { nextCursor: encodeCursor({ scope: pk, key: { sk: last.sk as string } }, this.options.cursorSecret) } : {}),
    };
  }
}
