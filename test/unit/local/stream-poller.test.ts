import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteItemCommand, DescribeTableCommand, PutItemCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTables, startDynamoDb, type LocalDynamoDb } from '../../../local/dynamodb.js';
import { LocalEventSourceMappings } from '../../../local/event-source-mappings.js';
import { startSqs, type LocalSqs } from '../../../local/sqs.js';
import type { Invoker } from '../../../local/sqs-poller.js';
import { StreamCheckpoints } from '../../../local/stream-checkpoints.js';
import { DynamoDbStreamPoller, type StreamPollerOptions } from '../../../local/stream-poller.js';
import type { LocalQueue, LocalStreamEventSourceMapping } from '../../../local/template.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dispatch`;
const WAIT = { timeout: 8000, interval: 50 };

let dynamo: LocalDynamoDb;
let sqs: LocalSqs;
let streams: DynamoDBStreamsClient;
const dirs: string[] = [];
let tables = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([freePort().then((port) => startDynamoDb(port)), startSqs({ region: REGION, account: ACCOUNT })]);
  streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}, 60_000);
afterAll(async () => {
  streams.destroy();
  await Promise.all([dynamo.stop(), sqs.stop()]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tableInput = (name: string, stream = true): CreateTableCommandInput => ({
  TableName: name,
  BillingMode: 'PAY_PER_REQUEST',
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
});

/** A new table with a stream, created as the stack creates the template's tables. */
async function table(client = dynamo): Promise<string> {
  const name = `executions-${tables++}`;
  await ensureTables(client.client, [tableInput(name)], new Map());
  return name;
}

async function queue(): Promise<LocalQueue> {
  const name = `lost-events-${tables++}`;
  const lost: LocalQueue = { logicalId: name, name, url: `${sqs.endpoint}/${ACCOUNT}/${name}`, arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`, attributes: {} };
  await sqs.createQueues([lost]);
  return lost;
}

/** Writes the execution record `pk` (sk META) with `status`, or removes it. */
function put(tableName: string, pk: string, status: string, client = dynamo) {
  return client.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: 'META' }, status: { S: status } } }));
}

function mapping(tableName: string, changes: Partial<LocalStreamEventSourceMapping> = {}): LocalStreamEventSourceMapping {
  return {
    kind: 'dynamodb-stream',
    logicalId: 'DispatchMapping',
    functionArn: FUNCTION_ARN,
    enabled: true,
    batchSize: 100,
    maximumBatchingWindowSeconds: 0,
    reportBatchItemFailures: false,
    filters: [],
    tableName,
    streamArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableName}/stream/1970-01-01T00:00:00.000`,
    startingPosition: 'TRIM_HORIZON',
    bisectBatchOnFunctionError: false,
    maximumRetryAttempts: -1,
    maximumRecordAgeSeconds: -1,
    ...changes,
  };
}

/** A function stand-in that records the batches it gets and answers with `answer`. */
function invoker(answer: (records: DynamoDBRecord[]) => unknown = () => null) {
  const batches: DynamoDBRecord[][] = [];
  const fake: Invoker & { batches: DynamoDBRecord[][] } = {
    batches,
    invoke: vi.fn(async (_arn: string, event: unknown) => {
      const { Records } = event as DynamoDBStreamEvent;
      batches.push(Records);
      return answer(Records);
    }),
  };
  return fake;
}

const pkOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.pk?.S;
const statusOf = (record: DynamoDBRecord) => (record.dynamodb?.NewImage ?? record.dynamodb?.OldImage)?.status?.S;

async function start(target: LocalStreamEventSourceMapping, fake: Invoker, changes: Partial<StreamPollerOptions> = {}): Promise<DynamoDbStreamPoller> {
  const poller = new DynamoDbStreamPoller(target, {
    dynamodb: dynamo.client,
    streams,
    sqs: sqs.client,
    invoker: fake,
    checkpoints: new StreamCheckpoints(),
    region: REGION,
    pollIntervalMs: 50,
    shardScanIntervalMs: 200,
    retryDelayMs: 1,
    ...changes,
  });
  await poller.start();
  return poller;
}

async function onFailureRecords(lost: LocalQueue): Promise<Array<Record<string, unknown>>> {
  const { Messages = [] } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: lost.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return Messages.map((message) => JSON.parse(message.Body!) as Record<string, unknown>);
}

/** The webhook dispatcher's filters, as the template holds them. */
const DISPATCH_FILTERS = [
  { dynamodb: { Keys: { sk: { S: ['META'] } }, NewImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
  { dynamodb: { Keys: { sk: { S: ['META'] } }, OldImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
];

describe('the DynamoDB stream event source mapping', () => {
  it("gives the function the filtered records in order, in Lambda's DynamoDB stream event", async () => {
    const name = await table();
    const fake = invoker();
    const target = mapping(name, { filters: DISPATCH_FILTERS });
    const poller = await start(target, fake);

    await put(name, 'a', 'queued');
    await dynamo.client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'a' }, sk: { S: 'TR#1' }, status: { S: 'queued' } } }));
    await put(name, 'a', 'running');
    await put(name, 'b', 'running');
    await put(name, 'a', 'succeeded');
    await dynamo.client.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'b' }, sk: { S: 'META' } } }));
    await put(name, 'last', 'queued');
    await vi.waitFor(() => expect(fake.batches.flat().map(pkOf)).toContain('last'), WAIT);
    await poller.stop();

    // Dropped: the transition row, and b's INSERT and REMOVE (running, and no image of the other side).
    expect(fake.batches.flat().map((record) => [record.eventName, pkOf(record), statusOf(record)])).toEqual([
      ['INSERT', 'a', 'queued'],
      ['MODIFY', 'a', 'running'],
      ['MODIFY', 'a', 'succeeded'],
      ['INSERT', 'last', 'queued'],
    ]);
    const first = fake.batches.flat()[0]!;
    expect(first).toEqual({
      eventID: expect.any(String),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: 'a' }, sk: { S: 'META' } },
        NewImage: { pk: { S: 'a' }, sk: { S: 'META' }, status: { S: 'queued' } },
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: target.streamArn,
    });
    expect(Math.abs(first.dynamodb!.ApproximateCreationDateTime! - Date.now() / 1000)).toBeLessThan(120);
  });

  it('hands the function batches of up to BatchSize, one at a time', async () => {
    const name = await table();
    for (const pk of ['a', 'b', 'c', 'd', 'e']) await put(name, pk, 'queued');
    let running = 0;
    let most = 0;
    const fake = invoker(async () => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      return null;
    });
    const poller = await start(mapping(name, { batchSize: 2 }), fake);

    await vi.waitFor(() => expect(fake.batches.flat()).toHaveLength(5), WAIT);
    await poller.stop();

    expect(fake.batches.map((batch) => batch.map(pkOf))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(most).toBe(1);
  });

  it('retries a failing batch split in two down to the failing record, sends its on-failure record to the destination queue and goes on', async () => {
    const name = await table();
    const lost = await queue();
    for (const pk of ['a', 'b', 'poison', 'd']) await put(name, pk, 'queued');
    const fake = invoker((records) => {
      if (records.some((record) => pkOf(record) === 'poison')) throw new Error('boom');
      return null;
    });
    const target = mapping(name, { bisectBatchOnFunctionError: true, maximumRetryAttempts: 1, onFailure: { logicalId: lost.logicalId, name: lost.name, url: lost.url, arn: lost.arn } });
    const poller = await start(target, fake);

    await vi.waitFor(() => expect(fake.batches.at(-1)?.map(pkOf)).toEqual(['d']), WAIT);
    const [failure, ...more] = await vi.waitFor(async () => {
      const records = await onFailureRecords(lost);
      expect(records.length).toBeGreaterThan(0);
      return records;
    }, WAIT);
    await poller.stop();

    expect(fake.batches.map((batch) => batch.map(pkOf).join(','))).toEqual(['a,b,poison,d', 'a,b', 'poison,d', 'poison', 'poison', 'd']);
    expect(more).toEqual([]);
    const poisonSequence = fake.batches[3]![0]!.dynamodb!.SequenceNumber;
    expect(failure).toEqual({
      requestContext: { requestId: expect.any(String), functionArn: FUNCTION_ARN, condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      DDBStreamBatchInfo: {
        shardId: expect.stringMatching(/^shardId-/),
        startSequenceNumber: poisonSequence,
        endSequenceNumber: poisonSequence,
        approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        batchSize: 1,
        streamArn: target.streamArn,
      },
    });
  });

  it('gives a failing batch up whole after MaximumRetryAttempts without bisecting', async () => {
    const name = await table();
    const lost = await queue();
    for (const pk of ['a', 'b']) await put(name, pk, 'queued');
    const fake = invoker(() => {
      throw new Error('down');
    });
    const poller = await start(mapping(name, { maximumRetryAttempts: 2, onFailure: { logicalId: lost.logicalId, name: lost.name, url: lost.url, arn: lost.arn } }), fake);

    const [failure] = await vi.waitFor(async () => {
      const records = await onFailureRecords(lost);
      expect(records).toHaveLength(1);
      return records;
    }, WAIT);
    await poller.stop();

    expect(fake.batches.map((batch) => batch.map(pkOf).join(','))).toEqual(['a,b', 'a,b', 'a,b']);
    expect(failure).toMatchObject({ requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 }, DDBStreamBatchInfo: { batchSize: 2 } });
  });

  it('drops records older than MaximumRecordAgeInSeconds unseen, with a RecordAgeExceeded record', async () => {
    const name = await table();
    const lost = await queue();
    await put(name, 'old', 'queued');
    const fake = invoker();
    const twoHoursLater = () => Date.now() + 2 * 3600_000;
    const target = mapping(name, { maximumRecordAgeSeconds: 3600, onFailure: { logicalId: lost.logicalId, name: lost.name, url: lost.url, arn: lost.arn } });
    const poller = await start(target, fake, { now: twoHoursLater });

    const [failure] = await vi.waitFor(async () => {
      const records = await onFailureRecords(lost);
      expect(records).toHaveLength(1);
      return records;
    }, WAIT);
    await poller.stop();

    expect(fake.invoke).not.toHaveBeenCalled();
    expect(failure).toMatchObject({ requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 0 }, DDBStreamBatchInfo: { batchSize: 1 } });
  });

  it('goes on from the first record reported failed with ReportBatchItemFailures', async () => {
    const name = await table();
    for (const pk of ['a', 'b', 'c']) await put(name, pk, 'queued');
    let reported = false;
    const fake = invoker((records) => {
      const b = records.find((record) => pkOf(record) === 'b');
      if (reported || !b) return { batchItemFailures: [] };
      reported = true;
      return { batchItemFailures: [{ itemIdentifier: b.dynamodb!.SequenceNumber }] };
    });
    const poller = await start(mapping(name, { reportBatchItemFailures: true }), fake);

    await vi.waitFor(() => expect(fake.batches).toHaveLength(2), WAIT);
    await poller.stop();

    expect(fake.batches.map((batch) => batch.map(pkOf))).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
    ]);
  });

  it('reads only what is written after it starts with StartingPosition LATEST', async () => {
    const name = await table();
    await put(name, 'before', 'queued');
    const fake = invoker();
    const poller = await start(mapping(name, { startingPosition: 'LATEST' }), fake);

    await put(name, 'after', 'queued');
    await vi.waitFor(() => expect(fake.batches.flat()).toHaveLength(1), WAIT);
    await poller.stop();

    expect(fake.batches.flat().map(pkOf)).toEqual(['after']);
  });

  it('goes on after its checkpoint when started again with the same checkpoint file', async () => {
    const name = await table();
    const dir = mkdtempSync(join(tmpdir(), 'checkpoints-'));
    dirs.push(dir);
    const file = join(dir, 'event-source-checkpoints.json');
    const target = mapping(name, { filters: DISPATCH_FILTERS });
    await put(name, 'first', 'queued');
    const before = invoker();
    const poller = await start(target, before, { checkpoints: new StreamCheckpoints(file) });
    await vi.waitFor(() => expect(before.batches.flat()).toHaveLength(1), WAIT);
    const checkpoint = () => Object.values((JSON.parse(readFileSync(file, 'utf8')) as { DispatchMapping: { shards: Record<string, string> } }).DispatchMapping.shards)[0];
    const delivered = await vi.waitFor(() => checkpoint() ?? expect.fail('no checkpoint yet'), WAIT);
    // Filtered out, and checkpointed past.
    await put(name, 'skipped', 'running');
    await vi.waitFor(() => expect(checkpoint()).not.toBe(delivered), WAIT);
    await poller.stop();

    await put(name, 'second', 'queued');
    const after = invoker();
    const again = await start(target, after, { checkpoints: new StreamCheckpoints(file) });
    await vi.waitFor(() => expect(after.batches.flat()).toHaveLength(1), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await again.stop();

    expect(before.batches.flat().map(pkOf)).toEqual(['first']);
    expect(after.batches.flat().map(pkOf)).toEqual(['second']);
  });

  it('stops promptly, leaving no timer behind, and reads nothing more', async () => {
    const name = await table();
    const before = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const fake = invoker();
    const poller = await start(mapping(name), fake);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const since = Date.now();
    await poller.stop();
    const took = Date.now() - since;
    await put(name, 'late', 'queued');
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(took).toBeLessThan(500);
    expect(process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length).toBeLessThanOrEqual(before);
    expect(fake.invoke).not.toHaveBeenCalled();
  });
});

