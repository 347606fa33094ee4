import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { dependencyUnavailable, DomainError, NotFoundError, RETRY_AFTER_SECONDS, toProblem, UnauthorizedError } from '../domain/errors.js';
import { WORST_CASE_CALL_MS } from '../shared/client-config.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { addLogKeys, type Logger } from '../shared/logger.js';
import { eventsRefusal, type EventsCredentials } from './events-auth.js';
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
  /**
   * The tenant of a request: its stream token (`?token=`, valid for the execution in the path only)
   * or its bearer API key (`eventsCredentialsOf`).
   */
  readonly credentials: (request: { readonly authorization: string | undefined; readonly token: string | undefined; readonly executionId: string }) => Promise<EventsCredentials>;
  /** Links of the views in status events: the HTTP API's base URL and region. */
  readonly links: { readonly apiBaseUrl: string; readonly region: string };
  /** Opens the response: sends `metadata` and returns the body (`HttpResponseStream.from`). */
  readonly open: (metadata: StreamMetadata) => BodyStream;
  /** Aborted once the client has gone ({@link disconnectSignal}): the stream then stops reading. */
  readonly gone?: AbortSignal;
}

/** What a response stream tells of its client going away: a Node writable's events and state. */
export interface ClosableStream {
  on(event: 'close' | 'error', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

/**
 * A signal aborted once `stream` can carry nothing more to the client: it closed, failed (a write
 * to a client that has gone fails), or was destroyed already. Lambda's runtime may report a
 * client's disconnect late or not at all (the stream then runs until `end` or the function's time
 * is up); the local stack reports it when the HTTP connection closes. Our own `end()` closes the
 * stream too, which aborts nothing that still runs.
 */
export function disconnectSignal(stream: ClosableStream): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  stream.on('close', abort);
  // Listening also keeps a failed write from crashing the function as an unhandled 'error'.
  stream.on('error', abort);
  if (stream.destroyed === true) abort();
  return controller.signal;
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

/** A path segment, percent-decoded; one with a broken escape (`%zz`) stays as sent (and is then no execution id: 400). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Why a stream stopped, as its closing log line says. */
type StopReason = 'end' | 'exhausted' | 'time-limit' | 'client-gone' | 'failed';

/**
 * Serves `GET /executions/{id}/events` on the streaming Function URL: the same events, ids and
 * `Last-Event-ID` semantics as the HTTP API's route, but written as they come rather than in bounded
 * responses, until the execution's `end`, until the function's own time (less a margin) runs out,
 * or until the client goes away (`options.gone`: polling stops within a poll's pause, half a
 * second); the stream then closes and an `EventSource` reconnects with `Last-Event-ID`. The Function
 * URL has no authorizer, so the credentials are checked here: a bearer API key, or a stream token
 * (`?token=`) valid for this execution only. Another tenant's execution is a 404 for a key, as on
 * the API; for a token it is a 401 (the token grants nothing there). Errors before the first event
 * are problem+json; a failed poll later ends the stream (the client resumes).
 */
export async function serveEventsStream(event: LambdaFunctionURLEvent, context: Context, options: EventsStreamOptions): Promise<void> {
  const { logger, clock, gone } = options;
  const started = clock.now();
  let opened: BodyStream | undefined;
  let executionId: string | undefined;
  let via: EventsCredentials['via'] | undefined;
  const stop = (reason: StopReason): void => {
    logger.info('events stream closed', { execution_id: executionId, via, reason, duration_ms: clock.now() - started });
  };
  try {
    const match = EVENTS_PATH.exec(event.rawPath);
    if (event.requestContext.http.method !== 'GET' || !match) throw new NotFoundError('No such resource. This URL serves GET /executions/{id}/events.');
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    const { token, ...query } = event.queryStringParameters ?? {};
    const pathId = decodeSegment(match[1]!);
    const credentials = await options.credentials({ authorization: headers.authorization, token, executionId: pathId });
    via = credentials.via;
    if (!credentials.tenant) throw new UnauthorizedError(eventsRefusal(credentials));
    executionId = executionIdOf(pathId);
    addLogKeys({ tenant: credentials.tenant, execution_id: executionId });
    const position = streamPositionOf(headers, query, 'last_event_id');
    const deadline = clock.now() + context.getRemainingTimeInMillis() - CLOSE_MARGIN_MS;
    let after = position.after;
    let reason: StopReason = 'time-limit';
    for (;;) {
      if (gone?.aborted) {
        reason = 'client-gone';
        break;
      }
      const lastCallAt = deadline - WORST_CASE_CALL_MS;
      // One bounded watch per batch, at most a keep-alive apart: each batch is written as soon as it is read.
      const windowMs = Math.min(KEEP_ALIVE_MS, lastCallAt - clock.now());
      if (windowMs <= 0) break;
      const outcome = await watchExecution(
        options.source,
        { tenant: credentials.tenant, executionId, kind: 'events', mode: 'bounded', after, afterFrom: position.from, links: options.links },
        clock,
        { windowMs, lastCallAt, ...(gone ? { signal: gone } : {}) },
        logger,
      ).catch((error: unknown) => {
        // A valid token whose tenant has no such execution grants nothing: its signer meant another tenant.
        if (error instanceof NotFoundError && credentials.via === 'token') throw new UnauthorizedError(eventsRefusal({ ...credentials, tenant: '', refused: 'the stream token is not valid for this execution' }));
        throw error;
      });
      // Nobody reads what the watch found: write nothing more, read nothing more.
      if (gone?.aborted) {
        reason = 'client-gone';
        break;
      }
      if (outcome.kind !== 'stream') {
        // Nothing can follow the position: 204 before any event, as on the API; after events, the stream just ends.
        if (!opened) options.open({ statusCode: 204, headers: { 'cache-control': 'no-store' } }).end();
        else opened.end();
        return stop('exhausted');
      }
      opened ??= options.open({
        statusCode: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' },
      });
      opened.write(outcome.text);
      after = outcome.seq;
      if (outcome.ended) {
        reason = 'end';
        break;
      }
    }
    opened ??= options.open({ statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } });
    opened.end();
    stop(reason);
  } catch (error) {
    if (!opened) return writeProblem(options, error);
    logger.warn('stream failed after its first event; closing it', { error });
    opened.end();
    stop('failed');
  }
}
