import { checkPayload } from '../domain/payload-limits.js';
import { toExecutionView } from '../domain/views.js';
import { cancelExecution, resumeExecution, taskOf, type ControlDeps } from '../runtime/execution-control.js';
import { executionStore } from '../shared/stores.js';
import { createLogger } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { stepAt } from '../tasks/task-catalogue.js';
import { REGION, stateMachineArnResolver } from './context.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { bodyOf, cancelBody, changeStatusBody, resumeBody } from './bodies.js';
import { executionIdOf } from './queries.js';
import { validateWith } from './validation.js';

const repository = executionStore();
const logger = createLogger('executions-control');
const deps: ControlDeps = { repository, sfn, logger, stateMachineArn: stateMachineArnResolver() };
const TASKS = deployedTasks();

async function load(event: ApiEvent) {
  return repository.get(tenantOf(event), executionIdOf(param(event, 'id')));
}

async function resume(event: ApiEvent, input: unknown) {
  const record = await load(event);
  const task = taskOf(TASKS, record);
  const waiting = String(record.stepIndex);
  const schema = record.status === 'awaiting_input' && Object.hasOwn(task.resume, waiting) ? task.resume[waiting] : undefined;
  if (schema) validateWith(schema, input, '/input', `resume input of step ${stepAt(task, record.stepIndex)?.name ?? record.stepName}`);
  // The next step receives it, wrapped in its envelope.
  checkPayload(input, 'The resume input');
  const resumed = await resumeExecution(deps, record, task, input ?? null);
  logger.info('execution resumed', { execution_id: record.id });
  return json(200, toExecutionView(resumed, linksOf(event, REGION)));
}

async function cancel(event: ApiEvent, reason: string | null | undefined) {
  const record = await load(event);
  const cancelled = await cancelExecution(deps, record, reason ?? undefined);
  logger.info('execution cancelled', { execution_id: record.id });
  return json(200, toExecutionView(cancelled, linksOf(event, REGION)));
}

const routes: Record<string, Route> = {
  'PUT /executions/{id}': (event) => {
    const body = bodyOf(changeStatusBody, event.json);
    return body.status === 'running' ? resume(event, body.input) : cancel(event, body.reason);
  },
  'POST /executions/{id}/resume': (event) => resume(event, bodyOf(resumeBody, event.json).input),
  'POST /executions/{id}/cancel': (event) =>
    cancel(event, event.json === undefined ? undefined : bodyOf(cancelBody, event.json).reason),
};

/** Lambda entry of the resume and cancel routes. */
export const handler = httpHandler(routes, logger);
