import { createHash } from 'node:crypto';
import { BULK_JOB_ID_PATTERN, newBulkJobId, toBulkItemView, toBulkJobView } from '../domain/bulk.js';
import { canonicalJson } from '../domain/canonical-json.js';
import { NotFoundError } from '../domain/errors.js';
import { BulkStore, queuedJob } from '../repository/bulk-store.js';
import { bulkSender } from '../runtime/bulk-queue.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { sqs } from '../webhooks/sqs.js';
import { bodyOf, bulkActionBody } from './bodies.js';
import { deployedTaskIds } from './context.js';
import { idempotencyKeyOf } from './headers.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { bulkListParams } from './queries.js';

const logger = createLogger('bulk-actions');
const store = new BulkStore(documentClient, { ...repositoryOptions, concurrentJobs: intEnv('BULK_CONCURRENT_JOBS', 5) });
const send = bulkSender(sqs, requireEnv('BULK_QUEUE_URL'));
const BODY = bulkActionBody(deployedTaskIds());

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');
const baseOf = (event: ApiEvent): string => linksOf(event, '').apiBaseUrl;

function jobIdOf(event: ApiEvent): string {
  const id = param(event, 'id');
  // Not one of ours: no such job, as for another tenant's.
  if (!BULK_JOB_ID_PATTERN.test(id)) throw new NotFoundError(`No bulk action ${id.slice(0, 64)} exists.`);
  return id;
}

/**
 * Accepts a job (202): stored `queued` with its place in the tenant's count, then its first page
 * queued. A lost first message is not lost work: the sweep queues the page of a job left idle.
 */
async function createJob(event: ApiEvent) {
  const body = bodyOf(BODY, event.json);
  const tenant = tenantOf(event);
  const key = idempotencyKeyOf(event.headers);
  const nowMs = Date.now();
  const job = queuedJob({ tenant, id: newBulkJobId(nowMs), ...body }, new Date(nowMs).toISOString());
  const idempotency = key === undefined ? undefined : { keyHash: sha256(key), requestHash: sha256(canonicalJson(event.json)) };
  const created = await store.create(job, idempotency);
  if (!created.replayed) {
    try {
      await send({ tenant, jobId: job.id, version: job.version });
    } catch (error) {
      logger.error('first page of a bulk action not queued; the sweep will', { bulk_id: job.id, error });
    }
    logger.info('bulk action accepted', { bulk_id: job.id, action: job.action });
  }
  const view = toBulkJobView(created.job, baseOf(event));
  return json(created.replayed ? 200 : 202, view, { location: view.url });
}

const routes: Record<string, Route> = {
  'POST /bulk-actions': createJob,
  'GET /bulk-actions': async (event) => {
    const params = bulkListParams(event.queryStringParameters);
    const page = await store.list(tenantOf(event), params.limit, params.cursor);
    const base = baseOf(event);
    return json(200, { items: page.items.map((job) => toBulkJobView(job, base)), next_cursor: page.nextCursor });
  },
  'GET /bulk-actions/{id}': async (event) => json(200, toBulkJobView(await store.get(tenantOf(event), jobIdOf(event)), baseOf(event))),
  'GET /bulk-actions/{id}/items': async (event) => {
    const tenant = tenantOf(event);
    const id = jobIdOf(event);
    const params = bulkListParams(event.queryStringParameters);
    await store.get(tenant, id);
    const page = await store.listResults(tenant, id, params.limit, params.cursor);
    return json(200, { items: page.items.map(toBulkItemView), next_cursor: page.nextCursor });
  },
  'POST /bulk-actions/{id}/cancel': async (event) => {
    const job = await store.cancel(tenantOf(event), jobIdOf(event), new Date().toISOString());
    logger.info('bulk action cancelled', { bulk_id: job.id });
    return json(200, toBulkJobView(job, baseOf(event)));
  },
};

/** Lambda entry of the bulk action routes: accept, list, read, results, cancel. */
export const handler = httpHandler(routes, logger);
