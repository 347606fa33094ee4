import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type DynamoDBStreamsClient,
  type GetShardIteratorCommandInput,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { compileFilters, type EventMatcher } from './event-filter.js';
import { reportedFailures, type Invoker } from './sqs-poller.js';
import type { StreamCheckpoints } from './stream-checkpoints.js';
import type { LocalStreamEventSourceMapping } from './template.js';

/** Options of {@link DynamoDbStreamPoller}. */
export interface StreamPollerOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  /** Sends the on-failure records (needed when the mapping has an on-failure destination). */
  readonly sqs?: SQSClient;
  readonly invoker: Invoker;
  readonly checkpoints: StreamCheckpoints;
  readonly region: string;
  readonly log?: (message: string) => void;
  /**
   * How long a shard reader waits after reading nothing (Lambda polls a shard 4 times a second).
   * @default 250
   */
  readonly pollIntervalMs?: number;
  /**
   * How often the stream's shards are listed again, for new ones.
   * @default 1000
   */
  readonly shardScanIntervalMs?: number;
  /**
   * The wait after a failed invocation, doubled after each further one (at most 2 s).
   * @default 100
   */
  readonly retryDelayMs?: number;
  /** The clock (tests move it to age records). @default Date.now */
  readonly now?: () => number;
}

/** Why a batch was given up, as Lambda's on-failure record names it. */
type Condition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** A stream record read from a shard, in Lambda's event shape, with what the poller keeps of it. */
interface Entry {
  readonly record: DynamoDBRecord;
  readonly sequenceNumber: string;
  /** DynamoDB Local's creation time (ms; truncated to the minute). */
  readonly createdAt: number;
  /** The latest the record can have been written (ms): what its age is counted from. */
  readonly latestArrival: number;
}

/** A batch being delivered, with what its retries and on-failure record need. */
interface Attempt {
  entries: Entry[];
  /** Failed invocations of this batch that count toward `MaximumRetryAttempts` (splits do not). */
  retries: number;
  /** Invocations of these records so far (the on-failure record's `approximateInvokeCount`). */
  invocations: number;
  /** The last invocation's failure, if any. */
  failed: boolean;
}

const MAX_RETRY_DELAY_MS = 2000;
/** DynamoDB Local truncates `ApproximateCreationDateTime` to the minute. */
const CREATION_TIME_RESOLUTION_MS = 60_000;
/** DynamoDB Streams' largest `GetRecords`. */
const GET_RECORDS_LIMIT = 1000;

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
const isAbort = (error: unknown): boolean => error instanceof Error && error.name === 'AbortError';

/** An SDK value as JSON, binary values in base64 (as Lambda's events carry them). */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, toJson(item)]));
  }
  return value;
}

/** An ISO timestamp without milliseconds, as Lambda writes record arrival times. */
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Runs a DynamoDB stream event source mapping against DynamoDB Local as Lambda does: it lists the
 * stream's shards (again every second, for new ones), reads each shard in order (a parent shard to
 * its end before its children), drops the records no filter matches, and hands the rest to the
 * function in batches of up to `BatchSize`, gathered within `MaximumBatchingWindowInSeconds`, one
 * batch at a time per shard, in Lambda's DynamoDB stream event.
 *
 * A batch the function fails (throws, or reports failed items with `ReportBatchItemFailures`) is
 * retried; with `BisectBatchOnFunctionError` a failing batch is split in two first, each half
 * delivered in turn, down to single records (splits do not count as retries, as in Lambda).
 * A batch that fails `MaximumRetryAttempts` retries, or whose records grew older than
 * `MaximumRecordAgeInSeconds`, is given up: Lambda's on-failure record goes to the on-failure
 * queue, and reading goes on after it. Checkpoints (see {@link StreamCheckpoints}) move after each
 * batch is done.
 */
export class DynamoDbStreamPoller {
  private readonly abort = new AbortController();
  private readonly matches: EventMatcher;
  private readonly log: (message: string) => void;
  private readonly now: () => number;
  /** Shards seen, by id: their parent, whether they are read to the end, and their reader. */
  private readonly shards = new Map<string, { parent?: string; done: boolean; reader?: Promise<void> }>();
  private scanner?: Promise<void>;
  private streamArn = '';
  /** Whether this mapping has read this stream before: then new shards are read from their start, whatever `StartingPosition` says. */
  private resuming = false;

