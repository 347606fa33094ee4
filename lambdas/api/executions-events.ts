import type { Context } from 'aws-lambda';
import { NotFoundError, RequestTimeoutError, UnauthorizedError } from '../domain/errors.js';
import type { StreamKind } from '../domain/events.js';
import type { StreamTokenView } from '../domain/views.js';
import { streamToken, streamTokenKey } from '../domain/stream-tokens.js';
import { WORST_CASE_CALL_MS } from '../shared/client-config.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { watchStore } from '../shared/stores.js';
import { REGION } from './context.js';
import {
  DEFAULT_WINDOW_MS,
  SYSTEM_CLOCK,
  watchExecution,
  type StreamClock,
  type StreamMode,
  type WatchSource,
} from './event-stream.js';
import { bodyOf, streamTokenBody } from './bodies.js';
import { readLimited } from './rate-limit.js';
import { httpHandler, json, linksOf, param, tenantOf, viaStreamToken, type ApiEvent, type ApiResponse, type Route } from './http.js';
import { executionIdOf, streamPositionOf } from './queries.js';
import type { RouteKey } from './routes.js';

const logger = createLogger('executions-events');

/** What the events routes run on: the table, time and the window (tests give their own). */
export interface EventsOptions {
  readonly source: WatchSource;
  readonly clock: StreamClock;
  /** How long a response waits for events. */
  readonly windowMs: number;
  readonly logger: Logger;
  /** The key stream tokens are signed with (`streamTokenKey` of the deployment's secret). */
  readonly tokenKey: Uint8Array;
  /**
   * The streaming Function URL (`EVENTS_STREAM_URL`), where a token's `events_url` points; without
   * one, the HTTP API's own events route, which takes a token too.
   */
  readonly streamUrl?: string;
}

/** Milliseconds kept free at the end of the function's time after the last call, to answer. */
const ANSWER_MS = 500;

/** True when the caller reads the stream as an `EventSource` does (it sends `Accept: text/event-stream`). */
function acceptsEventStream(event: ApiEvent): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(event.headers.accept ?? '');
}

/**
 * A route that answers with a stream of `kind`. The `/events` route and an `EventSource` get
 * bounded responses; any other client of Julep's streams gets the whole stream, to the end of the
 * execution, as Julep's SDK reads it (one body), and a 408 it retries when the window ends first.
 */
function streamRoute(kind: StreamKind, positionParam: 'last_event_id' | 'next_page_token', options: EventsOptions): Route {
  return async (event, context: Context) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    // On `/events` the authorizer has read the stream token, if any: it is no position parameter.
    const { token: _token, ...others } = event.queryStringParameters ?? {};
    const position = streamPositionOf(event.headers, kind === 'events' ? others : event.queryStringParameters, positionParam);
    const mode: StreamMode = kind === 'events' || acceptsEventStream(event) ? 'bounded' : 'whole';
    const lastCallAt = options.clock.now() + context.getRemainingTimeInMillis() - WORST_CASE_CALL_MS - ANSWER_MS;
    const outcome = await watchExecution(
      options.source,
      { tenant, executionId, kind, mode, after: position.after, afterFrom: position.from, links: linksOf(event, REGION) },
      options.clock,
      { windowMs: options.windowMs, lastCallAt },
      options.logger,
    ).catch((error: unknown) => {
      // A valid token whose tenant has no such execution grants nothing: its signer meant another tenant.
      if (error instanceof NotFoundError && viaStreamToken(event)) {
        throw new UnauthorizedError('The stream token is not valid for this execution.');
      }
      throw error;
    });
    if (outcome.kind === 'exhausted') return { status: 204 } satisfies ApiResponse;
    if (outcome.kind === 'window-elapsed') {
      throw new RequestTimeoutError(
        `Execution ${executionId} did not end within ${Math.round(options.windowMs / 1000)} s. Send the same request again to keep waiting ` +
          '(Julep\'s SDK does, up to its maxRetries), or read it as an EventSource (Accept: text/event-stream).',
      );
    }
    return { status: 200, text: outcome.text, headers: { 'content-type': 'text/event-stream; charset=utf-8' } } satisfies ApiResponse;
  };
}

/**
 * `POST /executions/{id}/stream-token`: a short-lived token that lets whoever holds it read this
 * execution's events, and nothing else, without the API key (a browser's `EventSource` cannot send
 * one). Minted for the caller's own execution only: another tenant's is a 404, as everywhere.
 */
function streamTokenRoute(options: EventsOptions): Route {
  return async (event) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    const { ttlSeconds } = bodyOf(streamTokenBody, event.json ?? {});
    if (!(await options.source.find(tenant, executionId))) throw new NotFoundError(`No execution ${executionId} exists.`);
    const expiresAt = Math.floor(options.clock.now() / 1000) + ttlSeconds;
    const token = streamToken(options.tokenKey, { tenant, executionId, expiresAt });
    const base = (options.streamUrl ?? linksOf(event, REGION).apiBaseUrl).replace(/\/+$/, '');
    return json(201, {
      token,
      expires_at: new Date(expiresAt * 1000).toISOString(),
      events_url: `${base}/executions/${executionId}/events?token=${encodeURIComponent(token)}`,
    } satisfies StreamTokenView);
  };
}

/** The routes of the events function, on `options`. */
export function eventsRoutes(options: EventsOptions): Partial<Record<RouteKey, Route>> {
  return {
    'GET /executions/{id}/events': streamRoute('events', 'last_event_id', options),
    'GET /executions/{id}/status.stream': streamRoute('julep-status', 'last_event_id', options),
    'GET /executions/{id}/transitions.stream': streamRoute('julep-transitions', 'next_page_token', options),
    'POST /executions/{id}/stream-token': streamTokenRoute(options),
  };
}

function streamUrlOf(url: string | undefined): { streamUrl?: string } {
  return url ? { streamUrl: url } : {};
}

/** The events function's handler on `options` (the Lambda entry uses the defaults). */
export function eventsHandler(options: Partial<EventsOptions> = {}) {
  return httpHandler(
    readLimited(eventsRoutes({
      source: options.source ?? watchStore(),
      clock: options.clock ?? SYSTEM_CLOCK,
      windowMs: options.windowMs ?? intEnv('EVENTS_WINDOW_SECONDS', DEFAULT_WINDOW_MS / 1000) * 1000,
      logger: options.logger ?? logger,
      tokenKey: options.tokenKey ?? streamTokenKey(requireEnv('CURSOR_SECRET')),
      ...streamUrlOf(options.streamUrl ?? process.env.EVENTS_STREAM_URL),
    })),
    options.logger ?? logger,
  );
}

/** Lambda entry of the events routes (read-only on the table but for the caller's read rate counter). */
export const handler = eventsHandler();
