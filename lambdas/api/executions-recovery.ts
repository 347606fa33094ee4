import { ValidationError } from '../domain/errors.js';
import { MAX_CREATE_INPUT_BYTES, checkCreateInput } from '../domain/payload-limits.js';
import { toExecutionView, type CreatedExecutionView } from '../domain/views.js';
import { replayExecution, retryExecution, type RecoveryDeps } from '../runtime/execution-recovery.js';
import { taskOf } from '../runtime/execution-control.js';
import { RecoveryStore } from '../repository/recovery-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { addLogKeys, createLogger } from '../shared/logger.js';
import { requireEnv } from '../shared/env.js';
import { PayloadStore } from '../shared/payload-store.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { s3 } from '../shared/s3.js';
import { sfn } from '../shared/sfn.js';
import { REGION, stateMachineArnResolver } from './context.js';
import { deployedTasks } from './deployed-tasks.js';
import { bodyOf, replayBody } from './bodies.js';
import { idempotencyKeyOf } from './headers.js';
import { httpHandler, json, limitedTenant, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { executionIdOf } from './queries.js';
import { rateLimit } from './rate-limit.js';
import { validateWith } from './validation.js';

const repository = new RecoveryStore(documentClient, repositoryOptions);
const logger = createLogger('executions-recovery');
const deps: RecoveryDeps = { repository, sfn, logger, stateMachineArn: stateMachineArnResolver() };
const TASKS = deployedTasks();
const payloads = new PayloadStore(s3, requireEnv('PAYLOAD_BUCKET'));

async function load(event: ApiEvent) {
  const record = await repository.get(tenantOf(event), executionIdOf(param(event, 'id')));
  addLogKeys({ task_id: record.taskId });
  return record;
}

/** `POST /executions/{id}/retry`: a failed execution resumes from the step that failed. No body. */
async function retry(event: ApiEvent) {
  // Fields a caller sends expecting them to matter (a new input) must not be dropped in silence.
  const body = event.json;
  if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0)) {
    throw new ValidationError('A retry takes no body: it runs the failed step again on its recorded input. Replay the execution to change its input.', [
      { path: '', message: 'must be empty' },
    ]);
  }
  const record = await load(event);
  // Its task must still be deployed: Step Functions redrives the same state machine.
  taskOf(TASKS, record);
  const retried = await retryExecution(deps, record);
  logger.info('execution retried', { execution_id: record.id, retry_count: retried.redriveCount });
  return json(200, toExecutionView(retried, linksOf(event, REGION)));
}

/** `POST /executions/{id}/replay`: a new execution of the same task and input (or the body's), linked by `replayed_from`. */
async function replay(event: ApiEvent) {
  let overrides = event.json === undefined ? {} : bodyOf(replayBody, event.json);
  // A replay creates an execution: it counts against the key's create limit, as a create does.
  await rateLimit(event, 'create');
  const record = await load(event);
  const task = taskOf(TASKS, record);
  if (Object.hasOwn(overrides, 'input')) {
    validateWith(task.input, overrides.input, '/input', `input of task ${task.id}`);
    checkCreateInput(overrides.input);
    // As a create's: over the offload threshold the new input goes to the payload bucket.
    overrides = { ...overrides, input: await payloads.offloadInput(overrides.input, record.tenant) };
  }
  const { record: started, replayed } = await replayExecution(deps, record, task, overrides, idempotencyKeyOf(event.headers), limitedTenant(event));
  const view: CreatedExecutionView = toExecutionView(started, linksOf(event, REGION));
  logger.info(replayed ? 'idempotent replay of a replay' : 'execution replayed', { execution_id: started.id, replayed_from: record.id });
  return json(replayed ? 200 : 201, view, { location: view.status_url });
}

const routes: Record<string, Route> = {
  'POST /executions/{id}/retry': retry,
  'POST /executions/{id}/replay': replay,
};

/** Lambda entry of the retry and replay routes. */
export const handler = httpHandler(routes, logger, { 'POST /executions/{id}/replay': MAX_CREATE_INPUT_BYTES + 64 * 1024 });
