import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyUnavailable } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { fromItem } from './items.js';
import { META_SK, executionPk } from './keys.js';

/** How often a read of records asks again for the keys BatchGetItem left unprocessed. */
const BATCH_GET_ATTEMPTS = 4;

/**
 * The records of `ids` (of one tenant, at most 100) that exist, by id: one BatchGetItem, asked again
 * (with backoff) for what it leaves unprocessed. What a page of a tag's executions reads after the
 * Query of the tag's index items (`GET /executions?tag=`, bulk actions by tag).
 * @throws ServiceUnavailableError (503) when keys stay unprocessed after 4 attempts.
 */
export async function readRecords(client: DynamoDBDocumentClient, table: string, tenant: string, ids: readonly string[]): Promise<Map<string, ExecutionRecord>> {
  const found = new Map<string, ExecutionRecord>();
  let keys: Array<Record<string, unknown>> = ids.map((id) => ({ pk: executionPk(tenant, id), sk: META_SK }));
  for (let attempt = 1; keys.length > 0; attempt++) {
    if (attempt > BATCH_GET_ATTEMPTS) throw dependencyUnavailable();
    // Backs off before asking again: unprocessed keys mean the table throttled the read.
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    const { Responses, UnprocessedKeys } = await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
    for (const item of Responses?.[table] ?? []) found.set(item.id as string, fromItem(item));
    keys = (UnprocessedKeys?.[table]?.Keys as Array<Record<string, unknown>> | undefined) ?? [];
  }
  return found;
}
