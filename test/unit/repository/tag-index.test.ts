import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { parseMetadataFilter } from '../../../lambdas/domain/metadata-filter.js';
import { ExecutionsRepository } from '../../../lambdas/repository/executions-repository.js';
import { TagIndexStore } from '../../../lambdas/repository/tag-store.js';
import { MARSHALL_OPTIONS } from '../../../lambdas/shared/dynamodb-client.js';
import { indexTagChanges, tagChangesOf } from '../../../lambdas/runtime/tag-index.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { executionRecord, recordItem, spyLogger, TENANT } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const OPTIONS = { tableName: 'executions', cursorSecret: 'test-secret', retentionDays: 90 };
let table: FakeTable;
let store: TagIndexStore;
let repository: ExecutionsRepository;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  store = new TagIndexStore(ddb as unknown as DynamoDBDocumentClient, OPTIONS);
  repository = new ExecutionsRepository(ddb as unknown as DynamoDBDocumentClient, OPTIONS);
});

const image = (record: ExecutionRecord): Record<string, AttributeValue> =>
  marshall(recordItem(record), MARSHALL_OPTIONS) as Record<string, AttributeValue>;

/** A stream record of the table, as the mapping hands it over. */
function change(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', before: ExecutionRecord | undefined, after: ExecutionRecord | undefined): DynamoDBRecord {
  const keyOf = (before ?? after)!;
  return {
    eventName,
    dynamodb: {
      Keys: { pk: { S: `EXEC#${keyOf.tenant}#${keyOf.id}` }, sk: { S: 'META' } },
      ...(before ? { OldImage: image(before) as never } : {}),
      ...(after ? { NewImage: image(after) as never } : {}),
    },
  };
}

/** The tags the index holds for `id`: the tags whose partition has its item. */
function indexedTags(id: string, candidates: readonly string[]): string[] {
  return candidates.filter((tag) => table.item(`TAG#${TENANT}#${tag}`, id) !== undefined).sort();
}

const deps = () => ({ store, logger: spyLogger() });

describe('tag changes of stream records', () => {
  it('takes the tags that differ between the images, merged per execution, and ignores progress and other items', () => {
    const created = executionRecord({ tags: ['a', 'b'] });
    const running = { ...created, status: 'running' as const, transitionCount: 2 };
    const other = executionRecord({ id: newExecutionId(), tags: ['x'] });
    const row: DynamoDBRecord = { eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'EXEC#t#1' }, sk: { S: 'TR#0000000001' } }, NewImage: { tags: { L: [{ S: 'z' }] } } } };

    const changes = tagChangesOf([
      change('INSERT', undefined, created),
      change('MODIFY', created, running),
      change('MODIFY', running, { ...running, tags: ['b', 'c'] }),
      change('REMOVE', other, undefined),
      row,
    ]);

    expect(changes).toEqual([
      { tenant: TENANT, id: created.id, tags: ['a', 'b', 'c'] },
      { tenant: TENANT, id: other.id, tags: ['x'] },
    ]);
  });
});

