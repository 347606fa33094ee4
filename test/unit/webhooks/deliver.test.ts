import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_SECONDS, newWebhookSecret } from '../../../lambdas/domain/webhooks.js';
import { WebhookStore, type DeliveryTarget, type WebhookSubscription } from '../../../lambdas/repository/webhook-store.js';
import type { Resolver } from '../../../lambdas/webhooks/address.js';
import { deliverBatch, type DeliverDeps } from '../../../lambdas/webhooks/deliver.js';
import type { WebhookMessage } from '../../../lambdas/webhooks/message.js';
import type { SendRequest, SendResult } from '../../../lambdas/webhooks/send.js';
import { FakeTable, type Item } from '../support/fake-dynamodb.js';
import { spyLogger, type SpyLogger } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

const TABLE = 'webhooks-table';
const TENANT = 'acme';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const DEAD_LETTER_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters';
const EXECUTION_SECRET = newWebhookSecret();
const NOW = new Date('2026-03-01T00:00:00.000Z');
const EXECUTION_ID = '019c8a3e-0000-7000-8000-000000000001';
const SUBSCRIPTION_ID = `wh_${'a'.repeat(32)}`;
const SUBSCRIPTION_TARGET = { kind: 'subscription', tenant: TENANT, subscriptionId: SUBSCRIPTION_ID } as const;
const PAYLOAD = JSON.stringify({ type: 'execution.succeeded', timestamp: NOW.toISOString(), data: { id: EXECUTION_ID, status: 'succeeded' } });

let table: FakeTable;
let store: WebhookStore;
let logger: SpyLogger;
let send: ReturnType<typeof vi.fn<(request: SendRequest) => Promise<SendResult>>>;
let resolver: ReturnType<typeof vi.fn<Resolver>>;
let deps: DeliverDeps;

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  table = new FakeTable().install(ddb);
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
  store = new WebhookStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: TABLE, cursorSecret: 'test-secret' });
  logger = spyLogger();
  send = vi.fn<(request: SendRequest) => Promise<SendResult>>(async () => ({ statusCode: 200, durationMs: 12 }));
  resolver = vi.fn<Resolver>(async (hostname) => {
    if (hostname === 'hooks.example.com') return ['93.184.216.34'];
    if (hostname === 'metadata.example.com') return ['169.254.169.254'];
    throw new Error(`ENOTFOUND ${hostname}`);
  });
  deps = {
    store,
    sqs: new SQSClient({}),
    queueUrl: QUEUE_URL,
    deadLetterUrl: DEAD_LETTER_URL,
    send,
    resolver,
    policy: { allowLoopback: false },
    retrySeconds: DEFAULT_RETRY_SECONDS,
    timeoutMs: 10_000,
    logger,
    now: () => NOW,
    random: () => 0.5,
  };
});

/** Stores a subscription through the store (counted, as the API does). */
async function subscribe(overrides: Partial<WebhookSubscription> = {}): Promise<WebhookSubscription> {
  const subscription: WebhookSubscription = {
    id: SUBSCRIPTION_ID,
    tenant: TENANT,
    url: 'https://hooks.example.com/in',
    events: ['execution.succeeded'],
    status: 'enabled',
    secret: newWebhookSecret(),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
  await store.create(subscription);
  return subscription;
}

/** A message to the subscription, with `overrides`. */
function message(overrides: Partial<WebhookMessage> = {}): WebhookMessage {
  return {
    messageId: `msg_${EXECUTION_ID}_4`,
    type: 'execution.succeeded',
    target: SUBSCRIPTION_TARGET,
    executionId: EXECUTION_ID,
    payload: PAYLOAD,
    ...overrides,
  };
}

/** An SQS record of the delivery queue carrying `body`. */
function sqsRecord(body: string | WebhookMessage, id = 'sqs-1'): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `receipt-${id}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(NOW.getTime()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(NOW.getTime()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:deliveries',
    awsRegion: 'us-east-1',
  };
}

function deliveryPk(target: DeliveryTarget): string {
  return target.kind === 'subscription' ? `WEBHOOK#${target.tenant}#${target.subscriptionId}` : `WEBHOOK#${target.tenant}#execution:${target.executionId}`;
}

