import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StreamClock } from '../../../lambdas/api/event-stream.js';
import { eventsHandler } from '../../../lambdas/api/executions-events.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { streamToken, streamTokenKey, verifyStreamToken } from '../../../lambdas/domain/stream-tokens.js';
import type { Logger } from '../../../lambdas/shared/logger.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, dataCalls, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { executionRecord, seed, TENANT, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => logger };
/** `CURSOR_SECRET` of the unit project (vitest.config.ts): the handler's default key derives from it. */
const TOKEN_KEY = streamTokenKey('test-secret');
const NOW_MS = Date.UTC(2026, 0, 2, 3, 4, 5);
const NOW_SECONDS = NOW_MS / 1000;
const STREAM_URL = 'https://abcdefghij.lambda-url.us-east-1.on.aws/';
/** Time stands still: a watch of a waiting execution answers at its window's end without waiting. */
const clock: StreamClock = { now: () => NOW_MS, sleep: async () => undefined };

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
});

function seeded(tenant = TENANT) {
  const record = executionRecord({ tenant, status: 'running', transitionCount: 1 });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

/** POSTs for a token as tenant `default` (unless `options` say otherwise); `streamUrl: null` for a stack without a streaming URL. */
async function mint(id: string, options: RequestOptions = {}, streamUrl: string | null = STREAM_URL) {
  const handler = eventsHandler({ clock, logger, windowMs: 1_000, ...(streamUrl ? { streamUrl } : {}) });
  return handler(apiEvent('POST /executions/{id}/stream-token', { ...options, pathParameters: { id } }), lambdaContext());
}

interface Minted {
  readonly token: string;
  readonly expires_at: string;
  readonly events_url: string;
}

describe('POST /executions/{id}/stream-token', () => {
  it('answers 201 with a token for that execution, its expiry 15 minutes on, and the streaming URL of its events carrying it', async () => {
    const record = seeded();

    const response = await mint(record.id);

    const { status, headers, body } = parse<Minted>(response);
    expect(status).toBe(201);
    expect(headers['cache-control']).toBe('no-store');
    expect(Object.keys(body).sort()).toEqual(['events_url', 'expires_at', 'token']);
    expect(body.expires_at).toBe(new Date(NOW_MS + 900_000).toISOString());
    expect(body.events_url).toBe(`https://abcdefghij.lambda-url.us-east-1.on.aws/executions/${record.id}/events?token=${body.token}`);
    expect(verifyStreamToken(TOKEN_KEY, body.token, record.id, NOW_SECONDS)).toEqual({
      valid: true,
      claims: { tenant: TENANT, executionId: record.id, expiresAt: NOW_SECONDS + 900 },
    });
    expect(verifyStreamToken(TOKEN_KEY, body.token, record.id, NOW_SECONDS + 900)).toMatchObject({ valid: false, reason: 'expired' });
  });

  it.each([60, 61, 3600])('takes {"ttl_seconds": %i}', async (ttl) => {
    const record = seeded();

    const { status, body } = parse<Minted>(await mint(record.id, { body: { ttl_seconds: ttl } }));

    expect(status).toBe(201);
    expect(body.expires_at).toBe(new Date(NOW_MS + ttl * 1000).toISOString());
  });

  it.each([
    ['too short', { ttl_seconds: 59 }, '/ttl_seconds'],
    ['too long', { ttl_seconds: 3601 }, '/ttl_seconds'],
    ['zero', { ttl_seconds: 0 }, '/ttl_seconds'],
    ['negative', { ttl_seconds: -900 }, '/ttl_seconds'],
    ['fractional', { ttl_seconds: 90.5 }, '/ttl_seconds'],
    ['a string', { ttl_seconds: '900' }, '/ttl_seconds'],
    ['null', { ttl_seconds: null }, '/ttl_seconds'],
    ['huge', { ttl_seconds: 1e308 }, '/ttl_seconds'],
    ['with an unknown field', { ttl_seconds: 900, scope: 'write' }, ''],
    ['an array', [900], ''],
    ['a number', 900, ''],
  ])('answers 400 problem+json to a body %s, reading nothing', async (_what, body, path) => {
    const record = seeded();
    ddb.resetHistory();

    const problem = expectProblem(await mint(record.id, { body }), 400);

    expect(problem.errors).toEqual([{ path, message: expect.any(String) }]);
    expect(dataCalls(ddb)).toHaveLength(0);
  });

  it('answers 400 to a body that is not JSON, and 415 to one not declared JSON', async () => {
    const record = seeded();

    expectProblem(await mint(record.id, { body: '{"ttl_seconds":', headers: { 'content-type': 'application/json' } }), 400);
    expectProblem(await mint(record.id, { body: 'ttl=60', headers: { 'content-type': 'text/plain' } }), 415);
  });

  it("answers 404 for another tenant's execution, exactly as for an unknown one, and mints nothing", async () => {
    const theirs = seeded('someone-else');

    const foreign = expectProblem(await mint(theirs.id), 404);
    const unknown = expectProblem(await mint(newExecutionId()), 404);

    expect(foreign.title).toBe(unknown.title);
    expect(JSON.stringify(foreign)).not.toContain('token');
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.pk)).toContain(`EXEC#${TENANT}#${theirs.id}`);
  });

  it('answers 400 for a malformed id and 401 without valid credentials', async () => {
    expectProblem(await mint('nope'), 400);
    expectProblem(await mint(seeded().id, { tenant: null }), 401);
  });

  it('never mints a token from a token: a request the authorizer let in by a stream token is a 401', async () => {
    const record = seeded();

    const problem = expectProblem(await mint(record.id, { via: 'token' }), 401);

    expect(problem.detail).toMatch(/GET \/executions\/\{id\}\/events only/);
  });

  it("points events_url at the API's own events route when the stack has no streaming URL", async () => {
    const record = seeded();

    const { body } = parse<Minted>(await mint(record.id, {}, null));

    expect(body.events_url).toBe(`${API_BASE_URL}/executions/${record.id}/events?token=${body.token}`);
  });
});

