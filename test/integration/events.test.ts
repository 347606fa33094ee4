import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Julep from '@julep/sdk';
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { newApiKey } from '../../lambdas/domain/api-keys.js';
import { ApiKeysRepository } from '../../lambdas/repository/api-keys-repository.js';
import { api, apiKey, baseUrl, start, transitions, waitForStatus, type Execution } from './client.js';
import { getStream, parseSse, watchEvents } from './sse.js';

const documents = (count: number) => Array.from({ length: count }, (_, index) => ({ title: `doc-${index}`, words: index % 2 === 0 ? 5000 : 10 }));
const allSeqs = (count: number) => Array.from({ length: count }, (_, index) => index + 1);
const OTHER_KEY = newApiKey();

beforeAll(async () => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  await new ApiKeysRepository(client, inject('tableName')).put(OTHER_KEY.hash, {
    keyId: OTHER_KEY.keyId,
    tenant: 'events-other-tenant',
    name: 'events test',
    createdAt: new Date().toISOString(),
  });
  client.destroy();
});

describe('GET /executions/{id}/events through the local stack', () => {
  it('streams every transition, status changes and end as text/event-stream with a retry hint, then answers 204', async () => {
    const created = await start('test-flow', { documents: documents(3) });

    const seen = await watchEvents(created.id);
    const done = await api<Execution>('GET', `/executions/${created.id}`);
    const first = await getStream(`/executions/${created.id}/events`);
    const after = await getStream(`/executions/${created.id}/events`, String(done.body.transition_count));

    expect(seen.endedBy).toBe('end');
    expect(seen.transitions).toEqual(allSeqs(done.body.transition_count));
    expect(seen.statuses.at(-1)).toBe('succeeded');
    expect(first.contentType).toBe('text/event-stream; charset=utf-8');
    expect(first.retry).toBeGreaterThan(0);
    expect(first.events.at(-1)).toMatchObject({ event: 'end', id: String(done.body.transition_count) });
    expect(JSON.parse(first.events.at(-1)!.data)).toEqual({ execution_id: created.id, status: 'succeeded' });
    expect(after.status).toBe(204);
    expect(done.body.events_url).toBe(`${baseUrl()}/executions/${created.id}/events`);
  });

  it('gives every transition exactly once, in order, to a watcher that reconnects at random points with Last-Event-ID, until end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ keep: fc.nat({ max: 8 }), via: fc.constantFrom('header' as const, 'query' as const), pauseMs: fc.integer({ min: 0, max: 300 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (count, plan) => {
          const created = await start('test-flow', { documents: documents(count) });

          // The plan loses the tail of its first responses (a connection lost mid-body), then keeps all.
          const seen = await watchEvents(created.id, (n) => plan[n] ?? {});

          const rows = await transitions(created.id);
          expect(seen.transitions).toEqual(rows.map((row) => row.seq));
          expect(rows.at(-1)?.to).toBe('succeeded');
          expect(seen.endedBy).toBeDefined();
        },
      ),
      { numRuns: 15 },
    );
  }, 240_000);

  it('shows 50 concurrent watchers of one execution the same ordered events', async () => {
    const created = await start('test-flow', { documents: documents(8) });

    const watchers = await Promise.all(Array.from({ length: 50 }, () => watchEvents(created.id, () => ({}), 60_000)));

    const rows = await transitions(created.id);
    expect(rows.length).toBeGreaterThan(20);
    for (const seen of watchers) {
      expect(seen.transitions).toEqual(rows.map((row) => row.seq));
      expect(seen.endedBy).toBe('end');
      expect(seen.statuses.at(-1)).toBe('succeeded');
    }
  }, 120_000);

  it('answers a watcher with nothing new after the window with a heartbeat comment only', async () => {
    const created = await start('sample-approval', { title: 'Idle', body: 'Waiting.' });
    const waiting = await waitForStatus(created.id, 'awaiting_input');

    const started = Date.now();
    const idle = await getStream(`/executions/${created.id}/events`, String(waiting.transition_count));
    const took = Date.now() - started;

    expect(idle.status).toBe(200);
    expect(idle.events).toEqual([]);
    expect(idle.comments).toContain('keep-alive');
    expect(took).toBeGreaterThan(inject('eventsWindowMs') - 1_000);
    await api('POST', `/executions/${created.id}/cancel`, {});
  });

  it('answers as soon as a transition is written to a waiting execution', async () => {
    const created = await start('sample-approval', { title: 'Resume', body: 'Waiting.' });
    const waiting = await waitForStatus(created.id, 'awaiting_input');

    const watching = getStream(`/executions/${created.id}/events`, String(waiting.transition_count));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await api('POST', `/executions/${created.id}/resume`, { input: { approved: true } });
    const reply = await watching;

    expect(reply.events[0]).toMatchObject({ event: 'transition', id: String(waiting.transition_count + 1) });
    expect(JSON.parse(reply.events[0]!.data)).toMatchObject({ type: 'resume', output: { approved: true } });
    expect(reply.events.some((event) => event.event === 'status')).toBe(true);
  });

  it("answers 404 problem+json for another tenant's execution, and 400 for a bad Last-Event-ID, before any stream", async () => {
    const created = await start('test-noop', { n: 1 });

    const foreign = await getStream(`/executions/${created.id}/events`, undefined, 'header', { authorization: `Bearer ${OTHER_KEY.key}` });
    const bad = await getStream(`/executions/${created.id}/events`, 'x1');
    const negative = await getStream(`/executions/${created.id}/events`, '-1', 'query');
    const huge = await getStream(`/executions/${created.id}/events`, '123456789012');

    expect(foreign.status).toBe(404);
    expect(foreign.contentType).toBe('application/problem+json');
    for (const reply of [bad, negative, huge]) {
      expect(reply.status).toBe(400);
      expect(reply.contentType).toBe('application/problem+json');
    }
    expect(JSON.parse(negative.text)).toMatchObject({ errors: [{ path: 'query.last_event_id' }] });
  });
});