describe('the local event source mappings', () => {
  it('start idle when the template has none: no poller, no timer', async () => {
    const before = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const mappings = new LocalEventSourceMappings([], invoker(), { region: REGION, dynamodb: dynamo.client, dynamoDbEndpoint: dynamo.endpoint, sqs: sqs.client });

    await mappings.start();
    const running = mappings.running;
    const timers = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    await mappings.stop();

    expect(running).toBe(0);
    expect(timers).toBeLessThanOrEqual(before);
  });

  it('run every enabled mapping and no disabled one', async () => {
    const [on, off] = [await table(), await table()];
    const fake = invoker();
    const mappings = new LocalEventSourceMappings([mapping(on), mapping(off, { enabled: false, logicalId: 'Off' })], fake, {
      region: REGION,
      dynamodb: dynamo.client,
      dynamoDbEndpoint: dynamo.endpoint,
      sqs: sqs.client,
      streamPollIntervalMs: 50,
    });

    await mappings.start();
    await put(off, 'off', 'queued');
    await put(on, 'on', 'queued');
    await vi.waitFor(() => expect(fake.batches.flat()).toHaveLength(1), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await mappings.stop();

    expect(mappings.running).toBe(0);
    expect(fake.batches.flat().map(pkOf)).toEqual(['on']);
  });

  it('refuse to start a stream mapping whose table has no stream', async () => {
    const name = `no-stream-${tables++}`;
    await dynamo.client.send(new CreateTableCommand(tableInput(name, false)));
    const mappings = new LocalEventSourceMappings([mapping(name)], invoker(), { region: REGION, dynamodb: dynamo.client, dynamoDbEndpoint: dynamo.endpoint, sqs: sqs.client });

    await expect(mappings.start()).rejects.toThrow(`table ${name} has no stream in DynamoDB Local`);
  });
});

describe('ensureTables', () => {
  it('enables the stream of a persisted table created before the template had one', async () => {
    const name = `persisted-${tables++}`;
    await dynamo.client.send(new CreateTableCommand(tableInput(name, false)));

    await ensureTables(dynamo.client, [tableInput(name)], new Map());

    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(Table?.LatestStreamArn).toContain(`table/${name}/stream/`);
  });

  it('keeps the stream records and the checkpoint of a persisted table across a restart of DynamoDB Local', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
    dirs.push(dir);
    const file = join(dir, 'event-source-checkpoints.json');
    const first = await startDynamoDb(await freePort(), dir);
    const name = await table(first);
    await put(name, 'before', 'queued', first);
    const before = invoker();
    const options = (db: LocalDynamoDb, client: DynamoDBStreamsClient) => ({ dynamodb: db.client, streams: client, checkpoints: new StreamCheckpoints(file) });
    const firstStreams = new DynamoDBStreamsClient({ endpoint: first.endpoint, region: REGION, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const poller = await start(mapping(name), before, options(first, firstStreams));
    await vi.waitFor(() => expect(before.batches.flat()).toHaveLength(1), WAIT);
    await poller.stop();
    firstStreams.destroy();
    await first.stop();

    const second = await startDynamoDb(await freePort(), dir);
    const secondStreams = new DynamoDBStreamsClient({ endpoint: second.endpoint, region: REGION, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    try {
      await ensureTables(second.client, [tableInput(name)], new Map());
      await put(name, 'after', 'queued', second);
      const after = invoker();
      const again = await start(mapping(name), after, options(second, secondStreams));
      await vi.waitFor(() => expect(after.batches.flat()).toHaveLength(1), WAIT);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await again.stop();

      expect(after.batches.flat().map(pkOf)).toEqual(['after']);
    } finally {
      secondStreams.destroy();
      await second.stop();
    }
  }, 30_000);
});
