import { startTimeOf } from '../domain/admission.js';
import { NotFoundError } from '../domain/errors.js';
import { MAX_CREATE_INPUT_BYTES, checkCreateInput } from '../domain/payload-limits.js';
import { toExecutionView, type CreatedExecutionView } from '../domain/views.js';
import { newWebhookSecret } from '../domain/webhooks.js';
import { checkWebhookUrl, policyFromEnv, systemResolver } from '../webhooks/address.js';
import { startExecution, type CreateDeps } from '../runtime/execution-control.js';
import { createStore } from '../shared/stores.js';
import { addLogKeys, createLogger } from '../shared/logger.js';
import { requireEnv } from '../shared/env.js';
import { PayloadStore } from '../shared/payload-store.js';
import { s3 } from '../shared/s3.js';
import { sfn } from '../shared/sfn.js';
import { REGION, stateMachineArnResolver } from './context.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, limitedTenant, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { bodyOf, createBody, createWithTaskBody, type CreateFields } from './bodies.js';
import { idempotencyKeyOf } from './headers.js';
import { rateLimit } from './rate-limit.js';
import { validateWith } from './validation.js';

const repository = createStore();
const logger = createLogger('executions-create');
const deps: CreateDeps = { repository, sfn, logger, stateMachineArn: stateMachineArnResolver() };
const TASKS = deployedTasks();
const POLICY = policyFromEnv();
const payloads = new PayloadStore(s3, requireEnv('PAYLOAD_BUCKET'));
/** A create's body: the largest input and room for the rest of the fields (metadata, tags, webhook). */
const MAX_CREATE_BODY_BYTES = MAX_CREATE_INPUT_BYTES + 64 * 1024;

async function create(event: ApiEvent, taskId: string, { input, metadata = {}, webhook_url, tags, priority, concurrency_key, start_at, delay_seconds }: CreateFields) {
  // Counted first: a create refused for its input still costs a call (and an idempotent replay is a call too).
  await rateLimit(event, 'create');
  const task = TASKS.get(taskId);
  if (!task) throw new NotFoundError(`No task ${taskId.slice(0, 64)} exists. GET /tasks lists them.`);
  // A valid input goes on exactly as sent (JSON Schema checks; it does not transform).
  validateWith(task.input, input, '/input', `input of task ${task.id}`);
  checkCreateInput(input);
  const webhookUrl = webhook_url === undefined ? undefined : await checkWebhookUrl(webhook_url, '/webhook_url', POLICY, systemResolver);
  const tenant = tenantOf(event);
  addLogKeys({ task_id: task.id });
  const { record, replayed } = await startExecution(deps, {
    tenant,
    task,
    // Over the offload threshold the input goes to the payload bucket; the record and the state machine carry its reference.
    input: await payloads.offloadInput(input, tenant),
    metadata,
    idempotencyKey: idempotencyKeyOf(event.headers),
    ...(webhookUrl ? { webhook: { url: webhookUrl, secret: newWebhookSecret() } } : {}),
    // Duplicate tags are folded: the first of each is kept, in order.
    tags: tags && [...new Set(tags)],
    priority,
    concurrencyKey: concurrency_key,
    startAt: startTimeOf(start_at, delay_seconds),
    // The authorizer tells whether the tenant has concurrency limits (then admission starts its work).
    limited: limitedTenant(event),
  });
  const view: CreatedExecutionView = {
    // An offloaded input shows as null without a link: the caller has just sent it (GET /executions/{id} links to it).
    ...toExecutionView(record, linksOf(event, REGION)),
    // Shown in the create response only (a replay of it too, from the stored record): what signs this execution's webhooks.
    ...(record.webhookSecret ? { webhook_secret: record.webhookSecret } : {}),
  };
  logger.info(replayed ? 'idempotent replay' : 'execution created', { execution_id: record.id });
  return json(replayed ? 200 : 201, view, { location: view.status_url });
}

const routes: Record<string, Route> = {
  'POST /tasks/{task_id}/executions': (event) => {
    const body = bodyOf(createBody, event.json);
    return create(event, param(event, 'task_id'), body);
  },
  'POST /executions': (event) => {
    const body = bodyOf(createWithTaskBody, event.json);
    return create(event, body.task_id, body);
  },
};

/** Lambda entry of the create routes. */
export const handler = httpHandler(routes, logger, { 'POST /tasks/{task_id}/executions': MAX_CREATE_BODY_BYTES, 'POST /executions': MAX_CREATE_BODY_BYTES });
