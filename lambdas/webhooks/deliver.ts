import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { retryDelaySeconds, webhookSignature, type WebhookUrlPolicy } from '../domain/webhooks.js';
import { MAX_DELIVERY_ATTEMPTS, type AttemptOutcome, type DeliveryAttempt, type WebhookStore } from '../repository/webhook-store.js';
import { addLogKeys, withLogKeys, type Logger } from '../shared/logger.js';
import { AddressRefusedError, resolveEndpoint, type Resolver } from './address.js';
import { parseMessage, type WebhookMessage } from './message.js';
import type { SendRequest, SendResult } from './send.js';

/** What delivering needs. */
export interface DeliverDeps {
  readonly store: WebhookStore;
  readonly sqs: SQSClient;
  /** The delivery queue (its messages' visibility is where the next attempt is scheduled). */
  readonly queueUrl: string;
  /** Where a message goes once its last attempt failed. */
  readonly deadLetterUrl: string;
  readonly send: (request: SendRequest) => Promise<SendResult>;
  readonly resolver: Resolver;
  readonly policy: WebhookUrlPolicy;
  /** Seconds between attempts, after the first ({@link retryDelaySeconds}). */
  readonly retrySeconds: readonly number[];
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** Where a message goes this attempt and what signs it, or why it goes nowhere. */
async function endpointOf(deps: DeliverDeps, message: WebhookMessage, now: Date): Promise<{ url: string; secrets: string[] } | undefined> {
  const { target } = message;
  if (target.kind === 'execution') {
    return { url: message.url!, secrets: [message.secret!] };
  }
  const subscription = await deps.store.find(target.tenant, target.subscriptionId);
  if (!subscription) return undefined;
  const overlap = subscription.previousSecret !== undefined && (subscription.previousSecretUntil ?? 0) > now.getTime() / 1000;
  return { url: subscription.url, secrets: overlap ? [subscription.secret, subscription.previousSecret!] : [subscription.secret] };
}

async function attempt(deps: DeliverDeps, url: string, secrets: readonly string[], message: WebhookMessage, now: Date): Promise<SendResult> {
  let endpoint;
  try {
    endpoint = await resolveEndpoint(url, deps.policy, deps.resolver, deps.timeoutMs);
  } catch (error) {
    if (!(error instanceof AddressRefusedError)) throw error;
    if (error.addresses.length > 0) deps.logger.warn('webhook address refused', { webhook_id: message.messageId, addresses: error.addresses });
    return { error: error.message, durationMs: 0 };
  }
  const timestamp = Math.floor(now.getTime() / 1000);
  return deps.send({
    url: endpoint.url,
    address: endpoint.address,
    body: message.payload,
    timeoutMs: deps.timeoutMs,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'async-executions-webhooks/1',
      'webhook-id': message.messageId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(secrets, message.messageId, timestamp, message.payload),
    },
  });
}

/**
 * One message: an attempt at its endpoint, recorded in its delivery item. Returns true when the
 * message is done with (delivered, given up to the dead-letter queue, or nothing to do) and false
 * when it must come back: its visibility is then set to the wait before the next attempt.
 */
async function deliverOne(deps: DeliverDeps, record: SQSRecord): Promise<boolean> {
  const now = (deps.now ?? (() => new Date()))();
  const message = parseMessage(record.body);
  const logger = deps.logger.child({ sqs_message_id: record.messageId });
  if (!message) {
    logger.error('not a webhook message; moved to the dead-letter queue');
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.deadLetterUrl, MessageBody: record.body }));
    return true;
  }
  addLogKeys({ execution_id: message.executionId, task_id: message.taskId, tenant: message.target.tenant });
  const log = logger.child({ webhook_id: message.messageId, type: message.type, target: message.target });
  const endpoint = await endpointOf(deps, message, now);
  if (!endpoint) {
    // Settled, so the redrive does not queue it again for as long as the item lives.
    await deps.store.abandon(message.target, message.messageId, now);
    log.info('the webhook was deleted; message dropped');
    return true;
  }
  const number = await deps.store.beginAttempt(message.target, message, now);
  if (number === undefined) {
    const delivery = await deps.store.findDelivery(message.target, message.messageId);
    if (delivery && delivery.attemptCount >= MAX_DELIVERY_ATTEMPTS && delivery.status !== 'delivered') {
      await deps.store.abandon(message.target, message.messageId, now);
    }
    log.info('a copy of a message that is settled, being attempted, not due yet or out of attempts; dropped', { status: delivery?.status });
    return true;
  }
  const result = await attempt(deps, endpoint.url, endpoint.secrets, message, now);
  const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;
  const outcome: DeliveryAttempt = {
    at: now.toISOString(),
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(result.error !== undefined ? { error: result.error.slice(0, 300) } : {}),
    durationMs: result.durationMs,
  };
  const subscription = message.target.kind === 'subscription' ? message.target : undefined;
  const end = async (result: AttemptOutcome): Promise<boolean> => {
    const ended = await deps.store.endAttempt(message.target, message.messageId, number, outcome, result);
    // Another copy took over after this attempt was thought dead: its outcome stands, not this one.
    if (!ended) log.warn('attempt superseded by another copy; its outcome is not recorded', { attempt: number, ...outcome });
    return ended;
  };
  if (ok) {
    if ((await end({ status: 'delivered' })) && subscription) await deps.store.setHealth(subscription.tenant, subscription.subscriptionId, false, now);
    log.info('delivered', { attempt: number, status_code: result.statusCode, duration_ms: result.durationMs });
    return true;
  }
  if (message.redelivery) {
    // A redelivery asked for through the API is one attempt: its failure is shown, nothing more.
    await end({ status: 'failed' });
    log.info('redelivery failed', { attempt: number, ...outcome });
    return true;
  }
  const delay = retryDelaySeconds(number, deps.retrySeconds, deps.random);
  if (delay === undefined) {
    // Its secret stays out of the dead-letter queue: the record holds it.
    const { secret: _secret, ...kept } = message;
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.deadLetterUrl, MessageBody: JSON.stringify({ ...kept, attempts: number, lastAttempt: outcome }) }));
    if ((await end({ status: 'failed' })) && subscription) await deps.store.setHealth(subscription.tenant, subscription.subscriptionId, true, now);
    log.warn('last attempt failed; moved to the dead-letter queue', { attempt: number, ...outcome });
    return true;
  }
  const nextAttemptAt = new Date(now.getTime() + delay * 1000).toISOString();
  if (!(await end({ status: 'retrying', nextAttemptAt }))) return true;
  await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delay }));
  log.info('attempt failed; retrying', { attempt: number, retry_in_seconds: delay, ...outcome });
  return false;
}

/**
 * Delivers a batch of queued messages, each on its own: the batch response names those that must
 * come back (a failed attempt with attempts left, or a fault of this function), so one bad endpoint
 * never holds up the others.
 */
export async function deliverBatch(deps: DeliverDeps, records: readonly SQSRecord[]): Promise<SQSBatchResponse> {
  const results = await Promise.all(
    records.map(async (record) => {
      try {
        // Its own keys: the batch's messages are delivered at once, each for its own execution.
        return await withLogKeys({}, () => deliverOne(deps, record));
      } catch (error) {
        // Back after the queue's visibility timeout; the delivery item counts the attempt.
        deps.logger.error('delivery failed in this function', { sqs_message_id: record.messageId, error });
        return false;
      }
    }),
  );
  return { batchItemFailures: records.filter((_, index) => !results[index]).map((record) => ({ itemIdentifier: record.messageId })) };
}
