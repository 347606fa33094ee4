import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { AlarmNotifications } from '../../infra/constructs/alarm-notifications.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { onlyResource, resourcesOf, synthService, testApp, type PolicyStatement, SAMPLE_TASKS } from './support.js';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:on-call';

/** The alarms of a template: logical id → actions. */
function actionsOfAlarms(template: Template): Array<[string, { alarm: unknown; ok: unknown }]> {
  return Object.entries(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map(([id, alarm]) => [
    id,
    { alarm: alarm.Properties?.AlarmActions, ok: alarm.Properties?.OKActions },
  ]);
}

/** A stack given a topic imported by ARN (in a stack of its own: it holds nothing, so CloudFormation's own check is off). */
function stackWithTopic(): Template {
  const app = testApp({ builtinCloudFormationValidation: false });
  const topic = Topic.fromTopicArn(new Stack(app, 'OnCall'), 'Topic', TOPIC_ARN);
  return Template.fromStack(new ExecutionsStack(app, 'WithTopic', { tasksModule: SAMPLE_TASKS, alarmTopic: topic }));
}

describe('alarm notifications', () => {
  it('every alarm has no actions when neither alarmTopic nor alarmEmail is set', () => {
    const { template } = synthService();
    const alarms = actionsOfAlarms(template);

    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const [id, actions] of alarms) expect(actions, id).toEqual({ alarm: undefined, ok: undefined });
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('every alarm sends its ALARM and OK transitions to the alarmTopic', () => {
    const template = stackWithTopic();
    const alarms = actionsOfAlarms(template);

    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const [id, actions] of alarms) expect(actions, id).toEqual({ alarm: [TOPIC_ARN], ok: [TOPIC_ARN] });
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  describe('with alarmEmail', () => {
    const { template } = synthService({ alarmEmail: 'ops@example.com' });
    const [topicId, topic] = onlyResource(template, 'AWS::SNS::Topic');
    const [keyId, key] = onlyResource(template, 'AWS::KMS::Key');

    it('every alarm sends its ALARM and OK transitions to a topic created for it', () => {
      const alarms = actionsOfAlarms(template);

      expect(alarms.length).toBeGreaterThanOrEqual(3);
      for (const [id, actions] of alarms) expect(actions, id).toEqual({ alarm: [{ Ref: topicId }], ok: [{ Ref: topicId }] });
    });

    it('subscribes the address by email', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    });

    it('encrypts the topic with its own rotated KMS key, which CloudWatch may use', () => {
      expect(topic.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(key.Properties?.EnableKeyRotation).toBe(true);
      const statements = (key.Properties?.KeyPolicy as { Statement: (PolicyStatement & { Principal?: unknown })[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      );
    });

    it('refuses requests without TLS and lets CloudWatch publish only for this account', () => {
      const [, policy] = onlyResource(template, 'AWS::SNS::TopicPolicy');
      const statements = (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;

      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: { Ref: topicId } }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: { Ref: topicId },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }),
      );
    });
  });

  it('refuses alarmTopic together with alarmEmail', () => {
    const app = testApp();
    const topic = Topic.fromTopicArn(new Stack(app, 'OnCall'), 'Topic', TOPIC_ARN);

    expect(() => new ExecutionsStack(app, 'Both', { tasksModule: SAMPLE_TASKS, alarmTopic: topic, alarmEmail: 'ops@example.com' })).toThrow(/a topic or an email, not both/);
  });

  it.each(['', 'ops', 'ops@example', 'two words@example.com'])('refuses the alarmEmail %j', (email) => {
    const stack = new Stack(testApp(), 'Scratch');

    expect(() => new AlarmNotifications(stack, 'Alarms', { email })).toThrow(/is not an email address/);
  });
});