  constructor(
    readonly mapping: LocalStreamEventSourceMapping,
    private readonly options: StreamPollerOptions,
  ) {
    this.matches = compileFilters(mapping.filters, `EventSourceMapping ${mapping.logicalId}`);
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
    if (mapping.onFailure && !options.sqs) throw new Error(`EventSourceMapping ${mapping.logicalId}: its on-failure queue needs an SQS client`);
  }

  /**
   * Finds the table's stream in DynamoDB Local, lists its shards and starts reading them.
   * @throws when the table has no stream.
   */
  async start(): Promise<void> {
    const { Table } = await this.options.dynamodb.send(new DescribeTableCommand({ TableName: this.mapping.tableName }));
    if (!Table?.LatestStreamArn || Table.StreamSpecification?.StreamEnabled === false) {
      throw new Error(`EventSourceMapping ${this.mapping.logicalId}: table ${this.mapping.tableName} has no stream in DynamoDB Local`);
    }
    this.streamArn = Table.LatestStreamArn;
    this.resuming = this.options.checkpoints.has(this.mapping.logicalId, this.streamArn);
    await this.scan(true);
    this.scanner = this.scanLoop();
  }

  /** Stops reading: a batch being delivered is let finish (no further retries), then everything ends. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.scanner;
    await Promise.all([...this.shards.values()].map((shard) => shard.reader));
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch (error) {
      if (!isAbort(error)) throw error;
    }
  }

  private async scanLoop(): Promise<void> {
    while (!this.stopping) {
      await this.pause(this.options.shardScanIntervalMs ?? 1000);
      if (this.stopping) break;
      try {
        await this.scan(false);
      } catch (error) {
        this.log(`event source mapping ${this.mapping.logicalId}: listing the shards of ${this.streamArn} failed: ${errorText(error)}`);
      }
    }
  }

  /** Lists the shards and starts a reader for each one whose parent is done (or gone). */
  private async scan(first: boolean): Promise<void> {
    const listed: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}) }),
      );
      listed.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    for (const shard of listed) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      const checkpoint = this.options.checkpoints.get(this.mapping.logicalId, this.streamArn, shard.ShardId);
      // LATEST on a first start: what is already closed is history, not to be read.
      const skipped = first && !this.resuming && checkpoint === undefined && this.mapping.startingPosition === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      this.shards.set(shard.ShardId, { ...(shard.ParentShardId ? { parent: shard.ParentShardId } : {}), done: skipped });
    }
    await this.startReady(first);
  }

  /**
   * Starts a reader for each shard whose parent is done (or gone).
   * @returns when each new reader has its shard iterator: a `LATEST` one reads what is written from then on.
   */
  private async startReady(first: boolean): Promise<void> {
    if (this.stopping) return;
    const positioned: Array<Promise<void>> = [];
    for (const [shardId, shard] of this.shards) {
      if (shard.done || shard.reader) continue;
      const parent = shard.parent === undefined ? undefined : this.shards.get(shard.parent);
      if (parent && !parent.done) continue;
      const latest = first && !this.resuming && this.mapping.startingPosition === 'LATEST';
      positioned.push(
        new Promise((ready) => {
          shard.reader = this.read(shardId, latest ? 'LATEST' : 'TRIM_HORIZON', ready).then(
            (finished) => {
              shard.done = finished;
              if (finished) void this.startReady(false);
            },
            (error: unknown) => {
              // The next scan starts it again, from its checkpoint.
              shard.reader = undefined;
              this.log(`event source mapping ${this.mapping.logicalId}: reading shard ${shardId} failed: ${errorText(error)}`);
            },
          );
        }),
      );
    }
    await Promise.all(positioned);
  }

  private async iterator(shardId: string, start: 'LATEST' | 'TRIM_HORIZON', after: string | undefined): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = after
      ? { StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
      : { StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: start };
    try {
      return (await this.options.streams.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (error) {
      if (!after) throw error;
      // The checkpoint's records were trimmed (older than 24 h): go on from the oldest one left.
      this.log(`event source mapping ${this.mapping.logicalId}: shard ${shardId} has no record after its checkpoint ${after} any more (${errorText(error)}); reading it from the oldest record`);
      return (await this.options.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    }
  }

  /**
   * Reads one shard in order, one batch at a time, from its checkpoint (or `start`).
   * @param positioned called once the shard iterator is obtained (or could not be).
   * @returns true when the shard is closed and read to its end, false when stopped.
   */
  private async read(shardId: string, start: 'LATEST' | 'TRIM_HORIZON', positioned: () => void): Promise<boolean> {
    const { mapping, options } = this;
    const pollIntervalMs = options.pollIntervalMs ?? 250;
    let checkpoint = options.checkpoints.get(mapping.logicalId, this.streamArn, shardId);
    let iterator: string | undefined;
    try {
      iterator = await this.iterator(shardId, start, checkpoint);
    } finally {
      positioned();
    }
    /** The last record fetched: where a new iterator starts after an error. */
    let fetched = checkpoint;
    const buffer: _Record[] = [];
    let batch: Entry[] = [];
    /** The last record taken from the buffer (into the batch, or dropped by the filters). */
    let consumed: string | undefined;
    let windowEnds = 0;
    const commit = (sequenceNumber: string | undefined) => {
      if (sequenceNumber === undefined || sequenceNumber === checkpoint) return;
      checkpoint = sequenceNumber;
      options.checkpoints.set(mapping.logicalId, this.streamArn, shardId, sequenceNumber);
    };
    while (!this.stopping) {
      while (buffer.length > 0 && batch.length < mapping.batchSize) {
        const entry = this.entry(buffer.shift()!);
        consumed = entry.sequenceNumber;
        if (!this.matches(entry.record)) continue;
        if (batch.length === 0) windowEnds = this.now() + mapping.maximumBatchingWindowSeconds * 1000;
        batch.push(entry);
      }
      const exhausted = buffer.length === 0 && iterator === undefined;
      if (batch.length > 0 && (batch.length >= mapping.batchSize || this.now() >= windowEnds || exhausted)) {
        const settled = await this.deliver(shardId, batch, commit);
        if (!settled) return false;
        batch = [];
        // Records the filters dropped after the batch's last one are done too.
        if (buffer.length === 0) commit(consumed);
        continue;
      }
      // Lambda checkpoints past records no filter matched.
      if (batch.length === 0) commit(consumed);
      if (exhausted) return true;
      if (buffer.length > 0) continue;
      try {
        const output = await options.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }));
        iterator = output.NextShardIterator ?? undefined;
        const records = output.Records ?? [];
        buffer.push(...records);
        fetched = records.at(-1)?.dynamodb?.SequenceNumber ?? fetched;
        if (records.length === 0 && iterator !== undefined) {
          await this.pause(batch.length > 0 ? Math.max(0, Math.min(pollIntervalMs, windowEnds - this.now())) : pollIntervalMs);
        }
      } catch (error) {
        if (this.stopping) break;
        this.log(`event source mapping ${mapping.logicalId}: reading shard ${shardId} failed (${errorText(error)}); retrying in 1 s`);
        await this.pause(1000);
        // An expired or broken iterator: start again after the last record fetched.
        iterator = await this.iterator(shardId, start, fetched).catch(() => iterator);
      }
    }
    return false;
  }

  private entry(raw: _Record): Entry {
    const stream = raw.dynamodb ?? {};
    const createdAt = stream.ApproximateCreationDateTime?.getTime() ?? this.now();
    const dynamodb = toJson({ ...stream, ApproximateCreationDateTime: Math.floor(createdAt / 1000) }) as DynamoDBRecord['dynamodb'];
    return {
      record: {
        eventID: raw.eventID ?? randomUUID(),
        ...(raw.eventName ? { eventName: raw.eventName } : {}),
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: this.options.region,
        dynamodb,
        eventSourceARN: this.mapping.streamArn,
      },
      sequenceNumber: stream.SequenceNumber ?? '',
      createdAt,
      latestArrival: Math.min(createdAt + CREATION_TIME_RESOLUTION_MS - 1, this.now()),
    };
  }

  /**
   * Delivers one batch with Lambda's retries, splits and on-failure records, committing the
   * checkpoint after each part that is done.
   * @returns false when the poller stopped before the batch was settled (it is read again next time).
   */
  private async deliver(shardId: string, entries: Entry[], commit: (sequenceNumber: string) => void): Promise<boolean> {
    const { mapping } = this;
    const queue: Attempt[] = [{ entries, retries: 0, invocations: 0, failed: false }];
    let consecutiveFailures = 0;
    while (queue.length > 0) {
      if (this.stopping) return false;
      const attempt = queue[0]!;
      if (mapping.maximumRecordAgeSeconds >= 0) {
        const oldest = this.now() - mapping.maximumRecordAgeSeconds * 1000;
        // Records come in order of arrival: the aged ones lead the batch.
        const fresh = attempt.entries.findIndex((entry) => entry.latestArrival >= oldest);
        const aged = attempt.entries.slice(0, fresh === -1 ? attempt.entries.length : fresh);
        if (aged.length > 0) {
          await this.giveUp(shardId, { ...attempt, entries: aged }, 'RecordAgeExceeded');
          attempt.entries = attempt.entries.slice(aged.length);
          commit(aged.at(-1)!.sequenceNumber);
          if (attempt.entries.length === 0) {
            queue.shift();
            continue;
          }
        }
      }
      let failedFrom = 0;
      try {
        attempt.invocations += 1;
        const event: DynamoDBStreamEvent = { Records: attempt.entries.map((entry) => entry.record) };
        const response = await this.options.invoker.invoke(mapping.functionArn, event);
        if (mapping.reportBatchItemFailures) {
          const failures = reportedFailures(response, attempt.entries.map((entry) => entry.sequenceNumber));
          if (failures === undefined) {
            this.log(`event source mapping ${mapping.logicalId}: ${mapping.functionArn} returned an invalid batchItemFailures response; the whole batch failed`);
          } else {
            // Lambda goes on from the first record reported failed: those before it are done.
            const first = attempt.entries.findIndex((entry) => failures.has(entry.sequenceNumber));
            failedFrom = first === -1 ? attempt.entries.length : first;
          }
        } else {
          failedFrom = attempt.entries.length;
        }
      } catch (error) {
        this.log(`event source mapping ${mapping.logicalId}: ${mapping.functionArn} failed on a batch of ${attempt.entries.length} record(s) from shard ${shardId}: ${errorText(error)}`);
      }
      if (failedFrom > 0) commit(attempt.entries[failedFrom - 1]!.sequenceNumber);
      if (failedFrom === attempt.entries.length) {
        queue.shift();
        consecutiveFailures = 0;
        continue;
      }
      attempt.failed = true;
      consecutiveFailures += 1;
      if (failedFrom > 0) {
        // A partial failure: what follows the last success is retried, counted as a retry.
        attempt.entries = attempt.entries.slice(failedFrom);
        attempt.retries += 1;
      } else if (mapping.bisectBatchOnFunctionError && attempt.entries.length > 1) {
        const half = Math.ceil(attempt.entries.length / 2);
        queue.splice(0, 1, { ...attempt, entries: attempt.entries.slice(0, half) }, { ...attempt, entries: attempt.entries.slice(half) });
      } else {
        attempt.retries += 1;
      }
      const current = queue[0]!;
      if (mapping.maximumRetryAttempts >= 0 && current.retries > mapping.maximumRetryAttempts) {
        await this.giveUp(shardId, current, 'RetryAttemptsExhausted');
        commit(current.entries.at(-1)!.sequenceNumber);
        queue.shift();
        continue;
      }
      await this.pause(Math.min(MAX_RETRY_DELAY_MS, (this.options.retryDelayMs ?? 100) * 2 ** (consecutiveFailures - 1)));
    }
    return true;
  }

  /** Sends Lambda's on-failure record of a batch given up to the on-failure queue (or logs that it is dropped). */
  private async giveUp(shardId: string, attempt: Attempt, condition: Condition): Promise<void> {
    const { mapping } = this;
    const first = attempt.entries[0]!;
    const last = attempt.entries.at(-1)!;
    const record = {
      requestContext: { requestId: randomUUID(), functionArn: mapping.functionArn, condition, approximateInvokeCount: attempt.invocations },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(attempt.failed ? { functionError: 'Unhandled' } : {}) },
      version: '1.0',
      timestamp: new Date(this.now()).toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: isoSeconds(first.createdAt),
        approximateArrivalOfLastRecord: isoSeconds(last.createdAt),
        batchSize: attempt.entries.length,
        streamArn: mapping.streamArn,
      },
    };
    const what = `${attempt.entries.length} record(s) ${first.sequenceNumber}…${last.sequenceNumber} of shard ${shardId} (${condition})`;
    if (!mapping.onFailure || !this.options.sqs) {
      this.log(`event source mapping ${mapping.logicalId}: gave up ${what}; no on-failure destination, so they are dropped`);
      return;
    }
    try {
      await this.options.sqs.send(new SendMessageCommand({ QueueUrl: mapping.onFailure.url, MessageBody: JSON.stringify(record) }));
      this.log(`event source mapping ${mapping.logicalId}: gave up ${what}; sent their on-failure record to ${mapping.onFailure.name}`);
    } catch (error) {
      this.log(`event source mapping ${mapping.logicalId}: gave up ${what}; sending the on-failure record to ${mapping.onFailure.name} failed (${errorText(error)}): ${JSON.stringify(record)}`);
    }
  }
}
