import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { compileFilters, type EventMatcher } from './event-filter.js';
import type { LocalSqsEventSourceMapping } from './template.js';

/** Invokes a function by ARN, as `LambdaHost.invoke` does: resolves with its result, rejects with its error. */
export interface Invoker {
  invoke(arn: string, event: unknown): Promise<unknown>;
}

/** Options of {@link SqsPoller}. */
export interface SqsPollerOptions {
  readonly client: SQSClient;
  readonly invoker: Invoker;
  readonly region: string;
  readonly log?: (message: string) => void;
  /**
   * How many pollers receive from the queue at once, each with a batch of its own in flight
   * (Lambda starts with 5 and scales; a handful gives a local function some concurrency).
   * @default 2
   */
  readonly concurrency?: number;
  /**
   * How long one empty long poll waits, in seconds: also how long a stop may wait for a poll in
   * progress (it is let finish, so no message is received by a poller that is gone).
   * @default 1
   */
  readonly waitSeconds?: number;
}

/** SQS's most messages in one `ReceiveMessage` or `DeleteMessageBatch`. */
const SQS_MAX_BATCH = 10;
/** Between two short polls that top up a batch within its batching window. */
const TOP_UP_PAUSE_MS = 100;

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** A message attribute as Lambda's SQS event carries it (binary values in base64). */
function lambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

/** The record Lambda gives a function for one SQS message. */
export function sqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, lambdaAttribute(value)]));
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * What a filter sees of an SQS record: Lambda filters on the body as JSON when it is JSON, and as
 * a plain string otherwise.
 */
function filterView(record: SQSRecord): unknown {
  try {
    const body = JSON.parse(record.body) as unknown;
    if (typeof body === 'object' && body !== null) return { ...record, body };
  } catch {
    // A plain string body.
  }
  return record;
}

/**
 * The message ids a function reported failed (`ReportBatchItemFailures`), or undefined when the
 * response is invalid, which Lambda treats as the whole batch failing: an item without an
 * `itemIdentifier`, an empty one, or one that names no message of the batch. A null or empty
 * response, or one without `batchItemFailures`, means every message succeeded.
 */
export function reportedFailures(response: unknown, messageIds: readonly string[]): Set<string> | undefined {
  if (response === null || response === undefined || response === '') return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return undefined;
  const ids = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '' || !messageIds.includes(id)) return undefined;
    ids.add(id);
  }
  return ids;
}

/**
 * Runs an SQS event source mapping as Lambda does: a few pollers long-poll the queue, each hands
 * its batch (up to `BatchSize` messages, gathered within `MaximumBatchingWindowInSeconds`) to the
 * function in Lambda's SQS event, and deletes the messages that succeeded: all of them when the
 * function returns, all but those it reports failed with `ReportBatchItemFailures`, none when it
 * throws (each comes back after the queue's visibility timeout, and the queue's redrive policy
 * moves it to its dead-letter queue in the end). Messages no filter matches are deleted unseen.
 */
export class SqsPoller {
  private readonly abort = new AbortController();
  private readonly loops: Array<Promise<void>> = [];
  private readonly matches: EventMatcher;
  private readonly log: (message: string) => void;

  constructor(
    readonly mapping: LocalSqsEventSourceMapping,
    private readonly options: SqsPollerOptions,
  ) {
    this.matches = compileFilters(mapping.filters, `EventSourceMapping ${mapping.logicalId}`);
    this.log = options.log ?? (() => undefined);
  }

  /** Starts the pollers. */
  start(): void {
    for (let index = 0; index < (this.options.concurrency ?? 2); index++) this.loops.push(this.poll());
  }

  /**
   * Stops polling: a poll in progress is let finish (at most `waitSeconds`), and a batch it
   * received or that is in flight is handed to the function and settled before this resolves.
   */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops.splice(0));
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      try {
        const messages = await this.receiveBatch();
        if (messages.length > 0) await this.deliver(messages);
      } catch (error) {
        if (this.stopping) break;
        this.log(`event source mapping ${this.mapping.logicalId}: polling ${this.mapping.queue.name} failed (${errorText(error)}); retrying in 1 s`);
        await this.pause(1000);
      }
    }
  }

  /** Sleeps `ms` unless the poller stops first. */
  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch (error) {
      if (!isAbort(error)) throw error;
    }
  }

  private receive(max: number, waitSeconds: number): Promise<Message[]> {
    return this.options.client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: this.mapping.queue.url,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitSeconds,
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
      .then((output) => output.Messages ?? []);
  }

  /**
   * One batch: a long poll for the first message (one at a time: `local-aws-sqs` answers a long
   * poll only when it is full or its wait is over, where SQS answers as soon as it has messages),
   * then short polls for more until the batch is full or its batching window is over.
   */
  private async receiveBatch(): Promise<Message[]> {
    const batch = await this.receive(1, this.options.waitSeconds ?? 1);
    if (batch.length === 0) return batch;
    const { batchSize, maximumBatchingWindowSeconds } = this.mapping;
    const deadline = Date.now() + maximumBatchingWindowSeconds * 1000;
    while (batch.length < batchSize) {
      const more = await this.receive(Math.min(SQS_MAX_BATCH, batchSize - batch.length), 0);
      batch.push(...more);
      if (Date.now() >= deadline || this.stopping) break;
      if (more.length === 0) await sleep(Math.min(TOP_UP_PAUSE_MS, deadline - Date.now()));
    }
    return batch;
  }

  private async deliver(messages: Message[]): Promise<void> {
    const { mapping, options } = this;
    const all = messages.map((message) => sqsRecord(message, mapping.queue.arn, options.region));
    const records = all.filter((record) => this.matches(filterView(record)));
    // Lambda deletes what no filter matches: the function never sees it.
    const done = all.filter((record) => !records.includes(record));
    if (records.length > 0) {
      const event: SQSEvent = { Records: records };
      try {
        const response = await options.invoker.invoke(mapping.functionArn, event);
        if (mapping.reportBatchItemFailures) {
          const failed = reportedFailures(response, records.map((record) => record.messageId));
          if (failed === undefined) {
            this.log(`event source mapping ${mapping.logicalId}: ${mapping.functionArn} returned an invalid batchItemFailures response; the whole batch failed`);
          } else {
            done.push(...records.filter((record) => !failed.has(record.messageId)));
          }
        } else {
          done.push(...records);
        }
      } catch (error) {
        this.log(
          `event source mapping ${mapping.logicalId}: ${mapping.functionArn} failed on ${records.length} message(s) (${errorText(error)}); they return after the visibility timeout`,
        );
      }
    }
    await this.delete(done);
  }

  private async delete(records: readonly SQSRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += SQS_MAX_BATCH) {
      const chunk = records.slice(start, start + SQS_MAX_BATCH);
      const { Failed } = await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.mapping.queue.url,
          Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      for (const failure of Failed ?? []) {
        this.log(`event source mapping ${this.mapping.logicalId}: could not delete a message from ${this.mapping.queue.name}: ${failure.Message ?? failure.Code ?? 'unknown'}`);
      }
    }
  }
}
