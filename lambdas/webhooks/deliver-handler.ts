import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_RETRY_SECONDS } from '../domain/webhooks.js';
import { DUE_GRACE_SECONDS, WebhookStore } from '../repository/webhook-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { policyFromEnv, systemResolver } from './address.js';
import { deliverBatch, type DeliverDeps } from './deliver.js';
import { sendWebhook } from './send.js';
import { sqs } from './sqs.js';

/** `WEBHOOK_RETRY_SECONDS`: the waits between attempts, comma-separated (set by the construct). */
function retrySeconds(): number[] {
  const text = process.env.WEBHOOK_RETRY_SECONDS;
  if (!text) return [...DEFAULT_RETRY_SECONDS];
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 0)) throw new Error(`WEBHOOK_RETRY_SECONDS must list whole seconds, got ${text}`);
  return values;
}

const deps: DeliverDeps = {
  store: new WebhookStore(documentClient, { ...repositoryOptions, dueGraceSeconds: intEnv('WEBHOOK_DUE_GRACE_SECONDS', DUE_GRACE_SECONDS) }),
  sqs,
  queueUrl: requireEnv('WEBHOOK_QUEUE_URL'),
  deadLetterUrl: requireEnv('WEBHOOK_DEAD_LETTER_URL'),
  send: sendWebhook,
  resolver: systemResolver,
  policy: policyFromEnv(),
  retrySeconds: retrySeconds(),
  timeoutMs: intEnv('WEBHOOK_TIMEOUT_MS', 10_000),
  logger: createLogger('webhook-deliver'),
};

/** Lambda entry of the delivery queue (partial batch responses). */
export const handler = logged(() => ({}), async (event: SQSEvent): Promise<SQSBatchResponse> => deliverBatch(deps, event.Records));
