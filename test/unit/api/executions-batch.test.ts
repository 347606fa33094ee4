import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BATCH_CONCURRENCY, batchIdOf, batchStatusOf, itemKeyOf } from '../../../lambdas/api/batch.js';
import { MAX_BATCH_ITEMS } from '../../../lambdas/api/bodies.js';
import { handler } from '../../../lambdas/api/executions-batch.js';
import type { BatchResult, ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse } from '../support/api-events.js';
import { TENANT, executionRecord, recordItem, storedRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
});

const INPUT = { document_url: 'https://example.com/reports/q3.pdf', language: 'en' };
const item = (extra: Record<string, unknown> = {}) => ({ task_id: 'sample-pipeline', input: INPUT, ...extra });

function batch(body: unknown, headers: Record<string, string> = {}, remainingMs = 30_000) {
  const context = { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs };
  return handler(apiEvent('POST /executions/batch', { body, headers }), context);
}

/** The records the table holds now (every execution's META item). */
function records() {
  return table.all().filter((stored) => stored.sk === 'META');
}

describe('POST /executions/batch', () => {
  it('creates every item with the batch id and its tags: 200, results in request order', async () => {
    const response = parse<BatchResult>(await batch({ items: [item({ tags: ['nightly'] }), item({ metadata: { n: 2 } }), item()] }));

    expect(response.status).toBe(200);
    const { batch_id, items, succeeded, failed } = response.body;
    expect({ succeeded, failed }).toEqual({ succeeded: 3, failed: 0 });
    expect(items.map((result) => [result.index, result.status])).toEqual([[0, 201], [1, 201], [2, 201]]);
    expect(items[0]!.execution).toMatchObject({ status: 'queued', tags: ['nightly'], batch_id });
    expect(items[1]!.execution).toEqual({
      id: expect.any(String),
      task_id: 'sample-pipeline',
      status: 'queued',
      created_at: expect.any(String),
      status_url: expect.stringMatching(/\/executions\//),
      tags: null,
      batch_id,
    });
    expect(storedRecord(table, { tenant: TENANT, id: items[1]!.execution!.id }).metadata).toBe(JSON.stringify({ n: 2 }));
    for (const result of items) {
      expect(storedRecord(table, { tenant: TENANT, id: result.execution!.id })).toMatchObject({ batch_id, group_key: `T#${TENANT}#BATCH#${batch_id}` });
    }
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(3);
  });

  it('reports each bad item on its own (207): field errors under /items/<i>, unknown task 404, the rest created', async () => {
    const response = parse<BatchResult>(
      await batch({
        items: [
          item(),
          item({ input: { language: 'en' } }),
          { task_id: 'no-such-task', input: {} },
          'not an object',
          item({ tags: ['has space'] }),
          item({ webhook_url: 'https://example.com/hook' }),
          item({ __proto__: { polluted: true }, constructor: 'x' }),
        ],
      }),
    );

    expect(response.status).toBe(207);
    expect(response.body.items.map((result) => result.status)).toEqual([201, 400, 404, 400, 400, 400, 400]);
    expect(response.body.items[1]!.error).toMatchObject({ status: 400, errors: [expect.objectContaining({ path: expect.stringMatching(/^\/items\/1\/input/) })] });
    expect(response.body.items[4]!.error!.errors).toEqual([expect.objectContaining({ path: '/items/4/tags/0' })]);
    expect(response.body).toMatchObject({ succeeded: 1, failed: 6 });
    expect(records()).toHaveLength(1);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('answers a batch none of whose items can be created as a 422 problem with every item\'s result', async () => {
    const problem = expectProblem(await batch({ items: [{ task_id: 'nope', input: {} }, item({ input: 1 })] }), 422);

    expect(problem).toMatchObject({ type: '/problems/batch-failed', succeeded: 0, failed: 2, batch_id: expect.any(String) });
    expect((problem.items as BatchResult['items']).map((result) => result.status)).toEqual([404, 400]);
    expect(records()).toHaveLength(0);
  });

  it('answers 503 (retry) when no item could be started because Step Functions refused, each recorded as failed', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    const problem = expectProblem(await batch({ items: [item(), item()] }), 503);

    expect((problem.items as BatchResult['items']).map((result) => result.status)).toEqual([503, 503]);
  });

  it('with an Idempotency-Key, a retried batch creates nothing twice: same batch id, items replayed (200 each)', async () => {
    const body = { items: [item(), item({ idempotency_key: 'own-key' }), item({ metadata: { n: 3 } })] };
    const first = parse<BatchResult>(await batch(body, { 'idempotency-key': 'batch-1' }));
    const again = parse<BatchResult>(await batch(body, { 'idempotency-key': 'batch-1' }));

    expect(again.status).toBe(200);
    expect(again.body.batch_id).toBe(first.body.batch_id);
    expect(again.body.items.map((result) => result.status)).toEqual([200, 200, 200]);
    expect(again.body.items.map((result) => result.execution!.id)).toEqual(first.body.items.map((result) => result.execution!.id));
    expect(records()).toHaveLength(3);
    // An item's own key is its own: the same key in a single create replays that item.
    expect(itemKeyOf({ idempotency_key: 'own-key' }, 1, 'batch-1')).toBe('own-key');
    expect(itemKeyOf({}, 1, 'batch-1')).not.toBe('batch-1');
    expect(batchIdOf(TENANT, 'batch-1')).toBe(first.body.batch_id);
    expect(batchIdOf('another-tenant', 'batch-1')).not.toBe(first.body.batch_id);
  });

  it('reports an item whose retry changed under the same derived key as 422, and creates the others', async () => {
    await batch({ items: [item(), item()] }, { 'idempotency-key': 'batch-2' });

    const retry = parse<BatchResult>(await batch({ items: [item(), item({ metadata: { changed: true } }), item()] }, { 'idempotency-key': 'batch-2' }));

    expect(retry.status).toBe(207);
    expect(retry.body.items.map((result) => result.status)).toEqual([200, 422, 201]);
  });

  it('creates at most BATCH_CONCURRENCY items at once', async () => {
    let inFlight = 0;
    let most = 0;
    sfn.on(StartExecutionCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return { executionArn: 'arn:started', startDate: new Date() };
    });

    const response = parse<BatchResult>(await batch({ items: Array.from({ length: 100 }, () => item()) }));

    expect(response.status).toBe(200);
    expect(most).toBe(BATCH_CONCURRENCY);
  });

  it('answers the items it had no time left to start as 503 (not attempted) instead of timing out', async () => {
    const problem = expectProblem(await batch({ items: [item(), item()] }, {}, 1000), 503);

    expect((problem.items as BatchResult['items']).map((result) => result.error!.detail)).toEqual([expect.stringMatching(/^Not attempted/), expect.stringMatching(/^Not attempted/)]);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('refuses a body that is not a list of 1 to 1,000 items as a whole (400), creating nothing', async () => {
    for (const body of [{}, { items: [] }, { items: 'x' }, { items: Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => item()) }, { items: [item()], extra: 1 }]) {
      const problem = expectProblem(await batch(body), 400);
      expect(problem.errors).toBeDefined();
    }
    expect(records()).toHaveLength(0);
  });

  it('takes a body of up to 10 MB (a single create: 256 KB) and refuses a bigger one with 413', async () => {
    const big = 'x'.repeat(200 * 1024);
    // unit-echo takes any text: five inputs of 200 KB each, 1 MB in all.
    const response = parse<BatchResult>(await batch({ items: Array.from({ length: 5 }, () => ({ task_id: 'unit-echo', input: { text: big } })) }));
    expect(response.status).toBe(200);
    expect(response.body.succeeded).toBe(5);
    expectProblem(await batch(`{"items":[${Array.from({ length: 60 }, () => JSON.stringify(item({ metadata: { big } }))).join(',')}]}`), 413);
  });

  it('answers 1,000 items of 9 KB inputs (9 MB sent) within Lambda\'s 6 MB: results name executions, they do not echo inputs', async () => {
    const text = 'x'.repeat(9 * 1024);
    const response = await batch({ items: Array.from({ length: MAX_BATCH_ITEMS }, (_, n) => ({ task_id: 'unit-echo', input: { text }, metadata: { n } })) });

    expect(parse<BatchResult>(response).body.succeeded).toBe(MAX_BATCH_ITEMS);
    expect(Buffer.byteLength(response.body ?? '')).toBeLessThan(600 * 1024);
  }, 60_000);

  it('puts the batch\'s records in the status the summary says', () => {
    const result = (statuses: number[]): BatchResult => ({ batch_id: 'b', succeeded: statuses.filter((s) => s < 300).length, failed: statuses.filter((s) => s >= 300).length, items: statuses.map((status, index) => ({ index, status })) });
    expect(batchStatusOf(result([201, 200]))).toBe(200);
    expect(batchStatusOf(result([201, 400]))).toBe(207);
    expect(batchStatusOf(result([404, 400]))).toBe(422);
    expect(batchStatusOf(result([400, 503]))).toBe(503);
  });
});

describe('PUT /executions/{id}/tags', () => {
  function putTags(id: string, body: unknown, tenant = TENANT) {
    return handler(apiEvent('PUT /executions/{id}/tags', { pathParameters: { id }, body, tenant }), lambdaContext());
  }

  it('replaces the tags of a finished execution and answers its view', async () => {
    const record = executionRecord({ status: 'succeeded', tags: ['old'], completedAt: '2026-01-02T03:05:00.000Z' });
    table.put(recordItem(record));

    const response = parse<ExecutionView>(await putTags(record.id, { tags: ['nightly', 'team:ops'] }));

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: record.id, status: 'succeeded', tags: ['nightly', 'team:ops'] });
    expect(table.item(`TAG#${TENANT}#old`, record.id)).toBeUndefined();
    expect(table.item(`TAG#${TENANT}#team:ops`, record.id)).toBeDefined();
  });

  it('answers 404 for another tenant\'s execution and 400 for bad tags', async () => {
    const record = executionRecord({ tenant: 'other' });
    table.put(recordItem(record));

    expectProblem(await putTags(record.id, { tags: ['a'] }), 404);
    expectProblem(await putTags(record.id, { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, 'other'), 400);
    expectProblem(await putTags(record.id, { tags: ['a#b'] }, 'other'), 400);
    expectProblem(await putTags(record.id, { tags: ['x'.repeat(65)] }, 'other'), 400);
    expectProblem(await putTags(record.id, {}, 'other'), 400);
    expectProblem(await putTags('not-an-id', { tags: [] }, 'other'), 400);
  });

  it('keeps the 256 KB body limit of every route but the batch', async () => {
    const record = executionRecord();
    table.put(recordItem(record));

    expectProblem(await putTags(record.id, `{"tags":[],"pad":"${'x'.repeat(300 * 1024)}"}`), 413);
  });
});
