import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { META_SK } from '../../lambdas/repository/keys.js';

/** The stream filter key of execution records (`sk = META`), beside which a filter names what it wants. */
export const EXECUTION_RECORDS = { Keys: { sk: { S: FilterRule.isEqual(META_SK) } } } as const;

/**
 * The table's stream as an event source, as every consumer of it reads it (webhook dispatch,
 * admission, the tag index): from the trim horizon, 100 records a batch, a failing batch halved
 * until the bad record is alone, 10 retries within the stream's 24 hours, then the batch's
 * positions on `lostChanges`. Only records that match one of `filters` invoke.
 */
export function tableStream(
  table: ITableV2,
  lostChanges: IQueue,
  filters: readonly Record<string, unknown>[],
  /** Gather records for up to a second before invoking; false for a consumer that must act at once. */
  batched = true,
): DynamoEventSource {
  return new DynamoEventSource(table, {
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    ...(batched ? { maxBatchingWindow: Duration.seconds(1) } : {}),
    bisectBatchOnError: true,
    retryAttempts: 10,
    maxRecordAge: Duration.hours(24),
    onFailure: new SqsDlq(lostChanges),
    filters: filters.map((pattern) => FilterCriteria.filter(pattern)),
  });
}
