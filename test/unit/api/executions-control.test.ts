import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, SendTaskSuccessCommand, StopExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/api/executions-control.js';
import { ROUTES } from '../../../lambdas/api/routes.js';
import { callbackHash, callbackToken } from '../../../lambdas/domain/callbacks.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { MAX_PAYLOAD_BYTES, OFFLOAD_THRESHOLD_BYTES, jsonBytes } from '../../../lambdas/domain/payload-limits.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { CALLBACK_KEY, awaitingReviewRecord, executionRecord, seed, storeCallback, storedRecord, storedRows, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  s3.reset();
  table = new FakeTable().install(ddb);
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
});

/** An sample-approval execution waiting at `review` for a decision. */
function awaitingReview(): ExecutionRecord {
  const record = awaitingReviewRecord();
  seed(table, record, [transitionRecord(record)]);
  return record;
}

function storeRecord(overrides: Partial<ExecutionRecord>): ExecutionRecord {
  const record = executionRecord(overrides);
  seed(table, record, [transitionRecord(record)]);
  return record;
}

function call(routeKey: (typeof ROUTES.control)[number], id: string, options: RequestOptions = {}) {
  return handler(apiEvent(routeKey, { pathParameters: { id }, ...options }), lambdaContext());
}

describe('PUT /executions/{id}', () => {
  it('resumes with status "running": 200 running, the input handed to Step Functions with the stored token', async () => {
    const record = awaitingReview();

    const response = parse<ExecutionView>(
      await call('PUT /executions/{id}', record.id, { body: { status: 'running', input: { approved: true, comment: 'ok' } } }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: record.id, status: 'running', progress: { current_step: 2, step_name: 'finalize' } });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: JSON.stringify({ approved: true, comment: 'ok' }),
    });
    expect(response.raw).not.toContain('token-1');
  });

  it('cancels with status "cancelled": 200 cancelled and StopExecution with the reason as cause', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    const response = parse<ExecutionView>(
      await call('PUT /executions/{id}', record.id, { body: { status: 'cancelled', reason: 'duplicate order' } }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'cancelled', cancel_reason: 'duplicate order', completed_at: expect.any(String) });
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { executionArn: record.executionArn, cause: 'duplicate order' });
  });

  it.each(['succeeded', 'queued', 'paused', 42])('answers 400 for status %j and changes nothing', async (status) => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    const problem = expectProblem(await call('PUT /executions/{id}', record.id, { body: { status } }), 400);

    expect(problem.errors).toEqual([{ path: '/status', message: 'must be "running" or "cancelled"' }]);
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('answers 400 for a body with fields that do not belong to the status', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    expectProblem(await call('PUT /executions/{id}', record.id, { body: { status: 'cancelled', input: {} } }), 400);
  });

  it('answers 409 with x-should-retry: false when resuming an execution that is not awaiting input', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    const response = await call('PUT /executions/{id}', record.id, { body: { status: 'running', input: {} } });

    const problem = expectProblem(response, 409);
    expect(problem.type).toBe('/problems/conflict');
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('answers 400 for a malformed id and 404 for a well-formed unknown id', async () => {
    expectProblem(await call('PUT /executions/{id}', 'EXEC-1', { body: { status: 'cancelled' } }), 400);
    expectProblem(await call('PUT /executions/{id}', newExecutionId(), { body: { status: 'cancelled' } }), 404);
  });
});

