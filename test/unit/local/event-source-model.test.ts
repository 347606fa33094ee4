import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStackModel, type LocalStackModel } from '../../../local/template.js';

/**
 * The local model of what the webhooks construct synthesizes (the shapes aws-cdk-lib 2.276 emits
 * for a TableV2 with a stream, SQS queues with a redrive policy, an SqsEventSource and a
 * DynamoEventSource with filters and an SqsDlq), written out by hand.
 */
const dir = mkdtempSync(join(tmpdir(), 'event-source-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'catalogue.json'), '{"tasks":[]}');

const ENV = { region: 'us-east-1', account: '000000000000', stackName: 'Hooks', stackId: 'stack-id', sqsEndpoint: 'http://127.0.0.1:4566' };
const SQS_ARN = 'arn:aws:sqs:us-east-1:000000000000';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> } | undefined>;

const fn = (entry: string, variables: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: variables }, Timeout: 30 },
  Metadata: {
    'async-executions:entry': entry,
    'async-executions:tasks-module': 'test/support/unit-tasks.ts',
    'async-executions:task-catalogue': 'catalogue.json',
  },
});

const BASE: Resources = {
  TableCD117FA1: {
    Type: 'AWS::DynamoDB::GlobalTable',
    Properties: {
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Replicas: [{ Region: { Ref: 'AWS::Region' } }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    },
  },
  // Declared before its dead-letter queue, to see the model order them.
  DeliveriesBF2F7293: {
    Type: 'AWS::SQS::Queue',
    Properties: {
      MessageRetentionPeriod: 345600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLettersBBF8BAAB', 'Arn'] }, maxReceiveCount: 50 },
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
    },
  },
  DeadLettersBBF8BAAB: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true } },
  LostEvents3D75545E: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'lost-events', MessageRetentionPeriod: 1209600 } },
  Deliver72E7B226: fn('webhooks/deliver.ts', {
    WEBHOOK_QUEUE_URL: { Ref: 'DeliveriesBF2F7293' },
    DEAD_LETTERS_ARN: { 'Fn::GetAtt': ['DeadLettersBBF8BAAB', 'Arn'] },
    DEAD_LETTERS_NAME: { 'Fn::GetAtt': ['DeadLettersBBF8BAAB', 'QueueName'] },
    DEAD_LETTERS_URL: { 'Fn::GetAtt': ['DeadLettersBBF8BAAB', 'QueueUrl'] },
    STREAM_ARN: { 'Fn::GetAtt': ['TableCD117FA1', 'StreamArn'] },
  }),
  DispatchDB0A2E2F: fn('webhooks/dispatch.ts', { WEBHOOK_QUEUE_URL: { Ref: 'DeliveriesBF2F7293' } }),
  DeliverSqsEventSource: {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      BatchSize: 10,
      EventSourceArn: { 'Fn::GetAtt': ['DeliveriesBF2F7293', 'Arn'] },
      FunctionName: { Ref: 'Deliver72E7B226' },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    },
  },
  DispatchDynamoDBEventSource: {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['LostEvents3D75545E', 'Arn'] } } },
      EventSourceArn: { 'Fn::GetAtt': ['TableCD117FA1', 'StreamArn'] },
      FilterCriteria: {
        Filters: [
          { Pattern: '{"dynamodb":{"Keys":{"sk":{"S":["META"]}},"NewImage":{"status":{"S":[{"anything-but":["running"]}]}}}}' },
          { Pattern: '{"dynamodb":{"Keys":{"sk":{"S":["META"]}},"OldImage":{"status":{"S":[{"anything-but":["running"]}]}}}}' },
        ],
      },
      FunctionName: { Ref: 'DispatchDB0A2E2F' },
      MaximumBatchingWindowInSeconds: 1,
      MaximumRecordAgeInSeconds: 86400,
      MaximumRetryAttempts: 10,
      StartingPosition: 'TRIM_HORIZON',
    },
  },
};

let written = 0;
/** Loads BASE with `changes` applied (undefined removes a resource). */
function load(changes: Resources = {}): LocalStackModel {
  const resources = Object.fromEntries(Object.entries({ ...BASE, ...changes }).filter(([, resource]) => resource !== undefined));
  const path = join(dir, `T${written++}.template.json`);
  writeFileSync(path, JSON.stringify({ Resources: resources }));
  return loadStackModel(path, ENV);
}

