import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/authorizer.js';
import { hashApiKey, keyIdOf, newApiKey } from '../../../lambdas/domain/api-keys.js';
import { streamToken, streamTokenKey } from '../../../lambdas/domain/stream-tokens.js';
import { FakeTable } from '../support/fake-dynamodb.js';

const ddb = mockClient(DynamoDBDocumentClient);
/** `TABLE_NAME` of the unit project (vitest.config.ts). */
const TABLE = 'executions-test';

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
});

/** Stores a key of `tenant` as the keys CLI does (the hash only). */
function storeKey(tenant: string, extra: Record<string, unknown> = {}): string {
  const minted = newApiKey();
  table.put({
    pk: `APIKEY#${minted.hash}`,
    sk: 'APIKEY',
    id: minted.keyId,
    tenant,
    name: 'test',
    created_at: '2026-01-02T03:04:05.000Z',
    tenant_key: 'APIKEYS',
    ...extra,
  });
  return minted.key;
}

/** What the context of a valid key without limits of its own carries besides its tenant: its id, and empty limits (the defaults apply). */
function noOwnLimits(key: string): Record<string, string> {
  return { key: keyIdOf(key)!, rate_create: '', rate_read: '' };
}

/** The REQUEST authorizer event (payload 2.0) API Gateway sends for a request with these headers (to `GET /executions` unless `route` says otherwise). */
function authorizerEvent(
  headers: Record<string, string> | undefined,
  route: { routeKey: string; rawPath: string; id?: string; query?: Record<string, string> } = { routeKey: 'GET /executions', rawPath: '/executions' },
): APIGatewayRequestAuthorizerEventV2 {
  return {
    ...(route.id ? { pathParameters: { id: route.id } } : {}),
    ...(route.query ? { queryStringParameters: route.query } : {}),
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/executions',
    identitySource: headers?.authorization ? [headers.authorization] : [],
    routeKey: route.routeKey,
    rawPath: route.rawPath,
    rawQueryString: route.query ? new URLSearchParams(route.query).toString() : '',
    cookies: [],
    ...(headers ? { headers } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: route.routeKey.split(' ')[0]!, path: route.rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: 'request-1',
      routeKey: route.routeKey,
      stage: '$default',
      time: '02/Jan/2026:03:04:05 +0000',
      timeEpoch: 1_767_323_045_000,
    },
  } as APIGatewayRequestAuthorizerEventV2;
}

describe('authorizer: rate limits in the context', () => {
  it('passes a key\'s own limits and id in its context, so the limiter reads nothing', async () => {
    const key = storeKey('acme', { rate_create: '5/1', rate_read: '600/60' });

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }));

    expect(result.context).toEqual({ tenant: 'acme', refused: '', concurrency: '', via: 'key', key: keyIdOf(key), rate_create: '5/1', rate_read: '600/60' });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it.each([
    ['a non-string', 5],
    ['a malformed string', '5 per second'],
    ['a zero quota', '0/1'],
    ['an over-long window', '5/999999'],
    ['an injection attempt', '5/1;r=999'],
    ['a prototype key', '__proto__'],
  ])('drops %s stored as a limit, so the default applies', async (_what, stored) => {
    const key = storeKey('acme', { rate_create: stored });

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }));

    expect(result.context).toMatchObject({ tenant: 'acme', rate_create: '', rate_read: '' });
  });
});

describe('authorizer', () => {
  it('maps a valid bearer key to its tenant, looking it up by its hash only', async () => {
    const key = storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: 'acme', refused: '', concurrency: '', via: 'key', ...noOwnLimits(key) } });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: `APIKEY#${hashApiKey(key)}`, sk: 'APIKEY' },
    });
    expect(JSON.stringify(ddb.calls().map((call) => call.args[0].input))).not.toContain(key);
  });

  it('accepts the scheme in any case', async () => {
    const key = storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: `bearer ${key}` }));

    expect(result.context.tenant).toBe('acme');
  });

  // Not denied on purpose: a deny would make API Gateway answer 403 with its own body, and the
  // contract is a problem+json 401, which the route functions send for an empty tenant.
  it.each([
    ['no headers at all', undefined],
    ['no Authorization header', { 'content-type': 'application/json' }],
    ['an empty Authorization header', { authorization: '' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['the scheme without a token', { authorization: 'Bearer ' }],
    ['two tokens', { authorization: 'Bearer one two' }],
    ['a token over 512 characters', { authorization: `Bearer ${'k'.repeat(513)}` }],
  ])('lets a request with %s through with an empty tenant and the reason, without reading the table', async (_what, headers) => {
    const result = await handler(authorizerEvent(headers));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: '', refused: 'missing or malformed bearer token', via: 'key' } });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['two spaces after the scheme', (key: string) => `Bearer  ${key}`],
    ['a tab after the scheme', (key: string) => `Bearer\t${key}`],
    ['a leading space', (key: string) => ` Bearer ${key}`],
    ['a trailing space', (key: string) => `Bearer ${key} `],
    ['a trailing tab', (key: string) => `Bearer ${key}\t`],
  ])('refuses a valid key sent with %s, without reading the table (each spelling was a cache miss and a read)', async (_what, spell) => {
    const key = storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: spell(key) }));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: '', refused: 'missing or malformed bearer token', via: 'key' } });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('lets an unknown key through with an empty tenant and the reason', async () => {
    storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: `Bearer ${newApiKey().key}` }));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: '', refused: 'unknown or revoked API key', via: 'key' } });
  });

  it('lets a revoked key through with an empty tenant and the reason', async () => {
    const key = storeKey('acme', { revoked_at: '2026-01-03T00:00:00.000Z' });

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: '', refused: 'unknown or revoked API key', via: 'key' } });
  });

  it('never grants a tenant when the key store fails: the error propagates (API Gateway answers 500, not a tenant)', async () => {
    const key = storeKey('acme');
    ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    await expect(handler(authorizerEvent({ authorization: `Bearer ${key}` }))).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
  });
});

