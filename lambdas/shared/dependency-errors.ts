/**
 * Names of AWS SDK errors that mean "not now": the call timed out (the SDK also names a reset or
 * broken connection so), or DynamoDB or Step Functions throttled it (both answer throttling with a
 * 400 and one of these names).
 */
const NOT_NOW = ['TimeoutError', 'ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'];

/**
 * True when an AWS SDK call failed for want of an answer, not because of the request: it timed
 * out, was throttled, or the service failed on its side (5xx). The same request may succeed later:
 * a 503 with Retry-After, not a 500.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode ?? 0;
  return error instanceof Error && (NOT_NOW.includes(error.name) || status >= 500);
}

/** The name of a thrown AWS SDK error (its exception name, e.g. `ExecutionAlreadyExists`), or '' for anything else. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}
