import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ServiceFunction } from './service-function.js';
import { grantExecutionAction, grantFamilyFollowUps } from './execution-access.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link Reconciler}. */
export interface ReconcilerProps {
  /** The executions table. */
  readonly table: ITableV2;
  /** The task state machines whose executions are checked. */
  readonly stateMachines: readonly IStateMachine[];
  /**
   * ARN prefix of the task state machines (prefix + task id): the reconciler starts admitted
   * executions whose start was lost.
   */
  readonly stateMachineArnPrefix: string;
  /** Environment shared by the service's functions (table name, retention…). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How often the reconciler runs: whole minutes, from 1 minute to 1 day.
   * @default Duration.minutes(5)
   */
  readonly every?: Duration;
  /**
   * Executions younger than this are not checked (their status event may still be on its way).
   * @default Duration.minutes(1)
   */
  readonly minAge?: Duration;
  /**
   * How long a record may wait for its Step Functions execution to exist before it is failed
   * (the create function died between its write and `StartExecution`). At least 1 minute.
   * @default Duration.minutes(5)
   */
  readonly startGrace?: Duration;
  /**
   * Most executions checked (`DescribeExecution` calls) per run; the rest wait for the next run.
   * @default 400
   */
  readonly maxChecksPerRun?: number;
}

function wholeSeconds(duration: Duration): boolean {
  return duration.toMilliseconds() % 1000 === 0;
}

/**
 * Heals executions whose state machine ended without the record following (a lost or failed
 * status-change event): an EventBridge schedule runs a function that reads the non-terminal
 * executions from the sparse `by-open` index and checks each against Step Functions
 * (`lambdas/runtime/reconciler.ts`), and does the family follow-ups a lost event left undone. It
 * may write records, and describe, answer the task tokens of and stop executions of this service's
 * state machines, nothing else.
 */
export class Reconciler extends Construct {
  /** The reconciler function. */
  readonly handler: ServiceFunction;
  /** The schedule that runs it. */
  readonly rule: Rule;
  /** In alarm when a run failed (a check failed, or the function itself). */
  readonly errorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    if (props.stateMachines.length === 0) throw new Error('Reconciler needs at least one state machine');
    const every = props.every ?? Duration.minutes(5);
    const minutes = every.toMilliseconds() / 60_000;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      throw new Error(`Reconciler every must be whole minutes from 1 minute to 1 day, got ${every.toHumanString()}`);
    }
    const minAge = props.minAge ?? Duration.minutes(1);
    if (!wholeSeconds(minAge) || minAge.toMilliseconds() < 1000) {
      throw new Error(`Reconciler minAge must be at least 1 second, got ${minAge.toHumanString()}`);
    }
    const startGrace = props.startGrace ?? Duration.minutes(5);
    if (!wholeSeconds(startGrace) || startGrace.toMilliseconds() < 60_000) {
      // The create function has 10 s between its write and StartExecution; a minute is well past it.
      throw new Error(`Reconciler startGrace must be at least 1 minute, got ${startGrace.toHumanString()}`);
    }
    const maxChecks = props.maxChecksPerRun ?? 400;
    if (!Number.isInteger(maxChecks) || maxChecks < 1 || maxChecks > 10_000) {
      throw new Error(`Reconciler maxChecksPerRun must be an integer from 1 to 10000, got ${maxChecks}`);
    }

    this.handler = new ServiceFunction(this, 'Handler', {
      entry: 'runtime/reconciler-handler.ts',
      description: 'Heals executions whose state machine ended without the record following',
      environment: {
        ...props.environment,
        RECONCILE_MIN_AGE_SECONDS: String(minAge.toSeconds()),
        RECONCILE_START_GRACE_SECONDS: String(startGrace.toSeconds()),
        RECONCILE_MAX_CHECKS: String(maxChecks),
        STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix,
      },
      // The run stops checking 10 s before this, so it always records where it stopped.
      timeout: Duration.minutes(1),
    });
    grantTableAccess(this.handler, props.table, 'write');
    grantExecutionAction(this.handler, props.stateMachines, 'states:DescribeExecution', 'the reconciler');
    // Admitted executions whose start was lost are started again (execution name = id: harmless twice).
    for (const machine of props.stateMachines) machine.grantStartExecution(this.handler);
    // An ended child answers its parent's runTask state; an ended parent cancels its children.
    grantFamilyFollowUps(this.handler, props.stateMachines, 'the reconciler');
    // A failed run is not retried: the next scheduled run is the retry, and a stale one is useless.
    this.handler.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(Math.min(minutes, 6 * 60)),
    });
    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the reconciler of lost execution status changes',
      schedule: Schedule.rate(every),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 2 })],
    });
    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'A reconciler run failed: some executions could not be checked or healed (see its log).',
      metric: this.handler.metricErrors({ period: Duration.minutes(Math.max(5, minutes)), statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
