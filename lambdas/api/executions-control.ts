import { callbackKey } from '../domain/callbacks.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { checkPayload } from '../domain/payload-limits.js';
import { toExecutionView, type CallbackResultView } from '../domain/views.js';
import {
  cancelExecution,
  deadLink,
  linkedWait,
  resumeByLink,
  resumeExecution,
  taskOf,
  type ControlDeps,
} from '../runtime/execution-control.js';
import { requireEnv } from '../shared/env.js';
import { PayloadStore } from '../shared/payload-store.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { s3 } from '../shared/s3.js';
import { callbackStore } from '../shared/stores.js';
import { addLogKeys, createLogger } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { stepAt, type CatalogueTask } from '../tasks/task-catalogue.js';
import { REGION, stateMachineArnResolver } from './context.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { bodyOf, cancelBody, changeStatusBody, resumeBody } from './bodies.js';
import { executionIdOf } from './queries.js';
import { validateWith } from './validation.js';

const repository = callbackStore();
const logger = createLogger('executions-control');
const deps: ControlDeps = { repository, sfn, logger, stateMachineArn: stateMachineArnResolver() };
const TASKS = deployedTasks();
const CALLBACK_KEY = callbackKey(repositoryOptions.cursorSecret);
const payloads = new PayloadStore(s3, requireEnv('PAYLOAD_BUCKET'));

async function load(event: ApiEvent) {
  const record = await repository.get(tenantOf(event), executionIdOf(param(event, 'id')));
  addLogKeys({ task_id: record.taskId });
  return record;
}

/** Checks a resume input against the schema of the wait the record is at, if it waits; `at` is where the input is in the body. */
function checkResumeInput(task: CatalogueTask, record: ExecutionRecord, input: unknown, at: string): void {
  const waiting = String(record.stepIndex);
  const schema = record.status === 'awaiting_input' && Object.hasOwn(task.resume, waiting) ? task.resume[waiting] : undefined;
  if (schema) validateWith(schema, input, at, `resume input of step ${stepAt(task, record.stepIndex)?.name ?? record.stepName}`);
  // The next step receives it, wrapped in its envelope.
  checkPayload(input, 'The resume input');
}

async function resume(event: ApiEvent, input: unknown) {
  const record = await load(event);
  const task = taskOf(TASKS, record);
  checkResumeInput(task, record, input, '/input');
  // Over the offload threshold the resume input goes to the payload bucket: the row and the next state carry its reference.
  const resumed = await resumeExecution(deps, record, task, await payloads.offloadInput(input ?? null, record.tenant));
  logger.info('execution resumed', { execution_id: record.id });
  return json(200, toExecutionView(resumed, linksOf(event, REGION)));
}

async function cancel(event: ApiEvent, reason: string | null | undefined) {
  const record = await load(event);
  const cancelled = await cancelExecution(deps, record, reason ?? undefined);
  logger.info('execution cancelled', { execution_id: record.id });
  return json(200, toExecutionView(cancelled, linksOf(event, REGION)));
}

/**
 * A resume link: no credentials, the token is the capability. The whole body is the resume input,
 * checked as `POST /executions/{id}/resume` checks `input`, but only once the link proved to lead
 * to a pending wait (a dead link learns nothing of any schema).
 */
async function callback(event: ApiEvent) {
  const waiting = await linkedWait(repository, CALLBACK_KEY, param(event, 'token'));
  const { record } = waiting;
  // The link's own path names nothing: the wait it leads to names the execution.
  addLogKeys({ execution_id: record.id, task_id: record.taskId, tenant: record.tenant });
  // A task no longer deployed cannot be resumed: a dead link, answered as every other one.
  const task = TASKS.get(record.taskId);
  if (!task) throw deadLink();
  checkResumeInput(task, record, event.json, '');
  const resumed = await resumeByLink(deps, waiting, task, await payloads.offloadInput(event.json ?? null, record.tenant));
  logger.info('execution resumed through its link', { execution_id: record.id });
  // What the link's holder may see: that it worked, and where. The execution itself is its tenant's.
  return json(200, { resumed: true, execution_id: resumed.id, step: { index: record.stepIndex, name: record.stepName } } satisfies CallbackResultView);
}

const routes: Record<string, Route> = {
  'PUT /executions/{id}': (event) => {
    const body = bodyOf(changeStatusBody, event.json);
    return body.status === 'running' ? resume(event, body.input) : cancel(event, body.reason);
  },
  'POST /executions/{id}/resume': (event) => resume(event, bodyOf(resumeBody, event.json).input),
  'POST /executions/{id}/cancel': (event) =>
    cancel(event, event.json === undefined ? undefined : bodyOf(cancelBody, event.json).reason),
  'POST /callbacks/{token}': callback,
};

/** Lambda entry of the resume and cancel routes. */
export const handler = httpHandler(routes, logger);
