import { NotFoundError } from '../domain/errors.js';
import { callbackPath, callbackToken, callbackKey } from '../domain/callbacks.js';
import type { TransitionRecord } from '../domain/execution.js';
import { toExecutionView, toTransitionView, type TransitionView } from '../domain/views.js';
import { repository } from '../shared/dynamodb.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { createLogger } from '../shared/logger.js';
import { REGION, deployedTaskIds } from './context.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { executionIdOf, executionListParams, transitionListParams, transitionSeqOf } from './queries.js';

const logger = createLogger('executions-read');
const CALLBACK_KEY = callbackKey(repositoryOptions.cursorSecret);

/**
 * The view of a row, with the resume link of a `wait` row minted from its nonce: an absolute URL
 * on the base the caller reached the API at, as `status_url` (so the wait function needs no URL
 * of the API, which would tie the runtime to the API in the stack).
 */
function transitionView(event: ApiEvent, tenant: string): (row: TransitionRecord) => TransitionView {
  const base = linksOf(event, REGION).apiBaseUrl;
  return (row) => {
    const nonce = row.type === 'wait' ? row.callbackNonce : undefined;
    if (nonce === undefined || !row.step) return toTransitionView(row);
    const token = callbackToken(CALLBACK_KEY, { tenant, executionId: row.executionId, stepIndex: row.step.index, nonce });
    return toTransitionView(row, `${base}${callbackPath(token)}`);
  };
}
/** From the stack, not the task registry: importing the registry would bundle every schema. */
const TASK_IDS = deployedTaskIds();

const listExecutions: Route = async (event) => {
  const taskId = event.pathParameters?.task_id;
  if (taskId !== undefined && !TASK_IDS.has(taskId)) throw new NotFoundError(`No task ${taskId.slice(0, 64)} exists.`);
  const params = executionListParams(event.queryStringParameters, taskId);
  const page = await repository.list({ tenant: tenantOf(event), ...params });
  const links = linksOf(event, REGION);
  return json(200, { items: page.items.map((record) => toExecutionView(record, links)), next_cursor: page.nextCursor });
};

const routes: Record<string, Route> = {
  'GET /executions': listExecutions,
  'GET /tasks/{task_id}/executions': listExecutions,
  'GET /executions/{id}': async (event) => {
    const record = await repository.get(tenantOf(event), executionIdOf(param(event, 'id')));
    return json(200, toExecutionView(record, linksOf(event, REGION)));
  },
  'GET /executions/{id}/transitions': async (event) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    const params = transitionListParams(event.queryStringParameters);
    const page = await repository.listTransitions({ tenant, executionId, ...params });
    // An execution always has its init row, so an empty page (e.g. an offset past the end) is only
    // a 200 when the execution exists here; otherwise it is the 404 of an unknown id.
    if (page.items.length === 0) await repository.get(tenant, executionId);
    return json(200, { items: page.items.map(transitionView(event, tenant)), next_cursor: page.nextCursor });
  },
  'GET /executions/{id}/transitions/{transition_id}': async (event) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    const transitionId = param(event, 'transition_id');
    const row = await repository.findTransition(tenant, executionId, transitionSeqOf(transitionId));
    if (!row || row.id !== transitionId) throw new NotFoundError(`No transition ${transitionId} in execution ${executionId}.`);
    return json(200, transitionView(event, tenant)(row));
  },
};

/** Lambda entry of the read routes (read-only on the table). */
export const handler = httpHandler(routes, logger);
