import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ExecutionRecord } from '../domain/execution.js';
import type { ExecutionStatus } from '../domain/status.js';
import { toExecutionView, type ViewLinks } from '../domain/views.js';
import { eventTypeOf, executionMessageId, type WebhookEventType } from '../domain/webhooks.js';
import { META_SK } from '../repository/keys.js';
import { fromItem } from '../repository/items.js';
import type { WebhookStore, WebhookSubscription } from '../repository/webhook-store.js';
import type { Logger } from '../shared/logger.js';
import { eventPayload, type WebhookMessage } from './message.js';

/** What dispatching needs. */
export interface DispatchDeps {
  readonly store: Pick<WebhookStore, 'list' | 'plan'>;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly links: ViewLinks;
  readonly logger: Logger;
}

/** SQS takes at most 10 messages and 256 KB per batch. */
const BATCH_MESSAGES = 10;
const BATCH_BYTES = 240 * 1024;

type Image = Record<string, AttributeValue>;

/** The event a stream record of an execution record is, with the record after the change. */
function eventOf(record: DynamoDBRecord): { type: WebhookEventType; execution: ExecutionRecord } | undefined {
  const image = record.dynamodb?.NewImage as Image | undefined;
  if (record.eventName === 'REMOVE' || !image) return undefined;
  const after = unmarshall(image);
  if (after.sk !== META_SK) return undefined;
  const before = record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage as Image) : undefined;
  const type = eventTypeOf(before?.status as ExecutionStatus | undefined, after.status as ExecutionStatus);
  return type ? { type, execution: fromItem(after) } : undefined;
}

/** The messages of one event: one per subscription that wants it, and one to the execution's own `webhook_url`. */
function messagesOf(type: WebhookEventType, execution: ExecutionRecord, subscriptions: readonly WebhookSubscription[], links: ViewLinks): WebhookMessage[] {
  const messageId = executionMessageId(execution.id, execution.transitionCount);
  const payload = eventPayload(type, execution.updatedAt, toExecutionView(execution, links) as unknown as Record<string, unknown>);
  const common = { messageId, type, executionId: execution.id, taskId: execution.taskId, payload };
  const messages: WebhookMessage[] = subscriptions
    .filter((subscription) => subscription.events.includes(type) && (subscription.taskId === undefined || subscription.taskId === execution.taskId))
    .map((subscription) => ({ ...common, target: { kind: 'subscription', tenant: execution.tenant, subscriptionId: subscription.id } }));
  if (execution.webhookUrl && execution.webhookSecret) {
    messages.push({ ...common, url: execution.webhookUrl, secret: execution.webhookSecret, target: { kind: 'execution', tenant: execution.tenant, executionId: execution.id } });
  }
  return messages;
}

/**
 * Records each message's delivery (so a message the queue loses is queued again by the redrive),
 * then queues them.
 */
export async function planAndEnqueue(
  store: Pick<WebhookStore, 'plan'>,
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly WebhookMessage[],
  now: Date = new Date(),
): Promise<void> {
  // Ten at a time: a batch of 100 changes to 20 endpoints is 2,000 writes, too many one by one.
  for (let start = 0; start < messages.length; start += BATCH_MESSAGES) {
    const chunk = messages.slice(start, start + BATCH_MESSAGES);
    await Promise.all(chunk.map((message) => store.plan(message, now)));
    await enqueue(sqs, queueUrl, chunk);
  }
}

/** Sends messages in as few batches as SQS allows. @throws when any message was not accepted. */
export async function enqueue(sqs: SQSClient, queueUrl: string, messages: readonly WebhookMessage[]): Promise<void> {
  const bodies = messages.map((message) => JSON.stringify(message));
  let batch: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const entries = batch.map((body, index) => ({ Id: String(index), MessageBody: body }));
    batch = [];
    bytes = 0;
    const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if ((result.Failed ?? []).length > 0) {
      throw new Error(`SQS refused ${result.Failed!.length} webhook messages: ${result.Failed!.map((failed) => failed.Code).join(', ')}`);
    }
  };
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (batch.length === BATCH_MESSAGES || bytes + size > BATCH_BYTES) await flush();
    batch.push(body);
    bytes += size;
  }
  await flush();
}

/**
 * Turns a batch of table changes into webhook messages: each status change of an execution record
 * that is an event ({@link eventTypeOf}) goes to the tenant's subscriptions that want it and to the
 * execution's own `webhook_url`. A failure throws: the stream hands the batch again (its messages
 * carry the same `webhook-id`s, and a delivered one is never sent twice).
 */
export async function dispatchChanges(deps: DispatchDeps, records: readonly DynamoDBRecord[]): Promise<number> {
  const subscriptions = new Map<string, Promise<WebhookSubscription[]>>();
  const messages: WebhookMessage[] = [];
  for (const record of records) {
    const event = eventOf(record);
    if (!event) continue;
    const { tenant } = event.execution;
    if (!subscriptions.has(tenant)) subscriptions.set(tenant, deps.store.list(tenant));
    messages.push(...messagesOf(event.type, event.execution, await subscriptions.get(tenant)!, deps.links));
  }
  await planAndEnqueue(deps.store, deps.sqs, deps.queueUrl, messages);
  if (messages.length > 0) deps.logger.info('webhook messages queued', { messages: messages.length });
  return messages.length;
}
