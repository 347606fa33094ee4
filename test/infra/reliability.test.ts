import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import * as z from 'zod/mini';
import { beforeAll, describe, expect, it } from 'vitest';
import { Reconciler, type ReconcilerProps } from '../../infra/constructs/reconciler.js';
import { StatusEvents } from '../../infra/constructs/status-events.js';
import { TaskStateMachine } from '../../infra/constructs/task-state-machine.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { defineTask, lambdaStepsOf, step, waitForInput, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import {
  actionsOf,
  childOf,
  decodeDefinition,
  logicalIdOf,
  onlyResource,
  resourcesOf,
  statementsOfFunction,
  synthService,
  testApp,
  type CfnResource,
  SAMPLE_TASKS,
} from './support.js';

const { stack, template } = synthService();
const statusEvents = childOf(stack, 'StatusEvents', StatusEvents);
const reconciler = childOf(stack, 'Reconciler', Reconciler);
const reconcilerId = logicalIdOf(stack, reconciler.handler);
const statusChangeId = logicalIdOf(stack, statusEvents.handler);
const queueId = logicalIdOf(stack, statusEvents.deadLetterQueue);
const queue = resourcesOf(template, 'AWS::SQS::Queue')[queueId]!;
const queueArn = { 'Fn::GetAtt': [queueId, 'Arn'] };

function alarmOf(alarm: Alarm): CfnResource {
  const id = logicalIdOf(stack, alarm);
  const resource = resourcesOf(template, 'AWS::CloudWatch::Alarm')[id];
  if (!resource) throw new Error(`No alarm ${id}`);
  return resource;
}

function scheduleOf(t: Template): CfnResource {
  // The reconciler's: the webhook redrive (test/infra/webhooks.test.ts), the bulk sweep and admission have schedules of their own.
  const schedules = Object.values(resourcesOf(t, 'AWS::Events::Rule')).filter(
    (rule) =>
      rule.Properties?.ScheduleExpression &&
      !JSON.stringify(rule.Properties.Targets).includes('WebhooksRedrive') &&
      !JSON.stringify(rule.Properties.Targets).includes('BulkActionsSweep') &&
      !JSON.stringify(rule.Properties.Targets).includes('AdmissionHandler'),
  );
  expect(schedules).toHaveLength(1);
  return schedules[0]!;
}

