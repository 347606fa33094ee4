import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SCHEDULE_LEADING_KEYS } from '../../lambdas/repository/schedule-store.js';
import { grantStateMachinesByPrefix } from './execution-access.js';
import { acknowledge, acknowledgeWildcardResources } from './nag.js';
import { ServiceFunction } from './service-function.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link Schedules}. */
export interface SchedulesProps {
  readonly table: ITableV2;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
  /** ARN prefix of the stack's state machines (`…:stateMachine:<stack name>-`). */
  readonly stateMachineArnPrefix: string;
  /** Ids of the deployed tasks (`TASK_IDS`). */
  readonly taskIds: string;
  /** The task catalogue (`writeTaskCatalogue`): the run function checks a run's input against its task's schema. */
  readonly taskCatalogue: string;
}

/**
 * Recurring schedules on EventBridge Scheduler: a schedule group of the stack (one Scheduler
 * schedule per API schedule, named by its id), the run function each schedule invokes (it starts
 * the run's execution), the role Scheduler assumes to invoke it (that function only), and a
 * dead-letter queue for invocations that failed after their retries, with an alarm. The schedules
 * API function gets Scheduler rights on this group only and may pass this role only
 * ({@link grantManage}).
 */
export class Schedules extends Construct {
  /** The group of every schedule of the stack. */
  readonly group: ScheduleGroup;
  /** What each schedule invokes. */
  readonly runFunction: ServiceFunction;
  /** What Scheduler assumes to invoke {@link runFunction}. */
  readonly role: Role;
  /** Invocations of the run function that failed after Scheduler's retries. */
  readonly deadLetterQueue: Queue;
  /** In alarm while a run is in the dead-letter queue. */
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    // Its schedules invoke this stack's function: with the stack they have nothing left to run.
    this.group = new ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.deadLetterQueue = new Queue(this, 'DeadLetters', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue: EventBridge Scheduler\'s DeadLetterConfig of every schedule of the group, which ' +
        'cdk-nag does not recognise as a DLQ use (it only follows RedrivePolicy of other queues). Nothing consumes it automatically.',
    );
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'A scheduled run could not start after EventBridge Scheduler\'s retries: its event is in the schedules dead-letter queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.runFunction = new ServiceFunction(this, 'Run', {
      entry: 'runtime/schedule-run-handler.ts',
      description: 'Starts the execution of one run of a recurring schedule (EventBridge Scheduler target)',
      environment: { ...props.environment, TASK_IDS: props.taskIds, STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix },
      taskCatalogue: props.taskCatalogue,
      timeout: Duration.seconds(30),
    });
    // It reads schedule items and creates executions (records, rows, idempotency keys).
    grantTableAccess(this.runFunction, props.table, 'write');
    grantStateMachinesByPrefix(this.runFunction, props.stateMachineArnPrefix, ['states:StartExecution'], 'StartExecution of a scheduled run (a schedule may run any task of this stack)');

    const account = Stack.of(this).account;
    this.role = new Role(this, 'InvokeRole', {
      description: 'Assumed by EventBridge Scheduler to invoke the schedule run function (schedules of this stack\'s group only)',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': this.scheduleArns() },
        },
      }),
    });
    this.role.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.runFunction.functionArn] }));
    // Scheduler sends a run it gave up on to the dead-letter queue with this role.
    this.deadLetterQueue.grantSendMessages(this.role);
  }

  /** Every schedule of the group: `arn:…:schedule/<group>/*`. */
  private scheduleArns(): string {
    return `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${this.group.scheduleGroupName}/*`;
  }

  /** The environment the schedules API function reads (`schedulerTargetFromEnv`). */
  get apiEnvironment(): Readonly<Record<string, string>> {
    return {
      SCHEDULE_GROUP: this.group.scheduleGroupName,
      SCHEDULE_TARGET_ARN: this.runFunction.functionArn,
      SCHEDULE_ROLE_ARN: this.role.roleArn,
      SCHEDULE_DEAD_LETTER_ARN: this.deadLetterQueue.queueArn,
    };
  }

  /**
   * What the schedules API function needs: create, update, read and delete schedules of this group
   * (no other), pass this role to Scheduler (no other role, no other service), and manage schedule
   * items of the table (no execution, key or webhook item).
   */
  grantManage(grantee: IGrantable, table: ITableV2): void {
    const schedules = this.scheduleArns();
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule', 'scheduler:DeleteSchedule'],
        resources: [schedules],
      }),
    );
    acknowledgeWildcardResources(
      grantee,
      [schedules],
      '`schedule/<group>/*` is every schedule of this stack\'s own schedule group, whose names are the API\'s schedule ids, ' +
        'created at run time: no schedule of another group is reachable.',
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    grantTableAccess(grantee, table, 'manage', SCHEDULE_LEADING_KEYS);
  }
}
