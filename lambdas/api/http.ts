import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  DomainError,
  MethodNotAllowedError,
  RETRY_AFTER_SECONDS,
  dependencyUnavailable,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  toProblem,
} from '../domain/errors.js';
import type { ViewLinks } from '../domain/views.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { addLogKeys, logged, type Logger, type LogKeys } from '../shared/logger.js';
import { EVENTS_ROUTE, eventsRefusal } from './events-auth.js';
import { PUBLIC_ROUTES, type RouteKey } from './routes.js';

/** Step Functions accepts at most 256 KB of input, so no request body may be larger. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Routes whose bodies may be larger than {@link MAX_BODY_BYTES} (a batch of creates), by route. */
export type BodyLimits = Partial<Readonly<Record<RouteKey, number>>>;

/**
 * Bodies nested deeper than this are refused (400). 256 KB of `[` parse fine, but storing or
 * forwarding the value means `JSON.stringify`, which overflows the stack a few thousand levels down.
 */
export const MAX_JSON_DEPTH = 100;

/** How long before the function's timeout a request still running is answered 503. */
export const DEADLINE_MARGIN_MS = 250;

/** True when `value` nests arrays/objects more than `max` levels deep (iterative: no recursion to overflow). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<readonly [unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** An API Gateway HTTP API (payload 2.0) event, as handlers see it after the middlewares. */
export interface ApiEvent extends APIGatewayProxyEventV2 {
  /** The parsed JSON body; undefined when there was none. */
  json?: unknown;
  /** The `RateLimit` and `RateLimit-Policy` fields of the limit this request counted against (`rateLimit`), sent with its answer. */
  rateLimit?: Record<string, string>;
}

/** What a route returns. */
export interface ApiResponse {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /**
   * Sent as it is instead of `body`: JSON text a route already made (one that hashed it for its
   * ETag), or another type (a text/event-stream), whose `content-type` the route sets in `headers`.
   */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route's handler. */
export type Route = (event: ApiEvent, context: Context) => Promise<ApiResponse> | ApiResponse;

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers };
}

/**
 * Whether the caller's tenant has concurrency limits, as the API key authorizer says (its context's
 * `concurrency`): its new executions then wait for admission rather than start with the request.
 */
export const limitedTenant = (event: APIGatewayProxyEventV2): boolean =>
  (event.requestContext as { authorizer?: { lambda?: { concurrency?: string } } }).authorizer?.lambda?.concurrency === '1';

/**
 * The caller's tenant, as the authorizer established it: the tenant of a valid API key, or with
 * IAM auth the caller's AWS account (`aws-<account id>`).
 * @throws UnauthorizedError (401) when the credentials were missing or not valid.
 */
export function tenantOf(event: APIGatewayProxyEventV2): string {
  const context = event.requestContext as {
    authorizer?: { lambda?: { tenant?: unknown; refused?: unknown; via?: unknown }; iam?: { accountId?: unknown } };
  };
  const via = context.authorizer?.lambda?.via;
  // Defence in depth: only the events route's authorizer reads stream tokens, and a token grants
  // that route alone (read-only), whatever route an authorizer were ever attached to.
  if (via === 'token' && event.routeKey !== EVENTS_ROUTE) {
    throw new UnauthorizedError('A stream token is valid for GET /executions/{id}/events only. Send an API key as "Authorization: Bearer <key>".');
  }
  const tenant = context.authorizer?.lambda?.tenant;
  if (typeof tenant === 'string' && tenant !== '') return tenant;
  const account = context.authorizer?.iam?.accountId;
  if (typeof account === 'string' && /^\d{12}$/.test(account)) return `aws-${account}`;
  const refused = context.authorizer?.lambda?.refused;
  if (via === 'token' && typeof refused === 'string') throw new UnauthorizedError(eventsRefusal({ tenant: '', refused, via }));
  throw new UnauthorizedError(
    `Send a valid API key as "Authorization: Bearer <key>"${typeof refused === 'string' && refused ? ` (${refused})` : ''}.`,
  );
}

/** True when the authorizer established the tenant from a stream token (read-only, one execution's events) rather than an API key. */
export function viaStreamToken(event: APIGatewayProxyEventV2): boolean {
  return (event.requestContext as { authorizer?: { lambda?: { via?: unknown } } }).authorizer?.lambda?.via === 'token';
}

/** Links of views, from where the caller reached the API. */
export function linksOf(event: APIGatewayProxyEventV2, region: string): ViewLinks {
  const proto = event.headers['x-forwarded-proto'] ?? 'https';
  const stage = event.requestContext.stage;
  const base = `${proto}://${event.requestContext.domainName}${stage && stage !== '$default' ? `/${stage}` : ''}`;
  return { apiBaseUrl: base, region };
}

/** A path parameter API Gateway always sets for the route. */
export function param(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined) throw new NotFoundError('No such resource.');
  return value;
}

function problemResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  const problem = toProblem(error);
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
  };
  // Julep's SDK retries 409s; a status conflict does not go away by retrying the same request.
  if (problem.status === 409 || problem.status === 422) headers['x-should-retry'] = 'false';
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
  // A 408 is answered by sending the same request again: Julep's SDK does so on this header.
  if (problem.status === 408) {
    headers['x-should-retry'] = 'true';
    headers['retry-after'] = '1';
  }
  if (problem.status === 503) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  if (error instanceof TooManyRequestsError) Object.assign(headers, error.headers);
  return { statusCode: problem.status, headers, body: JSON.stringify(problem) };
}

