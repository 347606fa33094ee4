import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NO_PROGRESS, newBulkJobId, type BulkJob } from '../../../lambdas/domain/bulk.js';
import { IdempotencyMismatchError, NotFoundError, ResourceConflictError, ServiceUnavailableError, ValidationError } from '../../../lambdas/domain/errors.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { BULK_ACTIVE_PK, BulkStore, bulkItemsPk, bulkPk, matchSource, queuedJob } from '../../../lambdas/repository/bulk-store.js';
import { activeShard } from '../../../lambdas/repository/keys.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { unusedPlaceholders } from '../support/expression-names.js';
import { executionRecord, recordItem } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const TENANT = 'acme';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const ISO = new Date(NOW).toISOString();

let table: FakeTable;
let store: BulkStore;

// DynamoDB refuses a request that declares a name or value no expression uses; the fake does not.
afterEach(() => {
  expect(unusedPlaceholders(ddb)).toEqual([]);
});

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  store = new BulkStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: 'bulk-table', cursorSecret: 'test-secret', concurrentJobs: 2 });
});

function job(overrides: Partial<BulkJob> = {}): BulkJob {
  return { ...queuedJob({ tenant: TENANT, id: newBulkJobId(NOW), action: 'cancel', filter: { taskId: 'sample-pipeline' }, maxItems: 100 }, ISO), ...overrides };
}

const activeCount = (tenant = TENANT) => table.item(bulkPk(tenant), 'ACTIVE')?.active_jobs;

describe('accepting a job', () => {
  it('stores it queued, counts it among the tenant\'s active jobs and marks it for the sweep, in one transaction', async () => {
    const created = job();
    const { replayed } = await store.create(created);
    expect(replayed).toBe(false);
    expect(await store.get(TENANT, created.id)).toEqual(created);
    expect(activeCount()).toBe(1);
    expect(table.item(BULK_ACTIVE_PK, created.id)).toMatchObject({ tenant: TENANT });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('refuses a job beyond the tenant\'s cap with a 409, writing nothing; another tenant has its own cap', async () => {
    await store.create(job());
    await store.create(job());
    await expect(store.create(job())).rejects.toBeInstanceOf(ResourceConflictError);
    expect(activeCount()).toBe(2);
    expect(table.partition(bulkPk(TENANT)).filter((item) => String(item.sk).startsWith('JOB#'))).toHaveLength(2);
    await expect(store.create(job({ tenant: 'other' }))).resolves.toMatchObject({ replayed: false });
  });

  it('answers a retried request with the same Idempotency-Key with the first job, and another request with that key with a 422', async () => {
    const first = job();
    await store.create(first, { keyHash: 'k', requestHash: 'r1' });
    const again = await store.create(job(), { keyHash: 'k', requestHash: 'r1' });
    expect(again).toEqual({ job: first, replayed: true });
    await expect(store.create(job(), { keyHash: 'k', requestHash: 'r2' })).rejects.toBeInstanceOf(IdempotencyMismatchError);
    expect(activeCount()).toBe(1);
  });

  it('answers a retry with its key with the first job even when the tenant is at its cap', async () => {
    const first = job();
    await store.create(first, { keyHash: 'k', requestHash: 'r' });
    await store.create(job());
    await expect(store.create(job(), { keyHash: 'k', requestHash: 'r' })).resolves.toEqual({ job: first, replayed: true });
  });
});

describe('concurrent transactions on the tenant\'s count', () => {
  const conflict = (...codes: string[]) =>
    new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });

  it('a create cancelled for a concurrent transaction (another job of the tenant starting or ending) is sent again', async () => {
    let conflicts = 0;
    table.beforeNextTransaction(() => {
      conflicts++;
      throw conflict('None', 'TransactionConflict', 'None');
    });
    const created = job();
    await expect(store.create(created)).resolves.toEqual({ job: created, replayed: false });
    expect(conflicts).toBe(1);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(activeCount()).toBe(1);
  });

  it('still in conflict after four attempts: a 503, nothing written', async () => {
    for (let i = 0; i < 4; i++) table.beforeNextTransaction(() => { throw conflict('None', 'TransactionConflict', 'None'); });
    await expect(store.create(job())).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(activeCount()).toBeUndefined();
  });

  it('a cancel in conflict is sent again, and gives back the place once', async () => {
    const created = job();
    await store.create(created);
    table.beforeNextTransaction(() => { throw conflict('None', 'TransactionConflict', 'None'); });
    await expect(store.cancel(TENANT, created.id, ISO)).resolves.toMatchObject({ status: 'cancelled' });
    expect(activeCount()).toBe(0);
  });
});

