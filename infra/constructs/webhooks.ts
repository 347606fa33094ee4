import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterRule } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_RETRY_SECONDS, MAX_RETRY_SECONDS, MAX_RETRY_WAITS } from '../../lambdas/domain/webhooks.js';
import { acknowledge } from './nag.js';
import { ServiceFunction } from './service-function.js';
import { grantWebhookItems } from './table-access.js';
import { EXECUTION_RECORDS, tableStream } from './table-stream.js';

/** Props of {@link Webhooks}. */
export interface WebhooksProps {
  /** The executions table, with a stream of new and old images. */
  readonly table: ITableV2;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Waits between attempts, after the first (immediate) one: one more attempt than waits. Each at
   * most 12 hours (how long SQS keeps a received message invisible).
   * @default the Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts over 27.6 h)
   */
  readonly retrySchedule?: readonly Duration[];
  /**
   * How long an endpoint has to answer an attempt.
   * @default Duration.seconds(10)
   */
  readonly deliveryTimeout?: Duration;
}

/**
 * Webhooks: status changes of executions become signed HTTP POSTs to the endpoints that want them.
 * The table's stream (filtered to execution records whose status is not `running` before or after,
 * so steps do not invoke it) feeds a dispatch function that queues one message per endpoint; a
 * delivery function sends each with Standard Webhooks signatures, records every attempt, and
 * schedules the next one on the message's visibility, up to the last, after which the message goes
 * to the dead-letter queue and the subscription is marked failing. Every message's delivery item is
 * written before it is queued, so a redrive (every 5 minutes) queues again a message that is overdue:
 * one the queue lost. Stream batches that cannot be dispatched after their retries land in a queue
 * of their own; both queues have alarms.
 */
export class Webhooks extends Construct {
  /** Messages to deliver, one per event and endpoint. */
  readonly queue: Queue;
  /** Messages whose last attempt failed (and messages this service did not write). */
  readonly deadLetterQueue: Queue;
  /** Stream batches the dispatch function gave up on (Lambda's on-failure records). */
  readonly lostChanges: Queue;
  /** Turns the table's changes into messages. */
  readonly dispatchFunction: ServiceFunction;
  /** Sends the messages. */
  readonly deliverFunction: ServiceFunction;
  /** Queues again the messages of deliveries that are overdue (lost by the queue). */
  readonly redriveFunction: ServiceFunction;
  /** Runs the redrive. */
  readonly redriveSchedule: Rule;
  /** In alarm while an event is in the dead-letter queue. */
  readonly deadLetterAlarm: Alarm;
  /** In alarm while a batch of changes could not be dispatched. */
  readonly lostChangesAlarm: Alarm;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const schedule = (props.retrySchedule ?? DEFAULT_RETRY_SECONDS.map((seconds) => Duration.seconds(seconds))).map((wait) => wait.toSeconds());
    // A wait is jittered up to +10 %, and SQS must still take it as a visibility timeout.
    if (schedule.some((seconds) => !Number.isInteger(seconds) || seconds < 0 || seconds * 1.1 > MAX_RETRY_SECONDS)) {
      throw new Error(`Webhooks retrySchedule: each wait must be whole seconds from 0 to ${Math.floor(MAX_RETRY_SECONDS / 1.1)} (about 10.9 hours), got ${schedule.join(', ')}`);
    }
    if (schedule.length > MAX_RETRY_WAITS) throw new Error(`Webhooks retrySchedule may have at most ${MAX_RETRY_WAITS} waits, got ${schedule.length}`);
    const timeout = props.deliveryTimeout ?? Duration.seconds(10);
    if (timeout.toMilliseconds() < 1000 || timeout.toMilliseconds() > 30_000) {
      throw new Error(`Webhooks deliveryTimeout must be from 1 to 30 seconds, got ${timeout.toHumanString()}`);
    }
    const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.deadLetterQueue = new Queue(this, 'DeadLetters', { ...secure, retentionPeriod: Duration.days(14) });
    this.lostChanges = new Queue(this, 'LostChanges', { ...secure, retentionPeriod: Duration.days(14) });
    acknowledge(
      this.lostChanges,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue: the on-failure destination of the webhook dispatch stream mapping, which cdk-nag ' +
        'does not recognise as a DLQ use (it only follows RedrivePolicy of other queues). Nothing consumes it automatically.',
    );
    // The delivery function sends up to 10 messages at once, each within the timeout, plus its reads and writes.
    const deliverTimeout = Duration.seconds(timeout.toSeconds({ integral: false }) + 30);
    this.queue = new Queue(this, 'Deliveries', {
      ...secure,
      // Lambda's advice for a queue it polls: six times the function's timeout.
      visibilityTimeout: Duration.seconds(deliverTimeout.toSeconds() * 6),
      // Longer than the whole schedule, which must fit in it.
      retentionPeriod: Duration.days(4),
      // The function moves a message here itself after its last attempt; this catches a message the
      // function keeps failing on (a bug, a broken record), however often it comes back.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 50 },
    });
    if (schedule.reduce((sum, seconds) => sum + seconds, 0) > Duration.days(3).toSeconds()) {
      throw new Error('Webhooks retrySchedule must add up to at most 3 days (the delivery queue keeps messages 4)');
    }

