import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, type Execution } from './client.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** What a receiver does with the n-th request (1-based) of one webhook-id. */
type Behaviour = (attempt: number) => number | 'hang';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook receiver on 127.0.0.1 that records every request and answers as told. */
class Receiver {
  readonly requests: Received[] = [];
  private readonly server: Server;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly behaviour: Behaviour = () => 204) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const id = String(req.headers['webhook-id']);
        const attempt = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, attempt);
        const answer = this.behaviour(attempt);
        if (answer === 'hang') return; // never answers: the attempt times out
        res.writeHead(answer).end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }

  /** Requests whose body is about execution `id`, in arrival order. */
  about(id: string): Array<Received & { event: { type: string; timestamp: string; data: Execution } }> {
    return this.requests
      .map((request) => ({ ...request, event: JSON.parse(request.body) as { type: string; timestamp: string; data: Execution } }))
      .filter((request) => request.event.data?.id === id);
  }

  /** Waits until `check` holds of the requests (or fails after `timeoutMs`). */
  async until(check: (requests: readonly Received[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.requests)) {
      if (Date.now() > deadline) throw new Error(`receiver: condition not met; got ${this.requests.length} requests`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/** Verifies a request as a receiver would, with the Standard Webhooks library. */
function verify(secret: string, request: Received): unknown {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  });
}

let key = '';
const as = () => ({ authorization: `Bearer ${key}` });
const receivers: Receiver[] = [];

async function receiver(behaviour?: Behaviour): Promise<{ receiver: Receiver; url: string }> {
  const made = new Receiver(behaviour);
  receivers.push(made);
  return { receiver: made, url: await made.start() };
}

interface Subscription {
  id: string;
  secret: string;
  status: string;
  url: string;
}

async function subscribe(url: string, events: string[] = ['execution.started', 'execution.succeeded', 'execution.failed']): Promise<Subscription> {
  const reply = await api<Subscription>('POST', '/webhooks', { url, events }, as());
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

async function startNoop(body: Record<string, unknown> = {}): Promise<Execution & { webhook_secret?: string }> {
  const reply = await api<Execution & { webhook_secret?: string }>('POST', '/tasks/test-noop/executions', { input: { n: 1 }, ...body }, as());
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

interface DeliveryView {
  id: string;
  status: string;
  attempt_count: number;
  attempts: Array<{ status_code: number | null; error: string | null }>;
}

async function deliveries(subscriptionId: string): Promise<DeliveryView[]> {
  const reply = await api<{ items: DeliveryView[] }>('GET', `/webhooks/${subscriptionId}/deliveries`, undefined, as());
  expect(reply.status).toBe(200);
  return reply.body.items;
}

/** Every message on the webhook dead-letter queue now (read, then made visible again for the next look). */
async function deadLetters(): Promise<Array<{ messageId: string; type: string; attempts: number; lastAttempt: Record<string, unknown> }>> {
  const url = inject('webhookDeadLetterUrl');
  const sqs = new SQSClient({ endpoint: new URL(url).origin, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
  return (received.Messages ?? []).map((message) => JSON.parse(message.Body!) as { messageId: string; type: string; attempts: number; lastAttempt: Record<string, unknown> });
}

async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value)}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

beforeAll(async () => {
  // A tenant of its own: only this file's executions reach its subscriptions.
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/keys.ts', 'create', '--tenant', 'webhooks-it', '--name', 'webhooks', '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName')],
    { cwd: ROOT },
  );
  key = /ak_[A-Za-z0-9_-]+/.exec(stdout)![0];
});

afterAll(async () => {
  await Promise.all(receivers.map((made) => made.stop()));
});

describe('webhook subscriptions', () => {
  it('sign every event of an execution so that the standardwebhooks library verifies it', async () => {
    const { receiver: hooks, url } = await receiver();
    const subscription = await subscribe(url);
    expect(subscription.secret).toMatch(/^whsec_/);

    const execution = await startNoop();
    await hooks.until(() => hooks.about(execution.id).some((request) => request.event.type === 'execution.succeeded'));

    // No order is promised across events (each has its own attempts): the transition count orders them.
    const received = hooks.about(execution.id).sort((a, b) => a.event.data.transition_count - b.event.data.transition_count);
    expect(received.map((request) => request.event.type)).toEqual(['execution.started', 'execution.succeeded']);
    for (const request of received) expect(verify(subscription.secret, request)).toMatchObject({ type: request.event.type });
    expect(received[1]!.event.data).toMatchObject({ id: execution.id, status: 'succeeded', output: { n: 1 } });
    // The secret is shown once.
    const shown = await api<Record<string, unknown>>('GET', `/webhooks/${subscription.id}`, undefined, as());
    expect(shown.body).not.toHaveProperty('secret');
  });

  it('retry an event the endpoint answered with 500 with the same webhook-id, then record it delivered', async () => {
    const { receiver: hooks, url } = await receiver((attempt) => (attempt === 1 ? 500 : 200));
    const subscription = await subscribe(url, ['execution.succeeded']);

    const execution = await startNoop();
    await hooks.until(() => hooks.about(execution.id).length >= 2);

    const [first, second] = hooks.about(execution.id);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(verify(subscription.secret, second!)).toBeTruthy();
    const [delivery] = await eventually(() => deliveries(subscription.id), (items) => items[0]?.status === 'delivered');
    expect(delivery!.attempts.map((attempt) => attempt.status_code)).toEqual([500, 200]);
  });

  it('retry an event whose endpoint did not answer in time', async () => {
    const { receiver: hooks, url } = await receiver((attempt) => (attempt === 1 ? 'hang' : 200));
    const subscription = await subscribe(url, ['execution.succeeded']);

    const execution = await startNoop();
    await hooks.until(() => hooks.about(execution.id).length >= 2);

    const [first, second] = hooks.about(execution.id);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    const [delivery] = await eventually(() => deliveries(subscription.id), (items) => items[0]?.status === 'delivered');
    expect(delivery!.attempts[0]).toMatchObject({ status_code: null, error: 'timeout' });
  });

  it('give an event up after its last attempt: the delivery failed, the endpoint failing, the event in the dead-letter queue', async () => {
    const { receiver: hooks, url } = await receiver(() => 503);
    const subscription = await subscribe(url, ['execution.succeeded']);

    const execution = await startNoop();
    const [delivery] = await eventually(() => deliveries(subscription.id), (items) => items[0]?.status === 'failed');

    expect(delivery!.attempt_count).toBe(3);
    expect(hooks.about(execution.id)).toHaveLength(3);
    const dead = await eventually(deadLetters, (messages) => messages.some((message) => message.messageId === delivery!.id));
    expect(dead.find((message) => message.messageId === delivery!.id)).toMatchObject({
      type: 'execution.succeeded',
      attempts: 3,
      lastAttempt: { statusCode: 503 },
    });
    const shown = await api<Subscription>('GET', `/webhooks/${subscription.id}`, undefined, as());
    expect(shown.body.status).toBe('failing');
  });

  it('redeliver a failed event on request, and send a test ping', async () => {
    let healthy = false;
    const { receiver: hooks, url } = await receiver(() => (healthy ? 200 : 500));
    const subscription = await subscribe(url, ['execution.succeeded']);
    const execution = await startNoop();
    const [failed] = await eventually(() => deliveries(subscription.id), (items) => items[0]?.status === 'failed');

    healthy = true;
    const again = await api('POST', `/webhooks/${subscription.id}/deliveries/${failed!.id}/redeliver`, undefined, as());
    expect(again.status).toBe(202);
    const [delivered] = await eventually(() => deliveries(subscription.id), (items) => items[0]?.status === 'delivered');
    expect(delivered!.id).toBe(failed!.id);
    expect(hooks.about(execution.id).at(-1)!.headers['webhook-id']).toBe(failed!.id);
    const shown = await api<Subscription>('GET', `/webhooks/${subscription.id}`, undefined, as());
    expect(shown.body.status).toBe('enabled');

    const ping = await api<{ delivery_id: string }>('POST', `/webhooks/${subscription.id}/test`, undefined, as());
    expect(ping.status).toBe(202);
    await hooks.until((requests) => requests.some((request) => request.headers['webhook-id'] === ping.body.delivery_id));
    const pinged = hooks.requests.find((request) => request.headers['webhook-id'] === ping.body.delivery_id)!;
    expect(verify(subscription.secret, pinged)).toMatchObject({ type: 'webhook.test', data: { webhook_id: subscription.id } });
  });

  it('sign with the old and the new secret for a day after a rotation', async () => {
    const { receiver: hooks, url } = await receiver();
    const subscription = await subscribe(url, ['execution.succeeded']);
    const rotated = await api<Subscription>('POST', `/webhooks/${subscription.id}/rotate-secret`, undefined, as());
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(subscription.secret);

    const execution = await startNoop();
    await hooks.until(() => hooks.about(execution.id).length >= 1);
    const [request] = hooks.about(execution.id);
    expect(verify(subscription.secret, request!)).toBeTruthy();
    expect(verify(rotated.body.secret, request!)).toBeTruthy();
  });

  it('refuse a URL that points to a private or link-local address, before any connection', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'https://10.0.0.8/hook', 'http://[::ffff:a9fe:a9fe]/']) {
      const reply = await api<{ errors: Array<{ path: string }> }>('POST', '/webhooks', { url, events: ['execution.succeeded'] }, as());
      expect(reply.status, url).toBe(400);
      expect(reply.body.errors[0]!.path).toBe('/url');
    }
  });

  it('belong to their tenant: another tenant neither sees nor deletes them', async () => {
    const { url } = await receiver();
    const subscription = await subscribe(url, ['execution.succeeded']);

    expect((await api('GET', `/webhooks/${subscription.id}`)).status).toBe(404);
    expect((await api('DELETE', `/webhooks/${subscription.id}`)).status).toBe(404);
    expect((await api('DELETE', `/webhooks/${subscription.id}`, undefined, as())).status).toBe(204);
    expect((await api('GET', `/webhooks/${subscription.id}`, undefined, as())).status).toBe(404);
  });
});

describe("an execution's own webhook_url", () => {
  it('gets its events signed with the secret the create response showed once', async () => {
    const { receiver: hooks, url } = await receiver();
    const execution = await startNoop({ webhook_url: url });
    expect(execution.webhook_secret).toMatch(/^whsec_/);

    await hooks.until(() => hooks.about(execution.id).some((request) => request.event.type === 'execution.succeeded'));
    for (const request of hooks.about(execution.id)) expect(verify(execution.webhook_secret!, request)).toBeTruthy();
    const read = await api<Record<string, unknown>>('GET', `/executions/${execution.id}`, undefined, as());
    // Only the origin: the path and query of a webhook URL may hold a credential.
    expect(read.body).toMatchObject({ webhook_url: new URL(url).origin });
    expect(read.body).not.toHaveProperty('webhook_secret');
  });
});
