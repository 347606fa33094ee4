import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/bulk-actions.js';
import { BULK_LIMITS, newBulkJobId, type BulkItemView, type BulkJobView } from '../../../lambdas/domain/bulk.js';
import { BulkStore } from '../../../lambdas/repository/bulk-store.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/bulk-pages';
const BODY = { action: 'cancel', filter: { task_id: 'sample-pipeline', status: 'running' } };

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
  table = new FakeTable().install(ddb);
});

function call(routeKey: string, options: RequestOptions = {}) {
  return handler(apiEvent(routeKey, options), lambdaContext());
}

async function accept(body: unknown = BODY, options: RequestOptions = {}): Promise<BulkJobView> {
  const response = await call('POST /bulk-actions', { body, ...options });
  expect(response.statusCode).toBe(202);
  return parse<BulkJobView>(response).body;
}

describe('POST /bulk-actions', () => {
  it('accepts a job (202, Location) queued with its filter, and queues its first page', async () => {
    const response = await call('POST /bulk-actions', { body: { ...BODY, reason: 'Superseded.', max_items: 500 } });
    const { status, body, headers } = parse<BulkJobView>(response);
    expect(status).toBe(202);
    expect(body).toMatchObject({
      status: 'queued',
      action: 'cancel',
      filter: { task_id: 'sample-pipeline', status: 'running', created_after: null, created_before: null },
      reason: 'Superseded.',
      max_items: 500,
      progress: { matched: 0, succeeded: 0, failed: 0, skipped: 0 },
    });
    expect(headers.location).toBe(`${API_BASE_URL}/bulk-actions/${body.id}`);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: JSON.stringify({ tenant: 'default', job_id: body.id, version: 0 }) });
  });

  it.each(['retry', 'replay'] as const)('accepts a %s job over failed executions of a task', async (action) => {
    const job = await accept({ action, filter: { task_id: 'sample-pipeline', status: 'failed' } });
    expect(job).toMatchObject({ action, status: 'queued', filter: { task_id: 'sample-pipeline', status: 'failed' } });
  });

  it('accepts a tag filter, kept with the job and shown in its view', async () => {
    const job = await accept({ action: 'cancel', filter: { tag: 'nightly-2026.03', status: 'running' } });
    expect(job.filter).toEqual({ task_id: null, status: 'running', created_after: null, created_before: null, tag: 'nightly-2026.03' });
    const stored = await call('GET /bulk-actions/{id}', { pathParameters: { id: job.id } });
    expect(parse<BulkJobView>(stored).body.filter.tag).toBe('nightly-2026.03');
  });

  it('defaults max_items to 10,000 and accepts an empty filter and null reason', async () => {
    const job = await accept({ action: 'cancel', filter: {}, reason: null });
    expect(job).toMatchObject({ max_items: BULK_LIMITS.defaultMaxItems, reason: null });
  });

  it('still accepts the job when its first message cannot be queued (the sweep queues it)', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));
    await expect(accept()).resolves.toMatchObject({ status: 'queued' });
  });

  it.each([
    ['no body', undefined, ''],
    ['an array', [], ''],
    ['no action', { filter: {} }, '/action'],
    ['an unknown action', { action: 'delete', filter: {} }, '/action'],
    ['an action of the wrong case', { action: 'Retry', filter: {} }, '/action'],
    ['no filter', { action: 'cancel' }, '/filter'],
    ['a filter that is no object', { action: 'cancel', filter: 'all' }, '/filter'],
    ['a tag with a # (it separates the tag index\'s keys)', { action: 'cancel', filter: { tag: 'a#b' } }, '/filter/tag'],
    ['an empty tag', { action: 'cancel', filter: { tag: '' } }, '/filter/tag'],
    ['a tag over 64 characters', { action: 'cancel', filter: { tag: 'x'.repeat(65) } }, '/filter/tag'],
    ['a list of tags', { action: 'cancel', filter: { tag: ['a'] } }, '/filter/tag'],
    ['a __proto__ key in the filter', { action: 'cancel', filter: JSON.parse('{"__proto__":{"status":"running"}}') as unknown }, '/filter'],
    ['a constructor key in the body', JSON.parse('{"action":"cancel","filter":{},"constructor":1}') as unknown, ''],
    ['an unknown task', { action: 'cancel', filter: { task_id: 'no-such-task' } }, '/filter/task_id'],
    ['an unknown status', { action: 'cancel', filter: { status: 'pending' } }, '/filter/status'],
    ['a timestamp of no instant', { action: 'cancel', filter: { created_after: '2026-13-45' } }, '/filter/created_after'],
    ['a range the wrong way round', { action: 'cancel', filter: { created_after: '2026-02-01', created_before: '2026-01-01' } }, '/filter/created_after'],
    ['a huge timestamp string', { action: 'cancel', filter: { created_after: '2'.repeat(100_000) } }, '/filter/created_after'],
    ['max_items 0', { action: 'cancel', filter: {}, max_items: 0 }, '/max_items'],
    ['max_items over 100,000', { action: 'cancel', filter: {}, max_items: BULK_LIMITS.maxItems + 1 }, '/max_items'],
    ['max_items 1.5', { action: 'cancel', filter: {}, max_items: 1.5 }, '/max_items'],
    ['a reason over 2,000 characters', { action: 'cancel', filter: {}, reason: '😀'.repeat(2001) }, '/reason'],
  ])('refuses %s with a 400 naming the field, and accepts no job', async (_name, body, path) => {
    const response = await call('POST /bulk-actions', body === undefined ? {} : { body });
    const problem = expectProblem(response, 400);
    expect(problem.errors?.some((error) => error.path === path || error.path.startsWith(path))).toBe(true);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(table.all()).toEqual([]);
  });

  it('answers any hostile body with a 400 or a 202, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.record({ action: fc.constantFrom('cancel', '__proto__', 'CANCEL'), filter: fc.dictionary(fc.constantFrom('task_id', 'status', '__proto__', 'constructor', 'tag', 'créé'), fc.jsonValue({ maxDepth: 2 })) }),
        ),
        async (body) => {
          table = new FakeTable().install(ddb);
          const response = await call('POST /bulk-actions', { body: JSON.stringify(body) });
          expect([202, 400]).toContain(response.statusCode);
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('answers a retried request with the same Idempotency-Key with the same job (200), and another body with that key with a 422', async () => {
    const headers = { 'idempotency-key': 'cancel-run-7' };
    const first = await accept(BODY, { headers });
    const again = await call('POST /bulk-actions', { body: BODY, headers });
    expect(parse<BulkJobView>(again)).toMatchObject({ status: 200, body: { id: first.id } });
    expectProblem(await call('POST /bulk-actions', { body: { ...BODY, reason: 'other' }, headers }), 422);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
  });

  it('refuses a sixth active job of a tenant with a 409; another tenant still may', async () => {
    for (let i = 0; i < BULK_LIMITS.concurrentJobs; i++) await accept();
    const problem = expectProblem(await call('POST /bulk-actions', { body: BODY }), 409);
    expect(problem.detail).toContain(`at most ${BULK_LIMITS.concurrentJobs}`);
    await accept(BODY, { tenant: 'other' });
  });
});

