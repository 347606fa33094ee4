import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsPoller, type Invoker } from './sqs-poller.js';
import { StreamCheckpoints } from './stream-checkpoints.js';
import { DynamoDbStreamPoller } from './stream-poller.js';
import type { LocalEventSourceMapping } from './template.js';

/** Options of {@link LocalEventSourceMappings}. */
export interface LocalEventSourceMappingsOptions {
  readonly region: string;
  /** DynamoDB Local: its tables' streams are read through its endpoint. */
  readonly dynamodb: DynamoDBClient;
  readonly dynamoDbEndpoint: string;
  /** The local SQS: queues are polled and on-failure records sent through it. */
  readonly sqs: SQSClient;
  /**
   * Where stream checkpoints are kept (see {@link StreamCheckpoints}).
   * @default - in memory: each start reads the streams from the mappings' StartingPosition
   */
  readonly checkpointFile?: string;
  readonly log?: (message: string) => void;
  /** Tuning for tests (see the pollers' options). */
  readonly sqsWaitSeconds?: number;
  readonly streamPollIntervalMs?: number;
  readonly retryDelayMs?: number;
}

/**
 * Runs the template's event source mappings (`AWS::Lambda::EventSourceMapping`) locally: an
 * {@link SqsPoller} per SQS mapping and a {@link DynamoDbStreamPoller} per DynamoDB stream
 * mapping, each invoking its function through `invoker` (the stack's `LambdaHost`). Disabled
 * mappings are not run. With no mapping, nothing runs.
 */
export class LocalEventSourceMappings {
  private readonly pollers: Array<SqsPoller | DynamoDbStreamPoller> = [];
  private streams?: DynamoDBStreamsClient;
  private started = false;

  constructor(
    readonly mappings: readonly LocalEventSourceMapping[],
    private readonly invoker: Invoker,
    private readonly options: LocalEventSourceMappingsOptions,
  ) {}

  /** How many mappings run (after {@link start}). */
  get running(): number {
    return this.pollers.length;
  }

  /**
   * Starts every enabled mapping: the stream pollers find their streams and shards first, so that
   * whatever is written after this resolves is read.
   * @throws when a stream poller cannot start (its table has no stream); what started is stopped.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('The event source mappings are already started');
    this.started = true;
    const { options } = this;
    const checkpoints = new StreamCheckpoints(options.checkpointFile);
    try {
      for (const mapping of this.mappings.filter((candidate) => candidate.enabled)) {
        const common = { invoker: this.invoker, region: options.region, ...(options.log ? { log: options.log } : {}) };
        if (mapping.kind === 'sqs') {
          const poller = new SqsPoller(mapping, { ...common, client: options.sqs, ...(options.sqsWaitSeconds !== undefined ? { waitSeconds: options.sqsWaitSeconds } : {}) });
          poller.start();
          this.pollers.push(poller);
          continue;
        }
        this.streams ??= new DynamoDBStreamsClient({
          endpoint: options.dynamoDbEndpoint,
          region: options.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
        const poller = new DynamoDbStreamPoller(mapping, {
          ...common,
          dynamodb: options.dynamodb,
          streams: this.streams,
          sqs: options.sqs,
          checkpoints,
          ...(options.streamPollIntervalMs !== undefined ? { pollIntervalMs: options.streamPollIntervalMs } : {}),
          ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
        });
        await poller.start();
        this.pollers.push(poller);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops every mapping: batches in flight are let finish, then no poll, timer or connection is left. */
  async stop(): Promise<void> {
    await Promise.all(this.pollers.splice(0).map((poller) => poller.stop()));
    this.streams?.destroy();
    this.streams = undefined;
  }
}
