import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../domain/errors.js';
import type { DeliveryView, TestDeliveryView, WebhookView } from '../domain/views.js';
import { newExecutionId } from '../domain/ids.js';
import { DELIVERY_ID_PATTERN, TEST_EVENT_TYPE, WEBHOOK_ID_PATTERN, newWebhookSecret } from '../domain/webhooks.js';
import { DUE_GRACE_SECONDS, WebhookStore, type Delivery, type SubscriptionTarget, type WebhookSubscription } from '../repository/webhook-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { intEnv, requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { checkWebhookUrl, policyFromEnv, systemResolver } from '../webhooks/address.js';
import { enqueue, planAndEnqueue } from '../webhooks/dispatch.js';
import { eventPayload, type WebhookMessage } from '../webhooks/message.js';
import { sqs } from '../webhooks/sqs.js';
import { bodyOf, subscriptionBody } from './bodies.js';
import { deployedTaskIds } from './context.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { deliveryListParams } from './queries.js';

const store = new WebhookStore(documentClient, { ...repositoryOptions, dueGraceSeconds: intEnv('WEBHOOK_DUE_GRACE_SECONDS', DUE_GRACE_SECONDS) });
const logger = createLogger('webhooks');
const QUEUE_URL = requireEnv('WEBHOOK_QUEUE_URL');
const POLICY = policyFromEnv();
const SUBSCRIPTION_BODY = subscriptionBody(deployedTaskIds());

function subscriptionIdOf(event: ApiEvent): string {
  const id = param(event, 'id');
  if (!WEBHOOK_ID_PATTERN.test(id)) throw new NotFoundError(`No webhook ${id.slice(0, 64)} exists.`);
  return id;
}

/** A subscription as the API shows it: never its secrets, unless `secret` is given (create and rotation). */
function subscriptionView(event: ApiEvent, subscription: WebhookSubscription, secret?: string): WebhookView {
  const base = linksOf(event, '').apiBaseUrl;
  return {
    id: subscription.id,
    url: subscription.url,
    events: subscription.events,
    task_id: subscription.taskId ?? null,
    description: subscription.description ?? null,
    status: subscription.status,
    failing_since: subscription.failingSince ?? null,
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
    deliveries_url: `${base}/webhooks/${subscription.id}/deliveries`,
    ...(secret ? { secret } : {}),
  };
}

function deliveryView(delivery: Delivery, withPayload = false): DeliveryView {
  return {
    id: delivery.messageId,
    type: delivery.type,
    execution_id: delivery.executionId ?? null,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    attempts: delivery.attempts.map((attempt) => ({
      at: attempt.at,
      status_code: attempt.statusCode ?? null,
      error: attempt.error ?? null,
      duration_ms: attempt.durationMs,
    })),
    next_attempt_at: delivery.nextAttemptAt ?? null,
    created_at: delivery.createdAt,
    updated_at: delivery.updatedAt,
    ...(withPayload ? { payload: JSON.parse(delivery.payload) as unknown } : {}),
  };
}

function targetOf(event: ApiEvent): SubscriptionTarget {
  return { kind: 'subscription', tenant: tenantOf(event), subscriptionId: subscriptionIdOf(event) };
}

function messageIdOf(event: ApiEvent): string {
  const id = param(event, 'delivery_id');
  if (!DELIVERY_ID_PATTERN.test(id)) throw new NotFoundError(`No delivery ${id.slice(0, 100)} exists.`);
  return id;
}