describe('authorizer on GET /executions/{id}/events (the events authorizer: no identity source, no cache)', () => {
  const EXECUTION = '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5d';
  /** `CURSOR_SECRET` of the unit project (vitest.config.ts). */
  const TOKEN_KEY = streamTokenKey('test-secret');
  const token = (tenant = 'acme', executionId = EXECUTION, ttl = 900) =>
    streamToken(TOKEN_KEY, { tenant, executionId, expiresAt: Math.floor(Date.now() / 1000) + ttl });
  const eventsRoute = (query?: Record<string, string>, id = EXECUTION) => ({
    routeKey: 'GET /executions/{id}/events',
    rawPath: `/executions/${id}/events`,
    id,
    ...(query ? { query } : {}),
  });

  it('maps a stream token to its tenant for the execution in the path, reading nothing', async () => {
    const result = await handler(authorizerEvent(undefined, eventsRoute({ token: token() })));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: 'acme', refused: '', via: 'token' } });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('tells the route functions that the key\'s tenant has concurrency limits (concurrency: "1"), from the key item it reads anyway', async () => {
    const key = storeKey('acme', { limited: true });

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }));

    expect(result.context).toEqual({ tenant: 'acme', refused: '', concurrency: '1', via: 'key', ...noOwnLimits(key) });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('still maps a bearer key to its tenant there', async () => {
    const key = storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }, eventsRoute()));

    expect(result).toEqual({ isAuthorized: true, context: { tenant: 'acme', refused: '', concurrency: '', via: 'key', ...noOwnLimits(key) } });
  });

  it.each([
    ['expired', () => token('acme', EXECUTION, -1), /expired at/],
    ['for another execution', () => token('acme', '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e'), /not valid for this execution/],
    ['signed by another deployment', () => streamToken(streamTokenKey('other-secret'), { tenant: 'acme', executionId: EXECUTION, expiresAt: 4_000_000_000 }), /not valid/],
    ['made up', () => 'not-a-token', /not valid/],
  ])('lets a token %s through with an empty tenant and the reason', async (_what, make, reason) => {
    const result = await handler(authorizerEvent(undefined, eventsRoute({ token: make() })));

    expect(result.context).toEqual({ tenant: '', refused: expect.stringMatching(reason), via: 'token' });
  });

  it('refuses a request with both a key and a token', async () => {
    const key = storeKey('acme');

    const result = await handler(authorizerEvent({ authorization: `Bearer ${key}` }, eventsRoute({ token: token() })));

    expect(result.context).toMatchObject({ tenant: '', via: 'token' });
  });

  it.each([
    ['GET /executions/{id}', `/executions/${EXECUTION}`],
    ['GET /executions/{id}/status.stream', `/executions/${EXECUTION}/status.stream`],
    ['POST /executions/{id}/cancel', `/executions/${EXECUTION}/cancel`],
    ['POST /executions/{id}/stream-token', `/executions/${EXECUTION}/stream-token`],
  ])('never reads a token on %s: the verdict depends on the Authorization header alone (the key authorizer caches by it)', async (routeKey, rawPath) => {
    const key = storeKey('acme');

    const withKey = await handler(authorizerEvent({ authorization: `Bearer ${key}` }, { routeKey, rawPath, id: EXECUTION, query: { token: token('other') } }));
    const tokenOnly = await handler(authorizerEvent({ authorization: `Bearer ${token()}` }, { routeKey, rawPath, id: EXECUTION, query: { token: token() } }));

    expect(withKey.context).toEqual({ tenant: 'acme', refused: '', concurrency: '', via: 'key', ...noOwnLimits(key) });
    expect(tokenOnly.context).toEqual({ tenant: '', refused: 'unknown or revoked API key', via: 'key' });
  });
});
