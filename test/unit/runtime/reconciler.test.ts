import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { AdmissionStore } from '../../../lambdas/repository/admission-store.js';
import { ACTIVE_SHARDS, activeShard, executionPk } from '../../../lambdas/repository/keys.js';
import { handler } from '../../../lambdas/runtime/reconciler-handler.js';
import { reconcile, type ReconcileDeps, type ReconcileOptions } from '../../../lambdas/runtime/reconciler.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  STATE_MACHINE_ARN_PREFIX,
  TENANT,
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

/** "Now" of every run: the seeded records were created at 03:04:05, almost an hour before. */
const NOW = Date.parse('2026-01-02T04:00:00.000Z');
const OPTIONS: ReconcileOptions = { minAgeMs: 60_000, startGraceMs: 300_000, maxChecks: 400 };

let table: FakeTable;
let logger: SpyLogger;
let deps: ReconcileDeps;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  logger = spyLogger();
  deps = { repository, sfn: sfnClient, logger, now: () => NOW };
});

/** A seeded execution of sample-pipeline (init + the rows its status implies, summarized as one). */
function seeded(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const running = overrides.status === undefined || overrides.status !== 'queued';
  const record = executionRecord({
    status: 'running',
    transitionCount: 3,
    stepIndex: 1,
    stepName: 'analyze',
    stepsCompleted: 1,
    ...(running ? { startedAt: '2026-01-02T03:04:06.000Z' } : {}),
    ...overrides,
  });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

/** What DescribeExecution answers for `record` in `status`. */
function described(record: ExecutionRecord, status: string, more: Partial<DescribeExecutionCommandOutput> = {}): DescribeExecutionCommandOutput {
  return {
    $metadata: {},
    executionArn: record.executionArn,
    stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
    name: record.id,
    status: status as DescribeExecutionCommandOutput['status'],
    startDate: new Date(Date.parse(record.createdAt)),
    input: JSON.stringify({ tenant: record.tenant, input: record.input }),
    inputDetails: { included: true },
    ...more,
  };
}

function onDescribe(record: ExecutionRecord, status: string, more: Partial<DescribeExecutionCommandOutput> = {}): void {
  sfn.on(DescribeExecutionCommand, { executionArn: record.executionArn }).resolves(described(record, status, more));
}

function doesNotExist(record: ExecutionRecord): void {
  sfn
    .on(DescribeExecutionCommand, { executionArn: record.executionArn })
    .rejects(new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${record.executionArn}'`, $metadata: {} }));
}

function namedError(name: string): Error {
  return Object.assign(new Error(`${name} from Step Functions`), { name });
}

/** A tenant whose executions fall in shard `shard` of by-open (the shard of the tenant). */
function tenantInShard(shard: number): string {
  for (let n = 0; ; n++) {
    if (activeShard(`tenant-${n}`) === shard) return `tenant-${n}`;
  }
}

function inShard(shard: number, count: number): ExecutionRecord[] {
  const base = Date.parse('2026-01-02T03:00:00.000Z');
  const tenant = tenantInShard(shard);
  return Array.from({ length: count }, (_, i) => seeded({ tenant, id: newExecutionId(base + i * 1000) }));
}

const describedArns = () => sfn.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input.executionArn);

describe('reconcile: ended state machines', () => {
  it('heals a running record whose state machine SUCCEEDED with a finish carrying the output, and takes it out of by-open', async () => {
    const record = seeded();
    onDescribe(record, 'SUCCEEDED', { output: JSON.stringify({ summary: 'done' }), outputDetails: { included: true } });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, healed: 1, errors: 0 });
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'succeeded', transition_count: 4, completed_at: expect.any(String) });
    expect(stored.open_key).toBeUndefined();
    expect(storedPayload(stored.output)).toEqual({ summary: 'done' });
    expect(storedRows(table, record).at(-1)).toMatchObject({ seq: 4, type: 'finish', from: 'running', to: 'succeeded' });
    expect(logger.warn).toHaveBeenCalledWith('record healed from Step Functions: its status event was lost');
  });

  it('heals FAILED into an error naming the step and keeping only the message of the cause', async () => {
    const record = seeded();
    onDescribe(record, 'FAILED', {
      error: 'TypeError',
      cause: JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', trace: ['at /var/task/index.mjs'] }),
    });

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: { name: 'TypeError', message: 'boom', step: { index: 1, name: 'analyze' } },
    });
    expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'error', from: 'running', to: 'failed' });
  });

  it('heals TIMED_OUT into an error saying the execution exceeded its time limit', async () => {
    const record = seeded();
    onDescribe(record, 'TIMED_OUT');

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: { name: 'States.Timeout', message: 'The execution exceeded its time limit.' },
    });
  });

  it('heals ABORTED into a cancel with the stop cause as reason', async () => {
    const record = seeded();
    onDescribe(record, 'ABORTED', { error: 'Stopped', cause: 'operator stopped it in the console' });

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'operator stopped it in the console' });
    expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'cancel', from: 'running', to: 'cancelled' });
  });

  it('heals a record awaiting input whose wait timed out, dropping its task token', async () => {
    const record = seeded({ taskId: 'sample-approval', status: 'awaiting_input', stepName: 'review', waitToken: 'token-1' });
    onDescribe(record, 'FAILED', { error: 'States.Timeout' });

    await reconcile(deps, OPTIONS);

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({
      status: 'failed',
      error: { name: 'States.Timeout', message: 'No input arrived before the wait "review" timed out.' },
    });
    expect(stored.wait_token).toBeUndefined();
  });

  it('heals a queued record whose state machine failed before its first step was recorded', async () => {
    const record = seeded({ status: 'queued', transitionCount: 1, stepIndex: 0, stepName: 'extract', stepsCompleted: 0 });
    onDescribe(record, 'FAILED', { error: 'States.TaskFailed', cause: 'the first step could not run' });

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, record)).toMatchObject({ status: 'failed', error: { message: 'the first step could not run' } });
    expect(storedRows(table, record).at(-1)).toMatchObject({ type: 'error', from: 'queued', to: 'failed' });
  });

  it('writes nothing when the status event landed between the index read and the heal', async () => {
    const record = seeded();
    sfn.on(DescribeExecutionCommand).callsFake(async () => {
      seed(table, { ...record, status: 'succeeded', transitionCount: 4, completedAt: '2026-01-02T03:59:00.000Z' });
      return described(record, 'SUCCEEDED', { output: '{}' });
    });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, healed: 0, unchanged: 1 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('reconcile: executions that are fine', () => {
  it('leaves running and waiting executions alone', async () => {
    const running = seeded();
    const waiting = seeded({ status: 'awaiting_input', waitToken: 'token-1' });
    onDescribe(running, 'RUNNING');
    onDescribe(waiting, 'RUNNING');

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 2, running: 2, healed: 0 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, running).status).toBe('running');
    expect(storedRecord(table, waiting)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1' });
  });

  it('does not look at executions younger than the minimum age', async () => {
    const fresh = seeded({ id: newExecutionId(NOW - 30_000), createdAt: new Date(NOW - 30_000).toISOString() });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary.checked).toBe(0);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
    expect(storedRecord(table, fresh).status).toBe('running');
  });

  it('never sees terminal executions: they are not in by-open', async () => {
    seeded({ status: 'succeeded', completedAt: '2026-01-02T03:10:00.000Z' });
    seeded({ status: 'failed', completedAt: '2026-01-02T03:10:00.000Z' });
    seeded({ status: 'cancelled', completedAt: '2026-01-02T03:10:00.000Z' });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary.checked).toBe(0);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('finds candidates by querying each shard of by-open, never by Scan, and reads each candidate\'s record consistently for its status', async () => {
    const record = seeded();
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    await reconcile(deps, OPTIONS);

    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(ACTIVE_SHARDS);
    expect(queries.map((query) => query.IndexName)).toEqual(new Array(ACTIVE_SHARDS).fill('by-open'));
    expect(queries.map((query) => query.ExpressionAttributeValues?.[':pk'])).toEqual(
      Array.from({ length: ACTIVE_SHARDS }, (_, shard) => `A#${shard}`),
    );
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: executionPk(record.tenant, record.id), sk: 'META' }, ConsistentRead: true });
  });

  it('leaves alone a candidate whose record has ended since the index was read (the index lags), without asking Step Functions', async () => {
    const record = seeded();
    // Still in by-open as the index was read; the record itself has ended.
    table.put({ ...storedRecord(table, record), status: 'succeeded', completed_at: '2026-01-02T03:10:00.000Z' });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, unchanged: 1 });
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });
});

