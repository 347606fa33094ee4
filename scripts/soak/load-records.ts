import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ExecutionRecord } from '../../lambdas/domain/execution.js';
import { newExecutionId, newTransitionId } from '../../lambdas/domain/ids.js';
import { epochSeconds, fromItem, fromRowItem, rowItem, toItem, type Item } from '../../lambdas/repository/items.js';
import { INDEXES, META_SK, OPEN_KEY, OPEN_SORT, TRANSITION_PREFIX, executionPk, statusKey } from '../../lambdas/repository/keys.js';

/** Where the records go: the local stack's DynamoDB Local and table. */
export interface RecordTarget {
  readonly endpoint: string;
  readonly table: string;
  readonly tenant: string;
}

/** What {@link loadRecords} wrote. */
export interface LoadedRecords {
  readonly records: number;
  /** Of which `failed` (the rest `succeeded`). */
  readonly failed: number;
  /** DynamoDB items written: each record and its `init` row, as create writes them. */
  readonly items: number;
  readonly seconds: number;
}

/** Every `FAILED_EVERY`th loaded record is `failed`, so a status-filtered list has a sparse partition to page too. */
export const FAILED_EVERY = 10;
/** BatchWriteItem's maximum. */
const BATCH = 25;
/** Records per BatchWriteItem: each is two items (the record and its init row). */
const RECORDS_PER_BATCH = Math.floor(BATCH / 2);
/** Batches in flight at once. */
const PARALLEL = 8;

/**
 * Loads `count` terminal execution records of one tenant straight into the table (BatchWriteItem,
 * 25 items a request), for list measurements that would take hours to create through the API.
 * Each is a copy of a real execution the stack ran (`templateId`: its record and `init` row read
 * back from the table), re-keyed through the repository's own item functions (`fromItem` and
 * `toItem`, `fromRowItem` and `rowItem`), so the items carry exactly the attributes and index keys
 * the create and record paths write, whatever their design. Creation times are spread one second
 * apart before the template's, ids minted for those times (UUIDv7, so they sort as the service's do).
 * Terminal only: an active record would be swept by the reconciler, which asks Step Functions about it.
 */
export async function loadRecords(target: RecordTarget, templateId: string, count: number, onProgress?: (written: number) => void): Promise<LoadedRecords> {
  const started = performance.now();
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: target.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    // As the service's own client marshalls (lambdas/shared/dynamodb-client.ts): optional attributes are absent.
    { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } },
  );
  try {
    const pk = executionPk(target.tenant, templateId);
    const { Item: meta } = await client.send(new GetCommand({ TableName: target.table, Key: { pk, sk: META_SK }, ConsistentRead: true }));
    if (!meta) throw new Error(`no record of execution ${templateId} to copy`);
    const { Items: rows = [] } = await client.send(
      new QueryCommand({
        TableName: target.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tr)',
        ExpressionAttributeValues: { ':pk': pk, ':tr': TRANSITION_PREFIX },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const init = rows[0];
    if (!init) throw new Error(`execution ${templateId} has no init row to copy`);
    const template = fromItem(meta);
    const initRow = fromRowItem(init);
    const baseMs = Date.parse(template.createdAt);
    // Offsets of the template's own timestamps and expiry, kept on every copy.
    const offset = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) - baseMs);
    const startedOffset = offset(template.startedAt);
    const completedOffset = offset(template.completedAt);
    const updatedOffset = offset(template.updatedAt)!;
    const recordExpiry = typeof meta.expires_at === 'number' ? meta.expires_at - epochSeconds(template.createdAt) : undefined;
    const rowExpiry = (init.expires_at as number) - epochSeconds(template.createdAt);

    const copy = (index: number): Item[] => {
      const createdMs = baseMs - (index + 1) * 1000;
      const at = (delta: number | undefined) => (delta === undefined ? undefined : new Date(createdMs + delta).toISOString());
      const id = newExecutionId(createdMs);
      const failed = index % FAILED_EVERY === FAILED_EVERY - 1;
      const record: ExecutionRecord = {
        ...template,
        id,
        createdAt: at(0)!,
        updatedAt: at(updatedOffset)!,
        startedAt: at(startedOffset),
        completedAt: at(completedOffset),
        executionArn: template.executionArn.replace(templateId, id),
        ...(failed
          ? { status: 'failed', output: undefined, error: { name: 'SoakFailure', message: 'A failed execution copied for the list measurement', step: { index: 0, name: template.stepName } } }
          : {}),
      };
      const created = epochSeconds(record.createdAt);
      // toItem files a record as create does (open); an ended copy is filed as its ending transaction
      // files it: out of `by-open`, into `by-ended` under its status.
      const { [OPEN_KEY]: _openKey, [OPEN_SORT]: _openSort, ...ended } = toItem(record);
      return [
        {
          ...ended,
          [INDEXES.byStatus.partitionKey]: statusKey(record.tenant, record.status),
          ...(recordExpiry === undefined ? {} : { expires_at: created + recordExpiry }),
        },
        rowItem(target.tenant, { ...initRow, id: newTransitionId(initRow.seq, createdMs), executionId: id, createdAt: record.createdAt }, created + rowExpiry),
      ];
    };

    let next = 0;
    let written = 0;
    const items = count * 2;
    const worker = async () => {
      while (next < count) {
        const first = next;
        next = Math.min(count, next + RECORDS_PER_BATCH);
        const requestsOf = (from: number) => Math.min(count, from + RECORDS_PER_BATCH) - from;
        let requests = Array.from({ length: next - first }, (_, i) => copy(first + i)).flat().map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt > 20) throw new Error('DynamoDB Local left items unprocessed 20 times in a row');
          if (attempt > 0) await new Promise((done) => setTimeout(done, Math.min(1000, 25 * 2 ** attempt)));
          const { UnprocessedItems } = await client.send(new BatchWriteCommand({ RequestItems: { [target.table]: requests } }));
          requests = (UnprocessedItems?.[target.table] ?? []) as typeof requests;
        }
        written += requestsOf(first);
        onProgress?.(written);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return { records: count, failed: Math.floor(count / FAILED_EVERY), items, seconds: (performance.now() - started) / 1000 };
  } finally {
    client.destroy();
  }
}