/** The stored delivery item of a message. */
function deliveryItem(target: DeliveryTarget = SUBSCRIPTION_TARGET, messageId = message().messageId): Item | undefined {
  return table.item(deliveryPk(target), `DLV#${messageId}`);
}

function subscriptionItem(): Item | undefined {
  return table.item(`WEBHOOKS#${TENANT}`, `SUB#${SUBSCRIPTION_ID}`);
}

describe('deliverBatch: a 2xx answer', () => {
  it('records the delivery as delivered with its attempt, and does not return the message', async () => {
    await subscribe();

    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(response.batchItemFailures).toEqual([]);
    expect(send).toHaveBeenCalledOnce();
    expect(deliveryItem()).toMatchObject({
      message_id: message().messageId,
      type: 'execution.succeeded',
      execution_id: EXECUTION_ID,
      status: 'delivered',
      attempt_count: 1,
      attempts: [{ at: NOW.toISOString(), status_code: 200, duration_ms: 12 }],
      payload: PAYLOAD,
    });
    expect(deliveryItem()).not.toHaveProperty('next_attempt_at');
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('POSTs the payload to the resolved address of the subscription URL, with the timeout and the Standard Webhooks headers', async () => {
    await subscribe({ url: 'https://hooks.example.com:8443/in?k=1' });

    await deliverBatch(deps, [sqsRecord(message())]);

    const request = send.mock.calls[0]![0];
    expect(request.url.href).toBe('https://hooks.example.com:8443/in?k=1');
    expect(request.address).toBe('93.184.216.34');
    expect(request.timeoutMs).toBe(10_000);
    expect(request.body).toBe(PAYLOAD);
    expect(request.headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'async-executions-webhooks/1',
      'webhook-id': message().messageId,
      'webhook-timestamp': String(NOW.getTime() / 1000),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
    });
  });

  it('signs so that the standardwebhooks package verifies the request with the subscription secret', async () => {
    const subscription = await subscribe();
    const { now: _now, ...realTime } = deps;

    await deliverBatch(realTime, [sqsRecord(message())]);

    const request = send.mock.calls[0]![0];
    expect(new Webhook(subscription.secret).verify(request.body, request.headers)).toEqual(JSON.parse(PAYLOAD));
    expect(() => new Webhook(newWebhookSecret()).verify(request.body, request.headers)).toThrow(/No matching signature/);
  });

  it('signs with both secrets while a rotation overlaps, and with the new one only after', async () => {
    const subscription = await subscribe();
    const rotated = await store.rotateSecret(TENANT, SUBSCRIPTION_ID, newWebhookSecret(), new Date());
    const { now: _now, ...realTime } = deps;

    await deliverBatch(realTime, [sqsRecord(message({ messageId: 'msg_during' }))]);
    await deliverBatch({ ...realTime, now: () => new Date(Date.now() + 25 * 3600 * 1000) }, [sqsRecord(message({ messageId: 'msg_after' }))]);

    const [during, after] = send.mock.calls.map((call) => call[0]);
    expect(new Webhook(rotated.secret).verify(during!.body, during!.headers)).toBeDefined();
    expect(new Webhook(subscription.secret).verify(during!.body, during!.headers)).toBeDefined();
    expect(after!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  });

  it('sets a failing subscription enabled again', async () => {
    await subscribe();
    await store.setHealth(TENANT, SUBSCRIPTION_ID, true, new Date('2026-02-01T00:00:00.000Z'));
    expect(subscriptionItem()).toMatchObject({ status: 'failing', failing_since: '2026-02-01T00:00:00.000Z' });

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(subscriptionItem()).toMatchObject({ status: 'enabled', updated_at: NOW.toISOString() });
    expect(subscriptionItem()).not.toHaveProperty('failing_since');
    expect(await store.get(TENANT, SUBSCRIPTION_ID)).toMatchObject({ status: 'enabled' });
  });

  it('leaves an enabled subscription as it was', async () => {
    await subscribe();

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(subscriptionItem()).toMatchObject({ status: 'enabled', updated_at: '2026-01-01T00:00:00.000Z' });
  });
});

describe('deliverBatch: a failed attempt with attempts left', () => {
  it('schedules the next attempt on the message visibility and returns the message', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 503, durationMs: 40 });

    const response = await deliverBatch(deps, [sqsRecord(message(), 'sqs-7')]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-7' }]);
    expect(sqsMock).toHaveReceivedCommandExactlyOnceWith(ChangeMessageVisibilityCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'receipt-sqs-7',
      VisibilityTimeout: 5,
    });
    expect(deliveryItem()).toMatchObject({
      status: 'retrying',
      attempt_count: 1,
      next_attempt_at: new Date(NOW.getTime() + 5000).toISOString(),
      attempts: [{ at: NOW.toISOString(), status_code: 503, duration_ms: 40 }],
    });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('waits the jittered delay of the schedule', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 500, durationMs: 1 });

    await deliverBatch({ ...deps, random: () => 0 }, [sqsRecord(message())]);
    await deliverBatch({ ...deps, random: () => 1 }, [sqsRecord(message())]);

    expect(sqsMock).toHaveReceivedNthCommandWith(ChangeMessageVisibilityCommand, 1, { VisibilityTimeout: Math.round(5 * 0.9) });
    expect(sqsMock).toHaveReceivedNthCommandWith(ChangeMessageVisibilityCommand, 2, { VisibilityTimeout: Math.round(300 * 1.1) });
  });

  it('records a connection failure by its error', async () => {
    await subscribe();
    send.mockResolvedValue({ error: 'timeout', durationMs: 10_000 });

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(deliveryItem()).toMatchObject({ status: 'retrying', attempts: [{ error: 'timeout', duration_ms: 10_000 }] });
    expect((deliveryItem()!.attempts as Item[])[0]).not.toHaveProperty('status_code');
  });

  it('counts a redirect as a failed attempt', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 302, durationMs: 3 });

    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(response.batchItemFailures).toHaveLength(1);
    expect(deliveryItem()).toMatchObject({ status: 'retrying' });
  });

  it('sends the same webhook-id and body on every attempt, with a fresh timestamp', async () => {
    await subscribe();
    send.mockResolvedValueOnce({ statusCode: 500, durationMs: 1 }).mockResolvedValueOnce({ error: 'ECONNRESET', durationMs: 1 });
    const times = [NOW, new Date(NOW.getTime() + 5000), new Date(NOW.getTime() + 310_000)];

    for (const time of times) await deliverBatch({ ...deps, now: () => time }, [sqsRecord(message())]);

    const requests = send.mock.calls.map((call) => call[0]);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((request) => request.headers['webhook-id']))).toEqual(new Set([message().messageId]));
    expect(new Set(requests.map((request) => request.body))).toEqual(new Set([PAYLOAD]));
    expect(requests.map((request) => request.headers['webhook-timestamp'])).toEqual(times.map((time) => String(time.getTime() / 1000)));
    expect(deliveryItem()).toMatchObject({ status: 'delivered', attempt_count: 3 });
    expect(deliveryItem()!.attempts).toHaveLength(3);
  });
});

