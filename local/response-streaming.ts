import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { LambdaHost } from './lambda-host.js';
import type { LocalStreamingUrl } from './template.js';

/** The status and headers a streaming handler sends before its body (`HttpResponseStream.from`). */
interface ResponseMetadata {
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The response stream a streaming handler writes to, over a local HTTP response: the status line
 * and headers go out at the first of `from`, `write` or `end`, and each write is sent at once
 * (chunked), as Lambda's RESPONSE_STREAM mode sends it. Like a Node writable it emits `close` once
 * the response is over, whether it ended or its client went away, and is `destroyed` from then on:
 * what a handler listens to to stop working for a client that has gone.
 */
export class LocalResponseStream extends EventEmitter {
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly extraHeaders: Readonly<Record<string, string>>,
  ) {
    super();
    res.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
  }

  /** True once the response is over: ended, or its client disconnected. */
  get destroyed(): boolean {
    return this.closed;
  }

  /** Sends the status and headers (once; later calls are ignored, as the bytes are out). */
  open(metadata: ResponseMetadata): void {
    if (this.res.headersSent || this.closed) return;
    this.res.writeHead(metadata.statusCode ?? 200, { ...this.extraHeaders, ...metadata.headers });
    // Out now, not with the first chunk: the client learns the status while the handler waits.
    this.res.flushHeaders();
  }

  /** Writes one chunk; nothing once the client has gone. */
  write(chunk: string | Uint8Array): boolean {
    this.open({});
    return this.closed ? false : this.res.write(chunk);
  }

  /** Ends the response. */
  end(): void {
    this.open({});
    if (!this.closed) this.res.end();
  }
}

const STREAMING = Symbol('streamifyResponse');

/**
 * Installs the `awslambda` global Lambda's Node.js runtime gives streaming handlers, as a shim:
 * `streamifyResponse` marks the handler (the local host then invokes it with a response stream)
 * and `HttpResponseStream.from` sends the metadata on the {@link LocalResponseStream} it is given.
 * Installed before any handler module loads (their top level calls it).
 */
export function installAwsLambdaShim(): void {
  const shim = {
    streamifyResponse: <T extends object>(handler: T): T => Object.assign(handler, { [STREAMING]: true }),
    HttpResponseStream: {
      from: (stream: LocalResponseStream, metadata: ResponseMetadata): LocalResponseStream => {
        stream.open(metadata);
        return stream;
      },
    },
  };
  // The runtime's declared type is a class over Node's Writable; the shim has the part handlers use.
  (globalThis as { awslambda?: unknown }).awslambda = shim;
}

/** True when `handler` was wrapped by `awslambda.streamifyResponse`. */
export function isStreamingHandler(handler: unknown): boolean {
  return typeof handler === 'function' && (handler as { [STREAMING]?: boolean })[STREAMING] === true;
}

/** The Function URL event (payload 2.0) of a local request. */
function functionUrlEvent(req: IncomingMessage, host: string): LambdaFunctionURLEvent {
  const url = new URL(req.url ?? '/', `http://${host}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : undefined;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/**
 * A streaming Function URL, locally: each request invokes the function with a response stream over
 * the HTTP response; CORS preflights are answered as Lambda answers them from the URL's settings.
 */
export function streamingUrlListener(url: LocalStreamingUrl, functionName: string, lambdas: LambdaHost, log: (line: string) => void) {
  const corsHeaders = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin) return {};
    const allowed = url.cors.allowOrigins.includes('*') ? '*' : url.cors.allowOrigins.includes(origin) ? origin : undefined;
    return allowed ? { 'access-control-allow-origin': allowed } : {};
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const cors = corsHeaders(req);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(200, {
        ...cors,
        'access-control-allow-methods': url.cors.allowMethods.join(','),
        'access-control-allow-headers': url.cors.allowHeaders.join(','),
      });
      res.end();
      return;
    }
    const stream = new LocalResponseStream(res, cors);
    lambdas.invokeStreaming(functionName, functionUrlEvent(req, req.headers.host ?? '127.0.0.1'), stream).then(
      () => stream.end(),
      (error: unknown) => {
        log(`streaming function ${functionName} failed: ${error instanceof Error ? error.message : String(error)}`);
        // As Lambda: a failure before any byte is a 502; after, the stream just stops.
        stream.open({ statusCode: 502, headers: { 'content-type': 'application/json' } });
        stream.write(JSON.stringify({ message: 'Internal Server Error' }));
        stream.end();
      },
    );
  };
}
