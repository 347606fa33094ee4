import { BulkStore } from '../repository/bulk-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { sqs } from '../webhooks/sqs.js';
import { bulkSender } from './bulk-queue.js';
import { sweepBulkJobs, type BulkSweepDeps } from './bulk-worker.js';

const logger = createLogger('bulk-sweep');
const deps: BulkSweepDeps = {
  store: new BulkStore(documentClient, repositoryOptions),
  send: bulkSender(sqs, requireEnv('BULK_QUEUE_URL')),
  logger,
  stallMs: intEnv('BULK_STALL_SECONDS', 180) * 1000,
};

/** Lambda entry of the sweep's schedule: queues again the next page of stalled bulk actions. */
export const handler = logged(() => ({}), async (): Promise<{ queued: number }> => ({ queued: await sweepBulkJobs(deps) }));
