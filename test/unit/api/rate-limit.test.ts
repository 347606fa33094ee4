import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as create } from '../../../lambdas/api/executions-create.js';
import { handler as read } from '../../../lambdas/api/executions-read.js';
import { handler as recovery } from '../../../lambdas/api/executions-recovery.js';
import { rateLimit } from '../../../lambdas/api/rate-limit.js';
import { TooManyRequestsError } from '../../../lambdas/domain/errors.js';
import { DEFAULT_RATE_LIMITS } from '../../../lambdas/domain/rate-limits.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, dataCalls, expectProblem, isRateCounterCall, lambdaContext, type RequestOptions } from '../support/api-events.js';
import { executionRecord, seed, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
/** 2026-01-02T03:04:00.000Z: the first millisecond of a one-minute window (and of a one-second one). */
const WINDOW_START_MS = Date.UTC(2026, 0, 2, 3, 4, 0);

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  // Only Date: the limiter's timeout (AbortSignal.timeout) keeps real timers.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(WINDOW_START_MS);
});

afterEach(() => {
  vi.useRealTimers();
});

const stored = executionRecord();

function readOne(options: RequestOptions = {}) {
  return read(apiEvent('GET /executions/{id}', { pathParameters: { id: stored.id }, ...options }), lambdaContext());
}

function createOne(options: RequestOptions = {}) {
  return create(
    apiEvent('POST /tasks/{task_id}/executions', {
      pathParameters: { task_id: 'sample-pipeline' },
      body: { input: { document_url: 'https://example.com/reports/q3.pdf' } },
      ...options,
    }),
    lambdaContext(),
  );
}

/** The rate counter items in the table. */
const counters = () => table.all().filter((item) => String(item.pk).startsWith('RATE#'));

