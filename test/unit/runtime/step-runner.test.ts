import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { GetObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { OFFLOAD_THRESHOLD_BYTES, jsonBytes, payloadKey } from '../../../lambdas/domain/payload-limits.js';
import { ExecutionEndedError, StepRuntimeError } from '../../../lambdas/runtime/payload.js';
import { PayloadStore } from '../../../lambdas/shared/payload-store.js';
import { PROGRESS_WINDOW_MS, resolveStep, runStep, type StepRunnerDeps } from '../../../lambdas/runtime/step-runner.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  recordItem,
  seed,
  spyLogger,
  storedPayload,
  storedRecord,
  storedRows,
  transitionItem,
  transitionRecord,
  type SpyLogger,
} from '../support/records.js';
import { stepPayload, unitRecord, unitTask, type UnitTask } from '../support/unit-task.js';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

/** An S3 GetObject body holding `text`: the one method of the SDK's stream the store reads. */
const bodyOf = (text: string) => ({ transformToString: () => Promise.resolve(text) }) as unknown as GetObjectCommandOutput['Body'];

let table: FakeTable;
let unit: UnitTask;
let logger: SpyLogger;
let deps: StepRunnerDeps;

afterEach(() => {
  vi.useRealTimers();
});

beforeEach(() => {
  ddb.reset();
  s3.reset();
  table = new FakeTable().install(ddb);
  unit = unitTask();
  logger = spyLogger();
  deps = { repository, tasks: unit.tasks, logger, payloads: new PayloadStore(new S3Client({ region: 'us-east-1' }), 'payloads') };
});

/** A unit-task execution that has started and is at step 0 (init + start rows). */
function runningAtFirstStep(): ExecutionRecord {
  const record = unitRecord({ status: 'running', transitionCount: 2, startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, record, [
    transitionRecord(record),
    transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: { index: 0, name: 'first' } }),
  ]);
  return record;
}

/** What a concurrent invocation that recorded step 0 first leaves in the table. */
function recordFirstStepElsewhere(record: ExecutionRecord, output: unknown): void {
  const advanced: ExecutionRecord = {
    ...record,
    transitionCount: 3,
    stepsCompleted: 1,
    stepIndex: 1,
    stepName: 'approve',
  };
  table.put(recordItem(advanced));
  table.put(
    transitionItem(
      record.tenant,
      transitionRecord(record, {
        seq: 3,
        type: 'step',
        from: 'running',
        to: 'running',
        step: { index: 0, name: 'first' },
        currentStep: 0,
        nextStep: 1,
        output,
      }),
    ),
  );
}

