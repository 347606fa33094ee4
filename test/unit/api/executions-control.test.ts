import { SFNClient, SendTaskSuccessCommand, StopExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/api/executions-control.js';
import { ROUTES } from '../../../lambdas/api/routes.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { MAX_PAYLOAD_BYTES, jsonBytes } from '../../../lambdas/domain/payload-limits.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { executionRecord, seed, storedRecord, storedRows, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
});

/** An sample-approval execution waiting at `review` for a decision. */
function awaitingReview(): ExecutionRecord {
  const record = executionRecord({
    taskId: 'sample-approval',
    status: 'awaiting_input',
    input: { title: 'T', body: 'B' },
    transitionCount: 4,
    stepIndex: 1,
    stepName: 'review',
    stepsCompleted: 1,
    waitToken: 'token-1',
  });
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