describe('the read limit of a key', () => {
  beforeEach(() => seed(table, stored, [transitionRecord(stored)]));

  it('admits exactly the quota in a window, telling what is left, then answers 429 problem+json with Retry-After and the RateLimit fields', async () => {
    const key = { id: 'k1', read: '3/1' };
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await readOne({ key }));

    expect(answers.slice(0, 3).map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    expect(answers.slice(0, 3).map((answer) => answer.headers?.ratelimit)).toEqual(['"read";r=2;t=1', '"read";r=1;t=1', '"read";r=0;t=1']);
    expect(answers[0]!.headers?.['ratelimit-policy']).toBe('"read";q=3;w=1');
    const problem = expectProblem(answers[3]!, 429);
    expect(problem).toMatchObject({ type: '/problems/rate-limited', title: 'Too many requests.', status: 429 });
    expect(problem.detail).toBe('The read limit of your API key (3 per 1 s) is used up for this window; retry in 1 s.');
    expect(answers[3]!.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-policy': '"read";q=3;w=1', ratelimit: '"read";r=0;t=1' });
    // The refused read never reached the record: three GetItems for four requests.
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
  });

  it('admits the key again in the next window, and its counter item expires after the window', async () => {
    const key = { id: 'k1', read: '1/1' };
    expect((await readOne({ key })).statusCode).toBe(200);
    expect((await readOne({ key })).statusCode).toBe(429);

    vi.setSystemTime(WINDOW_START_MS + 999);
    expect((await readOne({ key })).statusCode).toBe(429);
    vi.setSystemTime(WINDOW_START_MS + 1000);
    const next = await readOne({ key });

    expect(next.statusCode).toBe(200);
    expect(next.headers?.ratelimit).toBe('"read";r=0;t=1');
    const start = WINDOW_START_MS / 1000;
    expect(counters()).toEqual([
      { pk: `RATE#K#k1#read#${start}`, sk: 'RATE', count: 1, expires_at: start + 1 + 60 },
      { pk: `RATE#K#k1#read#${start + 1}`, sk: 'RATE', count: 1, expires_at: start + 2 + 60 },
    ]);
  });

  it('counts two keys of one tenant apart', async () => {
    expect((await readOne({ key: { id: 'k1', read: '1/1' } })).statusCode).toBe(200);
    expect((await readOne({ key: { id: 'k1', read: '1/1' } })).statusCode).toBe(429);

    expect((await readOne({ key: { id: 'k2', read: '1/1' } })).statusCode).toBe(200);
  });

  it('counts reads apart from creates: a used-up create limit leaves reads alone', async () => {
    const key = { id: 'k1', create: '1/60', read: '5/1' };
    expect((await createOne({ key })).statusCode).toBe(201);
    expect((await createOne({ key })).statusCode).toBe(429);

    const answer = await readOne({ key });

    expect(answer.statusCode).toBe(200);
    expect(answer.headers?.ratelimit).toBe('"read";r=4;t=1');
  });

  it.each([
    ['a malformed limit', 'lots'],
    ['a prototype key', '__proto__'],
    ['a structured-field injection', '1/1;q=1000'],
    ['a header injection', '1/1\r\nx-evil: 1'],
    ['a zero quota', '0/1'],
  ])('applies the default to a key whose context carries %s', async (_what, value) => {
    const answer = await readOne({ key: { id: 'k1', read: value } });

    expect(answer.statusCode).toBe(200);
    expect(answer.headers?.['ratelimit-policy']).toBe(`"read";q=${DEFAULT_RATE_LIMITS.read.quota};w=${DEFAULT_RATE_LIMITS.read.window}`);
  });

  it('counts a caller without a key (IAM auth) under its tenant, with the default', async () => {
    const event = apiEvent('GET /executions/{id}', { pathParameters: { id: stored.id }, tenant: '' });
    (event.requestContext as { authorizer?: unknown }).authorizer = { iam: { accountId: '123456789012' } };

    const answer = await read(event, lambdaContext());

    expect(answer.statusCode).toBe(404); // another tenant's execution: the count is what this test reads
    expect(counters().map((item) => item.pk)).toEqual([`RATE#T#aws-123456789012#read#${WINDOW_START_MS / 1000}`]);
  });

  it('fails open: when the counter cannot be written, the read goes on with the policy alone', async () => {
    ddb.on(UpdateCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    const answer = await readOne({ key: { id: 'k1', read: '1/1' } });
    const again = await readOne({ key: { id: 'k1', read: '1/1' } });

    expect([answer.statusCode, again.statusCode]).toEqual([200, 200]);
    expect(answer.headers?.['ratelimit-policy']).toBe('"read";q=1;w=1');
    expect(answer.headers?.ratelimit).toBeUndefined();
  });
});

describe('the create limit of a key', () => {
  it('admits exactly the quota of creates in a window and refuses the next before writing or starting anything', async () => {
    const key = { id: 'k1', create: '2/60' };
    const first = await createOne({ key });
    const second = await createOne({ key });
    vi.setSystemTime(WINDOW_START_MS + 59_999);
    const third = await createOne({ key });

    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect(first.headers).toMatchObject({ 'ratelimit-policy': '"create";q=2;w=60', ratelimit: '"create";r=1;t=60' });
    expect(second.headers?.ratelimit).toBe('"create";r=0;t=60');
    const problem = expectProblem(third, 429);
    expect(problem.detail).toContain('create limit of your API key (2 per 60 s)');
    expect(third.headers).toMatchObject({ 'retry-after': '1', ratelimit: '"create";r=0;t=1' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('counts both create routes against one limit', async () => {
    const key = { id: 'k1', create: '1/60' };
    expect((await createOne({ key })).statusCode).toBe(201);

    const other = await create(apiEvent('POST /executions', { body: { task_id: 'sample-pipeline', input: { document_url: 'https://example.com/a.pdf' } }, key }), lambdaContext());

    expect(other.statusCode).toBe(429);
  });
});

describe('a replay', () => {
  it('counts against the create limit of the key, as the create it is', async () => {
    const ended = executionRecord({ status: 'succeeded' });
    seed(table, ended, [transitionRecord(ended)]);
    const key = { id: 'k1', create: '1/60' };
    const replay = () => recovery(apiEvent('POST /executions/{id}/replay', { pathParameters: { id: ended.id }, key }), lambdaContext());

    const first = await replay();
    const second = await replay();
    const create = await createOne({ key });

    expect(first.statusCode).toBe(201);
    expect(first.headers?.ratelimit).toBe('"create";r=0;t=60');
    expectProblem(second, 429);
    expect(create.statusCode).toBe(429);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});

describe('rateLimit (what any handler calls with a cost)', () => {
  function event(key: RequestOptions['key']): APIGatewayProxyEventV2 & { rateLimit?: Record<string, string> } {
    return apiEvent('POST /executions', { key });
  }

  it('counts a cost in one write and says what is left', async () => {
    const limited = event({ id: 'k1', create: '10/1' });

    await rateLimit(limited, 'create', 7);

    expect(limited.rateLimit).toEqual({ 'ratelimit-policy': '"create";q=10;w=1', ratelimit: '"create";r=3;t=1' });
    expect(ddb.calls().filter(isRateCounterCall)).toHaveLength(1);
    await expect(rateLimit(event({ id: 'k1', create: '10/1' }), 'create', 4)).rejects.toBeInstanceOf(TooManyRequestsError);
    // The refused cost was not added: the window still has room for 3.
    await rateLimit(event({ id: 'k1', create: '10/1' }), 'create', 3);
  });

  it('refuses a cost larger than a whole window without writing, saying how many fit', async () => {
    const refused = rateLimit(event({ id: 'k1', create: '10/1' }), 'create', 11);

    await expect(refused).rejects.toThrow('send at most 10 at once');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('lets the request through uncounted when its counter write was aborted (test/unit/api/dependency-timeouts.test.ts stalls a real one)', async () => {
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
    const limited = event({ id: 'k1', create: '1/1' });

    await rateLimit(limited, 'create');

    expect(limited.rateLimit).toEqual({ 'ratelimit-policy': '"create";q=1;w=1' });
    expect(dataCalls(ddb)).toHaveLength(0);
  });
});
