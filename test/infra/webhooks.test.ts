import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { Webhooks, type WebhooksProps } from '../../infra/constructs/webhooks.js';
import {
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  onlyResource,
  resourcesOf,
  statementsOfFunction,
  synthService,
  testApp,
  type CfnResource,
  type PolicyStatement,
} from './support.js';

const { stack, template } = synthService();
const webhooks = childOf(stack, 'Webhooks', Webhooks);
const api = childOf(stack, 'Api', ExecutionsApi);
const queues = resourcesOf(template, 'AWS::SQS::Queue');
const functions = resourcesOf(template, 'AWS::Lambda::Function');
const mappings = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping'));
const [tableId, table] = onlyResource(template, 'AWS::DynamoDB::GlobalTable');

const queueId = logicalIdOf(stack, webhooks.queue);
const deadLetterId = logicalIdOf(stack, webhooks.deadLetterQueue);
const lostChangesId = logicalIdOf(stack, webhooks.lostChanges);
const dispatchId = logicalIdOf(stack, webhooks.dispatchFunction);
const deliverId = logicalIdOf(stack, webhooks.deliverFunction);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

function queueOf(queue: IQueue): CfnResource {
  return queues[logicalIdOf(stack, queue)]!;
}

function mappingOf(functionId: string): CfnResource {
  const found = mappings.filter((mapping) => JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify({ Ref: functionId }));
  expect(found).toHaveLength(1);
  return found[0]!;
}

