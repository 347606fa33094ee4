import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ADMISSION_STREAM_FILTERS } from '../../lambdas/runtime/admission-filters.js';
import { acknowledge } from './nag.js';
import { ServiceFunction } from './service-function.js';
import { tableStream } from './table-stream.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link Admission}. */
export interface AdmissionProps {
  /** The executions table, with a stream of new and old images. */
  readonly table: ITableV2;
  /** The task state machines admission starts. */
  readonly stateMachines: readonly IStateMachine[];
  /** ARN prefix of the task state machines (prefix + task id). */
  readonly stateMachineArnPrefix: string;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * Concurrency limits, priority and delayed starts (docs/architecture.md, "Admission"): one function
 * that the table's stream invokes for held executions (inserted held, or ended while waiting or
 * holding a slot: the mapping's filters pass nothing else, so steps never invoke it), and an
 * EventBridge schedule every minute for delayed executions that are due and for every tenant with
 * limits. Admission is DynamoDB conditional transactions (`lambdas/repository/admission-store.ts`)
 * and StartExecution, named by the execution id; no process waits between events.
 */
export class Admission extends Construct {
  /** The admission function. */
  readonly handler: ServiceFunction;
  /** Runs it every minute. */
  readonly schedule: Rule;
  /** Stream batches it gave up on (Lambda's on-failure records); the reconciler repairs what they held. */
  readonly lostChanges: Queue;
  /** In alarm while a batch of changes could not be handled. */
  readonly lostChangesAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AdmissionProps) {
    super(scope, id);
    this.handler = new ServiceFunction(this, 'Handler', {
      entry: 'runtime/admission-handler.ts',
      description: 'Admits held executions (delays, concurrency limits, priority) and gives slots back',
      environment: { ...props.environment, STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix },
      timeout: Duration.minutes(1),
    });
    grantTableAccess(this.handler, props.table, 'write');
    for (const machine of props.stateMachines) machine.grantStartExecution(this.handler);

    this.lostChanges = new Queue(this, 'LostChanges', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(
      this.lostChanges,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue: the on-failure destination of the admission stream mapping, which cdk-nag does not ' +
        'recognise as a DLQ use. The reconciler repairs what a lost batch left (slots, placements, starts).',
    );
    // No batching window: a freed slot is taken up as soon as its change is read.
    this.handler.addEventSource(tableStream(props.table, this.lostChanges, ADMISSION_STREAM_FILTERS, false));
    // A missed run is no loss: the next one finds the same due work.
    this.handler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(2) });
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Starts delayed executions that are due and admits waiting work of tenants with limits',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 2 })],
    });
    this.lostChangesAlarm = new Alarm(this.lostChanges, 'Alarm', {
      alarmDescription: 'Changes could not be handled by admission after their retries (the reconciler repairs slots and starts).',
      metric: this.lostChanges.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