describe('reading jobs', () => {
  it('GET /bulk-actions/{id} shows the job; another tenant\'s, an unknown or a malformed id is a 404', async () => {
    const job = await accept();
    expect(parse<BulkJobView>(await call('GET /bulk-actions/{id}', { pathParameters: { id: job.id } })).body).toEqual(job);
    expectProblem(await call('GET /bulk-actions/{id}', { pathParameters: { id: job.id }, tenant: 'other' }), 404);
    expectProblem(await call('GET /bulk-actions/{id}', { pathParameters: { id: newBulkJobId() } }), 404);
    for (const id of ['__proto__', '../x', '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70', 'x'.repeat(5000)]) {
      expectProblem(await call('GET /bulk-actions/{id}', { pathParameters: { id } }), 404);
    }
  });

  it('GET /bulk-actions lists the tenant\'s jobs newest first, page by page', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const job = await accept();
      ids.push(job.id);
      await call('POST /bulk-actions/{id}/cancel', { pathParameters: { id: job.id } });
    }
    await accept(BODY, { tenant: 'other' });
    const first = parse<{ items: BulkJobView[]; next_cursor: string | null }>(await call('GET /bulk-actions', { query: { limit: '2' } })).body;
    const second = parse<{ items: BulkJobView[]; next_cursor: string | null }>(await call('GET /bulk-actions', { query: { limit: '2', cursor: first.next_cursor! } })).body;
    // Newest first: by id, which carries the creation time (jobs of one millisecond in id order).
    expect([...first.items, ...second.items].map((job) => job.id)).toEqual([...ids].sort().reverse());
    expect(second.next_cursor).toBeNull();
    expectProblem(await call('GET /bulk-actions', { query: { cursor: `${first.next_cursor!}x` } }), 400);
    expectProblem(await call('GET /bulk-actions', { query: { limit: '0' } }), 400);
    expectProblem(await call('GET /bulk-actions', { query: { status: 'running' } }), 400);
  });

  it('GET /bulk-actions/{id}/items pages through the item results, with the execution a replay started', async () => {
    const REPLAY_ID = '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f99';
    const job = await accept();
    const store = new BulkStore(documentClient, repositoryOptions);
    const executions = ['0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70', '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f71', '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f72'];
    await store.record('default', job.id, { executionId: executions[0]!, outcome: 'succeeded', at: job.created_at });
    await store.record('default', job.id, {
      executionId: executions[1]!,
      outcome: 'skipped',
      problem: { type: '/problems/conflict', title: 'The execution is not in a state that allows this.', status: 409, detail: 'already succeeded' },
      at: job.created_at,
    });
    await store.record('default', job.id, { executionId: executions[2]!, outcome: 'succeeded', resultExecutionId: REPLAY_ID, at: job.created_at });
    const first = parse<{ items: BulkItemView[]; next_cursor: string | null }>(await call('GET /bulk-actions/{id}/items', { pathParameters: { id: job.id }, query: { limit: '2' } })).body;
    expect(first.items).toEqual([
      { execution_id: executions[0], outcome: 'succeeded', problem: null, result_execution_id: null, at: job.created_at },
      { execution_id: executions[1], outcome: 'skipped', problem: expect.objectContaining({ status: 409 }), result_execution_id: null, at: job.created_at },
    ]);
    const second = parse<{ items: BulkItemView[]; next_cursor: string | null }>(
      await call('GET /bulk-actions/{id}/items', { pathParameters: { id: job.id }, query: { limit: '2', cursor: first.next_cursor! } }),
    ).body;
    expect(second.items.map((item) => item.execution_id)).toEqual([executions[2]]);
    // A replay's item names the execution it started.
    expect(second.items[0]!.result_execution_id).toBe(REPLAY_ID);
    expectProblem(await call('GET /bulk-actions/{id}/items', { pathParameters: { id: job.id }, tenant: 'other' }), 404);
  });
});

describe('POST /bulk-actions/{id}/cancel', () => {
  it('cancels a queued job (200) and frees its place; a second cancel is a 409; another tenant\'s is a 404', async () => {
    for (let i = 0; i < BULK_LIMITS.concurrentJobs; i++) await accept();
    const job = (await accept(BODY, { tenant: 'other' }));
    expectProblem(await call('POST /bulk-actions/{id}/cancel', { pathParameters: { id: job.id } }), 404);
    const cancelled = parse<BulkJobView>(await call('POST /bulk-actions/{id}/cancel', { pathParameters: { id: job.id }, tenant: 'other' }));
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(cancelled.body.finished_at).not.toBeNull();
    expectProblem(await call('POST /bulk-actions/{id}/cancel', { pathParameters: { id: job.id }, tenant: 'other' }), 409);
    const mine = parse<{ items: BulkJobView[] }>(await call('GET /bulk-actions')).body.items[0]!;
    await call('POST /bulk-actions/{id}/cancel', { pathParameters: { id: mine.id } });
    await accept();
  });
});
