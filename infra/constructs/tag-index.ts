import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterRule } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { ServiceFunction } from './service-function.js';
import { grantTagItems } from './table-access.js';
import { EXECUTION_RECORDS, tableStream } from './table-stream.js';

/** Props of {@link TagIndex}. */
export interface TagIndexProps {
  /** The executions table, with a stream of new and old images. */
  readonly table: ITableV2;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The tag index's writer: a function on the table's stream that keeps one item per (tenant, tag,
 * execution) in line with each record's `tags`. Its filters let through only execution records
 * created with tags and records removed (by TTL) that had tags: a step's progress, which never
 * changes tags, never invokes it. Tag edits (`PUT /executions/{id}/tags`) write their own items in
 * the edit's transaction, so they need no stream record (and no filter could tell a tag edit from
 * progress: DynamoDB's filters cannot compare the old image with the new). Batches it cannot index
 * after its retries land in a queue with an alarm; the edit route repairs any execution's items.
 */
export class TagIndex extends Construct {
  /** The stream consumer. */
  readonly indexFunction: ServiceFunction;
  /** Stream batches the function gave up on (Lambda's on-failure records). */
  readonly lostChanges: Queue;
  /** In alarm while a batch of tag changes could not be indexed. */
  readonly lostChangesAlarm: Alarm;

  constructor(scope: Construct, id: string, props: TagIndexProps) {
    super(scope, id);
    this.lostChanges = new Queue(this, 'LostChanges', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(
      this.lostChanges,
      'AwsSolutions-SQS3',
      'This queue IS a dead-letter queue: the on-failure destination of the tag index stream mapping, which cdk-nag ' +
        'does not recognise as a DLQ use (it only follows RedrivePolicy of other queues). Nothing consumes it automatically.',
    );
    this.indexFunction = new ServiceFunction(this, 'Writer', {
      entry: 'runtime/tag-index-handler.ts',
      description: 'Keeps the tag index (one item per tenant, tag and execution) in line with the records\' tags',
      environment: props.environment,
      timeout: Duration.seconds(30),
    });
    grantTagItems(this.indexFunction, props.table);
    this.indexFunction.addEventSource(
      // Filters look at leaves: `tags` is a list of `{ S: tag }` objects, so the pattern names the
      // strings in it (a list of objects matches when one of its elements does).
      tableStream(props.table, this.lostChanges, [
        { eventName: FilterRule.isEqual('INSERT'), dynamodb: { ...EXECUTION_RECORDS, NewImage: { tags: { L: { S: FilterRule.exists() } } } } },
        { eventName: FilterRule.isEqual('REMOVE'), dynamodb: { ...EXECUTION_RECORDS, OldImage: { tags: { L: { S: FilterRule.exists() } } } } },
      ]),
    );
    this.lostChangesAlarm = new Alarm(this.lostChanges, 'Alarm', {
      alarmDescription:
        'Tag index changes could not be written after their retries (see the queue for the stream positions); ' +
        'PUT /executions/{id}/tags with the execution\'s tags rewrites its index items.',
      metric: this.lostChanges.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
