import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StatusEvents } from '../../infra/constructs/status-events.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { childOf, logicalIdOf, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService();
const statusEvents = childOf(stack, 'StatusEvents', StatusEvents);
const handlerId = logicalIdOf(stack, statusEvents.handler);
const stateMachineIds = Object.keys(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
const ruleId = logicalIdOf(stack, statusEvents.rule);
const rule = resourcesOf(template, 'AWS::Events::Rule')[ruleId]!;
const pattern = rule.Properties?.EventPattern as { detail: { status: string[]; stateMachineArn: unknown[] } };

describe('terminal status events', () => {
  it('matches Step Functions execution status changes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: Match.objectLike({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
      }),
    });
  });

  it('matches exactly the four terminal statuses', () => {
    expect([...pattern.detail.status].sort()).toEqual(['ABORTED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT']);
  });

  it('matches only this service\'s state machines, every one of them', () => {
    expect(stateMachineIds).toHaveLength(TASKS.size);
    expect(pattern.detail.stateMachineArn).toHaveLength(stateMachineIds.length);
    expect(pattern.detail.stateMachineArn).toEqual(expect.arrayContaining(stateMachineIds.map((id) => ({ Ref: id }))));
    expect(childOf(stack, 'Runtime', TaskRuntime).stateMachines.size).toBe(TASKS.size);
  });

  it('targets the status-change function, retrying delivery', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [handlerId, 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
        }),
      ],
    });
    const targets = rule.Properties?.Targets as { RetryPolicy: { MaximumRetryAttempts: number } }[];
    expect(targets[0]!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
  });

  it('lets EventBridge invoke the status-change function for this rule only', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [handlerId, 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });
});