describe('reconcile: executions Step Functions does not know', () => {
  it('fails a queued record whose state machine execution was never started, once past the grace period', async () => {
    const record = seeded({ status: 'queued', transitionCount: 1, stepIndex: 0, stepName: 'extract', stepsCompleted: 0 });
    doesNotExist(record);

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, failedMissing: 1 });
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({
      status: 'failed',
      error: { name: 'ExecutionNotStarted', message: expect.stringContaining('never started') },
      completed_at: expect.any(String),
    });
    expect(stored.open_key).toBeUndefined();
    expect(storedRows(table, record).map((row) => [row.type, row.from, row.to])).toEqual([
      ['init', null, 'queued'],
      ['error', 'queued', 'failed'],
    ]);
    expect(logger.warn).toHaveBeenCalledWith('record failed: Step Functions has no such execution');
  });

  it('leaves a queued record without an execution alone within the grace period', async () => {
    const at = NOW - 120_000;
    const record = seeded({ id: newExecutionId(at), createdAt: new Date(at).toISOString(), status: 'queued', transitionCount: 1 });
    doesNotExist(record);

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, running: 1, failedMissing: 0 });
    expect(storedRecord(table, record).status).toBe('queued');
  });

  it('fails a running record whose execution Step Functions no longer has, naming the step it was at', async () => {
    const record = seeded();
    doesNotExist(record);

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: { name: 'ExecutionLost', step: { index: 1, name: 'analyze' } },
    });
  });
});

