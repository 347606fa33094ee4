import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/api/executions-read.js';
import { MAX_WAIT_SECONDS } from '../../../lambdas/api/long-poll.js';
import type { ROUTES } from '../../../lambdas/api/routes.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { executionRecord, seed, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;
/** Runs before each GetItem is answered, with the number of GetItems so far (this one included). */
let beforeGet: ((count: number) => void) | undefined;
let gets = 0;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  gets = 0;
  beforeGet = undefined;
  // Reads go through the fake table, after the hook: a writer that changes the record between polls.
  ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => {
    gets++;
    beforeGet?.(gets);
    const item = table.item(String(input.Key?.pk), String(input.Key?.sk));
    return { $metadata: {}, ...(item ? { Item: item } : {}) };
  });
});

afterEach(() => {
  vi.useRealTimers();
});

/** A running execution in step 1 of 3. */
function storeRunning(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const record = executionRecord({ status: 'running', transitionCount: 3, stepIndex: 1, stepName: 'analyze', stepsCompleted: 1, ...overrides });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

/** The record after its next transition (a step recorded). */
function afterTransition(record: ExecutionRecord): ExecutionRecord {
  return { ...record, transitionCount: record.transitionCount + 1, stepIndex: 2, stepName: 'summarize', stepsCompleted: 2, updatedAt: '2026-01-02T03:05:00.000Z' };
}

type Result = APIGatewayProxyStructuredResultV2;

function request(routeKey: (typeof ROUTES.read)[number], options: RequestOptions, remainingMs = 30_000): Promise<Result> {
  const context = { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs };
  return handler(apiEvent(routeKey, options), context);
}

function getExecution(record: Pick<ExecutionRecord, 'id'>, headers: Record<string, string> = {}, remainingMs?: number): Promise<Result> {
  return request('GET /executions/{id}', { pathParameters: { id: record.id }, headers }, remainingMs);
}

function etagOf(response: Result): string {
  const etag = response.headers?.etag;
  if (typeof etag !== 'string') throw new Error(`no ETag in ${JSON.stringify(response.headers)}`);
  return etag;
}

/** Runs `pending` with fake time advanced by `ms`; resolves with its result and when it answered (ms after the start). */
async function heldFor<T>(pending: () => Promise<T>, ms: number): Promise<{ result: T; answeredAfter: number }> {
  const start = Date.now();
  let answeredAfter = Number.NaN;
  const running = pending().then((result) => {
    answeredAfter = Date.now() - start;
    return result;
  });
  await vi.advanceTimersByTimeAsync(ms);
  return { result: await running, answeredAfter };
}

describe('GET /executions/{id}: ETag', () => {
  it('carries a strong ETag that names the transition count and stays the same while the record does', async () => {
    const record = storeRunning();

    const first = await getExecution(record);
    const second = await getExecution(record);

    expect(first.statusCode).toBe(200);
    expect(etagOf(first)).toMatch(/^"3-[A-Za-z0-9_-]+"$/);
    expect(etagOf(second)).toBe(etagOf(first));
  });

  it('changes after a transition', async () => {
    const record = storeRunning();
    const before = etagOf(await getExecution(record));

    seed(table, afterTransition(record));

    expect(etagOf(await getExecution(record))).not.toBe(before);
  });

  it('changes after a progress report, which writes no transition', async () => {
    const record = storeRunning();
    const before = etagOf(await getExecution(record));

    seed(table, { ...record, stepFraction: 0.5, progressMessage: 'analyzed page 1' });
    const after = await getExecution(record);

    expect(parse<ExecutionView>(after).body.transition_count).toBe(record.transitionCount);
    expect(etagOf(after)).not.toBe(before);
  });

  it('changes with a progress report in the same millisecond as the one before (not only with updated_at)', async () => {
    const record = storeRunning({ stepFraction: 0.25, progressMessage: 'page 1' });
    const before = etagOf(await getExecution(record));

    seed(table, { ...record, stepFraction: 0.5, progressMessage: 'page 2' });

    expect(etagOf(await getExecution(record))).not.toBe(before);
  });
});

describe('GET /executions/{id}: If-None-Match', () => {
  it('answers 304 with the ETag and no body when it names the current ETag', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));

    const response = await getExecution(record, { 'if-none-match': etag });

    expect(response.statusCode).toBe(304);
    expect(response.body).toBeUndefined();
    expect(response.headers?.etag).toBe(etag);
    expect(response.headers?.['content-type']).toBeUndefined();
  });

  it.each([
    ['a weak tag', (etag: string) => `W/${etag}`],
    ['a list', (etag: string) => `"1-stale", ${etag}`],
    ['*', () => '*'],
  ])('answers 304 for %s that matches', async (_what, header) => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));

    const response = await getExecution(record, { 'if-none-match': header(etag) });

    expect(response.statusCode).toBe(304);
    expect(response.headers?.etag).toBe(etag);
  });

  it('answers 200 with the new view and ETag once the execution has changed', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    seed(table, afterTransition(record));

    const response = await getExecution(record, { 'if-none-match': etag });

    expect(response.statusCode).toBe(200);
    expect(parse<ExecutionView>(response).body.transition_count).toBe(4);
    expect(etagOf(response)).not.toBe(etag);
  });

  it("answers 404 with no ETag for another tenant's execution, whatever If-None-Match says", async () => {
    const record = storeRunning({ tenant: 'someone-else' });

    for (const header of ['*', '"3-anything"']) {
      const response = await getExecution(record, { 'if-none-match': header, prefer: 'wait=5' });

      expectProblem(response, 404);
      expect(response.headers?.etag).toBeUndefined();
      expect(response.headers?.['preference-applied']).toBeUndefined();
    }
    expect(gets).toBe(2);
  });

  it('answers 404 with no ETag for an unknown id', async () => {
    const response = await getExecution(executionRecord(), { 'if-none-match': '*' });

    expectProblem(response, 404);
    expect(response.headers?.etag).toBeUndefined();
  });
});