/**
 * Turns every thrown error into RFC 9457 problem+json. Only {@link DomainError}s (all below 500,
 * or a deliberate 503) show their message; an AWS SDK call that timed out or was throttled is a
 * 503 (with Retry-After, like every 503); anything else is logged and answered with a bare 500.
 */
export function problemJson(logger: Logger, event: ApiEvent, error: unknown): APIGatewayProxyStructuredResultV2 {
  const unavailable = isDependencyUnavailable(error);
  if (unavailable || (error instanceof DomainError && error.status >= 500)) {
    logger.warn('dependency unavailable', { error, route: event.routeKey });
  } else if (!(error instanceof DomainError)) {
    logger.error('unhandled error', { error, route: event.routeKey });
  }
  return problemResponse(unavailable ? dependencyUnavailable() : error);
}

/**
 * Refuses a request to any route but the public ones with 401 when the authorizer established no
 * tenant, before the body is read: an unauthenticated caller learns nothing from validation and
 * gets the same answer on every route. (What a body must look like, and which tasks exist with
 * their input schemas, is public by design: `GET /openapi.json`.) The tenant it establishes goes on
 * every later log line of the request.
 * @throws UnauthorizedError (401) as {@link tenantOf}.
 */
export function authenticate(event: ApiEvent): void {
  if (!PUBLIC_ROUTES.includes(event.routeKey as RouteKey)) addLogKeys({ tenant: tenantOf(event) });
}

/**
 * What every log line of a request carries besides the invocation's request id: API Gateway's
 * request id (`request_id`, as in the access log) and the execution or task its path names.
 */
const requestKeys = (event: ApiEvent): LogKeys => ({
  request_id: event.requestContext.requestId,
  execution_id: event.routeKey.includes('/executions/{id}') ? event.pathParameters?.id : undefined,
  task_id: event.pathParameters?.task_id,
});

function isJson(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Parses a JSON body into `event.json`: 413 over {@link MAX_BODY_BYTES} (or the route's own limit), 415 when it is not
 * declared as JSON, 400 when it does not parse or nests deeper than {@link MAX_JSON_DEPTH}. An
 * empty body leaves `event.json` undefined.
 */
export function parseJsonBody(event: ApiEvent, limits: BodyLimits = {}): void {
  if (!event.body) return;
  const bytes = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const maxBytes = limits[event.routeKey as RouteKey] ?? MAX_BODY_BYTES;
  if (bytes.length > maxBytes) {
    throw new PayloadTooLargeError(`The body is ${bytes.length} bytes; at most ${maxBytes} are accepted.`);
  }
  const contentType = event.headers['content-type'] ?? '';
  if (!isJson(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Send the body as application/json${contentType ? `, not ${contentType.split(';')[0]}` : ''}.`,
    );
  }
  try {
    event.json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ValidationError('The body is not valid JSON.', [{ path: '', message: 'is not valid JSON' }]);
  }
  if (nestedDeeperThan(event.json, MAX_JSON_DEPTH)) {
    throw new ValidationError(`The body is nested more than ${MAX_JSON_DEPTH} levels deep.`, [
      { path: '', message: `is nested more than ${MAX_JSON_DEPTH} levels deep` },
    ]);
  }
}

function toResult(response: ApiResponse, limited?: Record<string, string>): APIGatewayProxyStructuredResultV2 {
  // A 304 has no body, so nothing to type (RFC 9110 §15.4.5: it repeats the ETag and Cache-Control a 200 would send).
  if (response.status === 304) {
    return { statusCode: 304, headers: { 'cache-control': 'no-store', ...limited, ...response.headers } };
  }
  const body = response.text ?? (response.body === undefined ? undefined : JSON.stringify(response.body));
  return {
    statusCode: response.status,
    headers: {
      // A 204 has no content, so no type.
      ...(response.status === 204 ? {} : { 'content-type': 'application/json' }),
      'cache-control': 'no-store',
      ...limited,
      ...response.headers,
    },
    ...(body === undefined ? {} : { body }),
  };
}

/**
 * A Lambda handler for a route group: credentials and the JSON body first (every error becomes
 * problem+json), then dispatch by `event.routeKey` to the group's routes. Its log lines carry the request's
 * ids, tenant and execution or task ({@link requestKeys}, {@link authenticate}).
 */
export function httpHandler(routes: Partial<Record<RouteKey, Route>>, logger: Logger, bodyLimits?: BodyLimits) {
  // Three steps in a fixed order need no middleware engine: plain calls keep the bundles smaller.
  return logged(requestKeys, async (event: ApiEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      authenticate(event);
      parseJsonBody(event, bodyLimits);
      const route = routes[event.routeKey as RouteKey];
      if (!route) {
        throw event.routeKey === '$default'
          ? new NotFoundError(`No route ${event.requestContext.http.method} ${event.rawPath.slice(0, 200)}.`)
          : new MethodNotAllowedError(`${event.routeKey} is not served here.`);
      }
      // A function that runs out of time is a 500 at API Gateway: answer 503 just before that
      // (a create is then only safe to retry with an Idempotency-Key, as the problem says).
      return toResult(
        await Promise.race([
          route(event, context),
          new Promise<never>((_, reject) => {
            timer = setTimeout(reject, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS, dependencyUnavailable());
          }),
        ]),
        event.rateLimit,
      );
    } catch (error) {
      return problemJson(logger, event, error);
    } finally {
      clearTimeout(timer);
    }
  });
}