describe('deliverBatch: the last attempt', () => {
  it('after the whole schedule moves the message to the dead-letter queue, marks the delivery failed and the subscription failing', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 500, durationMs: 2 });

    // Each copy comes back when its visibility ends: the clock moves on by the wait it was given.
    let clock = NOW;
    const responses = [];
    for (let attempt = 1; attempt <= DEFAULT_RETRY_SECONDS.length + 1; attempt++) {
      responses.push(await deliverBatch({ ...deps, now: () => clock }, [sqsRecord(message(), 'sqs-9')]));
      const wait = sqsMock.commandCalls(ChangeMessageVisibilityCommand).at(-1)?.args[0].input.VisibilityTimeout ?? 0;
      if (attempt <= DEFAULT_RETRY_SECONDS.length) clock = new Date(clock.getTime() + wait * 1000);
    }

    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input.VisibilityTimeout);
    expect(visibility).toEqual([...DEFAULT_RETRY_SECONDS]);
    expect(responses.map((response) => response.batchItemFailures.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    const deadLetter = sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(deadLetter.QueueUrl).toBe(DEAD_LETTER_URL);
    expect(JSON.parse(deadLetter.MessageBody!)).toEqual({
      ...message(),
      attempts: 8,
      lastAttempt: { at: clock.toISOString(), statusCode: 500, durationMs: 2 },
    });
    expect(deliveryItem()).toMatchObject({ status: 'failed', attempt_count: 8 });
    expect(deliveryItem()!.attempts).toHaveLength(8);
    expect(deliveryItem()).not.toHaveProperty('next_attempt_at');
    expect(subscriptionItem()).toMatchObject({ status: 'failing', failing_since: clock.toISOString() });
  });

  it('with a one-wait schedule gives up on the second attempt without touching the visibility', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 500, durationMs: 2 });
    const short = { ...deps, retrySeconds: [5] };

    await deliverBatch(short, [sqsRecord(message())]);
    sqsMock.resetHistory();
    const response = await deliverBatch(short, [sqsRecord(message())]);

    expect(response.batchItemFailures).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: DEAD_LETTER_URL });
  });

  it('keeps the first failing_since when another event fails later', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 500, durationMs: 2 });
    const noRetries = { ...deps, retrySeconds: [] };

    await deliverBatch(noRetries, [sqsRecord(message({ messageId: 'msg_a' }))]);
    await deliverBatch({ ...noRetries, now: () => new Date(NOW.getTime() + 60_000) }, [sqsRecord(message({ messageId: 'msg_b' }))]);

    expect(subscriptionItem()).toMatchObject({ status: 'failing', failing_since: NOW.toISOString() });
  });
});