describe('the tag index writer', () => {
  it('indexes a record created with tags, once, however often the stream record is delivered', async () => {
    const record = executionRecord({ tags: ['nightly', 'team:ops'] });
    table.put(recordItem(record));
    const insert = change('INSERT', undefined, record);

    await indexTagChanges(deps(), [insert]);
    await indexTagChanges(deps(), [insert, insert]);

    expect(indexedTags(record.id, ['nightly', 'team:ops'])).toEqual(['nightly', 'team:ops']);
    expect(table.item(`TAG#${TENANT}#nightly`, record.id)).toEqual({
      pk: `TAG#${TENANT}#nightly`,
      sk: record.id,
      tenant: TENANT,
      id: record.id,
      // The record's rows' TTL: created + retention + a year, so it outlives the record.
      expires_at: Date.parse(record.createdAt) / 1000 + 90 * 86_400 + 366 * 86_400,
    });
  });

  it('does not bring back a tag an edit removed when the create\'s stream record arrives late', async () => {
    const record = executionRecord({ tags: ['a', 'b'] });
    table.put(recordItem(record));
    await store.setTags(TENANT, record.id, ['b', 'c']);

    await indexTagChanges(deps(), [change('INSERT', undefined, record)]);

    expect(indexedTags(record.id, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  it('removes the items of a record removed by TTL, and a late create record of it writes none', async () => {
    const record = executionRecord({ tags: ['a'] });
    // The record is gone already: its REMOVE is handled before its (reordered) INSERT.
    table.put({ pk: `TAG#${TENANT}#a`, sk: record.id, tenant: TENANT, id: record.id });

    await indexTagChanges(deps(), [change('REMOVE', record, undefined)]);
    await indexTagChanges(deps(), [change('INSERT', undefined, record)]);

    expect(indexedTags(record.id, ['a'])).toEqual([]);
  });

  it('reads the record again when its tags change between its read and its write', async () => {
    const record = executionRecord({ tags: ['a'] });
    table.put(recordItem(record));
    table.beforeNextTransaction(() => table.put(recordItem({ ...record, tags: ['b'] })));

    await indexTagChanges(deps(), [change('MODIFY', { ...record, tags: [] }, record)]);

    // The first write (put a) was refused by its condition check; the second saw the record without a.
    expect(indexedTags(record.id, ['a', 'b'])).toEqual([]);
    expect(ddb.commandCalls((await import('@aws-sdk/lib-dynamodb')).TransactWriteCommand)).toHaveLength(2);
  });

  it('ends with the index matching the records, whatever the order and repetition of the stream records (property)', async () => {
    const TAGS = ['a', 'b', 'c', 'd'];
    const tagList = fc.subarray(TAGS);
    await fc.assert(
      fc.asyncProperty(fc.array(tagList, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), async (versions, removed, picks) => {
        ddb.reset();
        table = new FakeTable().install(ddb);
        store = new TagIndexStore(ddb as unknown as DynamoDBDocumentClient, OPTIONS);
        const base = executionRecord();
        // The record's history: created with versions[0], edited to each next version, maybe removed at the end.
        const states = versions.map((tags) => ({ ...base, tags }));
        const records: DynamoDBRecord[] = [change('INSERT', undefined, states[0])];
        for (let i = 1; i < states.length; i++) records.push(change('MODIFY', states[i - 1], states[i]));
        if (removed) records.push(change('REMOVE', states.at(-1), undefined));
        if (!removed) table.put(recordItem(states.at(-1)!));
        // Deliver a shuffled selection with repeats, then (as Lambda's retries would) every record once.
        const delivered = picks.map((pick) => records[pick % records.length]!);
        await indexTagChanges(deps(), [...delivered, ...records]);

        expect(indexedTags(base.id, TAGS)).toEqual(removed ? [] : [...new Set(states.at(-1)!.tags)].sort());
      }),
      { numRuns: 60 },
    );
  });
});

describe('replacing tags', () => {
  it('updates the record and writes and deletes the index items in one transaction, finished executions too', async () => {
    const record = executionRecord({ status: 'succeeded', tags: ['a', 'b'], completedAt: '2026-01-02T03:05:00.000Z' });
    table.put(recordItem(record));
    table.put({ pk: `TAG#${TENANT}#a`, sk: record.id, tenant: TENANT, id: record.id });

    const updated = await store.setTags(TENANT, record.id, ['b', 'c', 'b']);

    expect(updated.tags).toEqual(['b', 'c']);
    expect(table.item(`EXEC#${TENANT}#${record.id}`, 'META')?.tags).toEqual(['b', 'c']);
    // b is written again: an item a lost stream record never wrote is repaired by any edit.
    expect(indexedTags(record.id, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  it('removes every tag with an empty list', async () => {
    const record = executionRecord({ tags: ['a'] });
    table.put(recordItem(record));

    const updated = await store.setTags(TENANT, record.id, []);

    expect(updated.tags).toBeUndefined();
    expect(table.item(`EXEC#${TENANT}#${record.id}`, 'META')?.tags).toBeUndefined();
    expect(indexedTags(record.id, ['a'])).toEqual([]);
  });

  it('tags an execution stored with an empty tag list (a create may store one) at the first attempt', async () => {
    const record = executionRecord();
    table.put({ ...recordItem(record), tags: [] });

    const updated = await store.setTags(TENANT, record.id, ['a']);

    expect(updated.tags).toEqual(['a']);
    expect(indexedTags(record.id, ['a'])).toEqual(['a']);
  });

  it('answers 404 for another tenant\'s execution and writes nothing', async () => {
    const record = executionRecord({ tenant: 'someone-else' });
    table.put(recordItem(record));

    await expect(store.setTags(TENANT, record.id, ['a'])).rejects.toBeInstanceOf(NotFoundError);
    expect(table.partition(`TAG#${TENANT}#a`)).toEqual([]);
  });

  it('of two concurrent edits, applies the later one to what the first left (last edit wins, index in line)', async () => {
    const record = executionRecord({ tags: ['a'] });
    table.put(recordItem(record));
    table.beforeNextTransaction(() => {
      table.put(recordItem({ ...record, tags: ['x'] }));
      table.put({ pk: `TAG#${TENANT}#x`, sk: record.id, tenant: TENANT, id: record.id });
    });

    await store.setTags(TENANT, record.id, ['b']);

    expect(table.item(`EXEC#${TENANT}#${record.id}`, 'META')?.tags).toEqual(['b']);
    expect(indexedTags(record.id, ['a', 'b', 'x'])).toEqual(['b']);
  });
});

describe('listing by tag', () => {
  /** Stores `count` executions with `tags`, oldest first, and their index items. */
  function tagged(count: number, overrides: (index: number) => Partial<ExecutionRecord>, gone: readonly number[] = []): ExecutionRecord[] {
    return Array.from({ length: count }, (_, index) => {
      const record = executionRecord({ id: newExecutionId(Date.parse('2026-01-02T03:04:05.000Z') + index * 1000), ...overrides(index) });
      if (!gone.includes(index)) table.put(recordItem(record));
      for (const tag of record.tags ?? []) table.put({ pk: `TAG#${TENANT}#${tag}`, sk: record.id, tenant: TENANT, id: record.id });
      return record;
    });
  }

  it('skips stale items (tag removed, record gone), filters status, and pages by the index with a short page', async () => {
    // Stale: record 4 lost the tag; record 5 is gone (its index item is still there).
    const records = tagged(6, (index) => ({ tags: ['nightly'], status: index % 2 === 0 ? 'running' : 'succeeded' }), [5]);
    table.put(recordItem({ ...records[4]!, tags: [] }));

    const first = await repository.list({ tenant: TENANT, tags: ['nightly'], status: 'running', limit: 3, direction: 'desc' });
    // Newest first: 5 (gone), 4 (stale), 3 (succeeded): nothing, but the cursor goes on.
    expect(first.items).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const second = await repository.list({ tenant: TENANT, tags: ['nightly'], status: 'running', limit: 3, direction: 'desc', cursor: first.nextCursor! });
    expect(second.items.map((record) => record.id)).toEqual([records[2]!.id, records[0]!.id]);
  });

  it('with several tags, keeps the executions that have every one', async () => {
    const records = tagged(3, (index) => ({ tags: index === 1 ? ['a'] : ['a', 'b'] }));

    const page = await repository.list({ tenant: TENANT, tags: ['a', 'b'], limit: 10, direction: 'asc' });

    expect(page.items.map((record) => record.id)).toEqual([records[0]!.id, records[2]!.id]);
    expect(page.nextCursor).toBeNull();
  });

  it('reads one Query and one BatchGetItem per page, never a Scan, and applies a metadata filter', async () => {
    const records = tagged(4, (index) => ({ tags: ['a'], metadata: { team: index < 2 ? 'ops' : 'web' } }));

    const page = await repository.list({ tenant: TENANT, tags: ['a'], metadataFilter: parseMetadataFilter('{"team":"web"}'), limit: 10, direction: 'asc' });

    expect(page.items.map((record) => record.id)).toEqual([records[2]!.id, records[3]!.id]);
    const names = ddb.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name);
    expect(names).toEqual(['QueryCommand', 'BatchGetCommand']);
  });

  it('refuses a cursor of another tag\'s list', async () => {
    tagged(3, () => ({ tags: ['a', 'b'] }));
    const page = await repository.list({ tenant: TENANT, tags: ['a'], limit: 1, direction: 'asc' });

    await expect(repository.list({ tenant: TENANT, tags: ['b'], limit: 1, direction: 'asc', cursor: page.nextCursor! })).rejects.toThrow(/cursor/);
  });
});

describe('listing by metadata filter and batch', () => {
  it('reads at most limit executions per page and keeps the matching ones (a page may be short)', async () => {
    for (let index = 0; index < 5; index++) {
      table.put(recordItem(executionRecord({ id: newExecutionId(Date.parse('2026-01-02T03:04:05.000Z') + index * 1000), metadata: { n: index % 2 } })));
    }
    const filter = parseMetadataFilter('{"n":1}');

    const first = await repository.list({ tenant: TENANT, metadataFilter: filter, limit: 2, direction: 'asc' });
    const second = await repository.list({ tenant: TENANT, metadataFilter: filter, limit: 2, direction: 'asc', cursor: first.nextCursor! });
    const third = await repository.list({ tenant: TENANT, metadataFilter: filter, limit: 2, direction: 'asc', cursor: second.nextCursor! });

    expect([first, second, third].map((page) => page.items.length)).toEqual([1, 1, 0]);
    expect(third.nextCursor).toBeNull();
    for (const call of ddb.commandCalls(QueryCommand)) expect(call.args[0].input.Limit).toBe(2);
  });

  it('lists a batch\'s executions from the by-group index, page by page', async () => {
    const batchId = '3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d';
    const ids = Array.from({ length: 3 }, (_, index) => {
      const record = executionRecord({ id: newExecutionId(Date.parse('2026-01-02T03:04:05.000Z') + index), batchId });
      table.put(recordItem(record));
      return record.id;
    });
    table.put(recordItem(executionRecord({ id: newExecutionId() })));

    const first = await repository.list({ tenant: TENANT, batchId, limit: 2, direction: 'asc' });
    const second = await repository.list({ tenant: TENANT, batchId, limit: 2, direction: 'asc', cursor: first.nextCursor! });

    expect([...first.items, ...second.items].map((record) => record.id)).toEqual(ids);
    expect(second.nextCursor).toBeNull();
    expect((ddb.calls()[0]!.args[0].input as { IndexName?: string }).IndexName).toBe('by-group');
  });
});
