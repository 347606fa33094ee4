import { Duration, Stack } from 'aws-cdk-lib';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { BulkActions } from '../../infra/constructs/bulk-actions.js';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import {
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  resourcesOf,
  statementsOfFunction,
  synthService,
  testApp,
  type CfnResource,
} from './support.js';

const { stack, template } = synthService();
const bulk = childOf(stack, 'BulkActions', BulkActions);
const api = childOf(stack, 'Api', ExecutionsApi);
const runtime = childOf(stack, 'Runtime', TaskRuntime);
const queues = resourcesOf(template, 'AWS::SQS::Queue');
const functions = resourcesOf(template, 'AWS::Lambda::Function');
const mappings = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping'));
const queueId = logicalIdOf(stack, bulk.queue);
const deadLetterId = logicalIdOf(stack, bulk.deadLetterQueue);
const workerId = logicalIdOf(stack, bulk.workerFunction);
const sweepId = logicalIdOf(stack, bulk.sweepFunction);
const apiFunctionId = logicalIdOf(stack, api.functions.bulk);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const queueOf = (queue: IQueue): CfnResource => queues[logicalIdOf(stack, queue)]!;
const variablesOf = (id: string): Record<string, unknown> => (functions[id]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;

describe('bulk action queues', () => {
  it.each([
    ['page', () => bulk.queue],
    ['dead-letter', () => bulk.deadLetterQueue],
  ])('the %s queue is encrypted and refuses any request without TLS', (_name, queue) => {
    const id = logicalIdOf(stack, queue());
    expect(queues[id]?.Properties?.SqsManagedSseEnabled).toBe(true);
    const policy = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).find((candidate) =>
      JSON.stringify(candidate.Properties?.Queues).includes(JSON.stringify({ Ref: id })),
    );
    expect(JSON.stringify(policy?.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('sends a page message that failed 10 times to its dead-letter queue, which keeps it 14 days', () => {
    expect(queueOf(bulk.queue).Properties?.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(deadLetterId), maxReceiveCount: 10 });
    expect(queueOf(bulk.deadLetterQueue).Properties?.MessageRetentionPeriod).toBe(Duration.days(14).toSeconds());
  });

  it('hands a crashed page back after six times the worker timeout, past the lease the worker holds', () => {
    const timeout = functions[workerId]?.Properties?.Timeout as number;
    expect(queueOf(bulk.queue).Properties?.VisibilityTimeout).toBe(timeout * 6);
    const lease = Number(variablesOf(workerId).BULK_LEASE_SECONDS);
    expect(lease).toBeGreaterThan(timeout);
    expect(lease).toBeLessThan(timeout * 6);
  });

  it('alarms while a message is in the dead-letter queue', () => {
    const alarm = resourcesOf(template, 'AWS::CloudWatch::Alarm')[logicalIdOf(stack, bulk.deadLetterAlarm)];
    expect(alarm?.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', MetricName: 'ApproximateNumberOfMessagesVisible' });
    expect(JSON.stringify(alarm?.Properties?.Dimensions)).toContain(deadLetterId);
  });
});

describe('bulk worker', () => {
  it('takes one page message per invocation from the page queue, reporting failed messages one by one', () => {
    const found = mappings.filter((mapping) => JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify({ Ref: workerId }));
    expect(found).toHaveLength(1);
    expect(found[0]!.Properties).toMatchObject({ EventSourceArn: arnOf(queueId), BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('may stop and redrive executions of this stack\'s state machines, and start those state machines, and no other Step Functions action', () => {
    const statements = statementsOfFunction(template, workerId);
    const machines = [...runtime.stateMachines.values()].map((machine) => logicalIdOf(stack, machine));
    for (const action of ['states:StopExecution', 'states:RedriveExecution']) {
      const granted = statements.filter((statement) => allows([statement], action));
      expect(granted, action).toHaveLength(1);
      expect(JSON.stringify(granted[0]!.Resource), action).toContain(':execution:');
      for (const machine of machines) expect(JSON.stringify(granted[0]!.Resource), action).toContain(machine);
    }
    // StartExecution on each state machine by its own ARN (a reference), never a wildcard.
    const starts = statements.filter((statement) => allows([statement], 'states:StartExecution'));
    const started = starts.flatMap((statement) => [statement.Resource].flat());
    expect(started).toEqual(expect.arrayContaining(machines.map((machine) => ({ Ref: machine }))));
    expect(JSON.stringify(started)).not.toContain('*');
    expect(new Set(actionsOf(statements).filter((action) => /^states:/i.test(action)))).toEqual(
      new Set(['states:StopExecution', 'states:RedriveExecution', 'states:StartExecution']),
    );
  });

  it('writes execution records (EXEC#), replay Idempotency-Keys (IDEM#) and bulk items only, reads the tenant indexes (T#), deletes nothing', () => {
    const statements = statementsOfFunction(template, workerId).filter((statement) => actionsOf([statement]).some((action) => action.startsWith('dynamodb:')));
    for (const statement of statements) expect(statement.Condition, JSON.stringify(statement.Action)).toBeDefined();
    const writes = statements.filter((statement) => allows([statement], 'dynamodb:PutItem'));
    const keys = writes.flatMap((statement) => (statement.Condition as { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] } })['ForAllValues:StringLike']['dynamodb:LeadingKeys']);
    expect(keys).toEqual(expect.arrayContaining(['EXEC#*', 'IDEM#*', 'T#*']));
    expect(keys.filter((key) => !key.startsWith('BULK'))).toEqual(['EXEC#*', 'IDEM#*', 'T#*']);
    const deletes = statements.filter((statement) => allows([statement], 'dynamodb:DeleteItem'));
    for (const statement of deletes) expect(JSON.stringify(statement.Condition)).not.toContain('EXEC#');
  });

  it('reads tag index items (TAG#) and batches of records (EXEC#) to match a tag, with no write on TAG#', () => {
    const statements = statementsOfFunction(template, workerId).filter((statement) => actionsOf([statement]).some((action) => action.startsWith('dynamodb:')));
    const keysOf = (statement: (typeof statements)[number]) =>
      (statement.Condition as { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] } })['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
    const batchGets = statements.filter((statement) => allows([statement], 'dynamodb:BatchGetItem'));
    expect(batchGets).toHaveLength(1);
    expect(keysOf(batchGets[0]!)).toEqual(['LIMITS#*', 'TAG#*', 'A#*', 'EXEC#*']);
    expect(allows(batchGets, 'dynamodb:Query')).toBe(true);
    expect(allows(batchGets, 'dynamodb:PutItem')).toBe(false);
    const tagged = statements.filter((statement) => keysOf(statement).some((key) => key.startsWith('TAG')));
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem']) expect(allows(tagged, action), action).toBe(false);
  });

  it('bundles the task catalogue and knows the deployed task ids (a replay starts its task\'s first step)', () => {
    expect(variablesOf(workerId).TASK_IDS).toBe([...runtime.stateMachines.keys()].join(','));
    expect(JSON.stringify((functions[workerId] as { Metadata?: unknown } | undefined)?.Metadata)).toContain('task-catalogue');
  });

  it('knows its queue, the state machine prefix and its lease', () => {
    expect(variablesOf(workerId).BULK_QUEUE_URL).toEqual({ Ref: queueId });
    expect(variablesOf(workerId).STATE_MACHINE_ARN_PREFIX).toBeDefined();
  });
});

describe('bulk sweep', () => {
  it('runs every 2 minutes by default on an EventBridge schedule', () => {
    const rule = resourcesOf(template, 'AWS::Events::Rule')[logicalIdOf(stack, bulk.sweepSchedule)];
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'rate(2 minutes)', State: 'ENABLED', Targets: [{ Arn: arnOf(sweepId) }] });
  });

  it('reads bulk items only and writes nothing in the table; it may send to the page queue', () => {
    const statements = statementsOfFunction(template, sweepId);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(allows(statements, action), action).toBe(false);
    const reads = statements.filter((statement) => allows([statement], 'dynamodb:Query'));
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]!.Condition)).toContain('BULKACTIVE');
    expect(allows(statements, 'sqs:SendMessage')).toBe(true);
  });

  it.each([[Duration.seconds(90)], [Duration.minutes(0)], [Duration.hours(2)]])('refuses a sweep every %s at synth', (every) => {
    const scope = new Stack(testApp(), 'Scratch');
    const table = TableV2.fromTableName(scope, 'Table', 'executions');
    const machine = StateMachine.fromStateMachineName(scope, 'Machine', 'machine');
    expect(
      () => new BulkActions(scope, 'Bulk', { table, stateMachines: [machine], stateMachineArnPrefix: 'arn:x:', taskIds: 'x', taskCatalogue: '/x.json', environment: {}, sweepEvery: every }),
    ).toThrow(/sweepEvery must be whole minutes from 1 to 60/);
  });
});

describe('who may send to the page queue', () => {
  it('the bulk API function (first pages), the worker (next pages) and the sweep (stalled jobs), nothing else', () => {
    const senders = new Set(
      allStatements(template)
        .filter(({ statement }) => allows([statement], 'sqs:SendMessage') && JSON.stringify(statement.Resource).includes(JSON.stringify(arnOf(queueId))))
        .map(({ role }) => role),
    );
    const roleOf = (id: string) => (functions[id]?.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect([...senders].sort()).toEqual([roleOf(apiFunctionId), roleOf(workerId), roleOf(sweepId)].sort());
  });
});
