import { DescribeExecutionCommand, RedriveExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, IdempotencyMismatchError, ServiceUnavailableError } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { RETRY_NOT_STARTED, RETRY_REFUSED } from '../../../lambdas/domain/recovery.js';
import { RecoveryStore } from '../../../lambdas/repository/recovery-store.js';
import { replayExecution, retryExecution, type RecoveryDeps } from '../../../lambdas/runtime/execution-recovery.js';
import { reconcile } from '../../../lambdas/runtime/reconciler.js';
import { applyStatusChange } from '../../../lambdas/runtime/status-change.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { samplePipeline } from '../../support/sample-tasks.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  STATE_MACHINE_ARN_PREFIX,
  executionRecord,
  seed,
  spyLogger,
  storedPayload,
  storedRecord,
  storedRows,
  transitionRecord,
} from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;
let deps: RecoveryDeps;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  deps = {
    repository: new RecoveryStore(documentClient, repositoryOptions),
    sfn: sfnClient,
    logger: spyLogger(),
    stateMachineArn: (taskId) => `${STATE_MACHINE_ARN_PREFIX}${taskId}`,
  };
});

const FAILURE = { name: 'AnalyzerDown', message: 'the analyzer is down', step: { index: 1, name: 'analyze' } };
const ENDED = '2026-01-02T03:05:00.000Z';

/** A sample-pipeline execution that failed at its second step, stored as the error left it (TTL set, out of `by-open`). */
function failedAtAnalyze(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const record = executionRecord({
    status: 'failed',
    transitionCount: 4,
    stepIndex: 1,
    stepName: 'analyze',
    stepsCompleted: 1,
    startedAt: '2026-01-02T03:04:06.000Z',
    completedAt: ENDED,
    updatedAt: ENDED,
    error: FAILURE,
    ...overrides,
  });
  seed(table, record, [transitionRecord(record)]);
  table.put({ ...storedRecord(table, record), expires_at: 1_800_000_000 });
  return record;
}

describe('retryExecution', () => {
  it('writes the retry row and reopens the record in one transaction, then redrives the execution with a token of its own', async () => {
    const record = failedAtAnalyze();

    const retried = await retryExecution(deps, record);

    expect(retried).toMatchObject({ status: 'running', redriveCount: 1, transitionCount: 5 });
    expect(retried.completedAt).toBeUndefined();
    expect(retried.error).toBeUndefined();
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'running', redrive_count: 1, transition_count: 5 });
    // A running record is in the reconciler's index again (out of by-ended) and never expires by TTL.
    expect(stored.open_key).toMatch(/^A#\d$/);
    expect(stored.status_key).toBeUndefined();
    expect(stored).not.toHaveProperty('expires_at');
    expect(stored).not.toHaveProperty('completed_at');
    expect(stored).not.toHaveProperty('error');
    const row = storedRows(table, record).at(-1)!;
    expect(row).toMatchObject({ seq: 5, type: 'retry', from: 'failed', to: 'running', step: FAILURE.step, next_step: 1 });
    expect(storedPayload(row.output)).toEqual({ retry: 1, previous_error: FAILURE });
    expect(sfn).toHaveReceivedCommandWith(RedriveExecutionCommand, { executionArn: record.executionArn, clientToken: `${record.id}.1` });
  });

  it('lets exactly one of two concurrent retries win; the other gets 409 and redrives nothing', async () => {
    const record = failedAtAnalyze();

    const results = await Promise.allSettled([retryExecution(deps, record), retryExecution(deps, record)]);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(ConflictError);
    expect(sfn).toHaveReceivedCommandTimes(RedriveExecutionCommand, 1);
    expect(storedRows(table, record).filter((row) => row.type === 'retry')).toHaveLength(1);
    expect(storedRecord(table, record).redrive_count).toBe(1);
  });

  it.each([
    ['cancelled', { status: 'cancelled' as const, cancelReason: 'not needed', error: undefined }],
    ['succeeded', { status: 'succeeded' as const, error: undefined }],
    ['running', { status: 'running' as const, error: undefined, completedAt: undefined }],
    ['never started (StartExecutionFailed)', { error: { name: 'StartExecutionFailed', message: 'refused' } }],
    ['a child execution', { parentExecutionId: '0190f0e0-0000-7000-8000-000000000000' }],
  ])('refuses with 409 to retry an execution that is %s, writing and redriving nothing', async (_case, overrides) => {
    const record = failedAtAnalyze(overrides);

    await expect(retryExecution(deps, record)).rejects.toBeInstanceOf(ConflictError);

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(sfn).not.toHaveReceivedCommand(RedriveExecutionCommand);
  });

  it.each([
    ['ExecutionNotRedrivable', ConflictError],
    ['ExecutionDoesNotExist', ConflictError],
    ['ExecutionLimitExceeded', ServiceUnavailableError],
  ])('puts the record back to failed (RetryRefused, its count restored) when Step Functions answers %s', async (name, expected) => {
    const record = failedAtAnalyze({ redriveCount: 2 });
    sfn.on(RedriveExecutionCommand).rejects(Object.assign(new Error('Execution redrivable period exceeded'), { name, $metadata: { httpStatusCode: 400 } }));

    await expect(retryExecution(deps, record)).rejects.toBeInstanceOf(expected);

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'failed', redrive_count: 2, transition_count: 6 });
    expect(stored.error).toMatchObject({ name: RETRY_REFUSED, step: FAILURE.step });
    expect((stored.error as { message: string }).message).toContain(name);
    expect((stored.error as { message: string }).message).toContain(FAILURE.message);
    expect(stored.open_key).toBeUndefined();
    expect(stored.expires_at).toEqual(expect.any(Number));
    expect(storedRows(table, record).slice(-2).map((row) => `${row.type}:${row.from}->${row.to}`)).toEqual(['retry:failed->running', 'error:running->failed']);
    // Retried again later, it counts from Step Functions' count.
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    const again = await retryExecution(deps, await deps.repository.get(record.tenant, record.id));
    expect(again.redriveCount).toBe(3);
  });

  it('leaves the record running and answers 503 when Step Functions\' answer is lost (the reconciler settles it)', async () => {
    const record = failedAtAnalyze();
    sfn.on(RedriveExecutionCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }));

    await expect(retryExecution(deps, record)).rejects.toBeInstanceOf(ServiceUnavailableError);

    expect(storedRecord(table, record)).toMatchObject({ status: 'running', redrive_count: 1 });
  });
});

