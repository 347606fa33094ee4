import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSqs, type LocalSqs } from '../../../local/sqs.js';
import { reportedFailures, SqsPoller, type Invoker } from '../../../local/sqs-poller.js';
import type { LocalQueue, LocalSqsEventSourceMapping } from '../../../local/template.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deliver`;

let sqs: LocalSqs;
let created = 0;

beforeAll(async () => {
  sqs = await startSqs({ region: REGION, account: ACCOUNT });
});
afterAll(() => sqs.stop());

/** A new queue (visible again 1 s after a receive) and, with `maxReceiveCount`, its dead-letter queue. */
async function queues(maxReceiveCount?: number): Promise<{ queue: LocalQueue; deadLetters: LocalQueue }> {
  const at = (name: string, attributes: Record<string, string>): LocalQueue => ({
    logicalId: name,
    name,
    url: `${sqs.endpoint}/${ACCOUNT}/${name}`,
    arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
    attributes,
  });
  const id = created++;
  const deadLetters = at(`dead-letters-${id}`, {});
  const redrive: Record<string, string> = maxReceiveCount === undefined ? {} : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount }) };
  const queue = at(`deliveries-${id}`, { VisibilityTimeout: '1', ...redrive });
  await sqs.createQueues([deadLetters, queue]);
  return { queue, deadLetters };
}

function mapping(queue: LocalQueue, changes: Partial<LocalSqsEventSourceMapping> = {}): LocalSqsEventSourceMapping {
  return {
    kind: 'sqs',
    logicalId: 'DeliverMapping',
    functionArn: FUNCTION_ARN,
    enabled: true,
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    reportBatchItemFailures: false,
    filters: [],
    queue: { logicalId: queue.logicalId, name: queue.name, url: queue.url, arn: queue.arn },
    ...changes,
  };
}

/** A function stand-in that records the events it gets and answers with `answer`. */
function invoker(answer: (event: SQSEvent) => unknown = () => null) {
  const events: SQSEvent[] = [];
  const fake: Invoker & { events: SQSEvent[] } = {
    events,
    invoke: vi.fn(async (_arn: string, event: unknown) => {
      events.push(event as SQSEvent);
      return answer(event as SQSEvent);
    }),
  };
  return fake;
}

async function send(queue: LocalQueue, body: string, attributes = {}): Promise<string> {
  const { MessageId } = await sqs.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageAttributes: attributes }));
  return MessageId!;
}

/** Messages still in the queue, visible or in flight (local-aws-sqs counts both in ApproximateNumberOfMessages). */
async function remaining(queue: LocalQueue): Promise<number> {
  const { Attributes } = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
}

function start(target: LocalSqsEventSourceMapping, fake: Invoker, concurrency = 1): SqsPoller {
  const poller = new SqsPoller(target, { client: sqs.client, invoker: fake, region: REGION, concurrency, waitSeconds: 1 });
  poller.start();
  return poller;
}

const WAIT = { timeout: 8000, interval: 50 };

