import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient, SendMessageBatchCommand, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { dueKey } from '../../../lambdas/repository/keys.js';
import { DUE_GRACE_SECONDS, WebhookStore, type PlannedMessage } from '../../../lambdas/repository/webhook-store.js';
import { redriveDeliveries } from '../../../lambdas/webhooks/redrive.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { spyLogger } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const NOW = new Date('2026-02-03T04:05:06.000Z');
const TARGET = { kind: 'subscription', tenant: 'acme', subscriptionId: 'wh_1' } as const;
const PK = 'WEBHOOK#acme#wh_1';

let table: FakeTable;
let store: WebhookStore;

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const message = (messageId: string, overrides: Partial<PlannedMessage> = {}): PlannedMessage => ({
  messageId,
  type: 'execution.succeeded',
  executionId: 'e1',
  target: TARGET,
  payload: `{"id":"${messageId}"}`,
  ...overrides,
});

function queued(): unknown[] {
  return sqsMock.commandCalls(SendMessageBatchCommand).flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody!)));
}

function redrive(now: Date) {
  return redriveDeliveries({ store, sqs: new SQSClient({}), queueUrl: QUEUE_URL, logger: spyLogger(), now: () => now });
}

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: '' })),
    Failed: [],
  }));
  table = new FakeTable().install(ddb);
  store = new WebhookStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: 'table', cursorSecret: 'secret' });
});

describe('plan', () => {
  it('records a pending delivery due back within the grace, with what it takes to queue it again', async () => {
    await store.plan(message('msg_1', { target: { kind: 'execution', tenant: 'acme', executionId: 'e1' }, url: 'https://hooks.example.com/own', secret: 'whsec_x' }), NOW);

    expect(table.item('WEBHOOK#acme#execution:e1', 'DLV#msg_1')).toMatchObject({
      status: 'pending',
      attempt_count: 0,
      url: 'https://hooks.example.com/own',
      secret: 'whsec_x',
      target: { kind: 'execution', tenant: 'acme', executionId: 'e1' },
      due_key: dueKey('msg_1'),
      due_at: at(DUE_GRACE_SECONDS).toISOString(),
    });
  });

  it('changes nothing when the same message is planned again (a duplicate of the change)', async () => {
    await store.plan(message('msg_1'), NOW);
    await store.beginAttempt(TARGET, message('msg_1'), NOW);

    await store.plan(message('msg_1'), at(10));

    expect(table.item(PK, 'DLV#msg_1')).toMatchObject({ status: 'sending', attempt_count: 1 });
  });
});

describe('the due index', () => {
  it('keeps a delivery while it is owed, due again after each attempt, and drops it once settled', async () => {
    await store.plan(message('msg_1'), NOW);
    await store.beginAttempt(TARGET, message('msg_1'), at(1));
    expect(table.item(PK, 'DLV#msg_1')).toMatchObject({ due_at: at(1 + DUE_GRACE_SECONDS).toISOString() });

    await store.endAttempt(TARGET, 'msg_1', 1, { at: at(2).toISOString(), statusCode: 500, durationMs: 3 }, { status: 'retrying', nextAttemptAt: at(60).toISOString() });
    expect(table.item(PK, 'DLV#msg_1')).toMatchObject({ due_at: at(60 + DUE_GRACE_SECONDS).toISOString() });

    await store.beginAttempt(TARGET, message('msg_1'), at(60));
    await store.endAttempt(TARGET, 'msg_1', 2, { at: at(61).toISOString(), statusCode: 200, durationMs: 3 }, { status: 'delivered' });
    expect(table.item(PK, 'DLV#msg_1')).not.toHaveProperty('due_key');
    expect(table.item(PK, 'DLV#msg_1')).not.toHaveProperty('due_at');
  });
});

describe('redriveDeliveries', () => {
  it('queues again a planned message that never came back, once, with everything it carried', async () => {
    const planned = message('msg_1', { target: { kind: 'execution', tenant: 'acme', executionId: 'e1' }, url: 'https://hooks.example.com/own', secret: 'whsec_x' });
    await store.plan(planned, NOW);

    expect(await redrive(at(DUE_GRACE_SECONDS - 1))).toBe(0);
    expect(await redrive(at(DUE_GRACE_SECONDS + 1))).toBe(1);
    expect(await redrive(at(DUE_GRACE_SECONDS + 2))).toBe(0);

    expect(queued()).toEqual([planned]);
  });

  it('queues again a retrying message its queue lost, once its next attempt is overdue', async () => {
    await store.plan(message('msg_1'), NOW);
    await store.beginAttempt(TARGET, message('msg_1'), NOW);
    await store.endAttempt(TARGET, 'msg_1', 1, { at: NOW.toISOString(), statusCode: 500, durationMs: 3 }, { status: 'retrying', nextAttemptAt: at(300).toISOString() });

    expect(await redrive(at(300 + DUE_GRACE_SECONDS - 1))).toBe(0);
    expect(await redrive(at(300 + DUE_GRACE_SECONDS + 1))).toBe(1);
  });

  it('leaves delivered and failed deliveries alone', async () => {
    for (const [id, status] of [['msg_1', 'delivered'], ['msg_2', 'failed']] as const) {
      await store.plan(message(id), NOW);
      await store.beginAttempt(TARGET, message(id), NOW);
      await store.endAttempt(TARGET, id, 1, { at: NOW.toISOString(), statusCode: 200, durationMs: 3 }, { status });
    }

    expect(await redrive(at(3600))).toBe(0);
    expect(queued()).toEqual([]);
  });

  it('lets only one of two runs queue a message again', async () => {
    await store.plan(message('msg_1'), NOW);
    const later = at(DUE_GRACE_SECONDS + 1);

    const counts = await Promise.all([redrive(later), redrive(later)]);

    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1);
    expect(queued()).toHaveLength(1);
  });

  it('looks at every shard of the index', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `msg_${i}`);
    for (const id of ids) await store.plan(message(id), NOW);

    expect(await redrive(at(DUE_GRACE_SECONDS + 1))).toBe(40);
    expect(new Set(ids.map(dueKey)).size).toBeGreaterThan(4);
  });
});