function scratch(): { stack: Stack; props: ReconcilerProps } {
  const scope = new Stack(testApp(), 'Scratch');
  const table = TableV2.fromTableName(scope, 'Table', 'executions');
  const machine = StateMachine.fromStateMachineName(scope, 'Machine', 'machine');
  return { stack: scope, props: { table, stateMachines: [machine], stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:Scratch-', environment: {} } };
}

describe('reconciler', () => {
  it('runs on an EventBridge schedule, every 5 minutes by default, targeting the reconciler function', () => {
    const schedule = scheduleOf(template);

    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [reconcilerId, 'Arn'] } }],
    });
    expect(schedule.Properties).not.toHaveProperty('EventPattern');
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [reconcilerId, 'Arn'] },
    });
  });

  it('runs the reconciler handler module with its limits in the environment and a timeout its run budget fits in', () => {
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[reconcilerId];
    const variables = (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;

    expect(fn?.Properties?.Timeout).toBe(60);
    expect(variables).toMatchObject({
      RECONCILE_MIN_AGE_SECONDS: '60',
      RECONCILE_START_GRACE_SECONDS: '300',
      RECONCILE_MAX_CHECKS: '400',
    });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: Match.objectLike({ 'async-executions:entry': 'runtime/reconciler-handler.ts' }),
    });
  });

  it('is not retried by Lambda: the next scheduled run is the retry', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: reconcilerId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
  });

  it('may describe (and, for family follow-ups, stop and answer; for lost admissions, start) executions of this stack\'s state machines and nothing else in Step Functions', () => {
    const statements = statementsOfFunction(template, reconcilerId);
    const states = actionsOf(statements).filter((action) => /^states:/i.test(action));

    expect([...new Set(states)].sort()).toEqual([
      'states:DescribeExecution',
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    const resources = JSON.stringify(statements.filter((statement) => actionsOf([statement]).includes('states:DescribeExecution')));
    expect(resources).toContain(':execution:');
    expect(resources).not.toContain('stateMachine:*');
  });

  it('has an errors alarm on the reconciler function', () => {
    expect(alarmOf(reconciler.errorsAlarm).Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: reconcilerId } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });

  describe('with reconcileEvery and reconcileMinAge given', () => {
    let custom: Template;
    beforeAll(() => {
      custom = Template.fromStack(
        new ExecutionsStack(testApp(), 'Custom', { tasksModule: SAMPLE_TASKS, reconcileEvery: Duration.minutes(1), reconcileMinAge: Duration.seconds(2) }),
      );
    });

    it('schedules at that rate and passes the minimum age to the function', () => {
      expect(scheduleOf(custom).Properties?.ScheduleExpression).toBe('rate(1 minute)');
      custom.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ RECONCILE_MIN_AGE_SECONDS: '2' }) },
      });
    });
  });

  it.each([
    [{ every: Duration.seconds(30) }, /every must be whole minutes/],
    [{ every: Duration.days(2) }, /every must be whole minutes/],
    [{ minAge: Duration.millis(500) }, /minAge must be at least 1 second/],
    [{ startGrace: Duration.seconds(30) }, /startGrace must be at least 1 minute/],
    [{ maxChecksPerRun: 0 }, /maxChecksPerRun must be an integer/],
    [{ maxChecksPerRun: 1.5 }, /maxChecksPerRun must be an integer/],
  ] as const)('rejects %o at synth', (override, message) => {
    const { stack: scope, props } = scratch();

    expect(() => new Reconciler(scope, 'Reconciler', { ...props, ...override })).toThrow(message);
  });

  it('rejects an empty state machine list', () => {
    const { stack: scope, props } = scratch();

    expect(() => new Reconciler(scope, 'Reconciler', { ...props, stateMachines: [] })).toThrow(/at least one state machine/);
  });
});

describe('status-change dead-letter queue', () => {
  it('is encrypted at rest and keeps messages for 14 days', () => {
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });

  it('refuses any request that does not use TLS', () => {
    const policy = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).find((candidate) =>
      JSON.stringify(candidate.Properties?.Queues).includes(queueId),
    );
    const statements = (policy?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;

    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: queueArn,
      }),
    );
  });

  it('takes the events EventBridge could not deliver to the status-change function', () => {
    const rule = resourcesOf(template, 'AWS::Events::Rule')[logicalIdOf(stack, statusEvents.rule)];
    const targets = rule?.Properties?.Targets as { Arn: unknown; DeadLetterConfig?: { Arn: unknown } }[];

    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ Arn: { 'Fn::GetAtt': [statusChangeId, 'Arn'] }, DeadLetterConfig: { Arn: queueArn } });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(stack, statusEvents.rule), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('takes the events the status-change function failed on after Lambda\'s retries (on-failure destination)', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: statusChangeId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: queueArn } },
    });
    const sends = statementsOfFunction(template, statusChangeId).filter((statement) => actionsOf([statement]).some((action) => /^sqs:/.test(action)));
    expect(sends.length).toBeGreaterThan(0);
    for (const statement of sends) {
      expect(actionsOf([statement]).every((action) => action === 'sqs:SendMessage' || action === 'sqs:GetQueueAttributes' || action === 'sqs:GetQueueUrl')).toBe(true);
      expect(statement.Resource).toEqual(queueArn);
    }
  });

  it('alarms as soon as a message is visible', () => {
    expect(alarmOf(statusEvents.deadLetterAlarm).Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on errors of the status-change function', () => {
    expect(alarmOf(statusEvents.errorsAlarm).Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: statusChangeId } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('reserves 10 concurrent executions for the status-change function, and only for it', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(functions[statusChangeId]?.Properties?.ReservedConcurrentExecutions).toBe(10);
    const others = Object.entries(functions).filter(([id, fn]) => id !== statusChangeId && fn.Properties?.ReservedConcurrentExecutions !== undefined);
    expect(others.map(([id]) => id)).toEqual([]);
  });

  it('takes the status-change reservation from the stack prop statusChangeConcurrency', () => {
    const custom = new ExecutionsStack(testApp(), 'Reserved', { tasksModule: SAMPLE_TASKS, statusChangeConcurrency: 3 });
    const handler = childOf(custom, 'StatusEvents', StatusEvents).handler;
    const fn = resourcesOf(Template.fromStack(custom), 'AWS::Lambda::Function')[logicalIdOf(custom, handler)];
    expect(fn?.Properties?.ReservedConcurrentExecutions).toBe(3);
  });

  it('has exactly these three alarms in the stack, with the two of the webhook queues, the bulk and schedules dead-letter queues\', admission\'s lost changes and the tag index\'s lost changes', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });
});