describe('deliverBatch: messages with nothing to do', () => {
  it('settles the planned delivery of a deleted subscription, so the redrive stops queueing it', async () => {
    await store.plan({ ...message(), target: SUBSCRIPTION_TARGET }, NOW);

    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(response.batchItemFailures).toEqual([]);
    expect(send).not.toHaveBeenCalled();
    expect(deliveryItem()).toMatchObject({ status: 'failed' });
    expect(deliveryItem()).not.toHaveProperty('due_key');
  });

  it('drops a second copy of a message while the first is being attempted, sending once', async () => {
    await subscribe();
    let answer!: (result: SendResult) => void;
    send.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));

    const first = deliverBatch(deps, [sqsRecord(message(), 'sqs-a')]);
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    const second = await deliverBatch(deps, [sqsRecord(message(), 'sqs-b')]);
    answer({ statusCode: 200, durationMs: 5 });

    expect(second.batchItemFailures).toEqual([]);
    expect((await first).batchItemFailures).toEqual([]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(deliveryItem()).toMatchObject({ status: 'delivered', attempt_count: 1 });
  });

  it('records nothing of an attempt another copy superseded (its function was thought dead)', async () => {
    await subscribe();
    let answer!: (result: SendResult) => void;
    send.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const slow = deliverBatch(deps, [sqsRecord(message(), 'sqs-a')]);
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    const later = new Date(NOW.getTime() + 3600_000);
    await deliverBatch({ ...deps, now: () => later }, [sqsRecord(message(), 'sqs-b')]);

    answer({ statusCode: 500, durationMs: 5 });

    expect((await slow).batchItemFailures).toEqual([]);
    expect(deliveryItem()).toMatchObject({ status: 'delivered', attempt_count: 2 });
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(logger.warn).toHaveBeenCalledWith('attempt superseded by another copy; its outcome is not recorded', expect.objectContaining({ attempt: 1 }));
  });

  it('makes one attempt of a redelivery: its failure is recorded, with no retry, dead letter or failing endpoint', async () => {
    await subscribe();
    send.mockResolvedValue({ statusCode: 500, durationMs: 2 });

    const response = await deliverBatch(deps, [sqsRecord(message({ redelivery: true }))]);

    expect(response.batchItemFailures).toEqual([]);
    expect(deliveryItem()).toMatchObject({ status: 'failed', attempt_count: 1 });
    expect(sqsMock.calls()).toHaveLength(0);
    expect(subscriptionItem()).toMatchObject({ status: 'enabled' });
  });

  it('drops a message of a deleted subscription without sending or recording anything', async () => {
    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(response.batchItemFailures).toEqual([]);
    expect(send).not.toHaveBeenCalled();
    expect(resolver).not.toHaveBeenCalled();
    expect(deliveryItem()).toBeUndefined();
    expect(subscriptionItem()).toBeUndefined();
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('drops a duplicate of a delivered message without sending it again', async () => {
    await subscribe();
    await deliverBatch(deps, [sqsRecord(message(), 'sqs-1')]);

    const response = await deliverBatch(deps, [sqsRecord(message(), 'sqs-2')]);

    expect(response.batchItemFailures).toEqual([]);
    expect(send).toHaveBeenCalledOnce();
    expect(deliveryItem()).toMatchObject({ status: 'delivered', attempt_count: 1 });
  });

  it('drops a message whose delivery used the most attempts allowed', async () => {
    await subscribe();
    table.put({ pk: deliveryPk(SUBSCRIPTION_TARGET), sk: `DLV#${message().messageId}`, status: 'failed', attempt_count: 50, payload: PAYLOAD });

    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(response.batchItemFailures).toEqual([]);
    expect(send).not.toHaveBeenCalled();
  });

  it.each([
    ['not JSON', 'not json'],
    ['JSON of another shape', JSON.stringify({ hello: 'world' })],
    ['a target of an unknown kind', JSON.stringify({ ...message(), target: { kind: 'queue', tenant: TENANT } })],
    ['an execution target without a url', JSON.stringify({ ...message(), target: { kind: 'execution', tenant: TENANT, executionId: EXECUTION_ID } })],
    ['an execution target without a secret', JSON.stringify({ ...message(), url: 'https://hooks.example.com/own', target: { kind: 'execution', tenant: TENANT, executionId: EXECUTION_ID } })],
    ['a url that is not a string', JSON.stringify({ ...message(), url: 42 })],
    ['null', 'null'],
  ])('moves a body that is %s to the dead-letter queue as it came', async (_what, body) => {
    const response = await deliverBatch(deps, [sqsRecord(body, 'sqs-bad')]);

    expect(response.batchItemFailures).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandExactlyOnceWith(SendMessageCommand, { QueueUrl: DEAD_LETTER_URL, MessageBody: body });
    expect(send).not.toHaveBeenCalled();
    expect(logger.error).toHaveBeenCalled();
  });
});

describe('deliverBatch: addresses', () => {
  it('records an SSRF refusal as a failed attempt without calling send', async () => {
    await subscribe({ url: 'https://metadata.example.com/in' });

    const response = await deliverBatch(deps, [sqsRecord(message())]);

    expect(resolver).toHaveBeenCalledExactlyOnceWith('metadata.example.com');
    expect(send).not.toHaveBeenCalled();
    expect(response.batchItemFailures).toHaveLength(1);
    expect(deliveryItem()).toMatchObject({
      status: 'retrying',
      attempts: [{ error: 'The host metadata.example.com resolves to an address that is not public.', duration_ms: 0 }],
    });
  });

  it('records a URL whose text is refused (a private IP literal) without resolving or sending', async () => {
    await subscribe({ url: 'https://10.0.0.5/in' });

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(resolver).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    expect(deliveryItem()).toMatchObject({ attempts: [{ error: 'The URL must not point to a private, loopback or link-local address.' }] });
  });

  it('records a host that does not resolve as a failed attempt', async () => {
    await subscribe({ url: 'https://gone.example.com/in' });

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(send).not.toHaveBeenCalled();
    expect(deliveryItem()).toMatchObject({ status: 'retrying', attempts: [{ error: 'The host gone.example.com does not resolve.' }] });
  });

  it('reads the subscription URL at each attempt: a changed address is checked again', async () => {
    await subscribe();
    send.mockResolvedValueOnce({ statusCode: 500, durationMs: 1 });
    await deliverBatch(deps, [sqsRecord(message())]);
    resolver.mockResolvedValueOnce(['10.0.0.1']);

    await deliverBatch(deps, [sqsRecord(message())]);

    expect(send).toHaveBeenCalledOnce();
    expect(deliveryItem()).toMatchObject({ status: 'retrying', attempt_count: 2 });
  });
});

describe("deliverBatch: an execution's own webhook_url", () => {
  const target = { kind: 'execution', tenant: TENANT, executionId: EXECUTION_ID } as const;
  const own = message({ target, url: 'https://hooks.example.com/own', secret: EXECUTION_SECRET });

  it("sends to the message's URL signed with the execution's secret, recording under the execution", async () => {
    const { now: _now, ...realTime } = deps;

    const response = await deliverBatch(realTime, [sqsRecord(own)]);

    expect(response.batchItemFailures).toEqual([]);
    const request = send.mock.calls[0]![0];
    expect(request.url.href).toBe('https://hooks.example.com/own');
    expect(new Webhook(EXECUTION_SECRET).verify(request.body, request.headers)).toEqual(JSON.parse(PAYLOAD));
    expect(deliveryItem(target)).toMatchObject({ status: 'delivered', attempt_count: 1 });
    expect(deliveryItem()).toBeUndefined();
  });

  it('marks no subscription failing when its last attempt fails', async () => {
    send.mockResolvedValue({ statusCode: 500, durationMs: 1 });

    await deliverBatch({ ...deps, retrySeconds: [] }, [sqsRecord(own)]);

    expect(deliveryItem(target)).toMatchObject({ status: 'failed' });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: DEAD_LETTER_URL });
    expect(table.partition(`WEBHOOKS#${TENANT}`)).toEqual([]);
  });
});

