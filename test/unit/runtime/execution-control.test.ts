import { createHash } from 'node:crypto';
import {
  SFNClient,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../lambdas/domain/canonical-json.js';
import {
  ConflictError,
  GoneError,
  IdempotencyMismatchError,
  NotFoundError,
  ServiceUnavailableError,
} from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import {
  cancelExecution,
  executionArnOf,
  resumeExecution,
  startExecution,
  taskOf,
  type CreateDeps,
} from '../../../lambdas/runtime/execution-control.js';
import { applyStatusChange } from '../../../lambdas/runtime/status-change.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { createStore } from '../../../lambdas/shared/stores.js';
import { sampleApproval, samplePipeline } from '../../support/sample-tasks.js';
import { TASKS } from '../../../lambdas/tasks/registry.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  STATE_MACHINE_ARN_PREFIX,
  TENANT,
  awaitingReviewRecord,
  executionArnFor,
  executionRecord,
  seed,
  spyLogger,
  storedPayload,
  storedRecord,
  storedRows,
  transitionRecord,
  type SpyLogger,
} from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;
let logger: SpyLogger;
let deps: CreateDeps;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  logger = spyLogger();
  deps = { repository: createStore(), sfn: sfnClient, logger, stateMachineArn: (taskId) => `${STATE_MACHINE_ARN_PREFIX}${taskId}` };
});

const INPUT = { document_url: 'https://example.com/reports/q3.pdf' };

/** How the create hashes the request an Idempotency-Key stands for (its task, input and metadata). */
function requestHashOf(request: { task: { id: string }; input: unknown; metadata: unknown }): string {
  return createHash('sha256').update(canonicalJson({ task: request.task.id, input: request.input, metadata: request.metadata })).digest('base64url');
}

/** An SDK error as Step Functions answers it: its name, HTTP status and how many attempts were made. */
function sfnError(name: string, httpStatusCode = 400, attempts = 1): Error {
  return Object.assign(new Error(`${name} from Step Functions`), { name, $metadata: { httpStatusCode, attempts } });
}

