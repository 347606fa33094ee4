import { SFNClient } from '@aws-sdk/client-sfn';
import { deployedTasks } from '../api/deployed-tasks.js';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BulkStore } from '../repository/bulk-store.js';
import { tenantLimited } from '../repository/tenant-limits.js';
import { RecoveryStore } from '../repository/recovery-store.js';
import { CLIENT_CONFIG } from '../shared/client-config.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, logged, withLogKeys } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { sqs } from '../webhooks/sqs.js';
import { bulkSender } from './bulk-queue.js';
import { parseBulkMessage, processBulkMessage, type BulkWorkerDeps } from './bulk-worker.js';

const logger = createLogger('bulk-worker');
const prefix = requireEnv('STATE_MACHINE_ARN_PREFIX');
// Its own Step Functions client: `adaptive` retries throttled StopExecution, RedriveExecution and
// StartExecution calls with backoff and slows the client's own rate, so a page (at most
// BULK_LIMITS.itemConcurrency calls at once) paces itself to the account's quotas.
const sfn = new SFNClient({ ...CLIENT_CONFIG, maxAttempts: 5, retryMode: 'adaptive' });


const deps: BulkWorkerDeps = {
  store: new BulkStore(documentClient, repositoryOptions),
  control: {
    repository: new RecoveryStore(documentClient, repositoryOptions),
    sfn,
    logger,
    stateMachineArn: (taskId) => `${prefix}${taskId}`,
    // The task catalogue's deployed tasks (TASK_IDS): retry and replay need them, as their routes do.
    tasks: deployedTasks(),
    limited: (tenant) => tenantLimited(documentClient, repositoryOptions.tableName, tenant),
  },
  send: bulkSender(sqs, requireEnv('BULK_QUEUE_URL')),
  logger,
  leaseMs: intEnv('BULK_LEASE_SECONDS', 120) * 1000,
};

/**
 * Lambda entry of the bulk queue: one page per message. A message that throws (a dependency
 * failed) is reported as a batch item failure, so the queue hands it back after its visibility
 * timeout; one this service did not write is dropped with a log line.
 */
export const handler = logged(() => ({}), async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const message = parseBulkMessage(record.body);
    if (!message) {
      logger.warn('bulk message dropped: not a message of this service', { message_id: record.messageId });
      continue;
    }
    try {
      const result = await withLogKeys({ bulk_id: message.jobId, tenant: message.tenant }, () => processBulkMessage(deps, message));
      logger.info('bulk page handled', { bulk_id: message.jobId, version: message.version, result });
    } catch (error) {
      logger.error('bulk page failed; the queue retries it', { bulk_id: message.jobId, error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
