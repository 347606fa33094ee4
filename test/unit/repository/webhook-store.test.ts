import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, ResourceConflictError, ServiceUnavailableError, ValidationError } from '../../../lambdas/domain/errors.js';
import { MAX_SUBSCRIPTIONS, ROTATION_OVERLAP_SECONDS } from '../../../lambdas/domain/webhooks.js';
import { dueKey } from '../../../lambdas/repository/keys.js';
import {
  DELIVERY_RETENTION_DAYS,
  DUE_GRACE_SECONDS,
  MAX_DELIVERY_ATTEMPTS,
  WebhookStore,
  type DeliveryTarget,
  type MessageToDeliver,
  type WebhookSubscription,
} from '../../../lambdas/repository/webhook-store.js';
import { FakeTable } from '../support/fake-dynamodb.js';

const ddb = mockClient(DynamoDBDocumentClient);

const TABLE = 'webhooks-table';
const TENANT = 'acme';
const CREATED = '2026-01-02T03:04:05.000Z';
const NOW = new Date('2026-02-03T04:05:06.000Z');
const SUBSCRIPTIONS_PK = `WEBHOOKS#${TENANT}`;
const TARGET = { kind: 'subscription', tenant: TENANT, subscriptionId: 'wh_1' } as const;
const DELIVERIES_PK = `WEBHOOK#${TENANT}#wh_1`;

let table: FakeTable;
let store: WebhookStore;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  store = new WebhookStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: TABLE, cursorSecret: 'test-secret' });
});