/** BASE's stream mapping with `properties` changed. */
function streamMapping(properties: Record<string, unknown>): Resources {
  return { DispatchDynamoDBEventSource: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { ...BASE.DispatchDynamoDBEventSource!.Properties, ...properties } } };
}

describe('the local model of queues and event source mappings', () => {
  it('resolves a queue Ref to its local URL and its Arn, QueueName and QueueUrl attributes', () => {
    const deliver = load().functions.find((candidate) => candidate.logicalId === 'Deliver72E7B226');

    expect(deliver?.environment).toEqual({
      WEBHOOK_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/Hooks-DeliveriesBF2F7293',
      DEAD_LETTERS_ARN: `${SQS_ARN}:Hooks-DeadLettersBBF8BAAB`,
      DEAD_LETTERS_NAME: 'Hooks-DeadLettersBBF8BAAB',
      DEAD_LETTERS_URL: 'http://127.0.0.1:4566/000000000000/Hooks-DeadLettersBBF8BAAB',
      STREAM_ARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/Hooks-TableCD117FA1/stream/1970-01-01T00:00:00.000',
    });
  });

  it('lists each dead-letter queue before the queue that uses it, with its attributes as CreateQueue takes them', () => {
    const { queues } = load();

    expect(queues.map((queue) => queue.logicalId)).toEqual(['DeadLettersBBF8BAAB', 'DeliveriesBF2F7293', 'LostEvents3D75545E']);
    expect(queues[1]).toEqual({
      logicalId: 'DeliveriesBF2F7293',
      name: 'Hooks-DeliveriesBF2F7293',
      url: 'http://127.0.0.1:4566/000000000000/Hooks-DeliveriesBF2F7293',
      arn: `${SQS_ARN}:Hooks-DeliveriesBF2F7293`,
      attributes: {
        MessageRetentionPeriod: '345600',
        VisibilityTimeout: '180',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `${SQS_ARN}:Hooks-DeadLettersBBF8BAAB`, maxReceiveCount: 50 }),
      },
      deadLetterQueue: 'DeadLettersBBF8BAAB',
    });
    expect(queues[2]).toMatchObject({ name: 'lost-events', url: 'http://127.0.0.1:4566/000000000000/lost-events' });
  });

  it("creates the table with the template's stream", () => {
    expect(load().tables[0]?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('reads the SQS mapping: function, queue, batch size and partial batch responses', () => {
    const mapping = load().eventSourceMappings.find((candidate) => candidate.kind === 'sqs');

    expect(mapping).toEqual({
      kind: 'sqs',
      logicalId: 'DeliverSqsEventSource',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Hooks-Deliver72E7B226',
      enabled: true,
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      reportBatchItemFailures: true,
      filters: [],
      queue: {
        logicalId: 'DeliveriesBF2F7293',
        name: 'Hooks-DeliveriesBF2F7293',
        url: 'http://127.0.0.1:4566/000000000000/Hooks-DeliveriesBF2F7293',
        arn: `${SQS_ARN}:Hooks-DeliveriesBF2F7293`,
      },
    });
  });

  it('reads the stream mapping: table, position, retries, bisect, record age, on-failure queue and parsed filters', () => {
    const mapping = load().eventSourceMappings.find((candidate) => candidate.kind === 'dynamodb-stream');

    expect(mapping).toEqual({
      kind: 'dynamodb-stream',
      logicalId: 'DispatchDynamoDBEventSource',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Hooks-DispatchDB0A2E2F',
      enabled: true,
      batchSize: 100,
      maximumBatchingWindowSeconds: 1,
      reportBatchItemFailures: false,
      filters: [
        { dynamodb: { Keys: { sk: { S: ['META'] } }, NewImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
        { dynamodb: { Keys: { sk: { S: ['META'] } }, OldImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
      ],
      tableName: 'Hooks-TableCD117FA1',
      streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Hooks-TableCD117FA1/stream/1970-01-01T00:00:00.000',
      startingPosition: 'TRIM_HORIZON',
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 10,
      maximumRecordAgeSeconds: 86400,
      onFailure: { logicalId: 'LostEvents3D75545E', name: 'lost-events', url: 'http://127.0.0.1:4566/000000000000/lost-events', arn: `${SQS_ARN}:lost-events` },
    });
  });

  it("applies Lambda's defaults to a stream mapping that sets only its source, function and position", () => {
    const model = load({
      DispatchDynamoDBEventSource: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { EventSourceArn: { 'Fn::GetAtt': ['TableCD117FA1', 'StreamArn'] }, FunctionName: 'Hooks-DispatchDB0A2E2F', StartingPosition: 'LATEST', Enabled: false },
      },
    });

    expect(model.eventSourceMappings.find((candidate) => candidate.kind === 'dynamodb-stream')).toMatchObject({
      enabled: false,
      batchSize: 100,
      maximumBatchingWindowSeconds: 0,
      startingPosition: 'LATEST',
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      filters: [],
    });
  });

  it('has no queues and no mappings for a template without them', () => {
    const model = load({ DeliveriesBF2F7293: undefined, DeadLettersBBF8BAAB: undefined, LostEvents3D75545E: undefined, DeliverSqsEventSource: undefined, DispatchDynamoDBEventSource: undefined, Deliver72E7B226: fn('webhooks/deliver.ts'), DispatchDB0A2E2F: fn('webhooks/dispatch.ts') });

    expect(model.queues).toEqual([]);
    expect(model.eventSourceMappings).toEqual([]);
  });

  it.each<[string, Resources, RegExp]>([
    [
      'a Kinesis source',
      streamMapping({ EventSourceArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/clicks' }),
      /DispatchDynamoDBEventSource: its source arn:aws:kinesis:.* is not emulated locally: only the template's SQS queues and DynamoDB table streams are/,
    ],
    ['a filter operator the local matcher does not implement', streamMapping({ FilterCriteria: { Filters: [{ Pattern: '{"eventName":[{"wildcard":"IN*"}]}' }] } }), /filter 1: eventName: .*"wildcard".* not emulated locally/],
    ['a filter that is not JSON', streamMapping({ FilterCriteria: { Filters: [{ Pattern: '{eventName' }] } }), /filter 1 is not JSON/],
    ['an on-failure destination that is not a queue of the template', streamMapping({ DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:000000000000:lost' } } }), /on-failure destination arn:aws:sns:.* is not emulated locally/],
    ['a starting position at a timestamp', streamMapping({ StartingPosition: 'AT_TIMESTAMP' }), /StartingPosition "AT_TIMESTAMP" is not emulated locally/],
    ['a tumbling window', streamMapping({ TumblingWindowInSeconds: 60 }), /TumblingWindowInSeconds is not emulated locally/],
    ['a function the local stack does not run', streamMapping({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:elsewhere' }), /invokes arn:aws:lambda:.*:function:elsewhere, which is not a function of the template/],
    [
      'stream settings on an SQS mapping',
      { DeliverSqsEventSource: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { ...BASE.DeliverSqsEventSource!.Properties, BisectBatchOnFunctionError: true } } },
      /BisectBatchOnFunctionError applies to stream sources, not to the SQS queue DeliveriesBF2F7293/,
    ],
    [
      'a FIFO queue as a source',
      { DeliveriesBF2F7293: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } } },
      /its source DeliveriesBF2F7293 is a FIFO queue, whose ordering per message group is not emulated locally/,
    ],
    [
      'a dead-letter queue that is not a queue of the template',
      { DeliveriesBF2F7293: { Type: 'AWS::SQS::Queue', Properties: { RedrivePolicy: { deadLetterTargetArn: `${SQS_ARN}:elsewhere`, maxReceiveCount: 3 } } } },
      /Queue DeliveriesBF2F7293: its dead-letter queue .*:elsewhere is not a queue of the template/,
    ],
  ])('refuses %s at load, naming it', (_what, changes, error) => {
    expect(() => load(changes)).toThrow(error);
  });

  it('refuses the stream ARN of a table without a stream', () => {
    const table = BASE.TableCD117FA1!;
    const { StreamSpecification: _stream, ...properties } = table.Properties!;

    expect(() => load({ TableCD117FA1: { ...table, Properties: properties } })).toThrow(/cannot resolve Fn::GetAtt TableCD117FA1.StreamArn/);
  });
});
