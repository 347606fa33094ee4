import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BULK_LEADING_KEYS } from '../../lambdas/repository/bulk-store.js';
import { grantExecutionAction } from './execution-access.js';
import { ServiceFunction } from './service-function.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link BulkActions}. */
export interface BulkActionsProps {
  readonly table: ITableV2;
  /**
   * The state machines whose executions a job may act on: StopExecution (cancel) and
   * RedriveExecution (retry) on their executions, StartExecution (replay) on them.
   */
  readonly stateMachines: readonly IStateMachine[];
  /** The ids of the deployed tasks (`TASK_IDS`): a retried or replayed execution's task must be one. */
  readonly taskIds: string;
  /** Path of the task catalogue (JSON) the worker bundles: a replay needs its task's outline. */
  readonly taskCatalogue: string;
  /** ARN of a task's state machine minus the task id. */
  readonly stateMachineArnPrefix: string;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How often the sweep looks for stalled jobs (whole minutes).
   * @default Duration.minutes(2)
   */
  readonly sweepEvery?: Duration;
}

/**
 * The partition keys the worker touches besides bulk items: execution records and their rows
 * (`EXEC#`: what a cancel or a retry writes, and a replay's new execution), the Idempotency-Keys of
 * replays (`IDEM#`: one per job and execution, so a page done again replays nothing twice) and the
 * tenant-scoped index partitions it reads matches from (`T#`). See {@link BULK_WORKER_READ_KEYS}
 * for what it only reads.
 */
export const BULK_WORKER_EXECUTION_KEYS = ['EXEC#*', 'IDEM#*', 'T#*'] as const;

/**
 * What the worker only reads (GetItem, Query, BatchGetItem): a tenant's concurrency limits
 * (`LIMITS#`: a replay of a limited tenant waits for admission, as a create does), the tag index
 * items (`TAG#`: a job filtered by tag queries its tag's items), the tenant's shard of the `by-open`
 * index (`A#`: a job filtered by an active status) and, in batches, the records those items name
 * (`EXEC#`: one BatchGetItem per page).
 */
export const BULK_WORKER_READ_KEYS = ['LIMITS#*', 'TAG#*', 'A#*', 'EXEC#*'] as const;

/**
 * Bulk actions, done page by page (docs/architecture.md "Bulk actions"): a queue whose messages
 * each say "do the page of job J after version V", a worker that takes the job's lease, acts on up
 * to a page of matching executions, commits the cursor and counts conditionally and queues the next
 * page; a dead-letter queue for messages that keep failing; and a sweep (on a schedule) that queues
 * again the next page of a job left idle (its message lost, dead-lettered or never sent).
 */
export class BulkActions extends Construct {
  /** One message per page to do. */
  readonly queue: Queue;
  /** Messages the worker failed on `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** Does pages. */
  readonly workerFunction: ServiceFunction;
  /** Queues the next page of stalled jobs. */
  readonly sweepFunction: ServiceFunction;
  /** Runs the sweep. */
  readonly sweepSchedule: Rule;
  /** In alarm while a message is in the dead-letter queue. */
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: BulkActionsProps) {
    super(scope, id);
    const every = props.sweepEvery ?? Duration.minutes(2);
    const minutes = every.toMilliseconds() / 60_000;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      throw new Error(`BulkActions sweepEvery must be whole minutes from 1 to 60, got ${every.toHumanString()}`);
    }
    // A page: up to 50 actions, 8 at once, each a transaction or two and one Step Functions call
    // (StopExecution, RedriveExecution or StartExecution; throttled ones retried with backoff); a
    // minute is ample, and the lease outlives the function.
    const workerTimeout = Duration.seconds(60);
    const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.deadLetterQueue = new Queue(this, 'DeadLetters', { ...secure, retentionPeriod: Duration.days(14) });
    this.queue = new Queue(this, 'Pages', {
      ...secure,
      // Lambda's advice for a queue it polls: six times the function's timeout. A crashed page
      // comes back after it, when its lease (the timeout plus a minute) has expired.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      // A message that fails this often (a page that keeps failing fails its job first) goes aside; the sweep carries on.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 10 },
    });

    const environment = { ...props.environment, BULK_QUEUE_URL: this.queue.queueUrl };
    this.workerFunction = new ServiceFunction(this, 'Worker', {
      entry: 'runtime/bulk-worker-handler.ts',
      description: 'Does bulk actions page by page (cancels, retries or replays matching executions)',
      environment: {
        ...environment,
        TASK_IDS: props.taskIds,
        STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix,
        BULK_LEASE_SECONDS: String(workerTimeout.toSeconds() + 60),
      },
      timeout: workerTimeout,
      // A replay starts a new execution at its task's first step: the outline comes from the catalogue.
      taskCatalogue: props.taskCatalogue,
    });
    grantTableAccess(this.workerFunction, props.table, 'manage', BULK_LEADING_KEYS);
    grantTableAccess(this.workerFunction, props.table, 'write', BULK_WORKER_EXECUTION_KEYS);
    grantTableAccess(this.workerFunction, props.table, 'read', BULK_WORKER_READ_KEYS);
    grantExecutionAction(this.workerFunction, props.stateMachines, 'states:StopExecution', 'bulk cancel');
    grantExecutionAction(this.workerFunction, props.stateMachines, 'states:RedriveExecution', 'bulk retry from the failed step');
    // Replay starts new executions of these state machines, named exactly (no wildcard).
    for (const machine of props.stateMachines) machine.grantStartExecution(this.workerFunction);
    this.queue.grantSendMessages(this.workerFunction);
    // One page per invocation: its time is the page's, not a batch's.
    this.workerFunction.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));

    this.sweepFunction = new ServiceFunction(this, 'Sweep', {
      entry: 'runtime/bulk-sweep-handler.ts',
      description: 'Queues again the next page of stalled bulk actions',
      environment: { ...environment, BULK_STALL_SECONDS: String(workerTimeout.toSeconds() * 6 + 60) },
      timeout: Duration.seconds(30),
    });
    grantTableAccess(this.sweepFunction, props.table, 'read', BULK_LEADING_KEYS);
    this.queue.grantSendMessages(this.sweepFunction);
    // A missed run is no loss: the next one finds the same stalled jobs.
    this.sweepFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(Math.max(1, minutes)) });
    this.sweepSchedule = new Rule(this, 'SweepSchedule', {
      description: 'Runs the sweep of stalled bulk actions',
      schedule: Schedule.rate(every),
      targets: [new LambdaFunction(this.sweepFunction, { retryAttempts: 2 })],
    });
    this.deadLetterAlarm = new Alarm(this.deadLetterQueue, 'Alarm', {
      alarmDescription: 'A bulk action page message failed 10 times (see the dead-letter queue and the worker log); the sweep queues the page again.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