/** An sample-approval execution waiting at its `review` step (init, start, step, wait rows). */
function awaitingReview(): ExecutionRecord {
  const record = awaitingReviewRecord({ startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

function runningPipeline(): ExecutionRecord {
  const record = executionRecord({ status: 'running', transitionCount: 2, startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

describe('startExecution', () => {
  it('writes the queued record with its init row, then starts the state machine named after the execution id', async () => {
    const { record, replayed } = await startExecution(deps, { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: { team: 'a' } });

    expect(replayed).toBe(false);
    expect(record).toMatchObject({ status: 'queued', taskId: 'sample-pipeline', transitionCount: 1, totalSteps: 3, stepName: 'extract' });
    expect(record.executionArn).toBe(executionArnFor('sample-pipeline', record.id));
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}sample-pipeline`,
      name: record.id,
      input: JSON.stringify({ tenant: TENANT, input: INPUT }),
    });
    expect(storedRecord(table, record)).toMatchObject({ status: 'queued', transition_count: 1, metadata: '{"team":"a"}' });
    expect(storedRows(table, record).map((row) => [row.seq, row.type, row.from, row.to])).toEqual([[1, 'init', null, 'queued']]);
  });

  it('lets a retry with the same Idempotency-Key start a new execution when the first never started', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(sfnError('ThrottlingException')).resolves({});
    const request = { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {}, idempotencyKey: 'retry-me' };
    const first = (await startExecution(deps, request).then(
      () => expect.fail('the first start must be refused'),
      (caught: unknown) => caught,
    )) as ServiceUnavailableError;

    const retried = await startExecution(deps, request);
    const again = await startExecution(deps, request);

    expect(retried.replayed).toBe(false);
    expect(retried.record.id).not.toBe(first.extensions.execution_id);
    expect(again).toMatchObject({ replayed: true, record: { id: retried.record.id } });
    // The replay found it still queued (nothing runs here) and started the same execution again.
    const started = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(started).toEqual([first.extensions.execution_id, retried.record.id, retried.record.id]);
  });

  it('fails the record and answers 503 when Step Functions refuses to start, never leaving it queued', async () => {
    sfn.on(StartExecutionCommand).rejects(sfnError('ExecutionLimitExceeded'));

    const started = startExecution(deps, { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {} });

    const error: unknown = await started.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    const unavailable = error as ServiceUnavailableError;
    expect(unavailable.status).toBe(503);
    const id = unavailable.extensions.execution_id as string;
    const stored = storedRecord(table, { tenant: TENANT, id });
    expect(stored).toMatchObject({
      status: 'failed',
      error: { name: 'StartExecutionFailed', message: expect.stringContaining('ExecutionLimitExceeded') },
      completed_at: expect.any(String),
    });
    expect(storedRows(table, { tenant: TENANT, id }).map((row) => row.type)).toEqual(['init', 'error']);
  });

  it.each(['ThrottlingException', 'AccessDeniedException', 'ServiceUnavailable'])(
    'fails the record with the cause and answers 503 when StartExecution fails with %s',
    async (name) => {
      sfn.on(StartExecutionCommand).rejects(sfnError(name));

      const error: unknown = await startExecution(deps, { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {} }).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(ServiceUnavailableError);
      const unavailable = error as ServiceUnavailableError;
      expect(unavailable.status).toBe(503);
      expect(unavailable.message).toContain(name);
      expect(unavailable.message).not.toContain('from Step Functions');
      const id = unavailable.extensions.execution_id as string;
      const stored = storedRecord(table, { tenant: TENANT, id });
      expect(stored).toMatchObject({
        status: 'failed',
        error: { name: 'StartExecutionFailed', message: `Step Functions refused to start the execution (${name}).` },
      });
      expect(stored.open_key).toBeUndefined();
      const rows = storedRows(table, { tenant: TENANT, id });
      expect(rows.map((row) => [row.type, row.from, row.to])).toEqual([
        ['init', null, 'queued'],
        ['error', 'queued', 'failed'],
      ]);
      expect(storedPayload(rows[1]?.output)).toEqual({ name: 'StartExecutionFailed', cause: name });
    },
  );

  it('still answers 503 when recording the start failure fails too, leaving a queued record the reconciler fails later', async () => {
    sfn.on(StartExecutionCommand).rejects(sfnError('ThrottlingException'));
    table.beforeNextTransaction(() => undefined);
    table.beforeNextTransaction(() => {
      throw sfnError('ProvisionedThroughputExceededException');
    });

    const error: unknown = await startExecution(deps, { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {} }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    const queued = table.all().filter((item) => item.sk === 'META');
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ status: 'queued', open_key: expect.stringMatching(/^A#[0-7]$/) });
  });

  it('returns the first execution for a repeated Idempotency-Key with the same request, starting it only once', async () => {
    const request = { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: { a: '1' }, idempotencyKey: 'key-1' };
    const first = await startExecution(deps, request);
    // Its first step has run: the record is no longer queued.
    seed(table, { ...first.record, status: 'running', transitionCount: 2, startedAt: first.record.createdAt });

    const second = await startExecution(deps, { ...request, input: { ...INPUT }, metadata: { a: '1' } });

    expect(second.replayed).toBe(true);
    expect(second.record.id).toBe(first.record.id);
    expect(second.record.status).toBe('running');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
  });

  it('starts a replayed execution that is still queued: the first attempt\'s answer stalled after its write, before StartExecution', async () => {
    const request = { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {}, idempotencyKey: 'stalled' };
    // What the stalled first attempt left a moment ago: the record, its init row and the key, and no execution.
    const now = new Date().toISOString();
    const stalled = await deps.repository.create(
      executionRecord({ id: newExecutionId(), input: INPUT, createdAt: now, updatedAt: now }),
      { keyHash: createHash('sha256').update('stalled').digest('base64url'), requestHash: requestHashOf(request) },
    );

    const retried = await startExecution(deps, request);

    expect(retried).toMatchObject({ replayed: true, record: { id: stalled.record.id, status: 'queued' } });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}sample-pipeline`,
      name: stalled.record.id,
      input: JSON.stringify({ tenant: TENANT, input: INPUT }),
    });
  });

  it('counts an execution Step Functions already has as started, replay or not, and fails nothing', async () => {
    sfn.on(StartExecutionCommand).rejects(sfnError('ExecutionAlreadyExists'));

    const started = await startExecution(deps, { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {} });

    expect(started.replayed).toBe(false);
    expect(storedRecord(table, started.record)).toMatchObject({ status: 'queued' });
    expect(storedRows(table, started.record).map((row) => row.type)).toEqual(['init']);
  });

  it('rejects a repeated Idempotency-Key with a different input as a 422 mismatch', async () => {
    const request = { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: {}, idempotencyKey: 'key-1' };
    await startExecution(deps, request);

    const reused = startExecution(deps, { ...request, input: { document_url: 'https://example.com/other.pdf' } });

    await expect(reused).rejects.toBeInstanceOf(IdempotencyMismatchError);
    await expect(reused).rejects.toMatchObject({ status: 422 });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('counts metadata as part of the request an Idempotency-Key stands for', async () => {
    const request = { tenant: TENANT, task: samplePipeline, input: INPUT, metadata: { a: '1' }, idempotencyKey: 'key-1' };
    await startExecution(deps, request);

    await expect(startExecution(deps, { ...request, metadata: { a: '2' } })).rejects.toBeInstanceOf(IdempotencyMismatchError);
  });
});

describe('resumeExecution', () => {
  it('writes the resume transition, then hands the stored token and the input to Step Functions', async () => {
    const record = awaitingReview();

    const resumed = await resumeExecution(deps, record, sampleApproval, { approved: true });

    expect(resumed).toMatchObject({ status: 'running', stepIndex: 2, stepName: 'finalize', stepsCompleted: 2 });
    expect(resumed.waitToken).toBeUndefined();
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1', output: '{"approved":true}' });
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'running', transition_count: 5, step_index: 2 });
    expect(stored.wait_token).toBeUndefined();
    const row = storedRows(table, record).at(-1);
    expect(row).toMatchObject({ type: 'resume', from: 'awaiting_input', to: 'running', step: { index: 1, name: 'review' } });
    expect(storedPayload(row?.output)).toEqual({ approved: true });
  });

  it('lets exactly one of two concurrent resumes win; the loser gets a 409 and sends no token', async () => {
    const record = awaitingReview();

    const results = await Promise.allSettled([
      resumeExecution(deps, record, sampleApproval, { approved: true }),
      resumeExecution(deps, record, sampleApproval, { approved: false }),
    ]);

    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(ConflictError);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(storedRows(table, record).filter((row) => row.type === 'resume')).toHaveLength(1);
  });

  it('refuses with 409 to resume an execution that is not awaiting input, sending and writing nothing', async () => {
    const record = runningPipeline();

    await expect(resumeExecution(deps, record, samplePipeline, {})).rejects.toBeInstanceOf(ConflictError);

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('records the failure and answers 410 when the wait timed out in Step Functions before the resume arrived', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await expect(resumeExecution(deps, record, sampleApproval, { approved: true })).rejects.toBeInstanceOf(GoneError);

    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'resume', 'error']);
    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: { name: 'States.Timeout', step: { index: 1, name: 'review' }, message: expect.stringContaining('review') },
    });
  });

  it.each(['TaskDoesNotExist', 'InvalidToken'])(
    'records the failure and answers 410 when SendTaskSuccess says %s (the execution is gone)',
    async (name) => {
      const record = awaitingReview();
      sfn.on(SendTaskSuccessCommand).rejects(sfnError(name));

      const resume = resumeExecution(deps, record, sampleApproval, { approved: true });

      await expect(resume).rejects.toBeInstanceOf(GoneError);
      await expect(resume).rejects.toMatchObject({ status: 410 });
      expect(storedRows(table, record).map((row) => [row.type, row.to])).toEqual([
        ['init', 'queued'],
        ['resume', 'running'],
        ['error', 'failed'],
      ]);
      const stored = storedRecord(table, record);
      expect(stored).toMatchObject({ status: 'failed', error: { step: { index: 1, name: 'review' } } });
      expect(stored.wait_token).toBeUndefined();
      expect(stored.open_key).toBeUndefined();
    },
  );

  it.each(['ThrottlingException', 'AccessDeniedException'])(
    'restores the wait and answers 503 when Step Functions refuses SendTaskSuccess with %s (a 4xx: the token was not taken)',
    async (name) => {
      const record = awaitingReview();
      sfn.on(SendTaskSuccessCommand).rejects(sfnError(name, 400));

      await expect(resumeExecution(deps, record, sampleApproval, { approved: true })).rejects.toMatchObject({ status: 503 });

      expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1' });
      expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'wait', from: 'running', to: 'awaiting_input' });
    },
  );

  it.each([
    ['ServiceUnavailable', 503],
    ['InternalServerError', 500],
  ])('leaves the execution running and answers 503 when SendTaskSuccess fails with %s (delivery in doubt)', async (name, status) => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(sfnError(name, status));

    await expect(resumeExecution(deps, record, sampleApproval, { approved: true })).rejects.toMatchObject({ status: 503 });

    expect(storedRecord(table, record)).toMatchObject({ status: 'running' });
    expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'resume' });
  });

  it('treats a retried SendTaskSuccess that finds the task gone as delivered by its earlier attempt', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(sfnError('TaskDoesNotExist', 400, 2));

    const resumed = await resumeExecution(deps, record, sampleApproval, { approved: true });

    expect(resumed.status).toBe('running');
    expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'resume' });
  });

  it('answers 409 and sends nothing when a retried wait replaced the token after it was read', async () => {
    const record = awaitingReview();
    await repository.replaceWaitToken(record, 1, 'token-2');

    const resume = resumeExecution(deps, record, sampleApproval, { approved: true });

    await expect(resume).rejects.toBeInstanceOf(ConflictError);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-2' });
  });

  it('puts the execution back to waiting with its token and answers 503 when Step Functions does not take the token', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejects(sfnError('ThrottlingException'));

    const resume = resumeExecution(deps, record, sampleApproval, { approved: true });

    await expect(resume).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(resume).rejects.toMatchObject({ status: 503 });
    expect(storedRows(table, record).map((row) => [row.type, row.to])).toEqual([
      ['init', 'queued'],
      ['resume', 'running'],
      ['wait', 'awaiting_input'],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1', step_index: 1, step_name: 'review' });
  });

  it('can be retried after a restored wait and then succeeds', async () => {
    const record = awaitingReview();
    sfn.on(SendTaskSuccessCommand).rejectsOnce(sfnError('ThrottlingException')).resolves({});
    await resumeExecution(deps, record, sampleApproval, { approved: true }).catch(() => undefined);
    const restored = await repository.get(TENANT, record.id);

    const resumed = await resumeExecution(deps, restored, sampleApproval, { approved: true });

    expect(resumed.status).toBe('running');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    expect(sfn).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: 'token-1' });
  });
});

