import type { DynamoDBStreamEvent } from 'aws-lambda';
import { REGION } from '../api/context.js';
import { DUE_GRACE_SECONDS, WebhookStore } from '../repository/webhook-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { dispatchChanges } from './dispatch.js';
import { sqs } from './sqs.js';

const deps = {
  store: new WebhookStore(documentClient, { ...repositoryOptions, dueGraceSeconds: intEnv('WEBHOOK_DUE_GRACE_SECONDS', DUE_GRACE_SECONDS) }),
  sqs,
  queueUrl: requireEnv('WEBHOOK_QUEUE_URL'),
  links: { apiBaseUrl: requireEnv('API_BASE_URL'), region: REGION },
  logger: createLogger('webhook-dispatch'),
};

/** Lambda entry of the table's stream (execution records' status changes only, by the mapping's filters). */
export const handler = logged(
  () => ({}),
  async (event: DynamoDBStreamEvent): Promise<void> => {
    await dispatchChanges(deps, event.Records);
  },
);
