import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { dependencyUnavailable, DomainError, NotFoundError, RETRY_AFTER_SECONDS, toProblem, UnauthorizedError } from '../domain/errors.js';
import { WORST_CASE_CALL_MS } from '../shared/client-config.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import type { Logger } from '../shared/logger.js';
import type { Credentials } from './api-key-auth.js';
import { KEEP_ALIVE_MS, watchExecution, type StreamClock, type WatchSource } from './event-stream.js';
import { executionIdOf, streamPositionOf } from './queries.js';

/** What a streaming response is written to: the body, chunk by chunk, then `end`. */
export interface BodyStream {
  write(chunk: string): unknown;
  end(): unknown;
}

/** The status line and headers of a streaming response, sent before its first chunk. */
export interface StreamMetadata {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the streaming events function runs on (tests give their own). */
export interface EventsStreamOptions {
  readonly source: WatchSource;
  readonly clock: StreamClock;
  readonly logger: Logger;
  /** The tenant of an `Authorization` header (`credentialsOf` on the API keys). */
  readonly credentials: (authorization: string | undefined) => Promise<Credentials>;
  /** Links of the views in status events: the HTTP API's base URL and region. */
  readonly links: { readonly apiBaseUrl: string; readonly region: string };
  /** Opens the response: sends `metadata` and returns the body (`HttpResponseStream.from`). */
  readonly open: (metadata: StreamMetadata) => BodyStream;
}

/** Milliseconds kept free at the end of the function's time, so the stream closes cleanly before Lambda stops it. */
export const CLOSE_MARGIN_MS = 1_000;

const EVENTS_PATH = /^\/executions\/([^/]+)\/events\/?$/;

function writeProblem(options: EventsStreamOptions, error: unknown): void {
  // As on the API: a dependency that timed out or throttled is a 503 with Retry-After, never a 500.
  const unavailable = isDependencyUnavailable(error) || !(error instanceof DomainError);
  if (unavailable) options.logger.warn('events stream failed before its first event', { error });
  const problem = toProblem(unavailable ? dependencyUnavailable() : error);
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' };
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
  if (problem.status === 503) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  const body = options.open({ statusCode: problem.status, headers });
  body.write(JSON.stringify(problem));
  body.end();
}

/**
 * Serves `GET /executions/{id}/events` on the streaming Function URL: the same events, ids and
 * `Last-Event-ID` semantics as the HTTP API's route, but written as they come rather than in bounded
 * responses, until the execution's `end` or until the function's own time (less a margin) runs out;
 * the stream then closes and an `EventSource` reconnects with `Last-Event-ID`. The Function URL has
 * no authorizer, so the bearer key is checked here; another tenant's execution is a 404, as on the API.
 * Errors before the first event are problem+json; a failed poll later ends the stream (the client resumes).
 */
export async function serveEventsStream(event: LambdaFunctionURLEvent, context: Context, options: EventsStreamOptions): Promise<void> {
  const { logger, clock } = options;
  let opened: BodyStream | undefined;
  try {
    const match = EVENTS_PATH.exec(event.rawPath);
    if (event.requestContext.http.method !== 'GET' || !match) throw new NotFoundError('No such resource. This URL serves GET /executions/{id}/events.');
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    const credentials = await options.credentials(headers.authorization);
    if (!credentials.tenant) throw new UnauthorizedError(`Send a valid API key as "Authorization: Bearer <key>" (${credentials.refused}).`);
    const executionId = executionIdOf(decodeURIComponent(match[1]!));
    const position = streamPositionOf(headers, event.queryStringParameters, 'last_event_id');
    const deadline = clock.now() + context.getRemainingTimeInMillis() - CLOSE_MARGIN_MS;
    let after = position.after;
    for (;;) {
      const lastCallAt = deadline - WORST_CASE_CALL_MS;
      // One bounded watch per batch, at most a keep-alive apart: each batch is written as soon as it is read.
      const windowMs = Math.min(KEEP_ALIVE_MS, lastCallAt - clock.now());
      if (windowMs <= 0) break;
      const outcome = await watchExecution(
        options.source,
        { tenant: credentials.tenant, executionId, kind: 'events', mode: 'bounded', after, afterFrom: position.from, links: options.links },
        clock,
        { windowMs, lastCallAt },
        logger,
      );
      if (outcome.kind !== 'stream') {
        // Nothing can follow the position: 204 before any event, as on the API; after events, the stream just ends.
        if (!opened) options.open({ statusCode: 204, headers: { 'cache-control': 'no-store' } }).end();
        return;
      }
      opened ??= options.open({
        statusCode: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' },
      });
      opened.write(outcome.text);
      after = outcome.seq;
      if (outcome.ended) break;
    }
    opened ??= options.open({ statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } });
    opened.end();
  } catch (error) {
    if (!opened) return writeProblem(options, error);
    logger.warn('stream failed after its first event; closing it', { error });
    opened.end();
  }
}
