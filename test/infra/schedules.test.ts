import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { flattenCfnReference } from '../../infra/constructs/nag.js';
import { Schedules } from '../../infra/constructs/schedules.js';
import {
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  onlyResource,
  resourcesOf,
  roleOfFunction,
  statementsOfFunction,
  statementsOfRole,
  synthService,
} from './support.js';

const { stack, template } = synthService();
const schedules = childOf(stack, 'Schedules', Schedules);
const api = childOf(stack, 'Api', ExecutionsApi);
const groupId = logicalIdOf(stack, schedules.group);
/** The group's name: CDK gives it a physical name of its own, a string in the template. */
const groupName = stack.resolve(schedules.group.scheduleGroupName) as string;
const roleId = logicalIdOf(stack, schedules.role);
const runFunctionId = logicalIdOf(stack, schedules.runFunction);
const queueId = logicalIdOf(stack, schedules.deadLetterQueue);
const schedulesFunctionId = logicalIdOf(stack, api.functions.schedules);
const schedulesStatements = statementsOfFunction(template, schedulesFunctionId);
const environment = (resourcesOf(template, 'AWS::Lambda::Function')[schedulesFunctionId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;

describe('schedules on EventBridge Scheduler', () => {
  it('has one schedule group of the stack, removed with it (its schedules invoke this stack\'s function)', () => {
    const [id, group] = onlyResource(template, 'AWS::Scheduler::ScheduleGroup');
    expect(id).toBe(groupId);
    expect(group.DeletionPolicy).toBe('Delete');
    expect(group.Properties?.Name).toBe(groupName);
    // No schedule in the template: the API creates them at run time.
    expect(Object.keys(resourcesOf(template, 'AWS::Scheduler::Schedule'))).toEqual([]);
  });

  it('tells the schedules function its group, run function, role and dead-letter queue', () => {
    expect(environment).toMatchObject({
      SCHEDULE_GROUP: groupName,
      SCHEDULE_TARGET_ARN: { 'Fn::GetAtt': [runFunctionId, 'Arn'] },
      SCHEDULE_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
      SCHEDULE_DEAD_LETTER_ARN: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });

  it('lets only Scheduler assume the invoke role, for schedules of this account and group', () => {
    const role = resourcesOf(template, 'AWS::IAM::Role')[roleId]!;
    const trust = role.Properties?.AssumeRolePolicyDocument as { Statement: Array<{ Principal: unknown; Condition: Record<string, Record<string, unknown>> }> };
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]!.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Statement[0]!.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(flattenCfnReference(trust.Statement[0]!.Condition.ArnLike!['aws:SourceArn'])).toBe(
      `arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*`,
    );
  });

  it('lets the invoke role invoke the run function and send to the dead-letter queue, nothing else', () => {
    const statements = statementsOfRole(template, roleId);
    expect(actionsOf(statements).sort()).toEqual(['lambda:InvokeFunction', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    const invoke = statements.find((statement) => allows([statement], 'lambda:InvokeFunction'))!;
    expect(invoke.Resource).toEqual({ 'Fn::GetAtt': [runFunctionId, 'Arn'] });
    const send = statements.find((statement) => allows([statement], 'sqs:SendMessage'))!;
    expect(send.Resource).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });

  it('lets only the schedules function call Scheduler, on its group\'s schedules only, and pass only the invoke role, to Scheduler only', () => {
    const schedulerRoles = allStatements(template).filter(({ statement }) => actionsOf([statement]).some((action) => /^scheduler:/i.test(action)));
    expect(new Set(schedulerRoles.map(({ role }) => role))).toEqual(new Set([roleOfFunction(template, schedulesFunctionId)]));
    const calls = schedulesStatements.filter((statement) => actionsOf([statement]).some((action) => /^scheduler:/i.test(action)));
    expect(calls).toHaveLength(1);
    expect(actionsOf(calls).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule']);
    expect(flattenCfnReference(calls[0]!.Resource)).toBe(`arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*`);

    const passing = allStatements(template).filter(({ statement }) => allows([statement], 'iam:PassRole'));
    expect(passing.map(({ role }) => role)).toEqual([roleOfFunction(template, schedulesFunctionId)]);
    expect(passing[0]!.statement.Resource).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    expect(passing[0]!.statement.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
  });

  it('keeps the schedules function to schedule items of the table (no execution, key or webhook item)', () => {
    const dynamo = schedulesStatements.filter((statement) => actionsOf([statement]).some((action) => /^dynamodb:/i.test(action)));
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SCHEDULES#*'] } });
    expect(allows(schedulesStatements, 'states:StartExecution')).toBe(false);
    expect(allows(schedulesStatements, 'lambda:InvokeFunction')).toBe(false);
  });

  it('has an encrypted, TLS-only dead-letter queue kept 14 days, with an alarm while a run is in it', () => {
    const queue = resourcesOf(template, 'AWS::SQS::Queue')[queueId]!;
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter((alarm) =>
      JSON.stringify(alarm.Properties?.Dimensions ?? []).includes(queueId),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });
});