describe('deliverBatch: a batch', () => {
  it('returns only the messages that must come back; one bad endpoint does not hold up the others', async () => {
    await subscribe();
    await store.create({ ...(await store.get(TENANT, SUBSCRIPTION_ID)), id: `wh_${'b'.repeat(32)}`, url: 'https://hooks.example.com/down' });
    send.mockImplementation(async (request) => (request.url.pathname === '/down' ? { statusCode: 500, durationMs: 1 } : { statusCode: 200, durationMs: 1 }));
    const other = { kind: 'subscription', tenant: TENANT, subscriptionId: `wh_${'b'.repeat(32)}` } as const;

    const response = await deliverBatch(deps, [sqsRecord(message(), 'sqs-ok'), sqsRecord(message({ target: other }), 'sqs-down'), sqsRecord('junk', 'sqs-junk')]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-down' }]);
    expect(deliveryItem()).toMatchObject({ status: 'delivered' });
    expect(deliveryItem(other)).toMatchObject({ status: 'retrying' });
  });

  it('returns a message this function failed on (a table error), logs it, and still delivers the others', async () => {
    await subscribe();
    const other = `wh_${'c'.repeat(32)}`;
    await store.create({ ...(await store.get(TENANT, SUBSCRIPTION_ID)), id: other });
    ddb.on(UpdateCommand, { Key: { pk: `WEBHOOK#${TENANT}#${other}` } }).rejects(new Error('InternalFailure'));

    const response = await deliverBatch(deps, [
      sqsRecord(message(), 'sqs-ok'),
      sqsRecord(message({ target: { kind: 'subscription', tenant: TENANT, subscriptionId: other } }), 'sqs-fault'),
    ]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-fault' }]);
    expect(deliveryItem()).toMatchObject({ status: 'delivered' });
    expect(logger.error).toHaveBeenCalledWith('delivery failed in this function', expect.objectContaining({ sqs_message_id: 'sqs-fault' }));
  });
});
