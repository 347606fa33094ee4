import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { childExecutionId } from '../../../lambdas/domain/children.js';
import { ConflictError } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { ExecutionsRepository } from '../../../lambdas/repository/executions-repository.js';
import { FamilyStore } from '../../../lambdas/repository/family-store.js';
import { activeShard, openKey, openSort } from '../../../lambdas/repository/keys.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { TENANT, executionPk, executionRecord, seed, storedRecord, storedRows, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const OPTIONS = { tableName: 'executions-test', cursorSecret: 's' };

let table: FakeTable;
let store: FamilyStore;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  store = new FamilyStore(client, OPTIONS);
});

/** A running parent, stored. */
function runningParent(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const parent = executionRecord({ status: 'running', transitionCount: 2, startedAt: '2026-01-02T03:04:06.000Z', ...overrides });
  seed(table, parent, [transitionRecord(parent)]);
  return parent;
}

/** A queued child of `parent` at `instance`, as the child start builds it (not stored). */
function childOf(parent: ExecutionRecord, instance: string, createdAt = '2026-01-02T03:05:00.000Z'): ExecutionRecord {
  const id = childExecutionId(parent.id, instance);
  return executionRecord({ id, taskId: 'unit-echo', input: { text: instance }, stepName: 'echo', totalSteps: 1, createdAt, updatedAt: createdAt });
}

const link = (parent: ExecutionRecord, token = 'token-0', attempt = 0) => ({ parent, token, attempt });

describe('createChild', () => {
  it('writes the child, its init row and follow-up item, and the parent\'s child count and follow-up item in ONE transaction', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'research/#1');

    const { record, created } = await store.createChild(child, link(parent, 'token-0', 0));

    expect(created).toBe(true);
    expect(record).toMatchObject({ id: child.id, parentExecutionId: parent.id, parentToken: 'token-0', parentAttempt: 0, childCount: 0 });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems).toHaveLength(5);
    expect(storedRecord(table, child)).toMatchObject({
      status: 'queued',
      parent_execution_id: parent.id,
      parent_token: 'token-0',
      parent_attempt: 0,
      parent_key: `T#${TENANT}#PARENT#${parent.id}`,
      open_key: openKey(TENANT),
      open_sort: openSort(TENANT, child.id),
    });
    expect(storedRows(table, child).map((row) => row.type)).toEqual(['init']);
    expect(table.item(executionPk(TENANT, child.id), 'FOLLOW_UP')).toMatchObject({
      id: child.id,
      tenant: TENANT,
      task_id: 'unit-echo',
      open_key: openKey(TENANT),
      open_sort: openSort(TENANT, child.id),
    });
    expect(storedRecord(table, parent)).toMatchObject({ child_count: 1, status: 'running', transition_count: 2 });
    expect(table.item(executionPk(TENANT, parent.id), 'FOLLOW_UP')).toMatchObject({ id: parent.id, open_key: openKey(TENANT), open_sort: openSort(TENANT, parent.id) });
  });

  it('counts every child of a parent', async () => {
    const parent = runningParent();

    await store.createChild(childOf(parent, 'a'), link(parent));
    await store.createChild(childOf(parent, 'b'), link(parent));

    expect(storedRecord(table, parent).child_count).toBe(2);
    expect((await store.get(TENANT, parent.id)).childCount).toBe(2);
  });

  it('returns the child an earlier attempt created, writing nothing (a retried start never makes a second child)', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'research/#1');
    await store.createChild(child, link(parent, 'token-0', 0));
    const before = table.all();

    const again = await store.createChild({ ...child, createdAt: '2026-01-02T03:06:00.000Z' }, link(parent, 'token-1', 1));

    expect(again.created).toBe(false);
    expect(again.record).toMatchObject({ id: child.id, parentToken: 'token-0', parentAttempt: 0, createdAt: child.createdAt });
    expect(table.all()).toEqual(before);
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)('refuses to create a child under a %s parent, writing nothing', async (status) => {
    const parent = runningParent({ status, completedAt: '2026-01-02T03:06:00.000Z' });
    const before = table.all();

    await expect(store.createChild(childOf(parent, 'late'), link(parent))).rejects.toBeInstanceOf(ConflictError);
    expect(table.all()).toEqual(before);
  });

  it('refuses to create a child under a parent that does not exist', async () => {
    const parent = executionRecord({ status: 'running' });

    await expect(store.createChild(childOf(parent, 'x'), link(parent))).rejects.toBeInstanceOf(ConflictError);
    expect(table.all()).toEqual([]);
  });

  it('creates children under queued and waiting parents', async () => {
    for (const status of ['queued', 'awaiting_input'] as const) {
      const parent = runningParent({ status });
      await expect(store.createChild(childOf(parent, status), link(parent))).resolves.toMatchObject({ created: true });
    }
  });
});