    // A message is lost (for the redrive) once overdue by more than the queue takes to hand back the
    // message of an attempt whose function died.
    const dueGrace = Math.max(300, deliverTimeout.toSeconds() * 6 + 60);
    const queueEnvironment = { ...props.environment, WEBHOOK_QUEUE_URL: this.queue.queueUrl, WEBHOOK_DUE_GRACE_SECONDS: String(dueGrace) };
    this.dispatchFunction = new ServiceFunction(this, 'Dispatch', {
      entry: 'webhooks/dispatch-handler.ts',
      description: 'Queues a webhook message for each status change of an execution and endpoint',
      environment: queueEnvironment,
      timeout: Duration.seconds(30),
    });
    // Writes each message's delivery item before queueing it (the redrive's record of what is owed).
    grantWebhookItems(this.dispatchFunction, props.table, 'write');
    this.queue.grantSendMessages(this.dispatchFunction);
    this.dispatchFunction.addEventSource(
      // A step's progress (running → running) is no event: only changes with another status on either side invoke.
      tableStream(props.table, this.lostChanges, [
        { dynamodb: { ...EXECUTION_RECORDS, NewImage: { status: { S: FilterRule.notEquals('running') } } } },
        { dynamodb: { ...EXECUTION_RECORDS, OldImage: { status: { S: FilterRule.notEquals('running') } } } },
      ]),
    );

    this.deliverFunction = new ServiceFunction(this, 'Deliver', {
      entry: 'webhooks/deliver-handler.ts',
      description: 'Delivers signed webhooks and schedules their retries',
      environment: {
        ...queueEnvironment,
        WEBHOOK_DEAD_LETTER_URL: this.deadLetterQueue.queueUrl,
        WEBHOOK_RETRY_SECONDS: schedule.join(','),
        WEBHOOK_TIMEOUT_MS: String(timeout.toMilliseconds()),
      },
      timeout: deliverTimeout,
    });
    grantWebhookItems(this.deliverFunction, props.table, 'write');
    this.deadLetterQueue.grantSendMessages(this.deliverFunction);
    this.deliverFunction.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));

    this.redriveFunction = new ServiceFunction(this, 'Redrive', {
      entry: 'webhooks/redrive-handler.ts',
      description: 'Queues again webhook messages that are overdue (lost by the queue)',
      environment: queueEnvironment,
      timeout: Duration.minutes(1),
    });
    grantWebhookItems(this.redriveFunction, props.table, 'write');
    this.queue.grantSendMessages(this.redriveFunction);
    // A missed run is no loss: the next one finds the same overdue deliveries.
    this.redriveFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    this.redriveSchedule = new Rule(this, 'RedriveSchedule', {
      description: 'Runs the webhook redrive of lost delivery messages',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(this.redriveFunction, { retryAttempts: 2 })],
    });

    const whileNotEmpty = (queue: Queue, description: string) =>
      new Alarm(queue, 'Alarm', {
        alarmDescription: description,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.deadLetterAlarm = whileNotEmpty(
      this.deadLetterQueue,
      'A webhook event exhausted its attempts (see the dead-letter queue and GET /webhooks/{id}/deliveries); its endpoint is marked failing.',
    );
    this.lostChangesAlarm = whileNotEmpty(
      this.lostChanges,
      'Status changes could not be turned into webhook messages after their retries (see the queue for the stream positions).',
    );
  }

  /** Links in the events' execution views point to the HTTP API at this base URL. */
  linkTo(apiBaseUrl: string): void {
    this.dispatchFunction.addEnvironment('API_BASE_URL', apiBaseUrl);
  }
}