describe('POST /executions/{id}/resume', () => {
  it('resumes a waiting execution: 200 and one resume row', async () => {
    const record = awaitingReview();

    const response = parse<ExecutionView>(await call('POST /executions/{id}/resume', record.id, { body: { input: { approved: false } } }));

    expect(response.status).toBe(200);
    expect(response.body.status).toBe('running');
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'resume']);
  });

  it('answers 400 listing paths under /input when the input does not match the wait step schema', async () => {
    const record = awaitingReview();

    const problem = expectProblem(
      await call('POST /executions/{id}/resume', record.id, { body: { input: { approved: 'yes', extra: 1 } } }),
      400,
    );

    expect(problem.errors?.map((error) => error.path)).toEqual(expect.arrayContaining(['/input/approved']));
    expect(problem.errors?.every((error) => error.path.startsWith('/input'))).toBe(true);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400, never 500, to a resume input with fields named like Object.prototype members, in the words of the step', async () => {
    const record = awaitingReview();
    // As text: JSON.parse makes `__proto__` an own key, as it does for every request body.
    const body = '{"input":{"approved":true,"__proto__":{"polluted":true},"constructor":1}}';

    const problem = expectProblem(await call('POST /executions/{id}/resume', record.id, { body }), 400);

    expect(problem.errors).toEqual([{ path: '/input', message: 'has unknown fields "__proto__", "constructor"' }]);
    expect(problem.detail).toBe('The resume input of step review is not valid: /input has unknown fields "__proto__", "constructor".');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('answers 400 "is required" to a resume without input when the wait step has a schema', async () => {
    const record = awaitingReview();

    const problem = expectProblem(await call('POST /executions/{id}/resume', record.id, { body: {} }), 400);

    expect(problem.errors).toEqual([{ path: '/input', message: 'is required' }]);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('hands a wait without a schema its resume input exactly as sent, prototype-named keys and all', async () => {
    const record = storeRecord({ taskId: 'wait-first', status: 'awaiting_input', stepIndex: 0, stepName: 'gate', totalSteps: 2, input: {}, waitToken: 'token-w' });
    const input = '{"__proto__":{"a":1},"constructor":"c"}';

    const response = parse<ExecutionView>(await call('POST /executions/{id}/resume', record.id, { body: `{"input":${input}}` }));

    expect(response.status).toBe(200);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-w', output: input });
  });

  it('answers 409 to the loser of two concurrent resumes; exactly one SendTaskSuccess', async () => {
    const record = awaitingReview();

    const responses = await Promise.all([
      call('POST /executions/{id}/resume', record.id, { body: { input: { approved: true } } }),
      call('POST /executions/{id}/resume', record.id, { body: { input: { approved: false } } }),
    ]);

    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 409]);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('answers 410 when the wait already timed out in Step Functions, and the execution is failed', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    expectProblem(await call('POST /executions/{id}/resume', record.id, { body: { input: { approved: true } } }), 410);

    expect(storedRecord(table, record)).toMatchObject({ status: 'failed' });
  });

  it('answers 503 and keeps the execution waiting when Step Functions does not take the token', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(
      Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 3 } }),
    );
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    expectProblem(await call('POST /executions/{id}/resume', record.id, { body: { input: { approved: true } } }), 503);

    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1' });
    log.mockRestore();
  });

  it('answers 413 for a resume input over the 250 KiB step payload limit, sending nothing and leaving the execution waiting', async () => {
    // wait-first's wait has no schema (test/support/unit-tasks.ts): only the size rule can refuse the input.
    const record = storeRecord({ taskId: 'wait-first', status: 'awaiting_input', stepName: 'gate', totalSteps: 2, waitToken: 'token-1' });
    const input = { text: 'x'.repeat(MAX_PAYLOAD_BYTES + 1 - jsonBytes({ text: '' })) };

    const problem = expectProblem(await call('POST /executions/{id}/resume', record.id, { body: { input } }), 413);

    expect(problem.detail).toBe(`The resume input is ${MAX_PAYLOAD_BYTES + 1} bytes of JSON; a step takes at most ${MAX_PAYLOAD_BYTES}.`);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1', transition_count: 1 });
  });

  it('writes a resume input over the offload threshold to the payload bucket: the resume row and the next state get its reference', async () => {
    const record = storeRecord({ taskId: 'wait-first', status: 'awaiting_input', stepName: 'gate', totalSteps: 2, waitToken: 'token-1' });
    const input = { text: 'x'.repeat(OFFLOAD_THRESHOLD_BYTES * 2) };

    const response = parse<ExecutionView>(await call('POST /executions/{id}/resume', record.id, { body: { input } }));

    expect(response.status).toBe(200);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'payloads-test', Body: JSON.stringify(input) });
    const sent = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!) as { $payload: { key: string; bytes: number } };
    expect(sent.$payload).toMatchObject({ bytes: jsonBytes(input) });
    const resumeRow = storedRows(table, record).find((row) => row.type === 'resume');
    expect(String(resumeRow?.output).length).toBeLessThan(1_000);
    expect(JSON.parse(String(resumeRow?.output))).toEqual(sent);
  });

  it('keeps a small resume input inline, calling no S3', async () => {
    const record = storeRecord({ taskId: 'wait-first', status: 'awaiting_input', stepName: 'gate', totalSteps: 2, waitToken: 'token-1' });

    await call('POST /executions/{id}/resume', record.id, { body: { input: { ok: true } } });

    expect(JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!)).toEqual({ ok: true });
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('answers 400 without a body', async () => {
    const record = awaitingReview();

    expectProblem(await call('POST /executions/{id}/resume', record.id), 400);
  });
});