describe('runStep', () => {
  it('records start and then the step in two transactions when step 0 runs on a queued execution', async () => {
    const record = unitRecord();
    seed(table, record, [transitionRecord(record)]);
    unit.first.mockResolvedValue({ doubled: 4 });

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toEqual({ doubled: 4 });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    const written = ddb
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems?.[1]?.Put?.Item?.type);
    expect(written).toEqual(['start', 'step']);
    const rows = storedRows(table, record);
    expect(rows.map((row) => [row.seq, row.type, row.from, row.to])).toEqual([
      [1, 'init', null, 'queued'],
      [2, 'start', 'queued', 'running'],
      [3, 'step', 'running', 'running'],
    ]);
    expect(rows[2]).toMatchObject({ step: { index: 0, name: 'first' }, current_step: 0, next_step: 1 });
    expect(storedPayload(rows[2]?.output)).toEqual({ doubled: 4 });
    expect(storedRecord(table, record)).toMatchObject({
      status: 'running',
      transition_count: 3,
      steps_completed: 1,
      step_index: 1,
      step_name: 'approve',
      started_at: expect.any(String),
    });
  });

  it('runs the handler once with the step input and a context naming the execution and step', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue({ doubled: 4 });

    await runStep(deps, stepPayload(record, 0, { n: 2 }, 1));

    expect(unit.first).toHaveBeenCalledTimes(1);
    expect(unit.first).toHaveBeenCalledWith(
      { n: 2 },
      expect.objectContaining({ executionId: record.id, taskId: 'unit-task', stepIndex: 0, stepName: 'first', attempt: 1 }),
    );
  });

  it('writes only a step row (no start) for a step of an execution that is already running', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue({ doubled: 4 });

    await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'start', 'step']);
  });

  it('records a handler that returns nothing as a null output', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue(undefined);

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toBeNull();
    expect(storedPayload(storedRows(table, record)[2]?.output)).toBeNull();
  });

  it('returns the recorded output without running the handler again when the same step is retried after it was recorded', async () => {
    const record = unitRecord();
    seed(table, record, [transitionRecord(record)]);
    unit.first.mockResolvedValueOnce({ doubled: 4 }).mockResolvedValue({ doubled: 'second run' });
    await runStep(deps, stepPayload(record, 0, { n: 2 }));
    ddb.resetHistory();

    const retried = await runStep(deps, stepPayload(record, 0, { n: 2 }, 1));

    expect(retried).toEqual({ doubled: 4 });
    expect(unit.first).toHaveBeenCalledTimes(1);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).toHaveReceivedCommand(QueryCommand);
    expect(storedRows(table, record)).toHaveLength(3);
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 3 });
  });

  it('re-reads after losing the race to record the step and returns the winner\'s output, writing no second row', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue({ from: 'this invocation' });
    table.beforeNextTransaction(() => recordFirstStepElsewhere(record, { from: 'the other invocation' }));

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toEqual({ from: 'the other invocation' });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
    const rows = storedRows(table, record);
    expect(rows.filter((row) => row.type === 'step')).toHaveLength(1);
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 3, steps_completed: 1 });
  });

  it('returns the winner\'s output even when it recorded null, after losing the race to record the step', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue({ from: 'this invocation' });
    table.beforeNextTransaction(() => recordFirstStepElsewhere(record, null));

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toBeNull();
    expect(storedRows(table, record).filter((row) => row.type === 'step')).toHaveLength(1);
  });

  it('continues with the step after losing the race to start the execution, leaving exactly one start row', async () => {
    const record = unitRecord();
    seed(table, record, [transitionRecord(record)]);
    unit.first.mockResolvedValue({ doubled: 4 });
    table.beforeNextTransaction(() => {
      const started: ExecutionRecord = { ...record, status: 'running', transitionCount: 2, startedAt: record.createdAt };
      seed(table, started, [
        transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: { index: 0, name: 'first' } }),
      ]);
    });

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toEqual({ doubled: 4 });
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'start', 'step']);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', transition_count: 3 });
  });

  it('refuses to run a step of a cancelled execution: ExecutionEnded, handler not run, nothing written', async () => {
    const record = unitRecord({ status: 'cancelled', transitionCount: 2, completedAt: '2026-01-02T04:00:00.000Z' });
    seed(table, record, [transitionRecord(record)]);

    const run = runStep(deps, stepPayload(record, 0, { n: 2 }));

    await expect(run).rejects.toBeInstanceOf(ExecutionEndedError);
    await expect(run).rejects.toMatchObject({ name: 'ExecutionEnded' });
    expect(unit.first).not.toHaveBeenCalled();
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('ends with ExecutionEnded and records no step when the execution is cancelled while the handler runs', async () => {
    const record = runningAtFirstStep();
    unit.first.mockImplementation(() => {
      table.put(recordItem({ ...record, status: 'cancelled', transitionCount: 3, completedAt: record.createdAt }));
      return { doubled: 4 };
    });

    await expect(runStep(deps, stepPayload(record, 0, { n: 2 }))).rejects.toBeInstanceOf(ExecutionEndedError);

    expect(unit.first).toHaveBeenCalledTimes(1);
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'start']);
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled' });
  });

  it('does not fail the step when a progress report cannot be stored', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const record = runningAtFirstStep();
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    unit.first.mockImplementation(async (_input, context) => {
      await context.reportProgress(0.5, 'half way');
      await vi.advanceTimersByTimeAsync(PROGRESS_WINDOW_MS);
      return { doubled: 4 };
    });

    const output = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(output).toEqual({ doubled: 4 });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(logger.warn).toHaveBeenCalledWith('progress update failed', expect.anything());
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'start', 'step']);
  });

  it('stores progress clamped to 0..1 with the message cut to 200 characters, only while the step is current', async () => {
    const record = runningAtFirstStep();
    let stored: unknown;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    unit.first.mockImplementation(async (_input, context) => {
      await context.reportProgress(1.7, 'x'.repeat(300));
      await vi.advanceTimersByTimeAsync(PROGRESS_WINDOW_MS);
      await vi.waitFor(() => expect(storedRecord(table, record)).toHaveProperty('step_fraction', 1));
      stored = storedRecord(table, record);
      return { doubled: 4 };
    });

    await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#status = :running AND step_index = :i',
      ExpressionAttributeValues: expect.objectContaining({ ':f': 1, ':i': 0, ':m': 'x'.repeat(200) }),
    });
    expect(stored).toMatchObject({ step_fraction: 1, progress_message: 'x'.repeat(200) });
    expect(storedRecord(table, record)).toMatchObject({ step_fraction: 0 });
    expect(storedRecord(table, record).progress_message).toBeUndefined();
  });

  it('writes only the latest progress of a window, and none for a step that ends within it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const record = runningAtFirstStep();
    unit.first.mockImplementation(async (_input, context) => {
      await context.reportProgress(0.2, 'a fifth');
      await context.reportProgress(0.4, 'two fifths');
      await vi.advanceTimersByTimeAsync(PROGRESS_WINDOW_MS);
      await context.reportProgress(0.9, 'nearly done');
      return { doubled: 4 };
    });

    await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':f': 0.4, ':m': 'two fifths' }),
    });
    // Nothing is written after the step's own transition: its timer died with the step.
    await vi.advanceTimersByTimeAsync(PROGRESS_WINDOW_MS * 2);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'start', 'step']);
  });

  it('drops a pending progress report when the step throws', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const record = runningAtFirstStep();
    unit.first.mockImplementation(async (_input, context) => {
      await context.reportProgress(0.5, 'half way');
      throw new Error('the document is unreadable');
    });

    await expect(runStep(deps, stepPayload(record, 0, { n: 2 }))).rejects.toThrow('the document is unreadable');
    await vi.advanceTimersByTimeAsync(PROGRESS_WINDOW_MS * 2);

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it('hides an infrastructure failure behind a generic StepRuntimeError and logs the details', async () => {
    const record = runningAtFirstStep();
    ddb.on(GetCommand).rejects(
      Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/x is not authorized'), { name: 'AccessDeniedException' }),
    );

    const failure = runStep(deps, stepPayload(record, 0, { n: 2 }));

    await expect(failure).rejects.toBeInstanceOf(StepRuntimeError);
    await expect(failure).rejects.not.toThrow(/arn:aws/);
    expect(unit.first).not.toHaveBeenCalled();
  });

  it('writes an output over the offload threshold to the payload bucket and records and returns only its reference', async () => {
    const record = runningAtFirstStep();
    const output = { text: 'x'.repeat(2 * 1024 * 1024) };
    unit.first.mockResolvedValue(output);

    const carried = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    const key = payloadKey(record.tenant, record.id, 'first');
    expect(carried).toEqual({ $payload: { key, bytes: jsonBytes(output) } });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'payloads', Key: key, Body: JSON.stringify(output) });
    const row = storedRows(table, record).find((item) => item.type === 'step');
    expect(storedPayload(row?.output)).toEqual(carried);
    expect(JSON.stringify(row).length).toBeLessThan(2_000);
    expect(storedRecord(table, record)).toMatchObject({ steps_completed: 1 });
  });

  it('keeps an output of exactly the offload threshold inline, writing nothing to S3', async () => {
    const record = runningAtFirstStep();
    const output = { text: 'x'.repeat(OFFLOAD_THRESHOLD_BYTES - jsonBytes({ text: '' })) };
    unit.first.mockResolvedValue(output);

    await expect(runStep(deps, stepPayload(record, 0, { n: 2 }))).resolves.toEqual(output);

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('offloads a small output that merely looks like a reference, so no handler can forge one', async () => {
    const record = runningAtFirstStep();
    const forged = { $payload: { key: 'other-tenant/x/y.json', bytes: 1 } };
    unit.first.mockResolvedValue(forged);

    const carried = await runStep(deps, stepPayload(record, 0, { n: 2 }));

    expect(carried).toEqual({ $payload: { key: payloadKey(record.tenant, record.id, 'first'), bytes: jsonBytes(forged) } });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Body: JSON.stringify(forged) });
  });

  it('hands the handler the plain value of an input that arrives as a reference', async () => {
    const record = runningAtFirstStep();
    const input = { n: 2, pad: 'y'.repeat(100_000) };
    const key = payloadKey(record.tenant, record.id, 'input');
    s3.on(GetObjectCommand, { Bucket: 'payloads', Key: key }).resolves({ Body: bodyOf(JSON.stringify(input)) });
    unit.first.mockResolvedValue({ ok: true });

    await runStep(deps, stepPayload(record, 0, { $payload: { key, bytes: jsonBytes(input) } }));

    expect(unit.first).toHaveBeenCalledWith(input, expect.anything());
  });

  it('refuses a reference to another tenant’s object without reading it or running the handler', async () => {
    const record = runningAtFirstStep();

    const run = runStep(deps, stepPayload(record, 0, { $payload: { key: 'someone-else/e/input.json', bytes: 10 } }));

    await expect(run).rejects.toBeInstanceOf(StepRuntimeError);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
    expect(unit.first).not.toHaveBeenCalled();
  });

  it('fails the attempt with a runtime error, recording nothing, when the bucket refuses the write', async () => {
    const record = runningAtFirstStep();
    unit.first.mockResolvedValue({ text: 'x'.repeat(OFFLOAD_THRESHOLD_BYTES) });
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    await expect(runStep(deps, stepPayload(record, 0, { n: 2 }))).rejects.toBeInstanceOf(StepRuntimeError);

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', steps_completed: 0 });
  });

  it('lets a failing handler fail the attempt without recording a step', async () => {
    const record = runningAtFirstStep();
    unit.first.mockRejectedValue(new Error('upstream refused'));

    await expect(runStep(deps, stepPayload(record, 0, { n: 2 }))).rejects.toThrow('upstream refused');

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', steps_completed: 0 });
  });
});

describe('resolveStep', () => {
  it('names a deployment error when the payload points at a wait step or an unknown task', () => {
    const record = unitRecord();

    expect(() => resolveStep(unit.tasks, stepPayload(record, 1, {}))).toThrow(/No Lambda step 1 in task unit-task/);
    expect(() => resolveStep(unit.tasks, { ...stepPayload(record, 0, {}), task_id: 'gone' })).toThrow(/redeploy/);
  });

  it('finds the Lambda step a payload names', () => {
    const { task, step } = resolveStep(unit.tasks, stepPayload(unitRecord(), 2, {}));

    expect(task.id).toBe('unit-task');
    expect(step.name).toBe('last');
  });
});