describe('replaceParentToken', () => {
  it('stores the token of a newer attempt while the child has not ended', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'r');
    await store.createChild(child, link(parent, 'token-0', 0));

    expect(await store.replaceParentToken(child, 'token-1', 1)).toBe(true);
    expect(await store.get(TENANT, child.id)).toMatchObject({ parentToken: 'token-1', parentAttempt: 1 });
  });

  it('never replaces a token with an older attempt\'s', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'r');
    await store.createChild(child, link(parent, 'token-2', 2));

    expect(await store.replaceParentToken(child, 'token-1', 1)).toBe(false);
    expect(storedRecord(table, child).parent_token).toBe('token-2');
  });

  it('freezes the token once the child has ended', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'r');
    await store.createChild(child, link(parent, 'token-0', 0));
    table.put({ ...storedRecord(table, child), status: 'succeeded' });

    expect(await store.replaceParentToken(child, 'token-1', 1)).toBe(false);
    expect(storedRecord(table, child).parent_token).toBe('token-0');
  });
});

describe('childrenOf', () => {
  it('lists every child of a parent, oldest first, with its status, and no other execution', async () => {
    const parent = runningParent();
    const other = runningParent();
    const first = childOf(parent, 'a', '2026-01-02T03:05:00.000Z');
    const second = childOf(parent, 'b', '2026-01-02T03:06:00.000Z');
    await store.createChild(second, link(parent));
    await store.createChild(first, link(parent));
    await store.createChild(childOf(other, 'a'), link(other));
    table.put({ ...storedRecord(table, second), status: 'succeeded' });

    const children = [];
    for await (const child of store.childrenOf(TENANT, parent.id)) children.push(child);

    expect(children).toEqual([
      { id: first.id, status: 'queued' },
      { id: second.id, status: 'succeeded' },
    ]);
  });

  it('lists nothing for an execution without children, or of another tenant', async () => {
    const parent = runningParent();
    await store.createChild(childOf(parent, 'a'), link(parent));

    const none = [];
    for await (const child of store.childrenOf('other-tenant', parent.id)) none.push(child);
    for await (const child of store.childrenOf(TENANT, childExecutionId(parent.id, 'a'))) none.push(child);

    expect(none).toEqual([]);
  });
});

describe('settled', () => {
  it('takes the follow-up item out of the reconciler\'s index and records when', async () => {
    const parent = runningParent();
    const child = childOf(parent, 'a');
    await store.createChild(child, link(parent));

    await store.settled(child, '2026-01-02T04:00:00.000Z');

    const item = table.item(executionPk(TENANT, child.id), 'FOLLOW_UP');
    expect(item).not.toHaveProperty('open_key');
    expect(item).not.toHaveProperty('open_sort');
    expect(item).toMatchObject({ id: child.id, settled_at: '2026-01-02T04:00:00.000Z' });
  });

  it('writes nothing for an execution without a follow-up item', async () => {
    const record = runningParent();
    const before = table.all();

    await store.settled(record, '2026-01-02T04:00:00.000Z');

    expect(table.all()).toEqual(before);
  });
});

describe('the reconciler\'s index', () => {
  it('yields the follow-up items of a family beside the records, marked as such', async () => {
    const parent = runningParent({ id: '019d0000-0000-7000-8000-000000000001', createdAt: '2026-01-02T03:04:05.000Z' });
    await store.createChild(childOf(parent, 'a'), link(parent));
    const repository = new ExecutionsRepository(client, OPTIONS);

    const found = [];
    for await (const item of repository.activeExecutions({ shard: activeShard(TENANT), createdBefore: Date.now(), pageSize: 10 })) {
      if (item.id === parent.id) found.push(item);
    }

    expect(found.map((item) => item.followUp).sort()).toEqual([false, true]);
    expect(found.find((item) => item.followUp)).toMatchObject({ tenant: TENANT, id: parent.id, taskId: parent.taskId });
  });
});
