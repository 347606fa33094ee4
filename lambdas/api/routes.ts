/**
 * Every route of the HTTP API, by the function (route group) that serves it. The CDK stack, the
 * handlers' routers and the local gateway all read this table, so they cannot drift apart.
 */
export const ROUTES = {
  /** Creates executions; with the recovery function's replays, the only API function allowed `states:StartExecution`. */
  create: ['POST /tasks/{task_id}/executions', 'POST /executions'],
  /**
   * Creates many executions in one request (each item as `POST /executions` would, `startExecution`
   * for each) and edits executions' tags (with their index items, in one transaction).
   */
  batch: ['POST /executions/batch', 'PUT /executions/{id}/tags'],
  /** Reads executions and transitions; read-only on the table. */
  read: [
    'GET /executions',
    'GET /executions/{id}',
    'GET /tasks/{task_id}/executions',
    'GET /executions/{id}/transitions',
    'GET /executions/{id}/transitions/{transition_id}',
  ],
  /**
   * Server-sent events of an execution (and Julep's two streams): polls the table, read-only, for
   * up to ~25 s per request, so its time and concurrency are its own, not the read function's. It
   * also mints the read-only stream tokens a browser's `EventSource` puts in the events URL (one
   * read of the record; with the key authorizer, so a token never mints a token).
   */
  events: [
    'GET /executions/{id}/events',
    'GET /executions/{id}/status.stream',
    'GET /executions/{id}/transitions.stream',
    'POST /executions/{id}/stream-token',
  ],
  /**
   * Resumes and cancels; the only function allowed `SendTaskSuccess` and `StopExecution`. Resume
   * links (`POST /callbacks/{token}`) are resumes too.
   */
  control: ['PUT /executions/{id}', 'POST /executions/{id}/cancel', 'POST /executions/{id}/resume', 'POST /callbacks/{token}'],
  /**
   * Retries a failed execution from its failed step and replays any execution as a new one; the
   * only function allowed `states:RedriveExecution` (and `StartExecution`, for replays).
   */
  recovery: ['POST /executions/{id}/retry', 'POST /executions/{id}/replay'],
  /**
   * Webhook subscriptions of the caller's tenant, their deliveries, redeliveries and test pings;
   * the only API function that may send to the delivery queue.
   */
  webhooks: [
    'POST /webhooks',
    'GET /webhooks',
    'GET /webhooks/{id}',
    'DELETE /webhooks/{id}',
    'POST /webhooks/{id}/rotate-secret',
    'POST /webhooks/{id}/test',
    'GET /webhooks/{id}/deliveries',
    'GET /webhooks/{id}/deliveries/{delivery_id}',
    'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver',
  ],
  /**
   * Bulk actions: jobs that act on every execution a filter matches (accepted here, done page by
   * page by the bulk worker); the only API function that may send to the bulk queue.
   */
  bulk: [
    'POST /bulk-actions',
    'GET /bulk-actions',
    'GET /bulk-actions/{id}',
    'GET /bulk-actions/{id}/items',
    'POST /bulk-actions/{id}/cancel',
  ],
  /**
   * Recurring schedules of the caller's tenant (EventBridge Scheduler): the only API function that
   * may call Scheduler (and pass the role Scheduler invokes the run function with).
   */
  schedules: ['POST /schedules', 'GET /schedules', 'GET /schedules/{id}', 'POST /schedules/{id}/pause', 'POST /schedules/{id}/resume', 'DELETE /schedules/{id}'],
  /**
   * The task catalogue, health, the OpenAPI document and the problem+json 404 for every other path;
   * touches no AWS service.
   */
  catalogue: ['GET /tasks', 'GET /tasks/{task_id}', 'GET /health', 'GET /healthz', 'GET /openapi.json', '$default'],
} as const;

/** A route group (one Lambda function). */
export type RouteGroup = keyof typeof ROUTES;

/** A route key as API Gateway sets it in `event.routeKey`. */
export type RouteKey = (typeof ROUTES)[RouteGroup][number];

/**
 * Routes that exist only with API key auth: a stream token is what a browser sends instead of its
 * key, and with IAM auth there is no key to replace (nor an authorizer to read a token).
 */
export const API_KEY_ONLY_ROUTES: readonly RouteKey[] = ['POST /executions/{id}/stream-token'];

/**
 * Routes that answer without authentication: the health checks, the OpenAPI document (it describes
 * the API, no data), and resume links, whose token is their credential.
 */
export const PUBLIC_ROUTES: readonly RouteKey[] = ['GET /health', 'GET /healthz', 'GET /openapi.json', 'POST /callbacks/{token}'];

/**
 * The web dashboard's page: public (a browser loads a page without an Authorization header; the
 * page then calls the routes above with the key the user enters) and served by a function of its
 * own, which answers one constant HTML document and nothing else. Not a route group: it takes no
 * JSON, no tenant and no middleware.
 */
export const DASHBOARD_ROUTE = 'GET /dashboard';

/**
 * The per-key rate limit a route counts against (`lambdas/api/rate-limit.ts`), or undefined: the
 * create routes and replays count the executions they create (`create`), the read and events routes
 * one per request (`read`). Other routes count against none (API Gateway's throttling still applies).
 */
export function rateLimitClassOf(routeKey: RouteKey): 'create' | 'read' | undefined {
  if ((ROUTES.create as readonly RouteKey[]).includes(routeKey) || routeKey === 'POST /executions/{id}/replay' || routeKey === 'POST /executions/batch') return 'create';
  return ([...ROUTES.read, ...ROUTES.events] as readonly RouteKey[]).includes(routeKey) ? 'read' : undefined;
}