function variablesOf(functionId: string): Record<string, unknown> {
  return (functions[functionId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

function alarmOf(alarm: Alarm): CfnResource {
  return resourcesOf(template, 'AWS::CloudWatch::Alarm')[logicalIdOf(stack, alarm)]!;
}

/** Statements of a function that allow `action` on the resource `arn`. */
function grantsOn(statements: readonly PolicyStatement[], action: string, arn: unknown): PolicyStatement[] {
  return statements.filter((statement) => allows([statement], action) && JSON.stringify(statement.Resource).includes(JSON.stringify(arn)));
}

/** A stack holding only a Webhooks construct on an imported table with a stream. */
function scratch(props: Partial<WebhooksProps> = {}): { stack: Stack; webhooks: Webhooks } {
  const scope = new Stack(testApp(), 'Scratch');
  const imported = TableV2.fromTableAttributes(scope, 'Table', {
    tableName: 'executions',
    tableStreamArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/executions/stream/2026-01-01T00:00:00.000',
  });
  return { stack: scope, webhooks: new Webhooks(scope, 'Webhooks', { table: imported, environment: {}, ...props }) };
}

describe('webhook queues', () => {
  it.each([
    ['delivery', () => webhooks.queue],
    ['dead-letter', () => webhooks.deadLetterQueue],
    ['lost changes', () => webhooks.lostChanges],
  ])('the %s queue is encrypted and refuses any request without TLS', (_name, queue) => {
    const id = logicalIdOf(stack, queue());
    expect(queues[id]?.Properties?.SqsManagedSseEnabled).toBe(true);
    const policy = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).find(
      (candidate) => JSON.stringify(candidate.Properties?.Queues) === JSON.stringify([{ Ref: id }]),
    );
    expect((policy?.Properties?.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual({
      Action: 'sqs:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: arnOf(id),
    });
  });

  it('the delivery queue redrives to the dead-letter queue a message the function keeps failing on', () => {
    expect(queueOf(webhooks.queue).Properties?.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(deadLetterId), maxReceiveCount: 50 });
  });

  it('the delivery queue keeps its messages longer than the whole retry schedule', () => {
    const schedule = String(variablesOf(deliverId).WEBHOOK_RETRY_SECONDS).split(',').map(Number);
    const retention = queueOf(webhooks.queue).Properties?.MessageRetentionPeriod as number;

    expect(retention).toBe(4 * 86_400);
    expect(retention).toBeGreaterThan(schedule.reduce((sum, seconds) => sum + seconds, 0));
  });

  it("the delivery queue's visibility is at least six times the delivery function's timeout", () => {
    const visibility = queueOf(webhooks.queue).Properties?.VisibilityTimeout as number;
    const timeout = functions[deliverId]?.Properties?.Timeout as number;

    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
    expect(visibility).toBe(240);
  });

  it('the dead-letter and lost-changes queues keep messages 14 days', () => {
    expect(queueOf(webhooks.deadLetterQueue).Properties?.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(queueOf(webhooks.lostChanges).Properties?.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it.each([
    ['dead-letter', () => webhooks.deadLetterAlarm, deadLetterId],
    ['lost-changes', () => webhooks.lostChangesAlarm, lostChangesId],
  ])('the %s queue alarms as soon as a message is visible', (_name, alarm, id) => {
    expect(alarmOf(alarm()).Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('delivery function', () => {
  it('polls the delivery queue 10 messages at a time and reports partial batch failures', () => {
    expect(mappingOf(deliverId).Properties).toEqual({
      BatchSize: 10,
      EventSourceArn: arnOf(queueId),
      FunctionName: { Ref: deliverId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('gets the queues, the Standard Webhooks schedule and the endpoint timeout in its environment, and a timeout that fits a batch', () => {
    expect(variablesOf(deliverId)).toMatchObject({
      WEBHOOK_QUEUE_URL: { Ref: queueId },
      WEBHOOK_DEAD_LETTER_URL: { Ref: deadLetterId },
      WEBHOOK_RETRY_SECONDS: '5,300,1800,7200,18000,36000,36000',
      WEBHOOK_TIMEOUT_MS: '10000',
    });
    expect(variablesOf(deliverId)).not.toHaveProperty('WEBHOOK_ALLOW_LOOPBACK');
    expect(functions[deliverId]?.Properties?.Timeout).toBe(40);
  });

  it('may send to the dead-letter queue and change the visibility of delivery messages', () => {
    const statements = statementsOfFunction(template, deliverId);

    expect(grantsOn(statements, 'sqs:SendMessage', arnOf(deadLetterId))).not.toEqual([]);
    expect(grantsOn(statements, 'sqs:ChangeMessageVisibility', arnOf(queueId))).not.toEqual([]);
    expect(grantsOn(statements, 'sqs:SendMessage', arnOf(queueId))).toEqual([]);
  });

  it('may write items of the table but not delete them', () => {
    const statements = statementsOfFunction(template, deliverId);

    expect(allows(statements, 'dynamodb:UpdateItem')).toBe(true);
    expect(allows(statements, 'dynamodb:DeleteItem')).toBe(false);
  });
});

describe('dispatch function and the table stream', () => {
  it('the table streams new and old images', () => {
    expect(table.Properties?.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('reads the stream from its start, bisecting failing batches, retrying, and sending what it gave up on to the lost-changes queue', () => {
    expect(mappingOf(dispatchId).Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      DestinationConfig: { OnFailure: { Destination: arnOf(lostChangesId) } },
    });
  });

  it('is invoked only for execution records with a status other than running before or after', () => {
    const filters = (mappingOf(dispatchId).Properties?.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;

    expect(filters.map((filter) => filter.Pattern)).toEqual([
      '{"dynamodb":{"Keys":{"sk":{"S":["META"]}},"NewImage":{"status":{"S":[{"anything-but":["running"]}]}}}}',
      '{"dynamodb":{"Keys":{"sk":{"S":["META"]}},"OldImage":{"status":{"S":[{"anything-but":["running"]}]}}}}',
    ]);
  });

  it('gets the delivery queue and the API base URL its views link to', () => {
    expect(variablesOf(dispatchId)).toMatchObject({
      WEBHOOK_QUEUE_URL: { Ref: queueId },
      API_BASE_URL: { 'Fn::Join': ['', ['https://', { Ref: logicalIdOf(stack, api.httpApi) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
    });
    expect(functions[dispatchId]?.Properties?.Timeout).toBe(30);
  });

  it('may send to the delivery queue and write the delivery items it plans, but delete nothing', () => {
    const statements = statementsOfFunction(template, dispatchId);

    expect(grantsOn(statements, 'sqs:SendMessage', arnOf(queueId))).not.toEqual([]);
    expect(allows(statements, 'dynamodb:Query')).toBe(true);
    expect(allows(statements, 'dynamodb:PutItem')).toBe(true);
    expect(allows(statements, 'dynamodb:DeleteItem')).toBe(false);
  });
});

describe('table access of the webhook functions', () => {
  it.each([
    ['dispatch', () => webhooks.dispatchFunction],
    ['deliver', () => webhooks.deliverFunction],
    ['redrive', () => webhooks.redriveFunction],
    ['webhooks API', () => api.functions.webhooks],
  ] as const)('%s reaches webhook items only (subscriptions, deliveries, the due index), never an execution or a key', (_name, fn) => {
    const statements = statementsOfFunction(template, logicalIdOf(stack, fn())).filter((statement) =>
      JSON.stringify(statement.Action).includes('dynamodb:') && !/Stream|GetRecords|GetShardIterator/.test(JSON.stringify(statement.Action)),
    );

    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WEBHOOKS#*', 'WEBHOOK#*', 'DUE#*'] } });
    }
  });
});

describe('the redrive of lost messages', () => {
  const redriveId = logicalIdOf(stack, webhooks.redriveFunction);

  it('runs every 5 minutes on an EventBridge schedule', () => {
    const rule = resourcesOf(template, 'AWS::Events::Rule')[logicalIdOf(stack, webhooks.redriveSchedule)];

    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect(JSON.stringify(rule?.Properties?.Targets)).toContain(redriveId);
  });

  it('may send to the delivery queue and update delivery items, and gets the queue URL', () => {
    const statements = statementsOfFunction(template, redriveId);

    expect(grantsOn(statements, 'sqs:SendMessage', arnOf(queueId))).not.toEqual([]);
    expect(allows(statements, 'dynamodb:UpdateItem')).toBe(true);
    expect(allows(statements, 'dynamodb:DeleteItem')).toBe(false);
    expect((functions[redriveId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.WEBHOOK_QUEUE_URL).toEqual({ Ref: queueId });
  });

  it('finds overdue deliveries through a sparse, keys-only by-due index of the table', () => {
    const indexes = table.Properties?.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: unknown; Projection: unknown }>;

    expect(indexes.find((index) => index.IndexName === 'by-due')).toEqual({
      IndexName: 'by-due',
      KeySchema: [
        { AttributeName: 'due_key', KeyType: 'HASH' },
        { AttributeName: 'due_at', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
  });
});

describe('who may send to the delivery queue', () => {
  it('of the API functions, only the webhooks function (test pings and redeliveries)', () => {
    for (const [name, fn] of Object.entries(api.functions)) {
      const sends = grantsOn(statementsOfFunction(template, logicalIdOf(stack, fn)), 'sqs:SendMessage', arnOf(queueId));
      expect(sends.length > 0, name).toBe(name === 'webhooks');
    }
  });

  it('no role of the stack but the dispatch, redrive and webhooks functions', () => {
    const senders = new Set(
      allStatements(template)
        .filter(({ statement }) => grantsOn([statement], 'sqs:SendMessage', arnOf(queueId)).length > 0)
        .map(({ role }) => role),
    );
    const roleOf = (functionId: string) => (functions[functionId]?.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

    expect([...senders].sort()).toEqual(
      [roleOf(dispatchId), roleOf(logicalIdOf(stack, webhooks.redriveFunction)), roleOf(logicalIdOf(stack, api.functions.webhooks))].sort(),
    );
  });

  it('the webhooks API function gets the delivery queue URL, and only SQS send actions on it', () => {
    const webhooksId = logicalIdOf(stack, api.functions.webhooks);
    expect(variablesOf(webhooksId).WEBHOOK_QUEUE_URL).toEqual({ Ref: queueId });
    const onQueue = statementsOfFunction(template, webhooksId).filter((statement) => JSON.stringify(statement.Resource).includes(queueId));
    expect(actionsOf(onQueue).every((action) => ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].includes(action))).toBe(true);
  });
});

describe('Webhooks props', () => {
  it('takes another schedule and endpoint timeout, sizing the delivery function and queue from them', () => {
    const { stack: scope, webhooks: built } = scratch({
      retrySchedule: [Duration.seconds(1), Duration.minutes(1), Duration.hours(10)],
      deliveryTimeout: Duration.seconds(20),
    });
    const synthesized = Template.fromStack(scope);
    const fn = resourcesOf(synthesized, 'AWS::Lambda::Function')[logicalIdOf(scope, built.deliverFunction)]!;
    const queue = resourcesOf(synthesized, 'AWS::SQS::Queue')[logicalIdOf(scope, built.queue)]!;

    expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      WEBHOOK_RETRY_SECONDS: '1,60,36000',
      WEBHOOK_TIMEOUT_MS: '20000',
    });
    expect(fn.Properties?.Timeout).toBe(50);
    expect(queue.Properties?.VisibilityTimeout).toBe(300);
  });

  it.each<[string, Partial<WebhooksProps>, RegExp]>([
    // Jittered by up to +10 %, a wait must still fit SQS's 12 hours from the receipt, less the attempt's 2 minutes.
    ['a wait that could exceed 12 hours once jittered', { retrySchedule: [Duration.seconds(5), Duration.seconds(39_164)] }, /each wait must be whole seconds from 0 to 39163/],
    ['a schedule longer than 3 days', { retrySchedule: Array.from({ length: 8 }, () => Duration.hours(10)) }, /at most 3 days/],
    ['more than 20 waits', { retrySchedule: Array.from({ length: 21 }, () => Duration.seconds(1)) }, /at most 20 waits/],
    ['an endpoint timeout over 30 s', { deliveryTimeout: Duration.seconds(31) }, /deliveryTimeout must be from 1 to 30 seconds/],
    ['an endpoint timeout under 1 s', { deliveryTimeout: Duration.millis(500) }, /deliveryTimeout must be from 1 to 30 seconds/],
  ])('refuses %s', (_what, props, message) => {
    expect(() => scratch(props)).toThrow(message);
  });

  it('accepts the limits themselves: the longest wait, 20 waits, and timeouts of 1 and 30 s', () => {
    expect(() => scratch({ retrySchedule: [Duration.seconds(39_163)], deliveryTimeout: Duration.seconds(30) })).not.toThrow();
    expect(() => scratch({ retrySchedule: Array.from({ length: 20 }, () => Duration.seconds(1)) })).not.toThrow();
    expect(() => scratch({ deliveryTimeout: Duration.seconds(1) })).not.toThrow();
  });
});