describe('GET /executions/{id}/events with a stream token (the authorizer read it)', () => {
  const events = (id: string, options: RequestOptions) =>
    eventsHandler({ clock, logger, windowMs: 1_000 })(apiEvent('GET /executions/{id}/events', { ...options, pathParameters: { id } }), lambdaContext());
  const tokenQuery = (id: string, tenant = TENANT) => ({ token: streamToken(TOKEN_KEY, { tenant, executionId: id, expiresAt: NOW_SECONDS + 900 }) });

  it('serves the events, taking `token` as a parameter of the route besides last_event_id', async () => {
    const record = seeded();

    const response = await events(record.id, { via: 'token', query: { ...tokenQuery(record.id), last_event_id: '0' } });

    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('event: transition');
  });

  it('answers 401, not 404, when the tenant the token names has no such execution', async () => {
    const record = seeded('someone-else');

    const problem = expectProblem(await events(record.id, { via: 'token', query: tokenQuery(record.id) }), 401);

    expect(problem.detail).toMatch(/not valid for this execution/);
  });

  it('keeps the 404 of another tenant’s execution for an API key', async () => {
    const record = seeded('someone-else');

    expectProblem(await events(record.id, { query: tokenQuery(record.id) }), 404);
  });

  it('answers 401 problem+json with the reason when the authorizer refused the token', async () => {
    const record = seeded();

    const problem = expectProblem(await events(record.id, { tenant: null, via: 'token', query: tokenQuery(record.id) }), 401);

    expect(problem.detail).toMatch(/stream token/);
  });

  it.each(['GET /executions/{id}/status.stream', 'GET /executions/{id}/transitions.stream'])(
    'takes no token on %s: a token context is a 401, a token parameter an unknown one',
    async (routeKey) => {
      const record = seeded();
      const handler = eventsHandler({ clock, logger, windowMs: 1_000 });
      const request = (options: RequestOptions) =>
        handler(apiEvent(routeKey, { ...options, pathParameters: { id: record.id }, headers: { accept: 'text/event-stream' } }), lambdaContext());

      expectProblem(await request({ via: 'token' }), 401);
      expect(expectProblem(await request({ query: tokenQuery(record.id) }), 400).errors).toEqual([{ path: 'query.token', message: 'is not a parameter of this route' }]);
    },
  );
});
