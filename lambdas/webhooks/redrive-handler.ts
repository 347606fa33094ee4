import { DUE_GRACE_SECONDS, WebhookStore } from '../repository/webhook-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { redriveDeliveries } from './redrive.js';
import { sqs } from './sqs.js';

const deps = {
  store: new WebhookStore(documentClient, { ...repositoryOptions, dueGraceSeconds: intEnv('WEBHOOK_DUE_GRACE_SECONDS', DUE_GRACE_SECONDS) }),
  sqs,
  queueUrl: requireEnv('WEBHOOK_QUEUE_URL'),
  logger: createLogger('webhook-redrive'),
};

/** Lambda entry of the redrive schedule. */
export const handler = logged(() => ({}), async (): Promise<{ requeued: number }> => ({ requeued: await redriveDeliveries(deps) }));
