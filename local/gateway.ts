import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LambdaHost } from './lambda-host.js';
import type { LocalAuthorizer, LocalRoute } from './template.js';

/** API Gateway's own payload limit for HTTP APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|application\/[^;]*\+(json|xml))/i;

interface CompiledRoute {
  readonly routeKey: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  /** Literal segments: more specific routes win, as in API Gateway. */
  readonly literals: number;
  readonly functionArn: string;
  readonly timeoutMs: number;
  readonly authorizer?: LocalAuthorizer;
}

function compile(route: LocalRoute): CompiledRoute {
  const [method, path = ''] = route.routeKey.split(' ');
  const params: string[] = [];
  let literals = 0;
  const source = path
    .split('/')
    .map((segment) => {
      const greedy = /^\{(.+)\+\}$/.exec(segment);
      const param = /^\{(.+)\}$/.exec(segment);
      if (greedy) {
        params.push(greedy[1]!);
        return '(.+)';
      }
      if (param) {
        params.push(param[1]!);
        return '([^/]+)';
      }
      literals++;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return {
    routeKey: route.routeKey,
    method: method!,
    pattern: new RegExp(`^${source}$`),
    params,
    literals,
    functionArn: route.functionArn,
    timeoutMs: route.timeoutMs,
    ...(route.authorizer ? { authorizer: route.authorizer } : {}),
  };
}

/** A path parameter, percent-decoded; one with a broken escape (`%zz`) goes to the function as sent. */
function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/**
 * The local HTTP API: routes exactly the routes of the synthesized API to their functions with
 * API Gateway v2 (payload format 2.0) events, and writes their responses back.
 */
export class LocalGateway {
  private readonly routes: readonly CompiledRoute[];
  private readonly fallback?: CompiledRoute;
  /** Authorizer verdicts by authorizer and identity, for their TTL, as API Gateway caches them. */
  private readonly verdicts = new Map<string, { readonly expires: number; readonly context?: Record<string, unknown> }>();

  constructor(
    routes: readonly LocalRoute[],
    private readonly lambdas: LambdaHost,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.routes = routes.filter((route) => route.routeKey !== '$default').map(compile);
    const fallback = routes.find((route) => route.routeKey === '$default');
    if (fallback) this.fallback = compile(fallback);
  }

  private match(method: string, path: string) {
    const candidates = this.routes
      .filter((route) => route.method === method || route.method === 'ANY')
      .map((route) => ({ route, match: route.pattern.exec(path) }))
      .filter((candidate) => candidate.match !== null)
      .sort((a, b) => b.route.literals - a.route.literals || a.route.params.length - b.route.params.length);
    const best = candidates[0];
    if (!best) return undefined;
    const pathParameters = Object.fromEntries(
      best.route.params.map((name, index) => [name, decodeParam(best.match![index + 1]!)]),
    );
    return { route: best.route, pathParameters };
  }

  /** Node HTTP request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res).catch((error: unknown) => {
      this.log(`gateway error: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      else res.end();
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_PAYLOAD_BYTES) {
        send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }), { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    let rawPath: string;
    try {
      rawPath = decodeURI(url.pathname);
    } catch {
      rawPath = url.pathname;
    }
    const matched = this.match(method, url.pathname);
    const target = matched ?? (this.fallback ? { route: this.fallback, pathParameters: undefined } : undefined);
    if (!target) {
      send(res, 404, JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
    const body = Buffer.concat(chunks);
    const textual = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? '');
    const now = new Date();
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: target.route.routeKey,
      rawPath,
      rawQueryString: url.search.slice(1),
      headers,
      ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      ...(target.pathParameters && Object.keys(target.pathParameters).length > 0 ? { pathParameters: target.pathParameters } : {}),
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: headers.host ?? '127.0.0.1',
        domainPrefix: (headers.host ?? '127').split('.')[0]!,
        http: {
          method,
          path: rawPath,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: target.route.routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: !textual,
    };
    if (target.route.authorizer) {
      const verdict = await this.authorize(target.route.authorizer, event, method);
      if (verdict.status) {
        send(res, verdict.status, JSON.stringify({ message: verdict.status === 401 ? 'Unauthorized' : 'Forbidden' }));
        return;
      }
      (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: verdict.context ?? {} };
    }
    let result: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      // API Gateway stops waiting after the integration's timeout and answers 503 itself, while
      // the function runs on; an events request must answer before it (its window, its timeout).
      const timedOut = Symbol('timed out');
      const limit = new Promise<typeof timedOut>((resolve) => {
        timer = setTimeout(() => resolve(timedOut), target.route.timeoutMs);
      });
      result = await Promise.race([this.lambdas.invoke(target.route.functionArn, event), limit]);
      if (result === timedOut) {
        this.log(`integration timeout on ${target.route.routeKey} after ${target.route.timeoutMs} ms`);
        send(res, 503, JSON.stringify({ message: 'Service Unavailable' }));
        return;
      }
    } catch (error) {
      this.log(`function error on ${target.route.routeKey}: ${error instanceof Error ? error.message : String(error)}`);
      send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      return;
    } finally {
      clearTimeout(timer);
    }
    this.write(res, result);
  }

  /**
   * Runs a Lambda REQUEST authorizer as API Gateway does: 401 without the identity source (the
   * authorizer is not called), cached verdicts per identity for the TTL, 403 when it refuses.
   */
  private async authorize(
    authorizer: LocalAuthorizer,
    event: APIGatewayProxyEventV2,
    method: string,
  ): Promise<{ status?: 401 | 403; context?: Record<string, unknown> }> {
    const identity = authorizer.identitySource.map((source) => {
      const header = /^\$request\.header\.(.+)$/.exec(source)?.[1];
      const query = /^\$request\.querystring\.(.+)$/.exec(source)?.[1];
      return header ? event.headers[header.toLowerCase()] : query ? event.queryStringParameters?.[query] : undefined;
    });
    if (identity.some((value) => value === undefined || value === '')) return { status: 401 };
    const cacheKey = `${authorizer.functionArn} ${JSON.stringify(identity)}`;
    const cached = this.verdicts.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.context ? { context: cached.context } : { status: 403 };

    const response = (await this.lambdas.invoke(authorizer.functionArn, {
      ...event,
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:000000000000:local/$default/${method}${event.rawPath}`,
      identitySource: identity,
    })) as { isAuthorized?: boolean; context?: Record<string, unknown>; policyDocument?: { Statement?: Array<{ Effect?: string }> } };
    const allowed = authorizer.simpleResponses
      ? response.isAuthorized === true
      : (response.policyDocument?.Statement ?? []).some((statement) => statement.Effect === 'Allow');
    const context = allowed ? (response.context ?? {}) : undefined;
    if (authorizer.ttlSeconds > 0) {
      this.verdicts.set(cacheKey, { expires: Date.now() + authorizer.ttlSeconds * 1000, ...(context ? { context } : {}) });
    }
    return context ? { context } : { status: 403 };
  }

  private write(res: ServerResponse, result: unknown): void {
    if (result === null || typeof result !== 'object' || !('statusCode' in result)) {
      // Payload 2.0 without a statusCode: API Gateway answers 200 with the value as JSON.
      send(res, 200, typeof result === 'string' ? result : JSON.stringify(result));
      return;
    }
    const structured = result as APIGatewayProxyStructuredResultV2;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
    if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
    const status = structured.statusCode ?? 200;
    res.writeHead(status, headers);
    // A 204 or 304 has no body (RFC 9110 §15.3.5, §15.4.5): API Gateway sends none, whatever the function returned.
    if (status === 204 || status === 304) {
      res.end();
      return;
    }
    const body = structured.body ?? '';
    res.end(structured.isBase64Encoded ? Buffer.from(body, 'base64') : body);
  }
}