describe("Julep's SDK: executions.status.stream and executions.transitions.stream", () => {
  const client = () => new Julep({ apiKey: apiKey(), baseURL: baseUrl() });
  const data = (text: unknown) => parseSse(String(text)).events.map((event) => JSON.parse(event.data) as Record<string, unknown>);

  it('returns once the execution ends: the status stream ends with the terminal status, the transitions stream with its last row', async () => {
    const created = await start('test-slow', { ms: 800 });

    const [status, history] = await Promise.all([client().executions.status.stream(created.id), client().executions.transitions.stream(created.id)]);

    const rows = await transitions(created.id);
    const statuses = data(status);
    expect(statuses.at(-1)).toMatchObject({ execution_id: created.id, status: 'succeeded', transition_count: rows.length });
    expect(statuses.slice(0, -1).every((event) => event.status !== 'succeeded')).toBe(true);
    expect(data(history).map((event) => (event.transition as { seq: number }).seq)).toEqual(rows.map((row) => row.seq));
    expect(data(history).at(-1)).toMatchObject({ transition: { type: 'finish' }, next_page_token: String(rows.length) });
  });

  it('keeps waiting past the window: the SDK retries the 408 and returns once the execution ends', async () => {
    const created = await start('test-slow', { ms: inject('eventsWindowMs') * 2 });

    const started = Date.now();
    const status = await client().executions.status.stream(created.id);

    expect(Date.now() - started).toBeGreaterThan(inject('eventsWindowMs'));
    expect(data(status).at(-1)).toMatchObject({ status: 'succeeded' });
    expect((await api<Execution>('GET', `/executions/${created.id}`)).body.status).toBe('succeeded');
  });

  it('continues the transitions stream after a next_page_token', async () => {
    const created = await start('test-noop', { n: 7 });
    await waitForStatus(created.id, 'succeeded');

    const rest = await client().executions.transitions.stream(created.id, { next_page_token: '2' });

    expect(data(rest).map((event) => (event.transition as { seq: number }).seq)).toEqual([3, 4]);
  });
});