describe('cancelExecution', () => {
  it('writes the cancel transition, then stops the state machine execution with the reason as cause', async () => {
    const record = runningPipeline();

    const cancelled = await cancelExecution(deps, record, 'customer asked');

    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'customer asked' });
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: record.executionArn,
      error: 'Cancelled',
      cause: 'customer asked',
    });
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'customer asked', completed_at: expect.any(String) });
    const row = storedRows(table, record).at(-1);
    expect(row).toMatchObject({ type: 'cancel', from: 'running', to: 'cancelled' });
    expect(storedPayload(row?.output)).toEqual({ reason: 'customer asked' });
  });

  it('gives a default reason when none is given', async () => {
    const record = runningPipeline();

    await cancelExecution(deps, record, undefined);

    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { cause: 'Cancelled through the API' });
  });

  it('refuses with 409 to cancel a terminal execution and does not call StopExecution', async () => {
    const record = executionRecord({ status: 'succeeded', transitionCount: 5, completedAt: '2026-01-02T04:00:00.000Z' });
    seed(table, record, [transitionRecord(record)]);

    await expect(cancelExecution(deps, record, 'late')).rejects.toBeInstanceOf(ConflictError);

    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'succeeded' });
  });

  it('drops the wait token of a cancelled waiting execution', async () => {
    const record = awaitingReview();

    await cancelExecution(deps, record, undefined);

    expect(storedRecord(table, record).wait_token).toBeUndefined();
    expect(storedRecord(table, record).status).toBe('cancelled');
  });

  it('keeps the cancel when StopExecution fails: the record is authoritative', async () => {
    const record = runningPipeline();
    sfn.on(StopExecutionCommand).rejects(sfnError('ServiceUnavailable'));

    const cancelled = await cancelExecution(deps, record, undefined);

    expect(cancelled.status).toBe('cancelled');
    expect(logger.error).toHaveBeenCalledWith('StopExecution failed after cancel', expect.anything());
  });

  it('cancels a record that another writer advanced meanwhile by re-reading it', async () => {
    const record = runningPipeline();
    table.beforeNextTransaction(() => seed(table, { ...record, transitionCount: 3, stepsCompleted: 1, stepIndex: 1, stepName: 'analyze' }));

    const cancelled = await cancelExecution(deps, record, 'stop');

    expect(cancelled).toMatchObject({ status: 'cancelled', transitionCount: 4 });
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', transition_count: 4 });
  });
});

