import type { DeliveryTarget } from '../repository/webhook-store.js';

/**
 * A message on the delivery queue: one event for one target. The body is made once, when the
 * event is dispatched, so every attempt (and a redelivery) sends the same bytes with the same
 * `webhook-id`; only `webhook-timestamp` and the signature are made per attempt.
 */
export interface WebhookMessage {
  /** The `webhook-id`. */
  readonly messageId: string;
  readonly type: string;
  readonly target: DeliveryTarget;
  /** The endpoint of an execution's own `webhook_url`; a subscription's is read at each attempt. */
  readonly url?: string;
  /** The secret of an execution's own `webhook_url` (the queue is encrypted, as the table is). */
  readonly secret?: string;
  /** A redelivery asked for through the API: one attempt, whose failure changes nothing else. */
  readonly redelivery?: boolean;
  readonly executionId?: string;
  /** The task of the execution whose event it is (for the delivery's log lines; absent in a redelivery). */
  readonly taskId?: string;
  /** The JSON body: `{ type, timestamp, data }`. */
  readonly payload: string;
}

/** The largest body a message carries whole: SQS takes 256 KB per message, with room for the rest. */
export const MAX_PAYLOAD_BYTES = 200 * 1024;

/** Bytes a body takes inside a queue message, where it is a JSON string (quotes and backslashes escaped). */
const queuedBytes = (body: string): number => Buffer.byteLength(JSON.stringify(body));

/**
 * The body of an event: `{ type, timestamp, data }`. When it would exceed {@link MAX_PAYLOAD_BYTES}
 * inside its queue message,
 * `data` goes without its `input` and `output` and says so (`truncated: true`): the receiver reads
 * them with `GET /executions/{id}`.
 */
export function eventPayload(type: string, timestamp: string, data: Readonly<Record<string, unknown>>): string {
  const whole = JSON.stringify({ type, timestamp, data });
  if (queuedBytes(whole) <= MAX_PAYLOAD_BYTES) return whole;
  const { input: _input, output: _output, ...rest } = data;
  return JSON.stringify({ type, timestamp, data: { ...rest, input: null, output: null, truncated: true } });
}

function isTarget(value: unknown): value is DeliveryTarget {
  if (!value || typeof value !== 'object') return false;
  const target = value as Record<string, unknown>;
  return (
    typeof target.tenant === 'string' &&
    ((target.kind === 'subscription' && typeof target.subscriptionId === 'string') ||
      (target.kind === 'execution' && typeof target.executionId === 'string'))
  );
}

/** A queue message's body read back, or undefined when it is not one this service wrote. */
export function parseMessage(body: string): WebhookMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const message = parsed as Record<string, unknown>;
  const valid =
    typeof message.messageId === 'string' &&
    typeof message.type === 'string' &&
    typeof message.payload === 'string' &&
    isTarget(message.target) &&
    (message.url === undefined || typeof message.url === 'string') &&
    (message.secret === undefined || typeof message.secret === 'string') &&
    (message.redelivery === undefined || typeof message.redelivery === 'boolean') &&
    (message.target.kind === 'subscription' || (typeof message.url === 'string' && typeof message.secret === 'string'));
  return valid ? (parsed as WebhookMessage) : undefined;
}
