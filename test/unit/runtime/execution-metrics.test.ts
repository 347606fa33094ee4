import { SFNClient, SendTaskSuccessCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { cancelExecution, resumeExecution, startExecution, type CreateDeps } from '../../../lambdas/runtime/execution-control.js';
import { EXECUTION_METRICS } from '../../../lambdas/runtime/execution-metrics.js';
import { progress } from '../../../lambdas/runtime/progression.js';
import { applyStatusChange, type StatusChangeDetail } from '../../../lambdas/runtime/status-change.js';
import { runStep } from '../../../lambdas/runtime/step-runner.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { createStore, familyStore } from '../../../lambdas/shared/stores.js';
import { sampleApproval } from '../../support/sample-tasks.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { captureLines, directiveOf, metricValues, type CapturedLines } from '../support/log-lines.js';
import { STATE_MACHINE_ARN_PREFIX, TENANT, awaitingReviewRecord, executionRecord, seed, spyLogger, storedRecord, storedRows, transitionRecord } from '../support/records.js';
import { stepPayload, unitRecord, unitTask } from '../support/unit-task.js';
import { unusedPayloads } from '../support/payloads.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const STARTED_AT = '2026-01-02T03:04:06.000Z';
const WAITING_SINCE = '2026-01-02T03:05:00.000Z';
/** When the transitions under test are written: 60 s after the wait began, 114 s after the start. */
const NOW = Date.parse('2026-01-02T03:06:00.000Z');

let table: FakeTable;
let deps: CreateDeps;
let lines: CapturedLines;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  deps = { repository: createStore(), sfn: sfnClient, logger: spyLogger(), stateMachineArn: (taskId) => `${STATE_MACHINE_ARN_PREFIX}${taskId}` };
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  lines = captureLines();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** What the status-change function (and the reconciler) record terminal statuses with. */
const statusDeps = () => ({ repository: familyStore(), sfn: sfnClient, logger: spyLogger() });

/** A sample-approval execution waiting at `review` since {@link WAITING_SINCE}. */
function awaitingReview(): ExecutionRecord {
  const record = awaitingReviewRecord({ startedAt: STARTED_AT, updatedAt: WAITING_SINCE });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

/** A sample-pipeline execution running its last step since {@link STARTED_AT}. */
function running(): ExecutionRecord {
  const record = executionRecord({ status: 'running', transitionCount: 5, stepIndex: 2, stepName: 'summarize', stepsCompleted: 3, startedAt: STARTED_AT });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

function statusChange(record: ExecutionRecord, status: StatusChangeDetail['status'], extra: Partial<StatusChangeDetail> = {}): StatusChangeDetail {
  return {
    executionArn: record.executionArn,
    stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
    name: record.id,
    status,
    input: JSON.stringify({ tenant: record.tenant, input: record.input }),
    output: status === 'SUCCEEDED' ? '{"summary":"done"}' : null,
    error: status === 'FAILED' ? 'Boom' : null,
    cause: status === 'ABORTED' ? 'stopped by an operator' : null,
    ...extra,
  };
}

describe('execution metrics', () => {
  it('counts an execution started where its start transition is written, once, on its task and the service', async () => {
    const unit = unitTask();
    unit.first.mockResolvedValue({ doubled: 4 });
    const record = unitRecord();
    seed(table, record, [transitionRecord(record)]);

    await runStep({ repository, tasks: unit.tasks, logger: spyLogger(), payloads: unusedPayloads() }, stepPayload(record, 0, { n: 2 }));
    // A retried invocation finds the step recorded: nothing starts twice.
    await runStep({ repository, tasks: unit.tasks, logger: spyLogger(), payloads: unusedPayloads() }, stepPayload(record, 0, { n: 2 }));

    expect(metricValues(lines.metrics)).toEqual([{ ExecutionsStarted: 1 }]);
    expect(directiveOf(lines.metrics[0]!)).toMatchObject({ Namespace: 'AsyncExecutions', Dimensions: [['TaskId'], []] });
    expect(lines.metrics[0]).toMatchObject({ TaskId: 'unit-task', execution_id: record.id, task_id: 'unit-task', tenant: TENANT });
  });

  it.each([
    ['SUCCEEDED', 'ExecutionsSucceeded'],
    ['FAILED', 'ExecutionsFailed'],
    ['TIMED_OUT', 'ExecutionsFailed'],
    ['ABORTED', 'ExecutionsCancelled'],
  ] as const)('counts a %s status change as %s with the duration from its start, once however often the event comes', async (status, metric) => {
    const record = running();

    await applyStatusChange(statusDeps(), statusChange(record, status));
    await applyStatusChange(statusDeps(), statusChange(record, status));

    expect(metricValues(lines.metrics)).toEqual([{ [metric]: 1, ExecutionDuration: NOW - Date.parse(STARTED_AT) }]);
    expect(lines.metrics[0]).toMatchObject({ TaskId: 'sample-pipeline', execution_id: record.id, tenant: TENANT });
  });

  it('counts a cancel through the API, with the time its wait lasted', async () => {
    const record = awaitingReview();

    await cancelExecution(deps, record, 'not needed');

    expect(metricValues(lines.metrics)).toEqual([
      { ExecutionsCancelled: 1, ExecutionDuration: NOW - Date.parse(STARTED_AT), WaitDuration: NOW - Date.parse(WAITING_SINCE) },
    ]);
  });

  it('measures the wait a resume ends, and counts nothing else', async () => {
    const record = awaitingReview();

    await resumeExecution(deps, record, sampleApproval, { approved: true });

    expect(metricValues(lines.metrics)).toEqual([{ WaitDuration: NOW - Date.parse(WAITING_SINCE) }]);
    expect(lines.metrics[0]).toMatchObject({ TaskId: 'sample-approval', execution_id: record.id });
  });

  it('counts an execution Step Functions refused to start as failed, without a duration: it never started', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    await expect(startExecution(deps, { tenant: TENANT, task: sampleApproval, input: { title: 'T', body: 'B' }, metadata: {} })).rejects.toMatchObject({ status: 503 });

    expect(metricValues(lines.metrics)).toEqual([{ ExecutionsFailed: 1 }]);
  });

  it('writes nothing for rows that neither start, end nor leave a wait', async () => {
    const record = running();

    await progress(repository, record.tenant, record.id, () => ({ type: 'init_branch', scope: 'both[0]', output: {} }));
    await progress(repository, record.tenant, record.id, () => ({ type: 'wait', step: { index: 2, name: 'summarize' }, waitToken: 't' }));

    expect(lines.metrics).toEqual([]);
  });

  it('writes nothing when another writer made the change first (its writer counted it)', async () => {
    const record = running();
    table.put({ ...storedRecord(table, record), status: 'succeeded', transition_count: 6 });

    await applyStatusChange(statusDeps(), statusChange(record, 'SUCCEEDED'));

    expect(lines.metrics).toEqual([]);
  });

  it('never fails the write it follows, even when the metric line cannot be written', async () => {
    const record = running();
    vi.spyOn(process.stdout, 'write').mockImplementation(() => {
      throw new Error('EPIPE');
    });

    const result = await progress(repository, record.tenant, record.id, () => ({ type: 'finish', result: 1, output: 1 }));

    expect(result.applied).toBe(true);
    expect(storedRecord(table, record).status).toBe('succeeded');
    expect(storedRows(table, record).map((row) => row.type)).toContain('finish');
  });

  it('writes exactly the names the dashboard reads (EXECUTION_METRICS)', async () => {
    const record = running();
    const waiting = awaitingReview();
    const unit = unitTask();
    unit.first.mockResolvedValue({});
    const queued = unitRecord();
    seed(table, queued, [transitionRecord(queued)]);

    await runStep({ repository, tasks: unit.tasks, logger: spyLogger(), payloads: unusedPayloads() }, stepPayload(queued, 0, { n: 2 }));
    await applyStatusChange(statusDeps(), statusChange(record, 'SUCCEEDED'));
    await cancelExecution(deps, waiting, undefined);
    for (const status of ['FAILED', 'ABORTED'] as const) {
      const other = running();
      await applyStatusChange(statusDeps(), statusChange(other, status));
    }

    const written = new Set(lines.metrics.flatMap((line) => directiveOf(line).Metrics.map(({ Name }) => Name)));
    expect([...written].sort()).toEqual(Object.values(EXECUTION_METRICS).sort());
  });
});