describe('reconcile: bounded work', () => {
  it('checks at most its share per shard, records where it stopped, and continues there on the next run', async () => {
    const records = inShard(2, 3);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
    const options = { ...OPTIONS, maxChecks: ACTIVE_SHARDS * 2 };

    const first = await reconcile(deps, options);

    expect(first.checked).toBe(2);
    expect(describedArns()).toEqual(records.slice(0, 2).map((r) => r.executionArn));
    expect(await repository.reconcilePositions()).toEqual({ '2': `${records[1]!.tenant}#${records[1]!.id}` });

    sfn.resetHistory();
    const second = await reconcile(deps, options);

    expect(second.checked).toBe(1);
    expect(describedArns()).toEqual([records[2]!.executionArn]);
    expect(await repository.reconcilePositions()).toEqual({});

    sfn.resetHistory();
    await reconcile(deps, options);

    expect(describedArns()).toEqual(records.slice(0, 2).map((r) => r.executionArn));
  });

  it('continues across the tenants that share a shard: its position is <tenant>#<id>', async () => {
    const base = Date.parse('2026-01-02T03:00:00.000Z');
    const [first, second] = [0, 1].map((n) => {
      const tenant = Array.from({ length: 500 }, (_, i) => `shard-two-${n}-${i}`).find((name) => activeShard(name) === 2)!;
      return seeded({ tenant, id: newExecutionId(base + (1 - n) * 1000) });
    }).sort((a, b) => `${a!.tenant}#${a!.id}`.localeCompare(`${b!.tenant}#${b!.id}`));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
    const options = { ...OPTIONS, maxChecks: ACTIVE_SHARDS };

    await reconcile(deps, options);
    expect(describedArns()).toEqual([first!.executionArn]);
    expect(await repository.reconcilePositions()).toEqual({ '2': `${first!.tenant}#${first!.id}` });

    sfn.resetHistory();
    await reconcile(deps, options);
    expect(describedArns()).toEqual([second!.executionArn]);
  });

  it('does not write its positions when nothing changed', async () => {
    seeded();
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    await reconcile(deps, OPTIONS);

    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('stops the run when Step Functions throttles, keeping the candidate for the next run', async () => {
    const records = inShard(4, 3);
    sfn.on(DescribeExecutionCommand).rejects(namedError('ThrottlingException'));

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 0, errors: 0, stoppedEarly: true });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);
    expect(storedRecord(table, records[0]!).status).toBe('running');
  });

  it('logs a failing check, counts it and goes on with the others', async () => {
    const [denied, ended] = inShard(5, 2);
    sfn.on(DescribeExecutionCommand, { executionArn: denied!.executionArn }).rejects(namedError('AccessDeniedException'));
    onDescribe(ended!, 'SUCCEEDED', { output: '{"ok":true}' });

    const summary = await reconcile(deps, OPTIONS);

    expect(summary).toMatchObject({ checked: 2, healed: 1, errors: 1 });
    expect(logger.error).toHaveBeenCalledWith('reconciling an execution failed', expect.objectContaining({ error: expect.any(Error) }));
    expect(storedRecord(table, ended!).status).toBe('succeeded');
  });

  it('counts an index it cannot read as an error and still reads the other shards', async () => {
    seeded();
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'A#0' } }).rejects(namedError('InternalServerError'));

    const summary = await reconcile(deps, OPTIONS);

    expect(summary.errors).toBe(1);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, ACTIVE_SHARDS);
  });

  it('checks nothing when the invocation is about to time out', async () => {
    seeded();

    const summary = await reconcile({ ...deps, remainingMs: () => 5_000 }, OPTIONS);

    expect(summary).toMatchObject({ checked: 0, stoppedEarly: true });
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });
});

