import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { ServiceFunction } from './service-function.js';
import { grantExecutionAction, grantFamilyFollowUps } from './execution-access.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link StatusEvents}. */
export interface StatusEventsProps {
  readonly table: ITableV2;
  /** The state machines whose terminal statuses are recorded. */
  readonly stateMachines: readonly IStateMachine[];
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long an event that could not be recorded stays in the dead-letter queue.
   * @default Duration.days(14) (the most SQS keeps)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Concurrent executions reserved for the status-change function: always available to it, and
   * its ceiling, so a burst of finishing executions never takes concurrency from the step runner
   * or the API. Events beyond it wait in Lambda's asynchronous queue (throttled events are
   * retried for up to the 6-hour event age) rather than failing.
   * @default 10
   */
  readonly reservedConcurrency?: number;
}

/** Terminal statuses of Step Functions executions. */
export const TERMINAL_SFN_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * Records how executions end: an EventBridge rule on "Step Functions Execution Status Change"
 * for this service's state machines invokes a function that writes `finish`, `error` or `cancel`
 * idempotently, then does the ended execution's family follow-ups (a child answers its parent's
 * `runTask` state, a parent's children are cancelled and stopped).
 *
 * An event that cannot be recorded lands in an encrypted SQS dead-letter queue, by either of two
 * ways that catch different faults: the rule target's DLQ takes events EventBridge could not
 * deliver (throttled, function missing, no permission) after its retries; the function's
 * asynchronous on-failure destination takes events the function received but failed on after
 * Lambda's retries. Neither replays anything: the reconciler heals the records; the queue and
 * its alarm make the loss visible.
 */
export class StatusEvents extends Construct {
  /** The function that records terminal statuses. */
  readonly handler: ServiceFunction;
  /** The EventBridge rule. */
  readonly rule: Rule;
  /** Status-change events that could not be delivered or recorded. */
  readonly deadLetterQueue: Queue;
  /** In alarm while the dead-letter queue holds any message. */
  readonly deadLetterAlarm: Alarm;
  /** In alarm when the status-change function failed in the last 5 minutes. */
  readonly errorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: StatusEventsProps) {
    super(scope, id);
    if (props.stateMachines.length === 0) throw new Error('StatusEvents needs at least one state machine');
    const retention = props.deadLetterRetention ?? Duration.days(14);
    if (retention.toSeconds() < 60 || retention.toSeconds() > Duration.days(14).toSeconds()) {
      throw new Error('StatusEvents deadLetterRetention must be from 1 minute to 14 days');
    }
    const reservedConcurrency = props.reservedConcurrency ?? 10;
    if (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1) {
      throw new Error(`StatusEvents reservedConcurrency must be a positive integer, got ${reservedConcurrency}`);
    }
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: retention,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue: of the status-change rule target (EventBridge DeadLetterConfig) and of the ' +
        'function\'s asynchronous on-failure destination, which cdk-nag does not recognise as DLQ uses (it only follows ' +
        'RedrivePolicy of other queues). Nothing consumes it, so it needs no DLQ of its own.',
    );
    this.handler = new ServiceFunction(this, 'Handler', {
      entry: 'runtime/status-change-handler.ts',
      description: 'Records the terminal status of a Step Functions execution',
      environment: props.environment,
      reservedConcurrentExecutions: reservedConcurrency,
    });
    grantTableAccess(this.handler, props.table, 'write');
    // Events leave out payloads over EventBridge's limit; the handler then reads them here.
    grantExecutionAction(this.handler, props.stateMachines, 'states:DescribeExecution', 'large event payloads');
    // An ended child answers its parent's runTask state; an ended parent cancels its children.
    grantFamilyFollowUps(this.handler, props.stateMachines, 'status changes');
    // Lambda retries a failed event twice, then hands it to the dead-letter queue.
    this.handler.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    this.rule = new Rule(this, 'Rule', {
      description: 'Terminal status changes of the task state machines',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: TERMINAL_SFN_STATUSES,
          stateMachineArn: props.stateMachines.map((stateMachine) => stateMachine.stateMachineArn),
        },
      },
      targets: [
        new LambdaFunction(this.handler, {
          retryAttempts: 10,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription:
        'Status-change events could not be recorded (see the dead-letter queue). The reconciler heals the records; ' +
        'find out why the events failed.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'The status-change function failed; Lambda retries it, then the event goes to the dead-letter queue.',
      metric: this.handler.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