describe('POST /executions/{id}/cancel', () => {
  it('cancels with an empty body: 200 and the default reason', async () => {
    const record = storeRecord({ status: 'queued' });

    const response = parse<ExecutionView>(await call('POST /executions/{id}/cancel', record.id));

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'cancelled', cancel_reason: 'Cancelled through the API' });
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { cause: 'Cancelled through the API' });
  });

  it('cancels with a reason from the body', async () => {
    const record = awaitingReview();

    const response = parse<ExecutionView>(await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'too slow' } }));

    expect(response.body).toMatchObject({ status: 'cancelled', cancel_reason: 'too slow' });
    expect(storedRecord(table, record).wait_token).toBeUndefined();
  });

  it('answers 409 with x-should-retry: false for a terminal execution, without StopExecution', async () => {
    const record = storeRecord({ status: 'succeeded', transitionCount: 5, completedAt: '2026-01-02T04:00:00.000Z' });

    const response = await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'late' } });

    const problem = expectProblem(response, 409);
    expect(problem.detail).toContain('already succeeded');
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  it('answers 409 with x-should-retry: false once every step has completed, stopping and writing nothing', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 5, stepIndex: 2, stepName: 'summarize', stepsCompleted: 3 });

    const response = await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'too late' } });

    const problem = expectProblem(response, 409);
    expect(problem.detail).toContain('finishing');
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', transition_count: 5 });
    expect(storedRows(table, record)).toHaveLength(1);
  });

  it('answers 415 for a non-JSON body and 413 for one over 256 KiB', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    const wrongType = await call('POST /executions/{id}/cancel', record.id, {
      body: 'reason=late',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const tooLarge = await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'x'.repeat(300 * 1024) } });

    expectProblem(wrongType, 415);
    expectProblem(tooLarge, 413);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running' });
  });

  it('answers 400 for a reason longer than 2000 characters', async () => {
    const record = storeRecord({ status: 'running', transitionCount: 2 });

    const problem = expectProblem(await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'x'.repeat(2001) } }), 400);

    expect(problem.errors?.[0]?.path).toBe('/reason');
  });
});

