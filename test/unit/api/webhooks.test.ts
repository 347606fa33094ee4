import { lookup } from 'node:dns/promises';
import { SQSClient, SendMessageBatchCommand, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/api/webhooks.js';
import { MAX_SUBSCRIPTIONS } from '../../../lambdas/domain/webhooks.js';
import { WebhookStore, type SubscriptionTarget } from '../../../lambdas/repository/webhook-store.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import type { WebhookMessage } from '../../../lambdas/webhooks/message.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const URL = 'https://hooks.example.com/in';
const UNKNOWN_ID = `wh_${'0'.repeat(32)}`;

/** A subscription as the API shows it. */
interface SubscriptionBody {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly task_id: string | null;
  readonly description: string | null;
  readonly status: string;
  readonly failing_since: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly deliveries_url: string;
  readonly secret?: string;
}

/** A delivery as the API shows it. */
interface DeliveryBody {
  readonly id: string;
  readonly type: string;
  readonly execution_id: string | null;
  readonly status: string;
  readonly attempt_count: number;
  readonly attempts: readonly { at: string; status_code: number | null; error: string | null; duration_ms: number }[];
  readonly next_attempt_at: string | null;
  readonly payload?: unknown;
}

let store: WebhookStore;

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  new FakeTable().install(ddb);
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: '' })),
    Failed: [],
  }));
  store = new WebhookStore(documentClient, repositoryOptions);
});

function call(routeKey: string, options: RequestOptions = {}) {
  return handler(apiEvent(routeKey, options), lambdaContext());
}

async function create(body: unknown, tenant?: string) {
  return call('POST /webhooks', { body, ...(tenant ? { tenant } : {}) });
}

/** Creates a subscription and returns its view (with its secret). */
async function created(body: Record<string, unknown> = {}, tenant?: string): Promise<SubscriptionBody> {
  const response = parse<SubscriptionBody>(await create({ url: URL, events: ['execution.succeeded'], ...body }, tenant));
  expect(response.status).toBe(201);
  return response.body;
}

function withId(id: string, extra: Record<string, string> = {}) {
  return { pathParameters: { id, ...extra } };
}

/** The messages sent to the delivery queue, read back. */
function queued(): WebhookMessage[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((sent) => sent.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody!) as WebhookMessage);
}

/** A delivery that ran its course (`delivered` or `failed`), or is still `retrying`. */
async function delivery(id: string, messageId: string, status: 'delivered' | 'failed' | 'retrying', tenant = 'default'): Promise<void> {
  const target: SubscriptionTarget = { kind: 'subscription', tenant, subscriptionId: id };
  const now = new Date('2026-03-01T00:00:00.000Z');
  await store.beginAttempt(target, { messageId, type: 'execution.succeeded', executionId: 'e1', payload: '{"type":"execution.succeeded","data":{"id":"e1"}}' }, now);
  await store.endAttempt(
    target,
    messageId,
    1,
    { at: now.toISOString(), statusCode: status === 'delivered' ? 200 : 500, durationMs: 9 },
    status === 'retrying' ? { status, nextAttemptAt: '2026-03-01T00:00:05.000Z' } : { status },
  );
}

