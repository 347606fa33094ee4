import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AlarmBase } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';

/** Props of {@link AlarmNotifications}. */
export interface AlarmNotificationsProps {
  /**
   * Topic that receives every alarm's ALARM and OK transitions (an existing topic, e.g. one a
   * pager or chat integration subscribes to). Not together with `email`.
   * @default - none: the alarms notify no one unless `email` is set
   */
  readonly topic?: ITopic;
  /**
   * Email address to notify: a topic is created for the alarms (encrypted with its own KMS key,
   * TLS-only) and the address subscribed (AWS sends it a confirmation mail first). Not together
   * with `topic`.
   * @default - none
   */
  readonly email?: string;
}

const CLOUDWATCH = new ServicePrincipal('cloudwatch.amazonaws.com');

/**
 * Where the service's CloudWatch alarms send their state changes: a given SNS topic, or one
 * created for an email address. Without either, alarms keep no actions (visible in the console only).
 */
export class AlarmNotifications extends Construct {
  /** The topic alarms publish to, if any. */
  readonly topic?: ITopic;

  constructor(scope: Construct, id: string, props: AlarmNotificationsProps = {}) {
    super(scope, id);
    if (props.topic && props.email !== undefined) throw new Error('AlarmNotifications takes a topic or an email, not both');
    if (props.email !== undefined && !Token.isUnresolved(props.email) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.email)) {
      throw new Error(`AlarmNotifications email is not an email address: ${props.email}`);
    }
    this.topic = props.email === undefined ? props.topic : this.emailTopic(props.email);
  }

  /**
   * Sends the ALARM and OK transitions of every CloudWatch alarm under `scope` (call it once all
   * alarms exist) to the topic; without a topic it changes nothing.
   */
  notifyAlarmsIn(scope: IConstruct): void {
    if (!this.topic) return;
    const action = new SnsAction(this.topic);
    for (const alarm of scope.node.findAll().filter((construct): construct is AlarmBase => construct instanceof AlarmBase)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  /**
   * An encrypted, TLS-only topic with `email` subscribed. CloudWatch publishes to an encrypted
   * topic only with a customer managed key whose policy lets it use the key (the AWS managed
   * `alias/aws/sns` key does not), hence the key of its own, rotated yearly.
   */
  private emailTopic(email: string): ITopic {
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the alarm notifications topic of the async executions service',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.grant(CLOUDWATCH, 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new Topic(this, 'Topic', { displayName: 'Async executions alarms', masterKey: key, enforceSSL: true });
    // The explicit topic policy (TLS only) replaces SNS's default one, so CloudWatch is named here,
    // for this account's alarms only.
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [CLOUDWATCH],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}
