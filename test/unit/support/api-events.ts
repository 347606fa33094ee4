import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { expect } from 'vitest';
import type { ProblemDetails } from '../../../lambdas/domain/errors.js';

/** Host the test requests reach the API at. */
export const API_DOMAIN = 'api.example.com';
export const API_BASE_URL = `https://${API_DOMAIN}`;

/** What a test request sets; everything else gets API Gateway's usual values. */
export interface RequestOptions {
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** A string is sent as is; anything else as its JSON text. */
  readonly body?: unknown;
  /** Lower-case names, as API Gateway delivers them. `content-type: application/json` is added with a body. */
  readonly headers?: Record<string, string>;
  /** The path of a `$default` request (other routes derive it from the route key). */
  readonly rawPath?: string;
  readonly method?: string;
  /**
   * What the authorizer established: a tenant (default `default`), or `null` for a request whose
   * credentials the authorizer refused.
   */
  readonly tenant?: string | null;
  /** The credential the authorizer read: an API key (the default), or a stream token. */
  readonly via?: 'key' | 'token';
  /** The authorizer's word that the tenant has concurrency limits (`concurrency: '1'`). */
  readonly limited?: boolean;
  /** What the authorizer adds for an API key: its id and own limits (`quota/seconds`), as context values. */
  readonly key?: { readonly id: string; readonly create?: string; readonly read?: string };
}

/** An API Gateway HTTP API (payload format 2.0) event for `routeKey`, e.g. `GET /executions/{id}`. */
export function apiEvent(routeKey: string, options: RequestOptions = {}): APIGatewayProxyEventV2 {
  const [routeMethod, template] = routeKey === '$default' ? [options.method ?? 'GET', options.rawPath ?? '/'] : routeKey.split(' ');
  const method = options.method ?? routeMethod ?? 'GET';
  const rawPath = (template ?? '/').replace(/\{(\w+)\}/g, (_match, name: string) => options.pathParameters?.[name] ?? `{${name}}`);
  const body =
    options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const query = options.query;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers: {
      host: API_DOMAIN,
      'x-forwarded-proto': 'https',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(query ? { queryStringParameters: query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: API_DOMAIN,
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: 'request-1',
      routeKey,
      stage: '$default',
      time: '02/Jan/2026:03:04:05 +0000',
      timeEpoch: 1_767_323_045_000,
      authorizer: {
        lambda: {
          ...(options.tenant === null
            ? { tenant: '', refused: options.via === 'token' ? 'the stream token is not valid for this execution' : 'unknown or revoked API key' }
            : { tenant: options.tenant ?? 'default', refused: '' }),
          via: options.via ?? 'key',
          concurrency: options.limited ? '1' : '',
          ...(options.key ? { key: options.key.id, rate_create: options.key.create ?? '', rate_read: options.key.read ?? '' } : {}),
        },
      },
    } as APIGatewayProxyEventV2['requestContext'],
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

/** A call a mocked client received (`aws-sdk-client-mock`). */
interface ReceivedCall {
  readonly args: readonly unknown[];
}

/** True for a write of the rate limiter's counter (`RATE#…`): what every limited request writes first. */
export function isRateCounterCall(call: ReceivedCall): boolean {
  const pk = (call.args[0] as { input?: { Key?: { pk?: unknown } } }).input?.Key?.pk;
  return typeof pk === 'string' && pk.startsWith('RATE#');
}

/** The calls a mocked DynamoDB client received, but for the rate limiter's counter writes. */
export function dataCalls(client: { calls(): readonly ReceivedCall[] }): ReceivedCall[] {
  return client.calls().filter((call) => !isRateCounterCall(call));
}

/** A minimal Lambda context. */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'api-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:api-test',
    memoryLimitInMB: '256',
    awsRequestId: 'aws-request-1',
    logGroupName: '/aws/lambda/api-test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A response with its body parsed. */
export interface ParsedResponse<T> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number | boolean>>;
  readonly body: T;
  readonly raw: string;
}

/** Parses a handler's response; the body is JSON in every response of this API. */
export function parse<T>(response: APIGatewayProxyStructuredResultV2): ParsedResponse<T> {
  const raw = response.body ?? '';
  return {
    status: response.statusCode ?? 200,
    headers: response.headers ?? {},
    body: (raw === '' ? undefined : JSON.parse(raw)) as T,
    raw,
  };
}

/** Asserts an RFC 9457 problem response with `status` and no internals, and returns the problem. */
export function expectProblem(response: APIGatewayProxyStructuredResultV2, status: number): ProblemDetails {
  const parsed = parse<ProblemDetails>(response);
  expect(parsed.status).toBe(status);
  expect(parsed.headers['content-type']).toBe('application/problem+json');
  expect(parsed.body).toMatchObject({
    type: expect.stringMatching(/^\/problems\/[a-z-]+$/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect(parsed.raw).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|stack/i);
  return parsed.body;
}