describe('POST /callbacks/{token}', () => {
  /** sample-approval waiting at `review` with a resume link; its token. */
  function linkedReview(overrides: Partial<ExecutionRecord> = {}, expiresAt?: number): { record: ExecutionRecord; token: string } {
    const record = awaitingReviewRecord({ callbackNonce: `nonce-${newExecutionId().slice(-12)}`, ...overrides });
    seed(table, record, [transitionRecord(record)]);
    return { record, token: storeCallback(table, record, expiresAt) };
  }

  /** POSTs `body` to a link, as anyone can: no credentials (the route has no authorizer). */
  function post(token: string, body?: unknown) {
    return handler(
      apiEvent('POST /callbacks/{token}', { pathParameters: { token }, ...(body === undefined ? {} : { body }), tenant: null }),
      lambdaContext(),
    );
  }

  it('resumes the wait with the body as its input, without credentials: 200 and one resume row', async () => {
    const { record, token } = linkedReview();

    const response = parse<Record<string, unknown>>(await post(token, { approved: true, comment: 'ship it' }));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ resumed: true, execution_id: record.id, step: { index: 1, name: 'review' } });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1', output: JSON.stringify({ approved: true, comment: 'ship it' }) });
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'resume']);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', step_index: 2 });
    expect(storedRecord(table, record).callback_nonce).toBeUndefined();
    expect(response.raw).not.toContain('token-1');
  });

  it('resumes once: a second POST of the link is a 409 that resumes nothing', async () => {
    const { record, token } = linkedReview();
    await post(token, { approved: true });

    const again = await post(token, { approved: false });

    const problem = expectProblem(again, 409);
    expect(problem.detail).toMatch(/already|resumed/);
    expect(again.headers?.['x-should-retry']).toBe('false');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'resume']);
  });

  it('lets exactly one of two concurrent POSTs of the link win; the other gets 409', async () => {
    const { token } = linkedReview();

    const responses = await Promise.all([post(token, { approved: true }), post(token, { approved: false })]);

    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 409]);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('resumes nothing once the wait was resumed through the API (409)', async () => {
    const { record, token } = linkedReview();
    await call('POST /executions/{id}/resume', record.id, { body: { input: { approved: true } } });

    expectProblem(await post(token, { approved: false }), 409);

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { output: JSON.stringify({ approved: true }) });
  });

  it('answers 409 to the link that loses to an API resume landing between its read and its write', async () => {
    const { record, token } = linkedReview();
    table.beforeNextTransaction(() =>
      seed(table, { ...record, status: 'running', transitionCount: 5, stepIndex: 2, stepName: 'finalize', stepsCompleted: 2, waitToken: undefined, callbackNonce: undefined }),
    );

    expectProblem(await post(token, { approved: true }), 409);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('is dead once the execution is cancelled: 404, and nothing sent', async () => {
    const { record, token } = linkedReview();
    await call('POST /executions/{id}/cancel', record.id, { body: { reason: 'no' } });

    const problem = expectProblem(await post(token, { approved: true }), 404);

    expect(problem.detail).toBe('This link resumes nothing: it is unknown or has expired, or its wait has ended.');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('answers 404 to the link that loses to a cancel landing between its read and its write', async () => {
    const { record, token } = linkedReview();
    table.beforeNextTransaction(() =>
      seed(table, { ...record, status: 'cancelled', transitionCount: 5, completedAt: '2026-01-02T04:00:00.000Z', waitToken: undefined, callbackNonce: undefined }),
    );

    expectProblem(await post(token, { approved: true }), 404);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled' });
  });

  it('is dead once the wait timed out and failed the execution: 404', async () => {
    const { record, token } = linkedReview();
    seed(table, {
      ...record,
      status: 'failed',
      transitionCount: 5,
      completedAt: '2026-01-09T04:00:00.000Z',
      error: { name: 'States.Timeout', message: 'The wait timed out', step: { index: 1, name: 'review' } },
      waitToken: undefined,
      callbackNonce: undefined,
    });

    expectProblem(await post(token, { approved: true }), 404);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('is dead once its wait has expired, though the execution still waits (TTL removes items late): 404', async () => {
    const { record, token } = linkedReview({}, Math.floor(Date.now() / 1000) - 1);

    expectProblem(await post(token, { approved: true }), 404);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1' });
  });

  it('answers 404, and fails the execution, when Step Functions had already timed the wait out', async () => {
    const { record, token } = linkedReview();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    expectProblem(await post(token, { approved: true }), 404);

    expect(storedRecord(table, record)).toMatchObject({ status: 'failed' });
  });

  it('answers 503 when Step Functions does not take the token, and the same link then resumes', async () => {
    const { record, token } = linkedReview();
    sfn.on(SendTaskSuccessCommand).rejectsOnce(
      Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 3 } }),
    );
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    expectProblem(await post(token, { approved: true }), 503);
    log.mockRestore();
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', callback_nonce: record.callbackNonce });

    expect((await post(token, { approved: true })).statusCode).toBe(200);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running' });
  });

  it('answers 400 listing the paths of the body that do not match the wait\'s schema, then still works', async () => {
    const { record, token } = linkedReview();

    const problem = expectProblem(await post(token, { approved: 'yes', extra: 1 }), 400);

    expect(problem.errors).toEqual(
      expect.arrayContaining([{ path: '/approved', message: 'must be true or false' }, { path: '', message: 'has an unknown field "extra"' }]),
    );
    expect(problem.detail).toMatch(/^The resume input of step review is not valid/);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input' });
    expect((await post(token, { approved: true })).statusCode).toBe(200);
  });

  it('answers 400 "is required" to a POST without a body when the wait has a schema', async () => {
    const { token } = linkedReview();

    const problem = expectProblem(await post(token), 400);

    expect(problem.errors).toEqual([{ path: '', message: 'is required' }]);
  });

  it('hands a wait without a schema the body exactly as sent, and null without one', async () => {
    const withBody = linkedReview({ taskId: 'wait-first', stepIndex: 0, stepName: 'gate', stepsCompleted: 0, totalSteps: 2, input: {}, waitToken: 'token-w' });
    const without = linkedReview({ taskId: 'wait-first', stepIndex: 0, stepName: 'gate', stepsCompleted: 0, totalSteps: 2, input: {}, waitToken: 'token-n' });

    expect((await post(withBody.token, '{"__proto__":{"a":1},"constructor":"c"}')).statusCode).toBe(200);
    expect((await post(without.token)).statusCode).toBe(200);

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-w', output: '{"__proto__":{"a":1},"constructor":"c"}' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-n', output: 'null' });
  });

  it('checks nothing of the body before the link proves live: a dead link with a bad body is a 404, not a 400', async () => {
    const { record, token } = linkedReview();
    await call('POST /executions/{id}/cancel', record.id);

    expectProblem(await post(token, { approved: 'yes' }), 404);
  });

  it('never resumes another execution: a link leads to its own wait only, whoever else waits', async () => {
    const mine = linkedReview();
    const other = linkedReview({ tenant: 'other', waitToken: 'token-other' });

    expect((await post(mine.token, { approved: true })).statusCode).toBe(200);

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1' });
    expect(storedRecord(table, other.record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-other' });
  });

  it('answers 404 to a token minted for another tenant or another execution, and to a lookup item that points elsewhere', async () => {
    const { record } = linkedReview();
    const victim = linkedReview({ tenant: 'victim', waitToken: 'token-victim' });
    const nonce = record.callbackNonce!;
    // What someone who knew an id and a nonce, but not the key, could not make anyway: no item has these hashes.
    const otherTenant = callbackToken(CALLBACK_KEY, { tenant: 'victim', executionId: record.id, stepIndex: 1, nonce });
    const otherExecution = callbackToken(CALLBACK_KEY, { tenant: 'default', executionId: victim.record.id, stepIndex: 1, nonce });
    // A lookup item whose fields were changed to point at the victim: the token no longer matches it.
    const mine = callbackToken(CALLBACK_KEY, { tenant: 'default', executionId: record.id, stepIndex: 1, nonce });
    const item = table.item(`CALLBACK#${callbackHash(mine)}`, 'CALLBACK')!;
    table.put({ ...item, tenant: 'victim', execution_id: victim.record.id, nonce: victim.record.callbackNonce });

    for (const token of [otherTenant, otherExecution, mine]) expectProblem(await post(token, { approved: true }), 404);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, victim.record)).toMatchObject({ status: 'awaiting_input' });
  });

  it.each([
    ['an unknown token', 'A'.repeat(43)],
    ['a token one character short', 'A'.repeat(42)],
    ['a token with padding', `${'A'.repeat(42)}=`],
    ['standard base64', `${'A'.repeat(41)}+/`],
    ['an empty token', ''],
    ['a path traversal', '../executions/019b7ca9-8c88-71f4-b9cc-4734b7ac0d5d/resume'],
    ['a NUL', `${'A'.repeat(42)}\u0000`],
    ['a lone surrogate', `${'A'.repeat(42)}\ud800`],
    ['an emoji', `${'A'.repeat(41)}👩‍💻`],
    ['a prototype name', '__proto__'],
    ['a huge string', 'A'.repeat(100_000)],
    ['percent escapes', '%00%2F%2e%2e'],
    ['SQL-ish text', "' OR 1=1 --"],
  ])('answers 404 problem+json, never 500, to %s', async (_what, token) => {
    linkedReview();

    const problem = expectProblem(await post(token, { approved: true }), 404);

    expect(problem.detail).toBe('This link resumes nothing: it is unknown or has expired, or its wait has ended.');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('answers the same 404 to the link of an execution whose task is no longer deployed', async () => {
    const { token } = linkedReview({ taskId: 'retired-task' });

    const problem = expectProblem(await post(token, { approved: true }), 404);

    expect(problem.detail).toBe('This link resumes nothing: it is unknown or has expired, or its wait has ended.');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('reads nothing for a token that does not have the shape of one', async () => {
    ddb.resetHistory();

    expectProblem(await post('not-a-token', { approved: true }), 404);

    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers the same 404 to every dead link, whatever the reason', async () => {
    const cancelled = linkedReview();
    await call('POST /executions/{id}/cancel', cancelled.record.id);
    const expired = linkedReview({}, 1);

    const answers = await Promise.all([post(cancelled.token, { approved: true }), post(expired.token, { approved: true }), post('B'.repeat(43), { approved: true })]);

    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
    expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404, 404]);
  });

  it('answers 415 to a body that is not JSON and 413 to one over 256 KiB, as every route', async () => {
    const { token } = linkedReview();

    expectProblem(
      await handler(
        apiEvent('POST /callbacks/{token}', { pathParameters: { token }, body: 'approved', headers: { 'content-type': 'text/plain' }, tenant: null }),
        lambdaContext(),
      ),
      415,
    );
    expectProblem(await post(token, { text: 'x'.repeat(256 * 1024) }), 413);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});