describe('the SQS event source mapping', () => {
  it("gives the function Lambda's SQS event and deletes the batch when it returns", async () => {
    const { queue } = await queues();
    const fake = invoker();
    const id = await send(queue, '{"hello":"world"}', {
      kind: { DataType: 'String', StringValue: 'delivery' },
      raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
    });
    const poller = start(mapping(queue), fake);

    await vi.waitFor(() => expect(fake.events).toHaveLength(1), WAIT);
    await vi.waitFor(async () => expect(await remaining(queue)).toBe(0), WAIT);
    await poller.stop();

    expect(fake.invoke).toHaveBeenCalledWith(FUNCTION_ARN, expect.anything());
    const [record] = fake.events[0]!.Records;
    expect(record).toEqual({
      messageId: id,
      receiptHandle: expect.any(String),
      body: '{"hello":"world"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {
        kind: { stringValue: 'delivery', stringListValues: [], binaryListValues: [], dataType: 'String' },
        raw: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: createHash('md5').update('{"hello":"world"}').digest('hex'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: REGION,
    });
  });

  it('hands the messages waiting in the queue to the function in one batch, up to BatchSize', async () => {
    const { queue } = await queues();
    const fake = invoker();
    for (let index = 0; index < 5; index++) await send(queue, `m${index}`);
    const poller = start(mapping(queue, { batchSize: 3 }), fake);

    await vi.waitFor(() => expect(fake.events.flatMap((event) => event.Records)).toHaveLength(5), WAIT);
    await poller.stop();

    expect(fake.events.map((event) => event.Records.length)).toEqual([3, 2]);
  });

  it('deletes all but the messages the function reports failed, which come back', async () => {
    const { queue } = await queues();
    const ids = [await send(queue, 'a'), await send(queue, 'b'), await send(queue, 'c')];
    const fake = invoker((event) => ({ batchItemFailures: event.Records.filter((record) => record.body === 'b').map((record) => ({ itemIdentifier: record.messageId })) }));
    const poller = start(mapping(queue, { reportBatchItemFailures: true }), fake);

    await vi.waitFor(() => expect(fake.events.length).toBeGreaterThanOrEqual(2), WAIT);
    await poller.stop();

    expect(fake.events[0]!.Records.map((record) => record.messageId)).toEqual(ids);
    expect(fake.events[1]!.Records.map((record) => [record.body, record.attributes.ApproximateReceiveCount])).toEqual([['b', '2']]);
    expect(await remaining(queue)).toBe(1);
  });

  it('keeps the whole batch when a ReportBatchItemFailures response is invalid', async () => {
    const { queue } = await queues();
    await send(queue, 'a');
    await send(queue, 'b');
    const fake = invoker(() => ({ batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] }));
    const poller = start(mapping(queue, { reportBatchItemFailures: true }), fake);

    await vi.waitFor(() => expect(fake.events).toHaveLength(1), WAIT);
    await poller.stop();

    expect(await remaining(queue)).toBe(2);
  });

  it("leaves a failed batch to the queue's redrive policy: redelivered, then moved to the dead-letter queue", async () => {
    const { queue, deadLetters } = await queues(2);
    const id = await send(queue, 'poison');
    const fake = invoker(() => {
      throw new Error('boom');
    });
    const poller = start(mapping(queue), fake);

    const moved = await vi.waitFor(async () => {
      const { Messages = [] } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: deadLetters.url, WaitTimeSeconds: 0 }));
      expect(Messages).toHaveLength(1);
      return Messages[0]!;
    }, WAIT);
    await poller.stop();

    expect(moved).toMatchObject({ MessageId: id, Body: 'poison' });
    expect(fake.events.map((event) => event.Records[0]!.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await remaining(queue)).toBe(0);
  });

  it('deletes unseen the messages no filter matches, filtering a JSON body as JSON', async () => {
    const { queue } = await queues();
    await send(queue, '{"type":"skip"}');
    await send(queue, '{"type":"deliver"}');
    await send(queue, 'plain text');
    const fake = invoker();
    const poller = start(mapping(queue, { filters: [{ body: { type: ['deliver'] } }, { body: [{ prefix: 'plain' }] }] }), fake);

    await vi.waitFor(async () => expect(await remaining(queue)).toBe(0), WAIT);
    await poller.stop();

    expect(fake.events.flatMap((event) => event.Records.map((record) => record.body)).sort()).toEqual(['plain text', '{"type":"deliver"}']);
  });

  it('stops promptly, leaving no timer behind and no message taken', async () => {
    const { queue } = await queues();
    const before = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const fake = invoker();
    const poller = start(mapping(queue), fake, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const since = Date.now();
    await poller.stop();
    const took = Date.now() - since;
    await send(queue, 'after stop');
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(took).toBeLessThan(1500);
    expect(process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length).toBeLessThanOrEqual(before);
    expect(fake.invoke).not.toHaveBeenCalled();
    const { Messages = [] } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0, AttributeNames: ['All'] }));
    expect(Messages.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([['after stop', '1']]);
  });
});

describe('reportedFailures', () => {
  const ids = ['m1', 'm2'];

  it.each([null, undefined, '', {}, { batchItemFailures: null }, { batchItemFailures: [] }])('reads %j as every message succeeded', (response) => {
    expect(reportedFailures(response, ids)).toEqual(new Set());
  });

  it('reads the ids of the failed messages', () => {
    expect(reportedFailures({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual(new Set(['m2']));
  });

  it.each([
    'ok',
    [],
    { batchItemFailures: 'm1' },
    { batchItemFailures: [{ itemIdentifier: '' }] },
    { batchItemFailures: [{ itemIdentifier: null }] },
    { batchItemFailures: [{ id: 'm1' }] },
    { batchItemFailures: [{ itemIdentifier: 'm3' }] },
  ])('reads %j as invalid: the whole batch failed', (response) => {
    expect(reportedFailures(response, ids)).toBeUndefined();
  });
});