describe('status events and the reconciler after a retry', () => {
  const failedEvent = (record: ExecutionRecord, redriveCount: number) => ({
    executionArn: record.executionArn,
    stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
    name: record.id,
    status: 'FAILED' as const,
    input: JSON.stringify({ tenant: record.tenant, input: record.input }),
    error: 'AnalyzerDown',
    cause: 'the analyzer is down again',
    redriveCount,
  });

  it('ignores a late FAILED event of the attempt before the retry, and fails the record on the retried attempt\'s own', async () => {
    const record = failedAtAnalyze();
    const retried = await retryExecution(deps, record);
    const statusDeps = { repository, sfn: sfnClient, logger: spyLogger() };

    expect(await applyStatusChange(statusDeps, failedEvent(record, 0))).toBe(false);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', transition_count: retried.transitionCount });

    expect(await applyStatusChange(statusDeps, failedEvent(record, 1))).toBe(true);
    expect(storedRecord(table, record)).toMatchObject({ status: 'failed', redrive_count: 1 });
  });

  it('fails a retry Step Functions never took up once its grace period has passed, restoring the count; leaves it within the grace period', async () => {
    const record = failedAtAnalyze();
    // The recovery function stopped between its write and RedriveExecution.
    sfn.on(RedriveExecutionCommand).rejects(Object.assign(new Error('lost'), { name: 'TimeoutError' }));
    await expect(retryExecution(deps, record)).rejects.toBeInstanceOf(ServiceUnavailableError);
    const retried = await deps.repository.get(record.tenant, record.id);
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: record.executionArn,
      status: 'FAILED',
      input: JSON.stringify({ tenant: record.tenant, input: record.input }),
      error: 'AnalyzerDown',
      redriveCount: 0,
      startDate: new Date(),
    });
    const updated = Date.parse(retried.updatedAt);
    const reconcileDeps = { repository, sfn: sfnClient, logger: spyLogger() };
    const options = { minAgeMs: 0, startGraceMs: 60_000, maxChecks: 10 };

    const early = await reconcile({ ...reconcileDeps, now: () => updated + 1_000 }, options);
    expect(early).toMatchObject({ running: 1, healed: 0 });
    expect(storedRecord(table, record).status).toBe('running');

    const late = await reconcile({ ...reconcileDeps, now: () => updated + 120_000 }, options);
    expect(late).toMatchObject({ healed: 1 });
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'failed', error: expect.objectContaining({ name: RETRY_NOT_STARTED }) });
    expect(stored.redrive_count).toBeUndefined();
  });
});

describe('replayExecution', () => {
  it('starts a new execution of the same task with the same input and metadata, linked by replayed_from', async () => {
    const record = failedAtAnalyze({ metadata: { team: 'reports' } });

    const { record: replay, replayed } = await replayExecution(deps, record, samplePipeline, {}, undefined);

    expect(replayed).toBe(false);
    expect(replay.id).not.toBe(record.id);
    expect(replay).toMatchObject({ status: 'queued', taskId: record.taskId, input: record.input, metadata: { team: 'reports' }, replayedFrom: record.id });
    expect(storedRecord(table, replay)).toMatchObject({ replayed_from: record.id });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: replay.id, input: JSON.stringify({ tenant: record.tenant, input: record.input }) });
  });

  it('takes an input override (null too) and new metadata, and any status: a running execution replays as well', async () => {
    const record = failedAtAnalyze({ status: 'running', error: undefined, completedAt: undefined });

    const { record: withNull } = await replayExecution(deps, record, samplePipeline, { input: null }, undefined);
    const { record: other } = await replayExecution(deps, record, samplePipeline, { input: { document_url: 'https://example.com/b.pdf' }, metadata: { n: 1 } }, undefined);

    expect(withNull.input).toBeNull();
    expect(other).toMatchObject({ input: { document_url: 'https://example.com/b.pdf' }, metadata: { n: 1 }, replayedFrom: record.id });
  });

  it('honours an Idempotency-Key: the same replay again returns the first; the key on another execution\'s replay is a 422', async () => {
    const record = failedAtAnalyze();
    const other = failedAtAnalyze();

    const first = await replayExecution(deps, record, samplePipeline, {}, 'replay-key');
    const again = await replayExecution(deps, record, samplePipeline, {}, 'replay-key');

    expect(again).toMatchObject({ replayed: true, record: { id: first.record.id } });
    await expect(replayExecution(deps, other, samplePipeline, {}, 'replay-key')).rejects.toBeInstanceOf(IdempotencyMismatchError);
    // Only the one execution was ever started (a repeat of a still-queued one starts it again, under the same name).
    expect(new Set(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name))).toEqual(new Set([first.record.id]));
  });
});
