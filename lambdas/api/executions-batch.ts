import { TagStore } from '../repository/tag-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { createStore } from '../shared/stores.js';
import { createLogger } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { toExecutionView } from '../domain/views.js';
import { REGION, stateMachineArnResolver } from './context.js';
import { deployedTasks } from './deployed-tasks.js';
import { createBatch, failedBatch, type BatchDeps } from './batch.js';
import { httpHandler, json, limitedTenant, linksOf, param, tenantOf, type Route } from './http.js';
import { rateLimit } from './rate-limit.js';
import { batchBody, bodyOf, tagsBody } from './bodies.js';
import { idempotencyKeyOf } from './headers.js';
import { executionIdOf } from './queries.js';

/** API Gateway's payload limit for HTTP APIs: what a batch of 1,000 items may weigh in all (each item's input stays within a create's limits). */
export const MAX_BATCH_BODY_BYTES = 10 * 1024 * 1024;

const logger = createLogger('executions-batch');
const tags = new TagStore(documentClient, repositoryOptions);

const deps: Omit<BatchDeps, 'remainingMs'> = { repository: createStore(), sfn, logger, stateMachineArn: stateMachineArnResolver(), tasks: deployedTasks() };

const routes: Record<string, Route> = {
  'POST /executions/batch': async (event, context) => {
    const { items } = bodyOf(batchBody, event.json);
    const idempotencyKey = idempotencyKeyOf(event.headers);
    // A batch costs what its items would cost as single creates (a 429 before any is made).
    await rateLimit(event, 'create', items.length);
    const result = await createBatch(
      { ...deps, remainingMs: () => context.getRemainingTimeInMillis() },
      { tenant: tenantOf(event), items, links: linksOf(event, REGION), idempotencyKey, limited: limitedTenant(event) },
    );
    logger.info('batch created', { batch_id: result.batch_id, succeeded: result.succeeded, failed: result.failed });
    // 200: all succeeded; 207: some did; none: a problem (batchStatusOf).
    if (!result.succeeded) throw failedBatch(result);
    return json(result.failed ? 207 : 200, result);
  },
  'PUT /executions/{id}/tags': async (event) => {
    const id = executionIdOf(param(event, 'id'));
    const body = bodyOf(tagsBody, event.json);
    const record = await tags.setTags(tenantOf(event), id, body.tags);
    // The request's log keys name the execution.
    logger.info('tags set');
    return json(200, toExecutionView(record, linksOf(event, REGION)));
  },
};

/** Lambda entry of the batch create and tag edit routes (a batch's body may be 10 MB; a tag edit's, as every other body, 256 KB). */
export const handler = httpHandler(routes, logger, { 'POST /executions/batch': MAX_BATCH_BODY_BYTES });