describe('reading jobs', () => {
  it('another tenant\'s job is not found', async () => {
    const created = job();
    await store.create(created);
    await expect(store.get('other', created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists a tenant\'s jobs newest first, page by page, with signed cursors that continue only their own list', async () => {
    const store5 = new BulkStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: 'bulk-table', cursorSecret: 'test-secret', concurrentJobs: 10 });
    const ids = [1, 2, 3, 4, 5].map((n) => newBulkJobId(NOW + n));
    for (const id of ids) await store5.create(job({ id }));
    const first = await store5.list(TENANT, 2);
    expect(first.items.map((item) => item.id)).toEqual([ids[4], ids[3]]);
    const second = await store5.list(TENANT, 2, first.nextCursor!);
    expect(second.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    const third = await store5.list(TENANT, 2, second.nextCursor!);
    expect(third.items.map((item) => item.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeNull();
    await expect(store5.list('other', 2, first.nextCursor!)).rejects.toBeInstanceOf(ValidationError);
    await expect(store5.listResults(TENANT, ids[0]!, 2, first.nextCursor!)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('cancelling a job', () => {
  it('makes it cancelled and gives back its place and marker in one transaction; a second cancel is a 409', async () => {
    const created = job();
    await store.create(created);
    const cancelled = await store.cancel(TENANT, created.id, ISO);
    expect(cancelled).toMatchObject({ status: 'cancelled', finishedAt: ISO });
    expect(activeCount()).toBe(0);
    expect(table.item(BULK_ACTIVE_PK, created.id)).toBeUndefined();
    await expect(store.cancel(TENANT, created.id, ISO)).rejects.toBeInstanceOf(ResourceConflictError);
    expect(activeCount()).toBe(0);
  });

  it('of another tenant is a 404 and changes nothing', async () => {
    const created = job();
    await store.create(created);
    await expect(store.cancel('other', created.id, ISO)).rejects.toBeInstanceOf(NotFoundError);
    expect((await store.get(TENANT, created.id)).status).toBe('queued');
  });
});

describe('leases and commits', () => {
  it('one worker takes the page: a second lease while it holds it fails, and succeeds once it has expired', async () => {
    const created = job();
    await store.create(created);
    const leased = await store.lease(created, 'w1', NOW, 60_000);
    expect(leased).toMatchObject({ status: 'running', leaseId: 'w1', leaseUntil: NOW + 60_000, pageAttempts: 1 });
    expect(await store.lease(created, 'w2', NOW + 1_000, 60_000)).toBeUndefined();
    expect(await store.lease(created, 'w2', NOW + 61_000, 60_000)).toMatchObject({ leaseId: 'w2', pageAttempts: 2 });
  });

  it('a lease for a version the job has passed (a stale message) fails', async () => {
    const created = job();
    await store.create(created);
    const leased = await store.lease(created, 'w1', NOW, 60_000);
    await store.commit(leased!, 'w1', { delta: { ...NO_PROGRESS, matched: 1, succeeded: 1 }, cursor: 'a', finished: false, limitReached: false }, ISO);
    expect(await store.lease(created, 'w2', NOW + 120_000, 60_000)).toBeUndefined();
  });

  it('a commit adds the page\'s counts once, moves the cursor and the version on and releases the lease; the same commit again fails', async () => {
    const created = job();
    await store.create(created);
    const leased = (await store.lease(created, 'w1', NOW, 60_000))!;
    const commit = { delta: { matched: 3, succeeded: 1, failed: 1, skipped: 1 }, cursor: 'c', finished: false, limitReached: false };
    const committed = await store.commit(leased, 'w1', commit, ISO);
    expect(committed).toMatchObject({ version: 1, cursor: 'c', progress: { matched: 3, succeeded: 1, failed: 1, skipped: 1 }, pageAttempts: 0, status: 'running' });
    expect(committed?.leaseId).toBeUndefined();
    expect(await store.commit(leased, 'w1', commit, ISO)).toBeUndefined();
    expect((await store.get(TENANT, created.id)).progress.matched).toBe(3);
  });

  it('a commit by a worker whose lease another took counts nothing', async () => {
    const created = job();
    await store.create(created);
    const first = (await store.lease(created, 'w1', NOW, 1_000))!;
    await store.lease(created, 'w2', NOW + 2_000, 60_000);
    expect(await store.commit(first, 'w1', { delta: { ...NO_PROGRESS, matched: 5 }, finished: false, limitReached: false }, ISO)).toBeUndefined();
    expect((await store.get(TENANT, created.id)).progress).toEqual(NO_PROGRESS);
  });

  it('the last page makes the job succeeded and gives back its place, in one transaction', async () => {
    const created = job();
    await store.create(created);
    const leased = (await store.lease(created, 'w1', NOW, 60_000))!;
    const done = await store.commit(leased, 'w1', { delta: { ...NO_PROGRESS, matched: 2, succeeded: 2 }, cursor: 'z', finished: true, limitReached: false }, ISO);
    expect(done).toMatchObject({ status: 'succeeded', finishedAt: ISO, progress: { matched: 2, succeeded: 2 } });
    expect(activeCount()).toBe(0);
    expect(table.item(BULK_ACTIVE_PK, created.id)).toBeUndefined();
    expect(table.item(bulkPk(TENANT), `JOB#${created.id}`)?.expires_at).toBe(Math.floor(NOW / 1000) + 30 * 86_400);
  });

  it('a job cancelled during its last page stays cancelled, its page still counted, its place given back once', async () => {
    const created = job();
    await store.create(created);
    const leased = (await store.lease(created, 'w1', NOW, 60_000))!;
    await store.cancel(TENANT, created.id, ISO);
    const done = await store.commit(leased, 'w1', { delta: { ...NO_PROGRESS, matched: 2, succeeded: 2 }, cursor: 'z', finished: true, limitReached: false }, ISO);
    expect(done).toMatchObject({ status: 'cancelled', progress: { matched: 2, succeeded: 2 } });
    expect(activeCount()).toBe(0);
  });

  it('ends a job as failed only at the version it was read at', async () => {
    const created = job();
    await store.create(created);
    expect(await store.end(TENANT, created.id, { status: 'failed', now: ISO, version: 7, error: { title: 't', detail: 'd' } })).toBeUndefined();
    expect(await store.end(TENANT, created.id, { status: 'failed', now: ISO, version: 0, error: { title: 't', detail: 'd' } })).toMatchObject({
      status: 'failed',
      error: { title: 't', detail: 'd' },
    });
    expect(activeCount()).toBe(0);
  });
});

describe('item results', () => {
  it('are written once: a second result for the same execution keeps the first', async () => {
    const id = newExecutionId(NOW);
    const first = await store.record(TENANT, 'bulk_x', { executionId: id, outcome: 'succeeded', at: ISO });
    const second = await store.record(TENANT, 'bulk_x', { executionId: id, outcome: 'skipped', problem: { type: '/problems/conflict', title: 't', status: 409, detail: 'd' }, at: ISO });
    expect(first.outcome).toBe('succeeded');
    expect(second).toEqual(first);
    expect(table.partition(bulkItemsPk(TENANT, 'bulk_x'))).toHaveLength(1);
  });

  it('are found again among a page\'s ids (the part of a page a dead worker did)', async () => {
    const ids = [1, 2, 3, 4].map((n) => newExecutionId(NOW + n));
    await store.record(TENANT, 'bulk_x', { executionId: ids[1]!, outcome: 'succeeded', at: ISO });
    await store.record(TENANT, 'bulk_x', { executionId: ids[3]!, outcome: 'failed', at: ISO });
    const found = await store.results(TENANT, 'bulk_x', [ids[0]!, ids[1]!, ids[2]!]);
    expect([...found.keys()]).toEqual([ids[1]]);
  });

  it('are listed by execution id, page by page', async () => {
    const ids = [1, 2, 3].map((n) => newExecutionId(NOW + n));
    for (const id of [...ids].reverse()) await store.record(TENANT, 'bulk_x', { executionId: id, outcome: 'succeeded', at: ISO });
    const first = await store.listResults(TENANT, 'bulk_x', 2);
    const second = await store.listResults(TENANT, 'bulk_x', 2, first.nextCursor!);
    expect([...first.items, ...second.items].map((item) => item.executionId)).toEqual(ids);
    expect(second.nextCursor).toBeNull();
  });
});

describe('which executions match', () => {
  it('reads by-ended for an ended status, the tenant\'s range of by-open for an active one (status and task checked on the records), the task index for a task, else the tenant\'s', () => {
    expect(matchSource('t', { status: 'failed', taskId: 'x' })).toEqual({
      index: 'by-ended',
      partitionKey: 'status_key',
      partition: 'T#t#STATUS#failed',
      sortKey: 'id',
      prefix: '',
      filters: { status: 'failed', task_id: 'x' },
    });
    expect(matchSource('t', { status: 'running', taskId: 'x' })).toEqual({
      index: 'by-open',
      partitionKey: 'open_key',
      partition: `A#${activeShard('t')}`,
      sortKey: 'open_sort',
      prefix: 't#',
      filters: { status: 'running', task_id: 'x' },
    });
    expect(matchSource('t', { taskId: 'x' })).toEqual({ index: 'by-task-keys', partitionKey: 'task_key', partition: 'T#t#TASK#x', sortKey: 'id', prefix: '', filters: {} });
    expect(matchSource('t', {})).toEqual({ index: 'by-tenant-keys', partitionKey: 'tenant_key', partition: 'T#t', sortKey: 'id', prefix: '', filters: {} });
  });

  it('reads a tag\'s index items (the table\'s own, no index) for a tag, status and task then checked on the records', () => {
    expect(matchSource('t', { tag: 'nightly', status: 'failed', taskId: 'x' })).toMatchObject({ partitionKey: 'pk', partition: 'TAG#t#nightly', filters: { status: 'failed', task_id: 'x' } });
    expect(matchSource('t', { tag: 'nightly' })).toMatchObject({ partitionKey: 'pk', partition: 'TAG#t#nightly', filters: {} });
    expect(matchSource('t', { tag: 'nightly' }).index).toBeUndefined();
  });

  it('pages through the ended executions of a status in by-ended, reading their records, and skips one retried since', async () => {
    const records = [10, 20, 30, 40].map((offset) => executionRecord({ tenant: TENANT, id: newExecutionId(NOW + offset), status: 'failed', completedAt: ISO }));
    for (const record of records) table.put(recordItem(record));
    // Retried since its index item was read: stale in the index (as an index lags), live on the record.
    table.put({ ...recordItem(records[1]!), status: 'running' });
    table.put(recordItem(executionRecord({ tenant: TENANT, id: newExecutionId(NOW + 25), status: 'succeeded', completedAt: ISO })));
    const page = await store.matches(TENANT, { status: 'failed' }, undefined, NOW + 100, 10);
    expect(page.records.map((record) => record.id)).toEqual([records[0]!.id, records[2]!.id, records[3]!.id]);
    for (const call of ddb.commandCalls(QueryCommand)) expect(call.args[0].input.IndexName).toBe('by-ended');
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
  });

  it('pages through an index oldest first from the cursor, within the created range and the snapshot bound, never with a Scan', async () => {
    const records = [10, 20, 30, 40, 50].map((offset) => executionRecord({ tenant: TENANT, id: newExecutionId(NOW + offset), status: 'running' }));
    for (const record of records) table.put(recordItem(record));
    table.put(recordItem(executionRecord({ tenant: 'other', id: newExecutionId(NOW + 15), status: 'running' })));
    const first = await store.matches(TENANT, { status: 'running', createdAfter: NOW + 20 }, undefined, NOW + 45, 2);
    expect(first.records.map((record) => record.id)).toEqual([records[1]!.id, records[2]!.id]);
    expect(first.more).toBe(true);
    const second = await store.matches(TENANT, { status: 'running', createdAfter: NOW + 20 }, first.lastId, NOW + 45, 2);
    expect(second.records.map((record) => record.id)).toEqual([records[3]!.id]);
    expect(second.more).toBe(false);
    for (const call of ddb.commandCalls(QueryCommand)) expect(call.args[0].input.IndexName).toBe('by-open');
  });

  it('reads only its own tenant\'s range of a by-open shard, whatever other tenants share the shard', async () => {
    // Another tenant in the same shard (`A#<shard of the tenant>`), with ids inside the range.
    const other = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((letter) => `other-${letter}`).find((name) => activeShard(name) === activeShard(TENANT))!;
    const mine = executionRecord({ tenant: TENANT, id: newExecutionId(NOW + 2), status: 'running' });
    table.put(recordItem(mine));
    table.put(recordItem(executionRecord({ tenant: other, id: newExecutionId(NOW + 1), status: 'running' })));
    table.put(recordItem(executionRecord({ tenant: other, id: newExecutionId(NOW + 3), status: 'running' })));
    const page = await store.matches(TENANT, { status: 'running' }, undefined, NOW + 10, 10);
    expect(page.records.map((record) => record.id)).toEqual([mine.id]);
    expect(page.more).toBe(false);
  });

  it('continues after an execution that has left the index partition since (it was cancelled)', async () => {
    const records = [1, 2, 3].map((offset) => executionRecord({ tenant: TENANT, id: newExecutionId(NOW + offset), status: 'running' }));
    for (const record of records) table.put(recordItem(record));
    table.put(recordItem({ ...records[0]!, status: 'cancelled' }));
    const page = await store.matches(TENANT, { status: 'running' }, records[0]!.id, NOW + 10, 10);
    expect(page.records.map((record) => record.id)).toEqual([records[1]!.id, records[2]!.id]);
  });

  it('filters by task in the status index, advancing past what the filter dropped', async () => {
    const records = [1, 2, 3].map((offset, index) =>
      executionRecord({ tenant: TENANT, id: newExecutionId(NOW + offset), status: 'running', taskId: index === 1 ? 'sample-pipeline' : 'sample-approval' }),
    );
    for (const record of records) table.put(recordItem(record));
    const page = await store.matches(TENANT, { status: 'running', taskId: 'sample-pipeline' }, undefined, NOW + 10, 1);
    expect(page.records).toEqual([]);
    expect(page.lastId).toBe(records[0]!.id);
    expect(page.more).toBe(true);
  });

  describe('by tag', () => {
    /** Stores `record` and, when `indexed`, its item in the index of `tag` (a stale one when the record lacks the tag). */
    function tagged(offset: number, fields: Partial<Parameters<typeof executionRecord>[0]> = {}, tag = 'nightly') {
      const record = executionRecord({ tenant: TENANT, id: newExecutionId(NOW + offset), status: 'running', tags: [tag], ...fields });
      table.put(recordItem(record));
      table.put({ pk: `TAG#${TENANT}#${tag}`, sk: record.id, tenant: TENANT, id: record.id });
      return record;
    }

    it('pages through the tag\'s items oldest first within the created range and the snapshot bound, reading records in one BatchGetItem per page', async () => {
      const records = [10, 20, 30, 40, 50].map((offset) => tagged(offset));
      tagged(15, {}, 'weekly');
      table.put(recordItem(executionRecord({ tenant: TENANT, id: newExecutionId(NOW + 25), status: 'running' })));
      const filter = { tag: 'nightly', createdAfter: NOW + 20 };
      const first = await store.matches(TENANT, filter, undefined, NOW + 45, 2);
      expect(first.records.map((record) => record.id)).toEqual([records[1]!.id, records[2]!.id]);
      expect(first.lastId).toBe(records[2]!.id);
      expect(first.more).toBe(true);
      const second = await store.matches(TENANT, filter, first.lastId, NOW + 45, 2);
      expect(second.records.map((record) => record.id)).toEqual([records[3]!.id]);
      expect(second.more).toBe(false);
      const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
      expect(queries).toHaveLength(2);
      for (const query of queries) {
        expect(query.IndexName).toBeUndefined();
        expect(query.ExpressionAttributeValues?.[':pk']).toBe(`TAG#${TENANT}#nightly`);
        expect(query.Limit).toBe(2);
      }
      expect(queries[1]!.ExclusiveStartKey).toEqual({ pk: `TAG#${TENANT}#nightly`, sk: records[2]!.id });
      expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    });

    it('drops stale items (the record gone, or without the tag now) and still moves past them', async () => {
      // An index item whose record expired.
      const gone = newExecutionId(NOW + 1);
      table.put({ pk: `TAG#${TENANT}#nightly`, sk: gone, tenant: TENANT, id: gone });
      const untagged = tagged(2);
      table.put(recordItem({ ...untagged, tags: ['other'] }));
      const kept = tagged(3);
      const page = await store.matches(TENANT, { tag: 'nightly' }, undefined, NOW + 10, 2);
      expect(page.records).toEqual([]);
      expect(page.lastId).toBe(untagged.id);
      expect(page.more).toBe(true);
      const next = await store.matches(TENANT, { tag: 'nightly' }, page.lastId, NOW + 10, 2);
      expect(next.records.map((record) => record.id)).toEqual([kept.id]);
      expect(next.more).toBe(false);
    });

    it('keeps only the records in the filter\'s status and of its task', async () => {
      const match = tagged(1, { status: 'failed', taskId: 'sample-pipeline' });
      tagged(2, { status: 'running', taskId: 'sample-pipeline' });
      tagged(3, { status: 'failed', taskId: 'sample-approval' });
      const page = await store.matches(TENANT, { tag: 'nightly', status: 'failed', taskId: 'sample-pipeline' }, undefined, NOW + 10, 10);
      expect(page.records.map((record) => record.id)).toEqual([match.id]);
      expect(page.more).toBe(false);
      // The status index is not read: the tag's partition is.
      for (const call of ddb.commandCalls(QueryCommand)) expect(call.args[0].input.IndexName).toBeUndefined();
    });

    it('reads no record when the tag has no item in range', async () => {
      tagged(1, {}, 'weekly');
      expect(await store.matches(TENANT, { tag: 'nightly' }, undefined, NOW + 10, 10)).toEqual({ records: [], more: false });
      expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
    });
  });

  it('reads nothing for an empty range or a spent limit', async () => {
    expect(await store.matches(TENANT, { createdAfter: NOW + 10 }, undefined, NOW, 10)).toEqual({ records: [], more: false });
    expect(await store.matches(TENANT, {}, undefined, NOW, 0)).toEqual({ records: [], more: false });
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe('the sweep\'s view', () => {
  it('lists the active jobs of every tenant from their markers', async () => {
    const a = job();
    const b = job({ tenant: 'other' });
    await store.create(a);
    await store.create(b);
    await store.cancel(TENANT, a.id, ISO);
    expect(await store.activeJobs()).toEqual([{ tenant: 'other', id: b.id }]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