describe('a cancel that arrives while the execution finishes', () => {
  /** A sample-pipeline execution running its last step, `summarize`. */
  function runningLastStep(): ExecutionRecord {
    const record = executionRecord({
      status: 'running',
      transitionCount: 4,
      stepIndex: 2,
      stepName: 'summarize',
      stepsCompleted: 2,
      startedAt: '2026-01-02T03:04:06.000Z',
    });
    seed(table, record, [transitionRecord(record)]);
    return record;
  }

  /** What the step runner writes when the last step records its output. */
  const recordLastStep = (record: ExecutionRecord) => () => seed(table, { ...record, transitionCount: 5, stepsCompleted: 3 });

  it('answers 409 when the last step recorded its output first, and the execution then ends succeeded with it', async () => {
    const record = runningLastStep();
    const output = { summary: 'A short summary.' };
    table.beforeNextTransaction(recordLastStep(record));

    const cancel = cancelExecution(deps, record, 'too late');

    await expect(cancel).rejects.toBeInstanceOf(ConflictError);
    await expect(cancel).rejects.toThrow(/finishing/);
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', steps_completed: 3, transition_count: 5 });

    await applyStatusChange(
      { repository, sfn: sfnClient, logger },
      {
        executionArn: record.executionArn,
        stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
        name: record.id,
        status: 'SUCCEEDED',
        input: JSON.stringify({ tenant: record.tenant, input: record.input }),
        output: JSON.stringify(output),
      },
    );

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'succeeded', transition_count: 6 });
    expect(storedPayload(stored.output)).toEqual(output);
    expect(storedRows(table, record).map((row) => row.type)).not.toContain('cancel');
  });

  it('cancels when it lands before the last step records: that step then ends with ExecutionEnded', async () => {
    const record = runningLastStep();

    const cancelled = await cancelExecution(deps, record, 'in time');

    expect(cancelled).toMatchObject({ status: 'cancelled', transitionCount: 5 });
    expect(sfn).toHaveReceivedCommand(StopExecutionCommand);
  });
});

describe('taskOf and executionArnOf', () => {
  it('finds the task of a record and reports a task no longer deployed as not found', () => {
    expect(taskOf(TASKS, executionRecord())).toBe(samplePipeline);
    expect(() => taskOf(TASKS, executionRecord({ taskId: 'retired-task' }))).toThrow(NotFoundError);
  });

  it('derives the execution ARN from the state machine ARN and the execution id', () => {
    expect(executionArnOf('arn:aws:states:eu-west-1:1:stateMachine:M', 'abc')).toBe('arn:aws:states:eu-west-1:1:execution:M:abc');
  });
});