describe('GET /executions/{id}: Prefer: wait', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 2, 3, 4, 5) });
  });

  it('holds a request whose If-None-Match matches until the execution changes, then answers 200 at the next poll', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;
    // The third poll (the fourth read) finds the next transition.
    beforeGet = (count) => count === 4 && seed(table, afterTransition(record));

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=10' }), 10_000);

    expect(result.statusCode).toBe(200);
    expect(parse<ExecutionView>(result).body.transition_count).toBe(4);
    expect(etagOf(result)).not.toBe(etag);
    expect(result.headers?.['preference-applied']).toBe('wait=10');
    expect(answeredAfter).toBe(1_750);
    expect(gets).toBe(4);
  });

  it('without If-None-Match, holds until any change after the request arrived', async () => {
    const record = storeRunning();
    beforeGet = (count) => count === 3 && seed(table, { ...record, stepFraction: 0.5, progressMessage: 'half way' });

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { prefer: 'wait=10' }), 10_000);

    expect(result.statusCode).toBe(200);
    expect(parse<ExecutionView>(result).body.progress.message).toBe('half way');
    expect(answeredAfter).toBe(750);
  });

  it('answers 304 after the wait when nothing changed, having polled about once a second', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=5' }), 5_000);

    expect(result.statusCode).toBe(304);
    expect(result.body).toBeUndefined();
    expect(result.headers).toMatchObject({ etag, 'preference-applied': 'wait=5' });
    expect(answeredAfter).toBe(5_000);
    // The read on arrival, polls at 0.25, 0.75, 1.75, 2.75, 3.75, 4.75 s and at the deadline.
    expect(gets).toBe(8);
  });

  it('answers 200 with the unchanged view after the wait when the request had no If-None-Match', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { prefer: 'wait=3' }), 3_000);

    expect(result.statusCode).toBe(200);
    expect(etagOf(result)).toBe(etag);
    expect(parse<ExecutionView>(result).body.id).toBe(record.id);
    expect(answeredAfter).toBe(3_000);
  });

  it(`caps the wait at ${MAX_WAIT_SECONDS} s and says so in Preference-Applied, reading 28 times in all`, async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=3600' }), 60_000);

    expect(result.statusCode).toBe(304);
    expect(result.headers?.['preference-applied']).toBe(`wait=${MAX_WAIT_SECONDS}`);
    expect(answeredAfter).toBe(MAX_WAIT_SECONDS * 1000);
    expect(gets).toBe(28);
  });

  it.each(['wait=0', 'wait=abc', 'wait=2.5', 'wait=-3', 'wait'])('ignores the malformed %s: answers at once, without Preference-Applied', async (prefer) => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer }), 10_000);

    expect(result.statusCode).toBe(304);
    expect(result.headers?.['preference-applied']).toBeUndefined();
    expect(answeredAfter).toBe(0);
    expect(gets).toBe(1);
  });

  it('does not hold a request whose If-None-Match no longer matches: the change is already there', async () => {
    const record = storeRunning();

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': '"2-older"', prefer: 'wait=10' }), 10_000);

    expect(result.statusCode).toBe(200);
    expect(answeredAfter).toBe(0);
    expect(result.headers?.['preference-applied']).toBeUndefined();
  });

  it('does not hold a finished execution, which never changes again', async () => {
    const record = storeRunning({ status: 'succeeded', stepsCompleted: 3, output: { ok: true }, completedAt: '2026-01-02T03:06:00.000Z' });
    const etag = etagOf(await getExecution(record));
    gets = 0;

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=10' }), 10_000);

    expect(result.statusCode).toBe(304);
    expect(answeredAfter).toBe(0);
    expect(gets).toBe(1);
  });

  it('does not hold If-None-Match: *, which matches whatever the execution becomes', async () => {
    const record = storeRunning();

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': '*', prefer: 'wait=10' }), 10_000);

    expect(result.statusCode).toBe(304);
    expect(answeredAfter).toBe(0);
  });

  it("holds no longer than the function's remaining time allows, less the time kept back to answer", async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));

    const { result, answeredAfter } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=25' }, 8_000), 25_000);

    expect(result.statusCode).toBe(304);
    expect(result.headers?.['preference-applied']).toBe('wait=6');
    expect(answeredAfter).toBe(6_000);
  });

  it('answers 404 when the execution is gone by a poll (its retention ended)', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;
    // From the second poll on, DynamoDB no longer has the record.
    ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => {
      gets++;
      const item = gets > 2 ? undefined : table.item(String(input.Key?.pk), String(input.Key?.sk));
      return { $metadata: {}, ...(item ? { Item: item } : {}) };
    });

    const { result } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=10' }), 10_000);

    expectProblem(result, 404);
    expect(result.headers?.etag).toBeUndefined();
  });

  it('answers 503 with Retry-After when a poll is throttled', async () => {
    const record = storeRunning();
    const etag = etagOf(await getExecution(record));
    gets = 0;
    beforeGet = (count) => {
      if (count === 3) throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    };

    const { result } = await heldFor(() => getExecution(record, { 'if-none-match': etag, prefer: 'wait=10' }), 10_000);

    expectProblem(result, 503);
    expect(result.headers?.['retry-after']).toBe('2');
  });
});

describe('GET /executions/{id}/transitions: ETag', () => {
  it('carries an ETag per page and answers 304 for a matching If-None-Match, 200 once the page has grown', async () => {
    const record = storeRunning();
    const path = { pathParameters: { id: record.id } };

    const first = await request('GET /executions/{id}/transitions', path);
    const etag = etagOf(first);
    const again = await request('GET /executions/{id}/transitions', { ...path, headers: { 'if-none-match': `"x", W/${etag}` } });
    seed(table, record, [transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', output: null })]);
    const grown = await request('GET /executions/{id}/transitions', { ...path, headers: { 'if-none-match': etag } });

    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBeUndefined();
    expect(again.headers?.etag).toBe(etag);
    expect(grown.statusCode).toBe(200);
    expect(parse<{ items: unknown[] }>(grown).body.items).toHaveLength(2);
    expect(etagOf(grown)).not.toBe(etag);
  });

  it("answers 404 with no ETag for another tenant's execution", async () => {
    const record = storeRunning({ tenant: 'someone-else' });

    const response = await request('GET /executions/{id}/transitions', { pathParameters: { id: record.id }, headers: { 'if-none-match': '*' } });

    expectProblem(response, 404);
    expect(response.headers?.etag).toBeUndefined();
  });
});
