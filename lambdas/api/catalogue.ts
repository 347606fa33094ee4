import encodedDocument from '#openapi-document';
import { NotFoundError } from '../domain/errors.js';
import { createLogger } from '../shared/logger.js';
import type { TaskView } from '../tasks/catalogue.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, linksOf, param, type Route } from './http.js';
import { decodeOpenApiTemplate, fillOpenApiTemplate } from './openapi-template.js';

const logger = createLogger('catalogue');
const TASKS = [...deployedTasks().values()];
/** The views were computed at synth (the task catalogue): serving them takes no task code. */
const VIEWS: ReadonlyMap<string, TaskView> = new Map(TASKS.map((task) => [task.id, task.view]));
/**
 * The OpenAPI document of the stack's tasks and auth, computed at synth (`#openapi-document`) with
 * sentinels for its servers, decompressed once per container.
 */
const TEMPLATE = decodeOpenApiTemplate(encodedDocument);
/** The streaming Function URL of the events (`EVENTS_STREAM_URL`, with API key auth only). */
const EVENTS_STREAM_URL = process.env.EVENTS_STREAM_URL?.replace(/\/+$/, '');

/** The document last served, and the base URL it was filled in for. */
let served: { readonly apiBaseUrl: string; readonly document: unknown } | undefined;

const health: Route = () => json(200, { status: 'ok' });

const routes: Record<string, Route> = {
  'GET /tasks': () => json(200, { items: [...VIEWS.values()], next_cursor: null }),
  'GET /tasks/{task_id}': (event) => {
    const id = param(event, 'task_id');
    const view = VIEWS.get(id);
    if (!view) throw new NotFoundError(`No task ${id.slice(0, 64)} exists. GET /tasks lists them.`);
    return json(200, view);
  },
  'GET /health': health,
  'GET /healthz': health,
  // Its server is the base URL the caller reached the API at, as every link the API answers.
  'GET /openapi.json': (event) => {
    const apiBaseUrl = linksOf(event, '').apiBaseUrl;
    // A container mostly answers callers of one base URL: the last document filled is kept for it.
    if (served?.apiBaseUrl !== apiBaseUrl) served = { apiBaseUrl, document: fillOpenApiTemplate(TEMPLATE, { apiBaseUrl, eventsStreamUrl: EVENTS_STREAM_URL || undefined }) };
    return json(200, served.document);
  },
};

/** Lambda entry of the catalogue, health, the OpenAPI document, and the problem+json 404 of unknown routes. */
export const handler = httpHandler(routes, logger);
