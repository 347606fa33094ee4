import type { SQSClient } from '@aws-sdk/client-sqs';
import { ACTIVE_SHARDS } from '../repository/keys.js';
import type { WebhookStore } from '../repository/webhook-store.js';
import type { Logger } from '../shared/logger.js';
import { enqueue } from './dispatch.js';

/** What the redrive needs. */
export interface RedriveDeps {
  readonly store: Pick<WebhookStore, 'overdue' | 'findOverdue' | 'rearm'>;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** Overdue deliveries looked at per shard and run; the rest wait for the next run. */
export const REDRIVE_BATCH = 100;

/**
 * Queues again the messages of deliveries that are overdue: not settled, and not back from the
 * queue well after they were due (the queue lost them, or a local stack restarted and its
 * in-memory queue with it). Each is rearmed first with a conditional write, so of two runs only one
 * re-queues it; the delivery function drops a copy of a message delivered meanwhile. At least once:
 * a message that was only slow is attempted twice, with the same `webhook-id`.
 * @returns how many messages were queued again.
 */
export async function redriveDeliveries(deps: RedriveDeps): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  let requeued = 0;
  for (let shard = 0; shard < ACTIVE_SHARDS; shard++) {
    for (const key of await deps.store.overdue(shard, now, REDRIVE_BATCH)) {
      const delivery = await deps.store.findOverdue(key, now);
      if (!delivery || !(await deps.store.rearm(delivery, now))) continue;
      await enqueue(deps.sqs, deps.queueUrl, [delivery.message]);
      deps.logger.warn('overdue webhook message queued again', { webhook_id: delivery.message.messageId, status: delivery.status, due_at: delivery.dueAt });
      requeued++;
    }
  }
  return requeued;
}
