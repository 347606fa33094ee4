import { SQSClient, SendMessageBatchCommand, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { toExecutionView } from '../../../lambdas/domain/views.js';
import type { WebhookEventType } from '../../../lambdas/domain/webhooks.js';
import { toItem } from '../../../lambdas/repository/items.js';
import type { PlannedMessage, WebhookSubscription } from '../../../lambdas/repository/webhook-store.js';
import { MARSHALL_OPTIONS } from '../../../lambdas/shared/dynamodb-client.js';
import { dispatchChanges, enqueue, type DispatchDeps } from '../../../lambdas/webhooks/dispatch.js';
import { MAX_PAYLOAD_BYTES, eventPayload, parseMessage, type WebhookMessage } from '../../../lambdas/webhooks/message.js';
import { TENANT, executionRecord, spyLogger } from '../support/records.js';

const sqsMock = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const LINKS = { apiBaseUrl: 'https://api.example.com', region: 'us-east-1' } as const;
const UPDATED_AT = '2026-01-02T03:04:09.000Z';

let subscriptions: Map<string, WebhookSubscription[]>;
let list: ReturnType<typeof vi.fn<(tenant: string) => Promise<WebhookSubscription[]>>>;
let deps: DispatchDeps;
let plan: ReturnType<typeof vi.fn<(message: PlannedMessage, now: Date) => Promise<void>>>;

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));
  subscriptions = new Map();
  list = vi.fn(async (tenant: string) => subscriptions.get(tenant) ?? []);
  plan = vi.fn(async () => undefined);
  deps = { store: { list, plan }, sqs: new SQSClient({}), queueUrl: QUEUE_URL, links: LINKS, logger: spyLogger() };
});

let sequence = 0;

/** A subscription of `tenant`. */
function subscription(id: string, events: readonly WebhookEventType[], overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id,
    tenant: TENANT,
    url: `https://hooks.example.com/${id}`,
    events,
    status: 'enabled',
    secret: 'whsec_c2VjcmV0',
    createdAt: UPDATED_AT,
    updatedAt: UPDATED_AT,
    ...overrides,
  };
}

