import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { planRetry } from '../../../lambdas/domain/recovery.js';
import { planTransition } from '../../../lambdas/domain/transition.js';
import { CreateStore } from '../../../lambdas/repository/create-store.js';
import { ExecutionsRepository, type ExecutionQuery } from '../../../lambdas/repository/executions-repository.js';
import { activeShard } from '../../../lambdas/repository/keys.js';
import { RecoveryStore } from '../../../lambdas/repository/recovery-store.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { executionRecord, TENANT } from '../support/records.js';

// Lists over the indexes of keys and the sparse by-open / by-ended, against the in-memory table
// (which projects keys only and holds an item in an index only when it has both of its keys).

const ddb = mockClient(DynamoDBDocumentClient);
const OPTIONS = { tableName: 'executions', cursorSecret: 'test-secret', retentionDays: 90 };
const BASE = Date.parse('2026-01-02T03:00:00.000Z');
let repository: ExecutionsRepository;
let creator: CreateStore;
let recovery: RecoveryStore;

beforeEach(() => {
  ddb.reset();
  new FakeTable().install(ddb);
  const client = ddb as unknown as DynamoDBDocumentClient;
  repository = new ExecutionsRepository(client, OPTIONS);
  creator = new CreateStore(client, OPTIONS);
  recovery = new RecoveryStore(client, OPTIONS);
});

/** A tenant other than TENANT whose open executions share TENANT's shard of by-open. */
const NEIGHBOUR = Array.from({ length: 200 }, (_, n) => `neighbour-${n}`).find((name) => activeShard(name) === activeShard(TENANT))!;

async function created(n: number, overrides: Partial<ExecutionRecord> = {}): Promise<ExecutionRecord> {
  const at = BASE + n * 1000;
  const record = executionRecord({ id: newExecutionId(at), createdAt: new Date(at).toISOString(), updatedAt: new Date(at).toISOString(), ...overrides });
  await creator.create(record);
  return record;
}

/** Moves a record through `requests`, one status change each (as the runtime does). */
async function advance(record: ExecutionRecord, ...requests: Parameters<typeof planTransition>[1][]): Promise<ExecutionRecord> {
  let current = record;
  for (const [i, request] of requests.entries()) {
    current = await repository.applyTransition(current, planTransition(current, request, new Date(BASE + 100_000 + i * 1000 + record.createdAt.length).toISOString()));
  }
  return current;
}

async function readAll(query: Omit<ExecutionQuery, 'limit' | 'cursor'>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await repository.list({ ...query, limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('lists over the indexes of keys', () => {
  it('lists an active status from the tenant\'s range of its by-open shard only, both ways, page by page, the status read from the records', async () => {
    const queued = [await created(1), await created(3), await created(5)];
    const running = await advance(await created(2), { type: 'start', step: { index: 0, name: 'extract' } });
    // Same shard, another tenant, ids in between.
    await created(4, { tenant: NEIGHBOUR });

    for (const direction of ['asc', 'desc'] as const) {
      const ids = queued.map((record) => record.id);
      expect(await readAll({ tenant: TENANT, status: 'queued', direction }, 2)).toEqual(direction === 'asc' ? ids : [...ids].reverse());
    }
    expect(await readAll({ tenant: TENANT, status: 'running', direction: 'asc' }, 10)).toEqual([running.id]);
    expect(await readAll({ tenant: NEIGHBOUR, status: 'queued', direction: 'asc' }, 10)).toHaveLength(1);
  });

  it('lists an ended status from by-ended, which an execution enters at its end and leaves when retried', async () => {
    const record = await created(1);
    const failed = await advance(record, { type: 'start', step: { index: 0, name: 'extract' } }, { type: 'error', error: { name: 'E', message: 'm', step: { index: 0, name: 'extract' } } });
    const other = await advance(await created(2), { type: 'cancel', reason: 'stop' });

    expect(await readAll({ tenant: TENANT, status: 'failed', direction: 'asc' }, 5)).toEqual([failed.id]);
    expect(await readAll({ tenant: TENANT, status: 'cancelled', direction: 'asc' }, 5)).toEqual([other.id]);
    expect(await readAll({ tenant: TENANT, status: 'running', direction: 'asc' }, 5)).toEqual([]);

    await recovery.reopen(failed, planRetry(failed, new Date(BASE + 200_000).toISOString()));

    expect(await readAll({ tenant: TENANT, status: 'failed', direction: 'asc' }, 5)).toEqual([]);
    expect(await readAll({ tenant: TENANT, status: 'running', direction: 'asc' }, 5)).toEqual([failed.id]);
  });

  it('sorts by started_at and completed_at, holding only started or ended executions, the items as they are now', async () => {
    const first = await advance(await created(1), { type: 'start', step: { index: 0, name: 'extract' } });
    const second = await advance(await created(2), { type: 'start', step: { index: 0, name: 'extract' } }, { type: 'cancel', reason: 'stop' });
    await created(3);

    const started = await repository.list({ tenant: TENANT, sortBy: 'started_at', direction: 'asc', limit: 10 });
    const completed = await repository.list({ tenant: TENANT, sortBy: 'completed_at', direction: 'asc', limit: 10 });

    expect(started.items.map((item) => [item.id, item.status])).toEqual([
      [first.id, 'running'],
      [second.id, 'cancelled'],
    ]);
    expect(completed.items.map((item) => item.id)).toEqual([second.id]);
  });

  it('filters a task with an ended status on the records: a page may be short while the cursor goes on', async () => {
    const mine = await advance(await created(1), { type: 'cancel', reason: 'stop' });
    await advance(await created(2, { taskId: 'sample-approval', stepName: 'draft' }), { type: 'cancel', reason: 'stop' });
    const later = await advance(await created(3), { type: 'cancel', reason: 'stop' });

    const first = await repository.list({ tenant: TENANT, status: 'cancelled', taskId: 'sample-pipeline', direction: 'asc', limit: 2 });

    expect(first.items.map((item) => item.id)).toEqual([mine.id]);
    expect(first.nextCursor).not.toBeNull();
    expect(await readAll({ tenant: TENANT, status: 'cancelled', taskId: 'sample-pipeline', direction: 'asc' }, 2)).toEqual([mine.id, later.id]);
  });

  it('skips an offset of the tenant\'s index without reading the records it skips', async () => {
    const records = [];
    for (let n = 0; n < 5; n++) records.push(await created(n));

    const page = await repository.list({ tenant: TENANT, direction: 'asc', limit: 2, offset: 2 });

    expect(page.items.map((item) => item.id)).toEqual([records[2]!.id, records[3]!.id]);
  });
});
