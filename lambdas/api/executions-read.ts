import { NotFoundError } from '../domain/errors.js';
import { toExecutionView, toTransitionView } from '../domain/views.js';
import { repository } from '../shared/dynamodb.js';
import { createLogger } from '../shared/logger.js';
import { REGION, deployedTaskIds } from './context.js';
import { httpHandler, json, linksOf, param, tenantOf, type Route } from './http.js';
import { executionIdOf, executionListParams, transitionListParams, transitionSeqOf } from './queries.js';

const logger = createLogger('executions-read');
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
    return json(200, { items: page.items.map(toTransitionView), next_cursor: page.nextCursor });
  },
  'GET /executions/{id}/transitions/{transition_id}': async (event) => {
    const executionId = executionIdOf(param(event, 'id'));
    const transitionId = param(event, 'transition_id');
    const row = await repository.findTransition(tenantOf(event), executionId, transitionSeqOf(transitionId));
    if (!row || row.id !== transitionId) throw new NotFoundError(`No transition ${transitionId} in execution ${executionId}.`);
    return json(200, toTransitionView(row));
  },
};

/** Lambda entry of the read routes (read-only on the table). */
export const handler = httpHandler(routes, logger);