describe('task execution timeout', () => {
  const base = {
    description: 'Timeout test.',
    kind: 'test',
    input: z.object({}),
    examples: [{}],
  };

  function timeoutOf(task: TaskDefinition): number | undefined {
    const scope = new Stack(testApp(), 'Timeouts');
    const fn = LambdaFunction.fromFunctionArn(scope, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:step');
    new TaskStateMachine(scope, 'Machine', {
      task,
      stepFunctions: new Map(lambdaStepsOf(task).map((entry) => [entry, fn])),
      waitFunction: fn,
      recordFunction: fn,
      stateMachineName: `timeouts-${task.id}`,
    });
    const [, machine] = onlyResource(Template.fromStack(scope), 'AWS::StepFunctions::StateMachine');
    return decodeDefinition(machine.Properties?.DefinitionString).TimeoutSeconds;
  }

  it('uses a task\'s own timeoutSeconds as the state machine timeout', () => {
    const task = defineTask({ ...base, id: 'custom-timeout', timeoutSeconds: 900, steps: [step('work', () => 1, { timeoutSeconds: 600 })] });

    expect(timeoutOf(task)).toBe(900);
  });

  it('computes the timeout from the steps when the task sets none, counting the 242 s Lambda throttling may add per step', () => {
    const task = defineTask({ ...base, id: 'computed-timeout', steps: [step('work', () => 1, { timeoutSeconds: 10, retry: false })] });

    expect(timeoutOf(task)).toBe(10 + 242 + 60);
  });

  it('counts every attempt of a step\'s own retry policy and its delays in the computed timeout', () => {
    const task = defineTask({
      ...base,
      id: 'retried-timeout',
      steps: [step('work', () => 1, { timeoutSeconds: 10, retry: { maxAttempts: 3, intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 5 } })],
    });

    // 4 attempts of 10 s, delays 2 + 4 + 5 (capped), Lambda's refusals 242 s, and a minute.
    expect(timeoutOf(task)).toBe(4 * 10 + 11 + 242 + 60);
  });

  it('refuses a timeout shorter than the longest single step, naming it', () => {
    const task: TaskDefinition = {
      ...base,
      id: 'short-timeout',
      timeoutSeconds: 100,
      steps: [step('quick', () => 1, { timeoutSeconds: 10 }), waitForInput('approval', { timeoutSeconds: 3600 })],
    };

    expect(() => timeoutOf(task)).toThrow(/timeoutSeconds \(100\) is shorter than step "approval" \(3600\)/);
  });

  it('keeps the product tasks on their computed timeouts', () => {
    for (const task of TASKS.values()) expect(task.timeoutSeconds, task.id).toBeUndefined();
  });
});