describe('reconciler handler', () => {
  const context = { functionName: 'reconciler', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  const event = { 'detail-type': 'Scheduled Event', source: 'aws.events' } as unknown as ScheduledEvent;
  let written: string[];

  beforeEach(() => {
    written = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns what the run did and writes it as embedded metrics', async () => {
    const record = seeded();
    onDescribe(record, 'SUCCEEDED', { output: '{}' });

    const summary = await handler(event, context);

    expect(summary).toMatchObject({ checked: 1, healed: 1 });
    const emf = written.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => '_aws' in line);
    expect(emf).toContainEqual(expect.objectContaining({ FunctionName: 'reconciler', ExecutionsChecked: 1, ExecutionsHealed: 1, ReconcileErrors: 0 }));
    // The healed execution's own end, counted by the reconciler that wrote it.
    expect(emf).toContainEqual(expect.objectContaining({ TaskId: record.taskId, execution_id: record.id, ExecutionsSucceeded: 1 }));
  });

  it('fails the invocation when a check failed, after healing the rest, so its errors alarm fires', async () => {
    const [denied, ended] = inShard(6, 2);
    sfn.on(DescribeExecutionCommand, { executionArn: denied!.executionArn }).rejects(namedError('AccessDeniedException'));
    onDescribe(ended!, 'SUCCEEDED', { output: '{}' });

    await expect(handler(event, context)).rejects.toThrow('1 reconciler checks failed');

    expect(storedRecord(table, ended!).status).toBe('succeeded');
  });

  it('writes no metrics when there was nothing to check', async () => {
    const summary = await handler(event, context);

    expect(summary.checked).toBe(0);
    expect(written.filter((line) => line.includes('_aws'))).toEqual([]);
  });
});

describe('reconcile with the tenant of the record', () => {
  it('heals records of any tenant without being told the tenants', async () => {
    const other = seeded({ tenant: 'tenant-b' });
    onDescribe(other, 'SUCCEEDED', { output: '{}', input: JSON.stringify({ tenant: 'tenant-b', input: other.input }) });

    await reconcile(deps, OPTIONS);

    expect(storedRecord(table, other)).toMatchObject({ status: 'succeeded', tenant: 'tenant-b' });
    expect(TENANT).not.toBe('tenant-b');
  });
});

describe('reconcile: executions held for admission (delays, concurrency limits)', () => {
  const admissionDeps = () => ({
    store: new AdmissionStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), { tableName: process.env.TABLE_NAME!, cursorSecret: 'x' }),
    sfn: sfnClient,
    logger,
    stateMachineArn: (taskId: string) => `${STATE_MACHINE_ARN_PREFIX}${taskId}`,
    now: () => NOW,
  });
  const queued = { status: 'queued' as const, transitionCount: 1, stepIndex: 0, stepName: 'extract', stepsCompleted: 0 };

  it('leaves a queued execution that waits in its tenant queue alone, past the grace period, without asking Step Functions', async () => {
    const record = seeded(queued);
    table.put({ ...storedRecord(table, record), admission_key: `Q#${TENANT}`, admission_sort: `2#${record.id}` });
    doesNotExist(record);

    const summary = await reconcile({ ...deps, admission: admissionDeps() }, OPTIONS);

    expect(summary).toMatchObject({ checked: 1, held: 1, failedMissing: 0 });
    expect(storedRecord(table, record)).toMatchObject({ status: 'queued', admission_key: `Q#${TENANT}` });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 0);
  });

  it('starts an admitted execution whose start was lost (execution name = its id), rather than failing it', async () => {
    const record = seeded(queued);
    table.put({ ...storedRecord(table, record), admission_key: `S#${TENANT}`, admission_sort: record.id, slot: ['TENANT'] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: record.executionArn, startDate: new Date(NOW) });

    const summary = await reconcile({ ...deps, admission: admissionDeps() }, OPTIONS);

    expect(summary).toMatchObject({ held: 1, failedMissing: 0 });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: record.id, stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}` });
    expect(storedRecord(table, record).status).toBe('queued');
  });

  it('places a held record whose placing stream record was lost into its tenant queue', async () => {
    const record = seeded(queued);
    table.put({ ...storedRecord(table, record), held: true, priority: 4 });

    const summary = await reconcile({ ...deps, admission: admissionDeps() }, OPTIONS);

    expect(summary).toMatchObject({ held: 1, failedMissing: 0 });
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ admission_key: `S#${TENANT}` });
    expect(stored.held).toBeUndefined();
  });

  it('still fails a queued record that was never held once past the grace period', async () => {
    const record = seeded(queued);
    doesNotExist(record);

    const summary = await reconcile({ ...deps, admission: admissionDeps() }, OPTIONS);

    expect(summary).toMatchObject({ failedMissing: 1, held: 0 });
  });
});