/** A change of an execution record as the table's stream delivers it (new and old images). */
function change(before: ExecutionRecord | undefined, after: ExecutionRecord | undefined): DynamoDBRecord {
  const image = (record: ExecutionRecord) => marshall(toItem(record), MARSHALL_OPTIONS) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'];
  const current = (after ?? before)!;
  sequence++;
  return {
    eventID: `event-${sequence}`,
    eventName: before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      Keys: marshall({ pk: `EXEC#${current.tenant}#${current.id}`, sk: 'META' }) as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      ...(before ? { OldImage: image(before) } : {}),
      ...(after ? { NewImage: image(after) } : {}),
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** A change of any other item (a transition row, a subscription…). */
function otherChange(item: Record<string, unknown>): DynamoDBRecord {
  return {
    eventID: 'event-other',
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: { NewImage: marshall(item, MARSHALL_OPTIONS) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'], StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

/** The messages sent to the queue, in order, read back. */
function sentMessages(): WebhookMessage[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody!) as WebhookMessage);
}

/** An execution moving from `from` to `to`. */
function transition(from: Partial<ExecutionRecord>, to: Partial<ExecutionRecord>): { before: ExecutionRecord; after: ExecutionRecord } {
  const before = executionRecord({ transitionCount: 2, ...from });
  return { before, after: { ...before, transitionCount: before.transitionCount + 1, updatedAt: UPDATED_AT, ...to } };
}

describe('dispatchChanges', () => {
  it("records every message's delivery before queueing it, and queues nothing when that fails", async () => {
    subscriptions.set(TENANT, [subscription('wh_1', ['execution.started'])]);
    const { before, after } = transition({ status: 'queued' }, { status: 'running' });

    const order: string[] = [];
    plan.mockImplementationOnce(async () => void order.push('plan'));
    sqsMock.on(SendMessageBatchCommand).callsFake(async () => {
      order.push('queue');
      return { Successful: [], Failed: [] };
    });

    await dispatchChanges(deps, [change(before, after)]);

    expect(plan).toHaveBeenCalledWith(sentMessages()[0], expect.any(Date));
    expect(order).toEqual(['plan', 'queue']);

    sqsMock.resetHistory();
    plan.mockRejectedValueOnce(new Error('table unavailable'));
    await expect(dispatchChanges(deps, [change(before, after)])).rejects.toThrow('table unavailable');
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('queues one message per subscription that wants the event: its webhook-id, target and { type, timestamp, data } payload', async () => {
    subscriptions.set(TENANT, [
      subscription('wh_1', ['execution.started']),
      subscription('wh_2', ['execution.started', 'execution.succeeded']),
      subscription('wh_3', ['execution.succeeded']),
    ]);
    const { before, after } = transition({ status: 'queued' }, { status: 'running', startedAt: UPDATED_AT });

    const count = await dispatchChanges(deps, [change(before, after)]);

    expect(count).toBe(2);
    const messages = sentMessages();
    expect(messages.map((message) => message.target)).toEqual([
      { kind: 'subscription', tenant: TENANT, subscriptionId: 'wh_1' },
      { kind: 'subscription', tenant: TENANT, subscriptionId: 'wh_2' },
    ]);
    for (const message of messages) {
      expect(message).toMatchObject({ messageId: `msg_${after.id}_3`, type: 'execution.started', executionId: after.id });
      expect(message).not.toHaveProperty('url');
      expect(JSON.parse(message.payload)).toEqual({
        type: 'execution.started',
        timestamp: UPDATED_AT,
        data: JSON.parse(JSON.stringify(toExecutionView(after, LINKS))),
      });
    }
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    expect(list).toHaveBeenCalledExactlyOnceWith(TENANT);
  });

  it.each<[string, Partial<ExecutionRecord>, Partial<ExecutionRecord>, WebhookEventType]>([
    ['a start', { status: 'queued' }, { status: 'running' }, 'execution.started'],
    ['a wait', { status: 'running' }, { status: 'awaiting_input' }, 'execution.awaiting_input'],
    ['a resume', { status: 'awaiting_input' }, { status: 'running' }, 'execution.resumed'],
    ['a finish', { status: 'running' }, { status: 'succeeded', output: { ok: true } }, 'execution.succeeded'],
    ['an error', { status: 'running' }, { status: 'failed', error: { name: 'Error', message: 'boom' } }, 'execution.failed'],
    ['a cancel of a queued execution', { status: 'queued' }, { status: 'cancelled' }, 'execution.cancelled'],
  ])('turns %s into %s', async (_what, from, to, type) => {
    subscriptions.set(TENANT, [subscription('wh_all', ['execution.started', 'execution.awaiting_input', 'execution.resumed', 'execution.succeeded', 'execution.failed', 'execution.cancelled'])]);
    const { before, after } = transition(from, to);

    await dispatchChanges(deps, [change(before, after)]);

    expect(sentMessages().map((message) => message.type)).toEqual([type]);
  });

  it('queues nothing, and reads no subscriptions, for changes that are no event', async () => {
    subscriptions.set(TENANT, [subscription('wh_all', ['execution.started', 'execution.succeeded'])]);
    const queued = executionRecord();
    const step = transition({ status: 'running' }, { status: 'running', stepIndex: 1 });

    const count = await dispatchChanges(deps, [
      change(undefined, queued),
      change(step.before, step.after),
      change(queued, undefined),
      otherChange({ pk: `EXEC#${TENANT}#${queued.id}`, sk: 'TR#0000000002', status: 'succeeded' }),
      otherChange({ pk: `WEBHOOKS#${TENANT}`, sk: 'SUB#wh_1', status: 'failing' }),
    ]);

    expect(count).toBe(0);
    expect(list).not.toHaveBeenCalled();
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it("filters subscriptions by task_id: only the named task's executions", async () => {
    subscriptions.set(TENANT, [
      subscription('wh_pipeline', ['execution.succeeded'], { taskId: 'sample-pipeline' }),
      subscription('wh_other', ['execution.succeeded'], { taskId: 'unit-echo' }),
      subscription('wh_any', ['execution.succeeded']),
    ]);
    const { before, after } = transition({ status: 'running' }, { status: 'succeeded' });

    await dispatchChanges(deps, [change(before, after)]);

    expect(sentMessages().map((message) => (message.target.kind === 'subscription' ? message.target.subscriptionId : ''))).toEqual(['wh_pipeline', 'wh_any']);
  });

  it("adds one message to the execution's own webhook_url, with the URL and the execution as target", async () => {
    subscriptions.set(TENANT, [subscription('wh_1', ['execution.failed'])]);
    const { before, after } = transition({ status: 'running', webhookUrl: 'https://hooks.example.com/own', webhookSecret: 'whsec_b3du' }, { status: 'failed', error: { name: 'Error', message: 'x' } });

    await dispatchChanges(deps, [change(before, after)]);

    const messages = sentMessages();
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({
      messageId: `msg_${after.id}_3`,
      type: 'execution.failed',
      url: 'https://hooks.example.com/own',
      secret: 'whsec_b3du',
      target: { kind: 'execution', tenant: TENANT, executionId: after.id },
    });
    expect(JSON.parse(messages[1]!.payload).data.webhook_url).toBe('https://hooks.example.com');
    expect(JSON.parse(messages[1]!.payload).data).not.toHaveProperty('webhook_secret');
  });

  it("sends every event to the execution's own webhook_url, whatever the subscriptions want", async () => {
    const { before, after } = transition({ status: 'queued', webhookUrl: 'https://hooks.example.com/own', webhookSecret: 'whsec_b3du' }, { status: 'running' });

    await dispatchChanges(deps, [change(before, after)]);

    expect(sentMessages()).toEqual([expect.objectContaining({ type: 'execution.started', url: 'https://hooks.example.com/own' })]);
  });

  it("reads each tenant's subscriptions once per batch and keeps tenants apart", async () => {
    subscriptions.set(TENANT, [subscription('wh_default', ['execution.succeeded'])]);
    subscriptions.set('beta', [subscription('wh_beta', ['execution.succeeded'], { tenant: 'beta' })]);
    const first = transition({ status: 'running' }, { status: 'succeeded' });
    const second = transition({ status: 'running' }, { status: 'succeeded' });
    const beta = transition({ status: 'running', tenant: 'beta' }, { status: 'succeeded' });

    await dispatchChanges(deps, [change(first.before, first.after), change(beta.before, beta.after), change(second.before, second.after)]);

    expect(list.mock.calls.map((call) => call[0]).sort()).toEqual(['beta', TENANT]);
    expect(sentMessages().map((message) => [message.target.tenant, message.executionId])).toEqual([
      [TENANT, first.after.id],
      ['beta', beta.after.id],
      [TENANT, second.after.id],
    ]);
  });

  it('truncates data over 200 KB: no input or output, truncated: true, the rest of the view kept', async () => {
    subscriptions.set(TENANT, [subscription('wh_1', ['execution.succeeded'])]);
    const big = 'x'.repeat(150 * 1024);
    const { before, after } = transition({ status: 'running', input: { text: big } }, { status: 'succeeded', output: { text: big } });

    await dispatchChanges(deps, [change(before, after)]);

    const [message] = sentMessages();
    expect(Buffer.byteLength(message!.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(JSON.parse(message!.payload)).toMatchObject({
      type: 'execution.succeeded',
      data: { id: after.id, status: 'succeeded', input: null, output: null, truncated: true, status_url: `${LINKS.apiBaseUrl}/executions/${after.id}` },
    });
  });

  it('sends at most 10 messages per SendMessageBatch, each batch with its own entry ids', async () => {
    subscriptions.set(
      TENANT,
      Array.from({ length: 9 }, (_, index) => subscription(`wh_${index}`, ['execution.succeeded'])),
    );
    const changes = Array.from({ length: 3 }, () => transition({ status: 'running' }, { status: 'succeeded' })).map(({ before, after }) =>
      change(before, after),
    );

    const count = await dispatchChanges(deps, changes);

    expect(count).toBe(27);
    const batches = sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(batches.map((entries) => entries.length)).toEqual([10, 10, 7]);
    for (const entries of batches) expect(new Set(entries.map((entry) => entry.Id)).size).toBe(entries.length);
  });

  it('throws when SQS refuses a message, so the stream hands the batch again', async () => {
    subscriptions.set(TENANT, [subscription('wh_1', ['execution.succeeded'])]);
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });
    const { before, after } = transition({ status: 'running' }, { status: 'succeeded' });

    await expect(dispatchChanges(deps, [change(before, after)])).rejects.toThrow('SQS refused 1 webhook messages: InternalError');
  });

  it('lets a failure to read subscriptions throw', async () => {
    list.mockRejectedValue(new Error('ThrottlingException'));
    const { before, after } = transition({ status: 'running' }, { status: 'succeeded' });

    await expect(dispatchChanges(deps, [change(before, after)])).rejects.toThrow('ThrottlingException');
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
});

describe('enqueue', () => {
  function messageOf(payloadBytes: number, index: number): WebhookMessage {
    return {
      messageId: `msg_${index}`,
      type: 'execution.succeeded',
      target: { kind: 'subscription', tenant: TENANT, subscriptionId: `wh_${index}` },
      payload: 'x'.repeat(payloadBytes),
    };
  }

  it('sends nothing for no messages', async () => {
    await enqueue(new SQSClient({}), QUEUE_URL, []);

    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('keeps each batch under the SQS batch size: large messages go in batches of their own', async () => {
    await enqueue(new SQSClient({}), QUEUE_URL, [0, 1, 2].map((index) => messageOf(150 * 1024, index)));

    const batches = sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(batches.map((entries) => entries.length)).toEqual([1, 1, 1]);
    for (const entries of batches) {
      expect(entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody!), 0)).toBeLessThanOrEqual(256 * 1024);
    }
  });

  it('stops at the first refused batch', async () => {
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: [], Failed: [{ Id: '3', Code: 'KMS.ThrottlingException', SenderFault: false }] });

    await expect(enqueue(new SQSClient({}), QUEUE_URL, Array.from({ length: 15 }, (_, index) => messageOf(10, index)))).rejects.toThrow(
      /KMS\.ThrottlingException/,
    );
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });
});

describe('eventPayload', () => {
  it('is { type, timestamp, data } whole when it fits', () => {
    expect(JSON.parse(eventPayload('webhook.test', UPDATED_AT, { webhook_id: 'wh_1' }))).toEqual({
      type: 'webhook.test',
      timestamp: UPDATED_AT,
      data: { webhook_id: 'wh_1' },
    });
  });

  /** Bytes a body takes in its queue message, as a JSON string. */
  const queued = (body: string) => Buffer.byteLength(JSON.stringify(body));

  it('keeps a payload of exactly the limit (as queued, escaped) whole and truncates one byte more', () => {
    const empty = queued(eventPayload('t', UPDATED_AT, { input: '' }));
    const exact = eventPayload('t', UPDATED_AT, { input: 'x'.repeat(MAX_PAYLOAD_BYTES - empty) });
    const over = eventPayload('t', UPDATED_AT, { input: 'x'.repeat(MAX_PAYLOAD_BYTES - empty + 1) });

    expect(queued(exact)).toBe(MAX_PAYLOAD_BYTES);
    expect(JSON.parse(exact).data).not.toHaveProperty('truncated');
    expect(JSON.parse(over).data).toEqual({ input: null, output: null, truncated: true });
  });
});

describe('eventPayload with characters that grow when escaped', () => {
  it('measures the body as the queue message carries it: quotes count twice over', () => {
    // Under the limit as text, over it once each quote is escaped (twice: in the body, then in the message).
    const quotes = eventPayload('t', UPDATED_AT, { input: '"'.repeat(MAX_PAYLOAD_BYTES / 3) });

    expect(JSON.parse(quotes).data).toEqual({ input: null, output: null, truncated: true });
  });
});

describe('parseMessage', () => {
  it('reads back a message the dispatcher wrote', () => {
    const written: WebhookMessage = {
      messageId: 'msg_1',
      type: 'execution.started',
      target: { kind: 'execution', tenant: TENANT, executionId: 'e1' },
      url: 'https://hooks.example.com/own',
      secret: 'whsec_b3du',
      payload: '{}',
    };

    expect(parseMessage(JSON.stringify(written))).toEqual(written);
  });

  it.each([
    ['not JSON', '{'],
    ['a number', '42'],
    ['a message without an id', JSON.stringify({ type: 't', payload: '{}', target: { kind: 'subscription', tenant: 't', subscriptionId: 's' } })],
    ['a target without a tenant', JSON.stringify({ messageId: 'm', type: 't', payload: '{}', target: { kind: 'subscription', subscriptionId: 's' } })],
    ['a subscription target without its id', JSON.stringify({ messageId: 'm', type: 't', payload: '{}', target: { kind: 'subscription', tenant: 't' } })],
    ['a payload that is not text', JSON.stringify({ messageId: 'm', type: 't', payload: {}, target: { kind: 'subscription', tenant: 't', subscriptionId: 's' } })],
  ])('refuses %s', (_what, body) => {
    expect(parseMessage(body)).toBeUndefined();
  });
});