async function createSubscription(event: ApiEvent) {
  const body = bodyOf(SUBSCRIPTION_BODY, event.json);
  const url = await checkWebhookUrl(body.url, '/url', POLICY, systemResolver);
  const now = new Date().toISOString();
  const subscription: WebhookSubscription = {
    id: `wh_${randomUUID().replaceAll('-', '')}`,
    tenant: tenantOf(event),
    url,
    events: body.events,
    ...(body.taskId ? { taskId: body.taskId } : {}),
    ...(body.description ? { description: body.description } : {}),
    status: 'enabled',
    secret: newWebhookSecret(),
    createdAt: now,
    updatedAt: now,
  };
  await store.create(subscription);
  logger.info('webhook created', { webhook_id: subscription.id });
  const view = subscriptionView(event, subscription, subscription.secret);
  return json(201, view, { location: `${linksOf(event, '').apiBaseUrl}/webhooks/${subscription.id}` });
}

async function sendTest(event: ApiEvent) {
  const target = targetOf(event);
  await store.get(target.tenant, target.subscriptionId);
  // Sorted among executions' events by time: an execution id is a UUIDv7 of now.
  const messageId = `msg_${newExecutionId()}_test`;
  const message: WebhookMessage = {
    messageId,
    type: TEST_EVENT_TYPE,
    target,
    payload: eventPayload(TEST_EVENT_TYPE, new Date().toISOString(), { webhook_id: target.subscriptionId }),
  };
  await planAndEnqueue(store, sqs, QUEUE_URL, [message]);
  return json(202, { delivery_id: messageId, status: 'pending' } satisfies TestDeliveryView);
}

async function redeliver(event: ApiEvent) {
  const target = targetOf(event);
  await store.get(target.tenant, target.subscriptionId);
  const { previousStatus, ...delivery } = await store.reopen(target, messageIdOf(event), new Date());
  try {
    await enqueue(sqs, QUEUE_URL, [
      {
        messageId: delivery.messageId,
        type: delivery.type,
        target,
        ...(delivery.executionId ? { executionId: delivery.executionId } : {}),
        payload: delivery.payload,
        redelivery: true,
      },
    ]);
  } catch (error) {
    // Not queued: put the delivery back as it was, so a later redeliver is not refused as "under way".
    await store.restore(target, delivery.messageId, previousStatus, new Date());
    throw error;
  }
  logger.info('redelivery queued', { webhook_id: target.subscriptionId, delivery_id: delivery.messageId });
  return json(202, deliveryView(delivery));
}

const routes: Record<string, Route> = {
  'POST /webhooks': createSubscription,
  'GET /webhooks': async (event) => {
    const subscriptions = await store.list(tenantOf(event));
    return json(200, { items: subscriptions.map((subscription) => subscriptionView(event, subscription)) });
  },
  'GET /webhooks/{id}': async (event) => json(200, subscriptionView(event, await store.get(tenantOf(event), subscriptionIdOf(event)))),
  'DELETE /webhooks/{id}': async (event) => {
    await store.delete(tenantOf(event), subscriptionIdOf(event));
    return { status: 204 };
  },
  'POST /webhooks/{id}/rotate-secret': async (event) => {
    const secret = newWebhookSecret();
    const rotated = await store.rotateSecret(tenantOf(event), subscriptionIdOf(event), secret, new Date());
    return json(200, subscriptionView(event, rotated, secret));
  },
  'POST /webhooks/{id}/test': sendTest,
  'GET /webhooks/{id}/deliveries': async (event) => {
    const target = targetOf(event);
    const params = deliveryListParams(event.queryStringParameters);
    await store.get(target.tenant, target.subscriptionId);
    const page = await store.listDeliveries(target, params.limit, params.cursor);
    return json(200, { items: page.items.map((delivery) => deliveryView(delivery)), next_cursor: page.nextCursor ?? null });
  },
  'GET /webhooks/{id}/deliveries/{delivery_id}': async (event) => {
    const delivery = await store.findDelivery(targetOf(event), messageIdOf(event));
    if (!delivery) throw new NotFoundError('No such delivery.');
    return json(200, deliveryView(delivery, true));
  },
  'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver': redeliver,
};

/** Lambda entry of the webhook routes: subscriptions, their deliveries, redelivery and test pings. */
export const handler = httpHandler(routes, logger);
