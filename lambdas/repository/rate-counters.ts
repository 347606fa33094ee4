import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Partition key prefix of rate counter items (the only items the read functions may write). */
export const RATE_PK_PREFIX = 'RATE#';

/**
 * The longest a counter write may take before the limiter gives up on it (and fails open): one
 * attempt's time (the SDK's request timeout), under its 5 s worst case, so a stalled DynamoDB
 * delays a request by this much, not by a whole second call, and the route's own call still has
 * the time to answer 503. DynamoDB answers in milliseconds; DynamoDB Local on a loaded machine has
 * been seen to take over a second.
 */
export const RATE_COUNTER_TIMEOUT_MS = 2_000;

/** Seconds a window's counter outlives its window before TTL may remove it. */
const COUNTER_GRACE_SECONDS = 60;

/**
 * Adds `cost` to the counter of `subject` (a key and class) in the fixed window that starts at
 * `start` and lasts `window` seconds: one conditional `UpdateItem` (1 write unit), which refuses to
 * take the counter past `quota`. The item is `RATE#<subject>#<start>`; TTL removes it after the
 * window (`expires_at`).
 * @returns the count after adding, or undefined when the window has no room for `cost` (nothing written;
 *   a `cost` above `quota` never fits, and is refused without a call).
 * @throws whatever else DynamoDB throws (the caller decides whether to fail open).
 */
export async function addToRateCounter(
  client: DynamoDBDocumentClient,
  tableName: string,
  subject: string,
  start: number,
  window: number,
  cost: number,
  quota: number,
): Promise<number | undefined> {
  // More than a whole window holds never fits (and `:m` below would go negative, admitting it to an empty window).
  if (cost > quota) return undefined;
  try {
    const { Attributes } = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `${RATE_PK_PREFIX}${subject}#${start}`, sk: 'RATE' },
        UpdateExpression: 'ADD #c :c SET expires_at = :e',
        ConditionExpression: 'attribute_not_exists(#c) OR #c <= :m',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':c': cost, ':e': start + window + COUNTER_GRACE_SECONDS, ':m': quota - cost },
        ReturnValues: 'UPDATED_NEW',
      }),
      { abortSignal: AbortSignal.timeout(RATE_COUNTER_TIMEOUT_MS) },
    );
    // An answer without the count (none is expected) counts as this request alone.
    return (Attributes?.count as number | undefined) ?? cost;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}