function subscription(id: string, overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id,
    tenant: TENANT,
    url: `https://hooks.example.com/${id}`,
    events: ['execution.succeeded', 'execution.failed'],
    status: 'enabled',
    secret: `whsec_${Buffer.alloc(32, id).toString('base64')}`,
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

function message(messageId: string, overrides: Partial<MessageToDeliver> = {}): MessageToDeliver {
  return { messageId, type: 'execution.succeeded', executionId: 'e1', payload: `{"id":"${messageId}"}`, ...overrides };
}

function counter(): unknown {
  return table.item(SUBSCRIPTIONS_PK, 'COUNT')?.count;
}

/** Rejects with `name`, as the SDK throws a service error. */
function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('create', () => {
  it('puts the subscription and counts it in one transaction, conditioned on the limit and a new key', async () => {
    await store.create(subscription('wh_1', { taskId: 'sample-pipeline', description: 'CI' }));

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const [count, put] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(count!.Update).toMatchObject({
      TableName: TABLE,
      Key: { pk: SUBSCRIPTIONS_PK, sk: 'COUNT' },
      UpdateExpression: 'ADD #count :one',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
      ExpressionAttributeValues: { ':one': 1, ':max': MAX_SUBSCRIPTIONS },
    });
    expect(put!.Put).toMatchObject({ TableName: TABLE, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(table.item(SUBSCRIPTIONS_PK, 'SUB#wh_1')).toEqual({
      pk: SUBSCRIPTIONS_PK,
      sk: 'SUB#wh_1',
      id: 'wh_1',
      tenant: TENANT,
      url: 'https://hooks.example.com/wh_1',
      events: ['execution.succeeded', 'execution.failed'],
      task_id: 'sample-pipeline',
      description: 'CI',
      status: 'enabled',
      secret: subscription('wh_1').secret,
      created_at: CREATED,
      updated_at: CREATED,
    });
    expect(counter()).toBe(1);
  });

  it(`refuses the subscription after ${MAX_SUBSCRIPTIONS} with a 409, storing nothing`, async () => {
    for (let index = 0; index < MAX_SUBSCRIPTIONS; index++) await store.create(subscription(`wh_${index}`));

    const refused = store.create(subscription('wh_extra'));

    await expect(refused).rejects.toBeInstanceOf(ResourceConflictError);
    await expect(refused).rejects.toThrow(`A tenant may have at most ${MAX_SUBSCRIPTIONS} webhooks; delete one first.`);
    expect(counter()).toBe(MAX_SUBSCRIPTIONS);
    expect(table.item(SUBSCRIPTIONS_PK, 'SUB#wh_extra')).toBeUndefined();
    expect(await store.list(TENANT)).toHaveLength(MAX_SUBSCRIPTIONS);
  });

  it('counts each tenant on its own', async () => {
    for (let index = 0; index < MAX_SUBSCRIPTIONS; index++) await store.create(subscription(`wh_${index}`));

    await store.create(subscription('wh_beta', { tenant: 'beta' }));

    expect(await store.list('beta')).toHaveLength(1);
  });

  it('gives the place of a deleted subscription back', async () => {
    for (let index = 0; index < MAX_SUBSCRIPTIONS; index++) await store.create(subscription(`wh_${index}`));
    await store.delete(TENANT, 'wh_3');

    await store.create(subscription('wh_new'));

    expect(counter()).toBe(MAX_SUBSCRIPTIONS);
  });

  it('lets another cancellation (an existing id) through as it came', async () => {
    await store.create(subscription('wh_1'));

    await expect(store.create(subscription('wh_1'))).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(counter()).toBe(1);
  });

  it('answers 503 when DynamoDB throttles', async () => {
    ddb.on(TransactWriteCommand).rejects(awsError('ThrottlingException'));

    await expect(store.create(subscription('wh_1'))).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('list, find and get', () => {
  it("lists a tenant's subscriptions only, without the counter, in one Query", async () => {
    await store.create(subscription('wh_1'));
    await store.create(subscription('wh_2', { taskId: 'unit-echo' }));
    await store.create(subscription('wh_3', { tenant: 'beta' }));

    const listed = await store.list(TENANT);

    expect(listed.map((found) => found.id)).toEqual(['wh_1', 'wh_2']);
    expect(listed[1]).toEqual(subscription('wh_2', { taskId: 'unit-echo' }));
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
      ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS_PK, ':sub': 'SUB#' },
    });
  });

  it('lists nothing for a tenant without subscriptions', async () => {
    expect(await store.list('nobody')).toEqual([]);
  });

  it('reads a subscription back as it was stored, its optional fields absent when not set', async () => {
    await store.create(subscription('wh_1'));

    const found = await store.find(TENANT, 'wh_1');

    expect(found).toEqual(subscription('wh_1'));
    expect(found).not.toHaveProperty('taskId');
    expect(found).not.toHaveProperty('description');
    expect(found).not.toHaveProperty('previousSecret');
  });

  it("finds no subscription of another tenant, and get answers 404", async () => {
    await store.create(subscription('wh_1'));

    expect(await store.find('beta', 'wh_1')).toBeUndefined();
    await expect(store.get('beta', 'wh_1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(TENANT, 'wh_1')).resolves.toMatchObject({ id: 'wh_1' });
  });

  it('answers 503 when a read times out', async () => {
    ddb.on(GetCommand).rejects(awsError('TimeoutError', 0));
    ddb.on(QueryCommand).rejects(awsError('InternalServerError', 500));

    await expect(store.find(TENANT, 'wh_1')).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(store.list(TENANT)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('delete', () => {
  it('deletes the subscription and decrements the counter in one transaction', async () => {
    await store.create(subscription('wh_1'));
    await store.create(subscription('wh_2'));

    await store.delete(TENANT, 'wh_1');

    expect(table.item(SUBSCRIPTIONS_PK, 'SUB#wh_1')).toBeUndefined();
    expect(counter()).toBe(1);
    expect((await store.list(TENANT)).map((found) => found.id)).toEqual(['wh_2']);
  });

  it('answers 404 for an unknown subscription and a second delete, leaving the counter alone', async () => {
    await store.create(subscription('wh_1'));
    await store.delete(TENANT, 'wh_1');

    await expect(store.delete(TENANT, 'wh_1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.delete(TENANT, 'wh_never')).rejects.toThrow('No webhook wh_never exists.');
    expect(counter()).toBe(0);
  });

  it("cannot delete another tenant's subscription", async () => {
    await store.create(subscription('wh_1'));

    await expect(store.delete('beta', 'wh_1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.find(TENANT, 'wh_1')).toBeDefined();
  });

  it('lets an unexpected failure through', async () => {
    ddb.on(TransactWriteCommand).rejects(awsError('ValidationException'));

    await expect(store.delete(TENANT, 'wh_1')).rejects.toThrow('ValidationException');
  });
});

describe('rotateSecret', () => {
  it('keeps the replaced secret signing for the overlap and returns the subscription with the new one', async () => {
    const original = subscription('wh_1');
    await store.create(original);

    const rotated = await store.rotateSecret(TENANT, 'wh_1', 'whsec_bmV3', NOW);

    expect(rotated).toEqual({
      ...original,
      secret: 'whsec_bmV3',
      previousSecret: original.secret,
      previousSecretUntil: Math.floor(NOW.getTime() / 1000) + ROTATION_OVERLAP_SECONDS,
      updatedAt: NOW.toISOString(),
    });
    expect(await store.get(TENANT, 'wh_1')).toEqual(rotated);
  });

  it('replaces the previous secret on a second rotation', async () => {
    await store.create(subscription('wh_1'));
    await store.rotateSecret(TENANT, 'wh_1', 'whsec_MQ==', NOW);

    const rotated = await store.rotateSecret(TENANT, 'wh_1', 'whsec_Mg==', NOW);

    expect(rotated).toMatchObject({ secret: 'whsec_Mg==', previousSecret: 'whsec_MQ==' });
  });

  it('answers 404 for an unknown subscription without creating one', async () => {
    await expect(store.rotateSecret(TENANT, 'wh_none', 'whsec_MQ==', NOW)).rejects.toBeInstanceOf(NotFoundError);
    expect(table.item(SUBSCRIPTIONS_PK, 'SUB#wh_none')).toBeUndefined();
  });

  it('lets an unexpected failure through', async () => {
    ddb.on(UpdateCommand).rejects(awsError('ValidationException'));

    await expect(store.rotateSecret(TENANT, 'wh_1', 'whsec_MQ==', NOW)).rejects.toThrow('ValidationException');
  });
});

describe('setHealth', () => {
  it('marks a subscription failing from the first failure on, and enabled again without failing_since', async () => {
    await store.create(subscription('wh_1'));
    const later = new Date(NOW.getTime() + 3_600_000);

    await store.setHealth(TENANT, 'wh_1', true, NOW);
    await store.setHealth(TENANT, 'wh_1', true, later);

    expect(await store.get(TENANT, 'wh_1')).toMatchObject({ status: 'failing', failingSince: NOW.toISOString(), updatedAt: later.toISOString() });

    await store.setHealth(TENANT, 'wh_1', false, later);

    const healthy = await store.get(TENANT, 'wh_1');
    expect(healthy.status).toBe('enabled');
    expect(healthy).not.toHaveProperty('failingSince');
  });

  it('writes nothing to set an enabled subscription enabled', async () => {
    await store.create(subscription('wh_1'));

    await store.setHealth(TENANT, 'wh_1', false, NOW);

    expect(await store.get(TENANT, 'wh_1')).toMatchObject({ status: 'enabled', updatedAt: CREATED });
  });

  it('leaves a deleted subscription deleted', async () => {
    await store.setHealth(TENANT, 'wh_gone', true, NOW);
    await store.setHealth(TENANT, 'wh_gone', false, NOW);

    expect(table.item(SUBSCRIPTIONS_PK, 'SUB#wh_gone')).toBeUndefined();
  });

  it('lets an unexpected failure through', async () => {
    ddb.on(UpdateCommand).rejects(awsError('ValidationException'));

    await expect(store.setHealth(TENANT, 'wh_1', true, NOW)).rejects.toThrow('ValidationException');
  });
});

describe('beginAttempt and endAttempt', () => {
  it('creates the delivery item on the first attempt: number 1, sending, its payload, and expiring after the retention', async () => {
    const number = await store.beginAttempt(TARGET, message('msg_1'), NOW);

    expect(number).toBe(1);
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toEqual({
      pk: DELIVERIES_PK,
      sk: 'DLV#msg_1',
      message_id: 'msg_1',
      type: 'execution.succeeded',
      execution_id: 'e1',
      status: 'sending',
      attempt_count: 1,
      payload: '{"id":"msg_1"}',
      created_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
      expires_at: Math.floor(NOW.getTime() / 1000) + DELIVERY_RETENTION_DAYS * 86_400,
      // Owed until it settles: due back within the grace (the redrive's index).
      due_key: dueKey('msg_1'),
      due_at: new Date(NOW.getTime() + DUE_GRACE_SECONDS * 1000).toISOString(),
    });
  });

  it('counts later attempts and keeps the first payload and creation time', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 1, { at: NOW.toISOString(), statusCode: 500, durationMs: 5 }, { status: 'retrying', nextAttemptAt: '2026-02-03T04:05:11.000Z' });
    const later = new Date(NOW.getTime() + 5000);

    const number = await store.beginAttempt(TARGET, message('msg_1', { payload: '{"changed":true}' }), later);

    expect(number).toBe(2);
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({
      attempt_count: 2,
      status: 'sending',
      payload: '{"id":"msg_1"}',
      created_at: NOW.toISOString(),
      updated_at: later.toISOString(),
    });
  });

  it('stores a test ping without an execution id', async () => {
    await store.beginAttempt(TARGET, { messageId: 'msg_t', type: 'webhook.test', payload: '{}' }, NOW);

    expect(table.item(DELIVERIES_PK, 'DLV#msg_t')).not.toHaveProperty('execution_id');
    expect(await store.findDelivery(TARGET, 'msg_t')).not.toHaveProperty('executionId');
  });

  it('returns undefined for a delivered message (a duplicate) and for one that used the most attempts', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 1, { at: NOW.toISOString(), statusCode: 200, durationMs: 5 }, { status: 'delivered' });
    table.put({ pk: DELIVERIES_PK, sk: 'DLV#msg_2', status: 'retrying', attempt_count: MAX_DELIVERY_ATTEMPTS, payload: '{}' });

    expect(await store.beginAttempt(TARGET, message('msg_1'), NOW)).toBeUndefined();
    expect(await store.beginAttempt(TARGET, message('msg_2'), NOW)).toBeUndefined();
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({ status: 'delivered', attempt_count: 1 });
  });

  it('sends the conditional update that makes duplicates and extra attempts impossible', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: DELIVERIES_PK, sk: 'DLV#msg_1' },
      ConditionExpression:
        'attribute_not_exists(pk) OR (#status = :pending AND attempt_count < :max) ' +
        'OR (#status = :retrying AND attempt_count < :max AND next_attempt_at <= :soon) ' +
        'OR (#status = :sending AND attempt_count < :max AND #dueAt <= :now)',
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('appends each attempt, with the next attempt time while retrying and none once final', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 1, { at: NOW.toISOString(), error: 'timeout', durationMs: 10_000 }, { status: 'retrying', nextAttemptAt: '2026-02-03T04:05:11.000Z' });

    expect(await store.findDelivery(TARGET, 'msg_1')).toMatchObject({
      status: 'retrying',
      nextAttemptAt: '2026-02-03T04:05:11.000Z',
      attempts: [{ at: NOW.toISOString(), error: 'timeout', durationMs: 10_000 }],
    });

    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 2, { at: '2026-02-03T04:05:11.000Z', statusCode: 410, durationMs: 7 }, { status: 'failed' });

    const delivery = await store.findDelivery(TARGET, 'msg_1');
    expect(delivery).toEqual({
      messageId: 'msg_1',
      type: 'execution.succeeded',
      executionId: 'e1',
      status: 'failed',
      attemptCount: 2,
      attempts: [
        { at: NOW.toISOString(), error: 'timeout', durationMs: 10_000 },
        { at: '2026-02-03T04:05:11.000Z', statusCode: 410, durationMs: 7 },
      ],
      payload: '{"id":"msg_1"}',
      createdAt: NOW.toISOString(),
      updatedAt: '2026-02-03T04:05:11.000Z',
    });
  });

  it('records nothing for an attempt of a delivery that does not exist', async () => {
    expect(await store.endAttempt(TARGET, 'msg_none', 1, { at: NOW.toISOString(), durationMs: 1 }, { status: 'delivered' })).toBe(false);
    expect(table.item(DELIVERIES_PK, 'DLV#msg_none')).toBeUndefined();
  });

  it('lets one copy of a message attempt at a time: another copy is refused while it is sending', async () => {
    expect(await store.beginAttempt(TARGET, message('msg_1'), NOW)).toBe(1);

    expect(await store.beginAttempt(TARGET, message('msg_1'), new Date(NOW.getTime() + 1000))).toBeUndefined();
  });

  it('lets a copy take over an attempt that outlived its grace (its function died); the dead one then records nothing', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    const later = new Date(NOW.getTime() + (DUE_GRACE_SECONDS + 1) * 1000);

    expect(await store.beginAttempt(TARGET, message('msg_1'), later)).toBe(2);
    expect(await store.endAttempt(TARGET, 'msg_1', 1, { at: later.toISOString(), statusCode: 500, durationMs: 1 }, { status: 'failed' })).toBe(false);
    expect(await store.endAttempt(TARGET, 'msg_1', 2, { at: later.toISOString(), statusCode: 200, durationMs: 1 }, { status: 'delivered' })).toBe(true);
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({ status: 'delivered', attempt_count: 2 });
  });

  it('refuses a copy of a retrying message that comes back well before its next attempt, and of a failed one', async () => {
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 1, { at: NOW.toISOString(), statusCode: 500, durationMs: 1 }, { status: 'retrying', nextAttemptAt: new Date(NOW.getTime() + 60_000).toISOString() });
    await store.beginAttempt(TARGET, message('msg_2'), NOW);
    await store.endAttempt(TARGET, 'msg_2', 1, { at: NOW.toISOString(), statusCode: 500, durationMs: 1 }, { status: 'failed' });

    expect(await store.beginAttempt(TARGET, message('msg_1'), new Date(NOW.getTime() + 10_000))).toBeUndefined();
    expect(await store.beginAttempt(TARGET, message('msg_1'), new Date(NOW.getTime() + 56_000))).toBe(2);
    expect(await store.beginAttempt(TARGET, message('msg_2'), NOW)).toBeUndefined();
  });

  it('settles an abandoned delivery as failed and out of the due index, but never a delivered one', async () => {
    await store.plan({ ...message('msg_1'), target: TARGET }, NOW);
    await store.beginAttempt(TARGET, message('msg_2'), NOW);
    await store.endAttempt(TARGET, 'msg_2', 1, { at: NOW.toISOString(), statusCode: 200, durationMs: 1 }, { status: 'delivered' });

    await store.abandon(TARGET, 'msg_1', NOW);
    await store.abandon(TARGET, 'msg_2', NOW);
    await store.abandon(TARGET, 'msg_none', NOW);

    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({ status: 'failed' });
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).not.toHaveProperty('due_key');
    expect(table.item(DELIVERIES_PK, 'DLV#msg_2')).toMatchObject({ status: 'delivered' });
    expect(table.item(DELIVERIES_PK, 'DLV#msg_none')).toBeUndefined();
  });

  it("keeps an execution's own deliveries in a partition of their own", async () => {
    const own: DeliveryTarget = { kind: 'execution', tenant: TENANT, executionId: 'e1' };

    await store.beginAttempt(own, message('msg_1'), NOW);

    expect(table.item(`WEBHOOK#${TENANT}#execution:e1`, 'DLV#msg_1')).toMatchObject({ attempt_count: 1 });
    expect(await store.findDelivery(TARGET, 'msg_1')).toBeUndefined();
  });

  it('lets an unexpected failure of beginAttempt through, and answers 503 to throttling', async () => {
    ddb.on(UpdateCommand).rejectsOnce(awsError('ValidationException')).rejectsOnce(awsError('ProvisionedThroughputExceededException'));

    await expect(store.beginAttempt(TARGET, message('msg_1'), NOW)).rejects.toThrow('ValidationException');
    await expect(store.beginAttempt(TARGET, message('msg_1'), NOW)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('reopen', () => {
  async function ended(messageId: string, status: 'delivered' | 'failed' | 'retrying'): Promise<void> {
    await store.beginAttempt(TARGET, message(messageId), NOW);
    const outcome = status === 'retrying' ? { status, nextAttemptAt: NOW.toISOString() } : { status };
    await store.endAttempt(TARGET, messageId, 1, { at: NOW.toISOString(), statusCode: 500, durationMs: 1 }, outcome);
  }

  it.each(['delivered', 'failed'] as const)('readies a %s delivery for another attempt: pending, due now', async (status) => {
    await ended('msg_1', status);
    const later = new Date(NOW.getTime() + 60_000);

    const reopened = await store.reopen(TARGET, 'msg_1', later);

    expect(reopened).toMatchObject({ messageId: 'msg_1', status: 'pending', previousStatus: status, nextAttemptAt: later.toISOString(), attemptCount: 1, payload: '{"id":"msg_1"}' });
    expect(await store.beginAttempt(TARGET, message('msg_1'), later)).toBe(2);
  });

  it.each(['delivered', 'failed'] as const)('is undone by restore: the %s delivery can be reopened again', async (status) => {
    await ended('msg_1', status);
    await store.reopen(TARGET, 'msg_1', NOW);

    await store.restore(TARGET, 'msg_1', status, NOW);

    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({ status });
    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).not.toHaveProperty('next_attempt_at');
    await expect(store.reopen(TARGET, 'msg_1', NOW)).resolves.toMatchObject({ status: 'pending' });
  });

  it('restores nothing once an attempt has begun (the redelivery was queued after all)', async () => {
    await ended('msg_1', 'failed');
    await store.reopen(TARGET, 'msg_1', NOW);
    await store.beginAttempt(TARGET, message('msg_1'), NOW);

    await store.restore(TARGET, 'msg_1', 'failed', NOW);

    expect(table.item(DELIVERIES_PK, 'DLV#msg_1')).toMatchObject({ status: 'sending' });
  });

  it('answers 409 while attempts are under way', async () => {
    await ended('msg_1', 'retrying');
    await store.beginAttempt(TARGET, message('msg_2'), NOW);

    await expect(store.reopen(TARGET, 'msg_1', NOW)).rejects.toThrow(new ResourceConflictError('This delivery is retrying; redeliver it once its attempts have ended.'));
    await expect(store.reopen(TARGET, 'msg_2', NOW)).rejects.toThrow(new ResourceConflictError('This delivery is sending; redeliver it once its attempts have ended.'));
  });

  it('answers 409 for a delivery that used the most attempts', async () => {
    table.put({ pk: DELIVERIES_PK, sk: 'DLV#msg_1', message_id: 'msg_1', type: 't', status: 'failed', attempt_count: MAX_DELIVERY_ATTEMPTS, payload: '{}', created_at: CREATED, updated_at: CREATED });

    await expect(store.reopen(TARGET, 'msg_1', NOW)).rejects.toThrow(new ResourceConflictError(`This delivery made ${MAX_DELIVERY_ATTEMPTS} attempts, the most allowed.`));
  });

  it('answers 404 for an unknown delivery without creating it', async () => {
    await expect(store.reopen(TARGET, 'msg_none', NOW)).rejects.toBeInstanceOf(NotFoundError);
    expect(table.item(DELIVERIES_PK, 'DLV#msg_none')).toBeUndefined();
  });

  it('lets an unexpected failure through', async () => {
    ddb.on(UpdateCommand).rejects(awsError('ValidationException'));

    await expect(store.reopen(TARGET, 'msg_1', NOW)).rejects.toThrow('ValidationException');
  });
});

describe('listDeliveries', () => {
  beforeEach(async () => {
    for (const id of ['msg_a', 'msg_b', 'msg_c', 'msg_d', 'msg_e']) await store.beginAttempt(TARGET, message(id), NOW);
  });

  it('lists the newest messages first, a page at a time, with a cursor to the next page', async () => {
    const first = await store.listDeliveries(TARGET, 2);
    const second = await store.listDeliveries(TARGET, 2, first.nextCursor);
    const third = await store.listDeliveries(TARGET, 2, second.nextCursor);

    expect(first.items.map((delivery) => delivery.messageId)).toEqual(['msg_e', 'msg_d']);
    expect(second.items.map((delivery) => delivery.messageId)).toEqual(['msg_c', 'msg_b']);
    expect(third.items.map((delivery) => delivery.messageId)).toEqual(['msg_a']);
    expect(third.nextCursor).toBeUndefined();
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 1, {
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :dlv)',
      ExpressionAttributeValues: { ':pk': DELIVERIES_PK, ':dlv': 'DLV#' },
      ScanIndexForward: false,
      Limit: 2,
    });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { pk: DELIVERIES_PK, sk: 'DLV#msg_d' } });
  });

  it("refuses a cursor of another webhook's deliveries or an altered one with a 400", async () => {
    const page = await store.listDeliveries(TARGET, 2);
    const other = { kind: 'subscription', tenant: TENANT, subscriptionId: 'wh_2' } as const;

    await expect(store.listDeliveries(other, 2, page.nextCursor)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listDeliveries(TARGET, 2, `${page.nextCursor!}x`)).rejects.toBeInstanceOf(ValidationError);
  });

  it('lists nothing for a webhook without deliveries', async () => {
    expect(await store.listDeliveries({ kind: 'subscription', tenant: TENANT, subscriptionId: 'wh_9' }, 10)).toEqual({ items: [] });
  });
});