describe('POST /webhooks', () => {
  it('creates a subscription: 201, Location, the view with its secret shown once', async () => {
    const response = parse<SubscriptionBody>(
      await create({ url: URL, events: ['execution.succeeded', 'execution.failed'], task_id: 'sample-pipeline', description: 'CI hook' }),
    );

    expect(response.status).toBe(201);
    const body = response.body;
    expect(body).toEqual({
      id: expect.stringMatching(/^wh_[0-9a-f]{32}$/),
      url: URL,
      events: ['execution.succeeded', 'execution.failed'],
      task_id: 'sample-pipeline',
      description: 'CI hook',
      status: 'enabled',
      failing_since: null,
      created_at: expect.any(String),
      updated_at: body.created_at,
      deliveries_url: `${API_BASE_URL}/webhooks/${body.id}/deliveries`,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(response.headers.location).toBe(`${API_BASE_URL}/webhooks/${body.id}`);
  });

  it('never shows the secret again: not in GET /webhooks/{id} nor in the list', async () => {
    const { id, secret } = await created();

    const one = parse<SubscriptionBody>(await call('GET /webhooks/{id}', withId(id)));
    const all = parse<{ items: SubscriptionBody[] }>(await call('GET /webhooks'));

    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
    expect(one.raw).not.toContain(secret!);
    expect(all.body.items).toHaveLength(1);
    expect(all.raw).not.toContain(secret!);
    expect(all.body.items[0]).toMatchObject({ id, url: URL, task_id: null, description: null });
  });

  it('stores each event once when it is listed twice', async () => {
    expect((await created({ events: ['execution.failed', 'execution.failed'] })).events).toEqual(['execution.failed']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no url', { events: ['execution.failed'] }, '/url'],
    ['a url that is not a string', { url: 42, events: ['execution.failed'] }, '/url'],
    ['an http url', { url: 'http://hooks.example.com/in', events: ['execution.failed'] }, '/url'],
    ['a private IP url', { url: 'https://10.0.0.1/in', events: ['execution.failed'] }, '/url'],
    ['the metadata service', { url: 'https://169.254.169.254/latest', events: ['execution.failed'] }, '/url'],
    ['a url with credentials', { url: 'https://u:p@hooks.example.com/in', events: ['execution.failed'] }, '/url'],
    ['no events', { url: URL }, '/events'],
    ['an empty list of events', { url: URL, events: [] }, '/events'],
    ['an unknown event', { url: URL, events: ['execution.exploded'] }, '/events'],
    ['the test event', { url: URL, events: ['webhook.test'] }, '/events'],
    ['events that are not a list', { url: URL, events: 'execution.failed' }, '/events'],
    ['an unknown task_id', { url: URL, events: ['execution.failed'], task_id: 'no-such-task' }, '/task_id'],
    ['a task_id that is not a string', { url: URL, events: ['execution.failed'], task_id: 7 }, '/task_id'],
    ['a description of 501 characters', { url: URL, events: ['execution.failed'], description: 'd'.repeat(501) }, '/description'],
    ['a description that is not a string', { url: URL, events: ['execution.failed'], description: ['x'] }, '/description'],
  ])('answers 400 to %s, naming %s', async (_what, body, path) => {
    const problem = expectProblem(await create(body), 400);

    expect(problem.errors?.map((error) => error.path)).toContain(path);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 to an unknown field, such as a secret of the caller', async () => {
    const problem = expectProblem(await create({ url: URL, events: ['execution.failed'], secret: 'whsec_mine' }), 400);

    expect(JSON.stringify(problem.errors)).toContain('secret');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 to a host that resolves to a private address now', async () => {
    vi.mocked(lookup).mockResolvedValueOnce([{ address: '10.1.2.3', family: 4 }] as never);

    const problem = expectProblem(await create({ url: 'https://internal.example.com/in', events: ['execution.failed'] }), 400);

    expect(problem.errors).toEqual([{ path: '/url', message: 'The host internal.example.com resolves to an address that is not public' }]);
  });

  it('accepts a description of 500 characters and a null task_id', async () => {
    const body = await created({ description: 'd'.repeat(500), task_id: null });

    expect(body.description).toHaveLength(500);
    expect(body.task_id).toBeNull();
  });

  it(`answers 409 to the subscription after ${MAX_SUBSCRIPTIONS}, and accepts one again after a delete`, async () => {
    const ids: string[] = [];
    for (let index = 0; index < MAX_SUBSCRIPTIONS; index++) ids.push((await created()).id);

    const refused = await create({ url: URL, events: ['execution.failed'] });

    const problem = expectProblem(refused, 409);
    expect(problem.detail).toContain(`at most ${MAX_SUBSCRIPTIONS} webhooks`);
    expect(refused.headers?.['x-should-retry']).toBe('false');
    expect(parse<{ items: unknown[] }>(await call('GET /webhooks')).body.items).toHaveLength(MAX_SUBSCRIPTIONS);
    // Another tenant has its own limit.
    await created({}, 'beta');

    expect((await call('DELETE /webhooks/{id}', withId(ids[0]!))).statusCode).toBe(204);
    await created();
  });

  it('answers 401 without valid credentials', async () => {
    expectProblem(await call('POST /webhooks', { body: { url: URL, events: ['execution.failed'] }, tenant: null }), 401);
  });
});

describe('tenant isolation', () => {
  it("shows, changes and queues nothing of another tenant's webhook: 404 for every route", async () => {
    const { id } = await created({}, 'acme');
    await delivery(id, 'msg_e1_3', 'failed', 'acme');
    const beta = { tenant: 'beta' };

    expect(parse<{ items: unknown[] }>(await call('GET /webhooks', beta)).body.items).toEqual([]);
    expectProblem(await call('GET /webhooks/{id}', { ...withId(id), ...beta }), 404);
    expectProblem(await call('DELETE /webhooks/{id}', { ...withId(id), ...beta }), 404);
    expectProblem(await call('POST /webhooks/{id}/rotate-secret', { ...withId(id), ...beta }), 404);
    expectProblem(await call('POST /webhooks/{id}/test', { ...withId(id), ...beta }), 404);
    expectProblem(await call('GET /webhooks/{id}/deliveries', { ...withId(id), ...beta }), 404);
    expectProblem(await call('GET /webhooks/{id}/deliveries/{delivery_id}', { ...withId(id, { delivery_id: 'msg_e1_3' }), ...beta }), 404);
    expectProblem(await call('POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', { ...withId(id, { delivery_id: 'msg_e1_3' }), ...beta }), 404);

    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(parse<SubscriptionBody>(await call('GET /webhooks/{id}', { ...withId(id), tenant: 'acme' })).status).toBe(200);
  });
});

describe('GET and DELETE /webhooks/{id}', () => {
  it('deletes with 204, after which the webhook is 404 everywhere', async () => {
    const { id } = await created();

    const deleted = await call('DELETE /webhooks/{id}', withId(id));

    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectProblem(await call('GET /webhooks/{id}', withId(id)), 404);
    expectProblem(await call('DELETE /webhooks/{id}', withId(id)), 404);
    expect(parse<{ items: unknown[] }>(await call('GET /webhooks')).body.items).toEqual([]);
  });

  it.each([UNKNOWN_ID, 'wh_short', 'not-a-webhook', `wh_${'A'.repeat(32)}`])('answers 404 to the id %s', async (id) => {
    expectProblem(await call('GET /webhooks/{id}', withId(id)), 404);
  });
});

describe('POST /webhooks/{id}/rotate-secret', () => {
  it('returns a new secret once; GET shows the status and no secret', async () => {
    const { id, secret } = await created();

    const rotated = parse<SubscriptionBody>(await call('POST /webhooks/{id}/rotate-secret', withId(id)));

    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    const shown = parse<SubscriptionBody>(await call('GET /webhooks/{id}', withId(id)));
    expect(shown.body).toMatchObject({ id, status: 'enabled', failing_since: null });
    expect(shown.body).not.toHaveProperty('secret');
    expect(shown.raw).not.toContain(rotated.body.secret!);
    expect(shown.raw).not.toContain(secret!);
  });

  it('answers 404 for an unknown webhook', async () => {
    expectProblem(await call('POST /webhooks/{id}/rotate-secret', withId(UNKNOWN_ID)), 404);
  });

  it('shows a failing webhook as failing, with since when', async () => {
    const { id } = await created();
    await store.setHealth('default', id, true, new Date('2026-03-01T00:00:00.000Z'));

    expect(parse<SubscriptionBody>(await call('GET /webhooks/{id}', withId(id))).body).toMatchObject({
      status: 'failing',
      failing_since: '2026-03-01T00:00:00.000Z',
    });
  });
});

describe('POST /webhooks/{id}/test', () => {
  it('answers 202 and queues a webhook.test message to the subscription', async () => {
    const { id } = await created();

    const response = parse<{ delivery_id: string; status: string }>(await call('POST /webhooks/{id}/test', withId(id)));

    expect(response.status).toBe(202);
    expect(response.body).toEqual({ delivery_id: expect.stringMatching(/^msg_[0-9a-f-]{36}_test$/), status: 'pending' });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    const [message] = queued();
    expect(message).toEqual({
      messageId: response.body.delivery_id,
      type: 'webhook.test',
      target: { kind: 'subscription', tenant: 'default', subscriptionId: id },
      payload: expect.any(String),
    });
    expect(JSON.parse(message!.payload)).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { webhook_id: id } });
  });

  it('gives every ping its own delivery id', async () => {
    const { id } = await created();

    await call('POST /webhooks/{id}/test', withId(id));
    await call('POST /webhooks/{id}/test', withId(id));

    const ids = queued().map((message) => message.messageId);
    expect(new Set(ids).size).toBe(2);
  });

  it('answers 404 for an unknown webhook, queueing nothing', async () => {
    expectProblem(await call('POST /webhooks/{id}/test', withId(UNKNOWN_ID)), 404);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('answers 500 without internals when the queue refuses the message', async () => {
    const { id } = await created();
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    const response = await call('POST /webhooks/{id}/test', withId(id));

    expectProblem(response, 500);
    expect(response.body).not.toContain('InternalError');
    expect(log).toHaveBeenCalledWith(expect.stringContaining('SQS refused 1 webhook messages'));
    log.mockRestore();
  });
});

describe('GET /webhooks/{id}/deliveries', () => {
  it('lists deliveries newest first, a page at a time with next_cursor', async () => {
    const { id } = await created();
    for (const messageId of ['msg_a_1', 'msg_b_1', 'msg_c_1']) await delivery(id, messageId, 'delivered');

    const first = parse<{ items: DeliveryBody[]; next_cursor: string | null }>(
      await call('GET /webhooks/{id}/deliveries', { ...withId(id), query: { limit: '2' } }),
    );
    const second = parse<{ items: DeliveryBody[]; next_cursor: string | null }>(
      await call('GET /webhooks/{id}/deliveries', { ...withId(id), query: { limit: '2', cursor: first.body.next_cursor! } }),
    );

    expect(first.status).toBe(200);
    expect(first.body.items.map((item) => item.id)).toEqual(['msg_c_1', 'msg_b_1']);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(second.body.items.map((item) => item.id)).toEqual(['msg_a_1']);
    expect(second.body.next_cursor).toBeNull();
    expect(first.body.items[0]).toEqual({
      id: 'msg_c_1',
      type: 'execution.succeeded',
      execution_id: 'e1',
      status: 'delivered',
      attempt_count: 1,
      attempts: [{ at: '2026-03-01T00:00:00.000Z', status_code: 200, error: null, duration_ms: 9 }],
      next_attempt_at: null,
      created_at: '2026-03-01T00:00:00.000Z',
      updated_at: '2026-03-01T00:00:00.000Z',
    });
  });

  it("answers 400 to a cursor of another webhook's deliveries, an unknown parameter or a limit out of range", async () => {
    const one = await created();
    const two = await created();
    for (const messageId of ['msg_a_1', 'msg_b_1']) await delivery(one.id, messageId, 'delivered');
    const page = parse<{ next_cursor: string }>(await call('GET /webhooks/{id}/deliveries', { ...withId(one.id), query: { limit: '1' } }));

    expectProblem(await call('GET /webhooks/{id}/deliveries', { ...withId(two.id), query: { cursor: page.body.next_cursor } }), 400);
    expectProblem(await call('GET /webhooks/{id}/deliveries', { ...withId(one.id), query: { status: 'failed' } }), 400);
    expectProblem(await call('GET /webhooks/{id}/deliveries', { ...withId(one.id), query: { limit: '0' } }), 400);
    expectProblem(await call('GET /webhooks/{id}/deliveries', { ...withId(one.id), query: { limit: '101' } }), 400);
  });

  it('answers 404 for an unknown webhook', async () => {
    expectProblem(await call('GET /webhooks/{id}/deliveries', withId(UNKNOWN_ID)), 404);
  });

  it('shows one delivery with its payload, and 404 for an unknown or malformed delivery id', async () => {
    const { id } = await created();
    await delivery(id, 'msg_a_1', 'retrying');

    const shown = parse<DeliveryBody>(await call('GET /webhooks/{id}/deliveries/{delivery_id}', withId(id, { delivery_id: 'msg_a_1' })));

    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id: 'msg_a_1', status: 'retrying', next_attempt_at: '2026-03-01T00:00:05.000Z', payload: { type: 'execution.succeeded', data: { id: 'e1' } } });
    expectProblem(await call('GET /webhooks/{id}/deliveries/{delivery_id}', withId(id, { delivery_id: 'msg_none' })), 404);
    expectProblem(await call('GET /webhooks/{id}/deliveries/{delivery_id}', withId(id, { delivery_id: 'DLV#msg_a_1' })), 404);
  });
});

describe('POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', () => {
  const redeliver = (id: string, deliveryId: string) =>
    call('POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', withId(id, { delivery_id: deliveryId }));

  it.each(['failed', 'delivered'] as const)('answers 202 for a %s delivery and queues the same message again', async (status) => {
    const { id } = await created();
    await delivery(id, 'msg_e1_3', status);

    const response = parse<DeliveryBody>(await redeliver(id, 'msg_e1_3'));

    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ id: 'msg_e1_3', status: 'pending', attempt_count: 1 });
    expect(queued()).toEqual([
      {
        messageId: 'msg_e1_3',
        type: 'execution.succeeded',
        target: { kind: 'subscription', tenant: 'default', subscriptionId: id },
        executionId: 'e1',
        payload: '{"type":"execution.succeeded","data":{"id":"e1"}}',
        redelivery: true,
      },
    ]);
  });

  it('answers 409 while the delivery is still being attempted, and to a second redelivery before it ran', async () => {
    const { id } = await created();
    await delivery(id, 'msg_e1_3', 'retrying');
    await delivery(id, 'msg_e1_4', 'failed');

    const retrying = await redeliver(id, 'msg_e1_3');
    expect((await redeliver(id, 'msg_e1_4')).statusCode).toBe(202);
    const again = await redeliver(id, 'msg_e1_4');

    expect(expectProblem(retrying, 409).detail).toBe('This delivery is retrying; redeliver it once its attempts have ended.');
    expect(expectProblem(again, 409).detail).toBe('This delivery is pending; redeliver it once its attempts have ended.');
    expect(queued()).toHaveLength(1);
  });

  it('puts the delivery back as it was when the queue refuses the redelivery, so it can be redelivered later', async () => {
    const { id } = await created();
    await delivery(id, 'msg_e1_3', 'failed');
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    const refused = await redeliver(id, 'msg_e1_3');

    expect(refused.statusCode).toBeGreaterThanOrEqual(500);
    expect(await store.findDelivery({ kind: 'subscription', tenant: 'default', subscriptionId: id }, 'msg_e1_3')).toMatchObject({ status: 'failed' });
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    expect((await redeliver(id, 'msg_e1_3')).statusCode).toBe(202);
  });

  it('answers 404 for an unknown delivery, a malformed delivery id or an unknown webhook', async () => {
    const { id } = await created();

    expectProblem(await redeliver(id, 'msg_unknown_1'), 404);
    expectProblem(await redeliver(id, 'MSG_1'), 404);
    expectProblem(await redeliver(UNKNOWN_ID, 'msg_e1_3'), 404);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
});
