import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { StepOutputTooLargeError } from '../../../lambdas/runtime/payload.js';
import {
  applyStatusChange,
  messageOf,
  type StatusChangeDeps,
  type StatusChangeDetail,
} from '../../../lambdas/runtime/status-change.js';
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

let table: FakeTable;
let logger: SpyLogger;
let deps: StatusChangeDeps;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  logger = spyLogger();
  deps = { repository, sfn: sfnClient, logger };
});

const STACK = 'TypeError: boom\n    at analyze (/var/task/index.mjs:10:5)';

/** A sample-pipeline execution running its second step. */
function runningAtAnalyze(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const record = executionRecord({
    status: 'running',
    transitionCount: 3,
    stepIndex: 1,
    stepName: 'analyze',
    stepsCompleted: 1,
    startedAt: '2026-01-02T03:04:06.000Z',
    ...overrides,
  });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

function detailOf(record: ExecutionRecord, change: Partial<StatusChangeDetail>): StatusChangeDetail {
  return {
    executionArn: record.executionArn,
    stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
    name: record.id,
    status: 'SUCCEEDED',
    input: JSON.stringify({ tenant: record.tenant, input: record.input }),
    inputDetails: { included: true },
    output: null,
    error: null,
    cause: null,
    ...change,
  };
}

function lastRow(record: ExecutionRecord) {
  return storedRows(table, record).at(-1);
}

describe('applyStatusChange', () => {
  it('ends a record that is not running when Step Functions reports SUCCEEDED, as an InconsistentState error', async () => {
    const record = runningAtAnalyze({ status: 'awaiting_input', waitToken: 'token-1' });

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: JSON.stringify({ ok: true }) }));

    expect(wrote).toBe(true);
    expect(storedRecord(table, record)).toMatchObject({ status: 'failed', error: { name: 'InconsistentState' } });
    expect(lastRow(record)).toMatchObject({ type: 'error', from: 'awaiting_input', to: 'failed' });
  });

  it('still finishes when the output makes the record too large for DynamoDB, storing a marker instead', async () => {
    const record = runningAtAnalyze();
    table.beforeNextTransaction(() => {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ValidationError' }, { Code: 'None' }],
      });
    });

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: JSON.stringify({ big: 'x'.repeat(1000) }) }));

    expect(wrote).toBe(true);
    const stored = storedRecord(table, record);
    expect(stored.status).toBe('succeeded');
    expect(storedPayload(stored.output)).toMatchObject({ output_too_large: true });
  });

  it('records SUCCEEDED as a finish transition carrying the output', async () => {
    const record = runningAtAnalyze();
    const output = { summary: 'A short summary.', words: 18 };

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: JSON.stringify(output) }));

    expect(wrote).toBe(true);

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ status: 'succeeded', transition_count: 4, steps_completed: 3, completed_at: expect.any(String) });
    expect(storedPayload(stored.output)).toEqual(output);
    expect(lastRow(record)).toMatchObject({ seq: 4, type: 'finish', from: 'running', to: 'succeeded', step: null });
    expect(storedPayload(lastRow(record)?.output)).toEqual(output);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('records a Lambda failure as an error naming the step, keeping the message and dropping the stack trace', async () => {
    const record = runningAtAnalyze();
    const cause = JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', trace: STACK.split('\n') });

    await applyStatusChange(deps, detailOf(record, { status: 'FAILED', error: 'TypeError', cause }));

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({
      status: 'failed',
      error: { name: 'TypeError', message: 'boom', step: { index: 1, name: 'analyze' } },
    });
    expect(lastRow(record)).toMatchObject({ type: 'error', from: 'running', to: 'failed' });
    expect(storedPayload(lastRow(record)?.output)).toEqual({ name: 'TypeError', message: 'boom', step: { index: 1, name: 'analyze' } });
    const everything = JSON.stringify([stored, storedRows(table, record)]);
    expect(everything).not.toContain('index.mjs');
    expect(everything).not.toContain('trace');
  });

  it('reports a step output over the payload limit as StepOutputTooLarge naming the step and both sizes', async () => {
    const record = runningAtAnalyze();
    const refused = new StepOutputTooLargeError('analyze', 300 * 1024);
    const cause = JSON.stringify({ errorType: refused.name, errorMessage: refused.message, trace: STACK.split('\n') });

    await applyStatusChange(deps, detailOf(record, { status: 'FAILED', error: refused.name, cause }));

    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: {
        name: 'StepOutputTooLarge',
        message: 'Step "analyze" returned 300 KB of JSON; the limit is 250 KB.',
        step: { index: 1, name: 'analyze' },
      },
    });
  });

  it('names the failed step when Step Functions gives no cause', async () => {
    const record = runningAtAnalyze();

    await applyStatusChange(deps, detailOf(record, { status: 'FAILED', error: 'States.TaskFailed', cause: null }));

    expect(storedRecord(table, record).error).toEqual({
      name: 'States.TaskFailed',
      message: 'Step "analyze" failed.',
      step: { index: 1, name: 'analyze' },
    });
  });

  it('records TIMED_OUT as an execution time-limit error', async () => {
    const record = runningAtAnalyze();

    await applyStatusChange(deps, detailOf(record, { status: 'TIMED_OUT' }));

    expect(storedRecord(table, record)).toMatchObject({
      status: 'failed',
      error: { name: 'States.Timeout', message: 'The execution exceeded its time limit.', step: { index: 1, name: 'analyze' } },
    });
  });

  it('explains a wait that timed out while awaiting input and drops its token', async () => {
    const record = runningAtAnalyze({
      taskId: 'sample-approval',
      status: 'awaiting_input',
      stepIndex: 1,
      stepName: 'review',
      waitToken: 'token-1',
    });

    await applyStatusChange(deps, detailOf(record, { status: 'FAILED', error: 'States.Timeout', cause: null }));

    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({
      status: 'failed',
      error: { name: 'States.Timeout', message: 'No input arrived before the wait "review" timed out.' },
    });
    expect(stored.wait_token).toBeUndefined();
    expect(lastRow(record)).toMatchObject({ type: 'error', from: 'awaiting_input', to: 'failed' });
  });

  it('records ABORTED as a cancel with the stop cause as reason', async () => {
    const record = runningAtAnalyze();

    await applyStatusChange(deps, detailOf(record, { status: 'ABORTED', cause: 'operator stopped it' }));

    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'operator stopped it' });
    expect(lastRow(record)).toMatchObject({ type: 'cancel', from: 'running', to: 'cancelled' });
    expect(storedPayload(lastRow(record)?.output)).toEqual({ reason: 'operator stopped it' });
  });

  it('records ABORTED as a cancel even when every step had completed: the stop already happened, the record must end', async () => {
    const record = runningAtAnalyze({ stepIndex: 2, stepName: 'summarize', stepsCompleted: 3 });

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'ABORTED', cause: 'stopped in the console' }));

    expect(wrote).toBe(true);
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'stopped in the console' });
  });

  it('records ABORTED without a cause as stopped outside the API', async () => {
    const record = runningAtAnalyze();

    await applyStatusChange(deps, detailOf(record, { status: 'ABORTED' }));

    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'Stopped outside the API' });
  });

  it('writes nothing for a duplicate event once the record is terminal', async () => {
    const record = runningAtAnalyze();
    const detail = detailOf(record, { status: 'SUCCEEDED', output: '{"ok":true}' });
    await applyStatusChange(deps, detail);
    ddb.resetHistory();

    await applyStatusChange(deps, detail);

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRows(table, record)).toHaveLength(2);
  });

  it('keeps a cancel made through the API when the ABORTED event arrives later', async () => {
    const record = runningAtAnalyze({ status: 'cancelled', cancelReason: 'no longer needed', completedAt: '2026-01-02T04:00:00.000Z' });

    await applyStatusChange(deps, detailOf(record, { status: 'ABORTED', cause: 'no longer needed' }));

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'no longer needed' });
  });

  it('ignores a FAILED event arriving after SUCCEEDED was recorded (out of order)', async () => {
    const record = runningAtAnalyze();
    await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: '{"ok":true}' }));
    ddb.resetHistory();

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'FAILED', error: 'States.TaskFailed', cause: 'late' }));

    expect(wrote).toBe(false);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'succeeded' });
    expect(storedRecord(table, record).error).toBeUndefined();
    expect(storedRows(table, record).map((row) => row.type)).toEqual(['init', 'finish']);
  });

  it('ignores a late TIMED_OUT after the execution was cancelled through the API', async () => {
    const record = runningAtAnalyze({ status: 'cancelled', cancelReason: 'stop', completedAt: '2026-01-02T04:00:00.000Z' });

    const wrote = await applyStatusChange(deps, detailOf(record, { status: 'TIMED_OUT' }));

    expect(wrote).toBe(false);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled', cancel_reason: 'stop' });
  });

  it('writes exactly one finish row when the same SUCCEEDED event is delivered twice at once', async () => {
    const record = runningAtAnalyze();
    const detail = detailOf(record, { status: 'SUCCEEDED', output: '{"ok":true}' });

    const wrote = await Promise.all([applyStatusChange(deps, detail), applyStatusChange(deps, detail)]);

    expect(wrote.filter(Boolean)).toHaveLength(1);
    expect(storedRows(table, record).filter((row) => row.type === 'finish')).toHaveLength(1);
    expect(storedRecord(table, record)).toMatchObject({ status: 'succeeded', transition_count: 4 });
  });

  it('lets the first of two different terminal events win when they race, and only the first', async () => {
    const record = runningAtAnalyze();

    await Promise.all([
      applyStatusChange(deps, detailOf(record, { status: 'ABORTED', cause: 'stopped' })),
      applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: '{}' })),
    ]);

    const terminal = storedRows(table, record).filter((row) => ['finish', 'error', 'cancel'].includes(String(row.type)));
    expect(terminal).toHaveLength(1);
    expect(storedRecord(table, record).transition_count).toBe(4);
  });

  it('reads the tenant from DescribeExecution when the event leaves the input out', async () => {
    const record = runningAtAnalyze();
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: record.executionArn,
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
      status: 'SUCCEEDED',
      startDate: new Date(),
      input: JSON.stringify({ tenant: TENANT, input: record.input }),
      output: JSON.stringify({ summary: 'from describe' }),
    });

    await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', input: null, inputDetails: { included: false } }));

    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: record.executionArn });
    expect(storedRecord(table, record)).toMatchObject({ status: 'succeeded' });
    expect(storedPayload(storedRecord(table, record).output)).toEqual({ summary: 'from describe' });
  });

  it('reads the output from DescribeExecution when a SUCCEEDED event leaves it out', async () => {
    const record = runningAtAnalyze();
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: record.executionArn,
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
      status: 'SUCCEEDED',
      startDate: new Date(),
      input: JSON.stringify({ tenant: TENANT, input: record.input }),
      output: JSON.stringify({ big: true }),
    });

    await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: null, outputDetails: { included: false } }));

    expect(storedPayload(storedRecord(table, record).output)).toEqual({ big: true });
  });

  it('ignores an execution whose input names no tenant anywhere', async () => {
    const record = runningAtAnalyze();
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: record.executionArn,
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
      status: 'FAILED',
      startDate: new Date(),
      input: '{}',
    });

    await applyStatusChange(deps, detailOf(record, { status: 'FAILED', input: '{}' }));

    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(logger.warn).toHaveBeenCalled();
  });

  it('ignores an event of an execution it has no record of', async () => {
    const record = executionRecord({ status: 'running' });

    await applyStatusChange(deps, detailOf(record, { status: 'SUCCEEDED', output: '{}' }));

    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(logger.warn).toHaveBeenCalledWith('status change of an unknown execution; ignored');
  });

  it('ignores non-terminal statuses', async () => {
    const record = runningAtAnalyze();

    await applyStatusChange(deps, detailOf(record, { status: 'RUNNING' }));

    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

describe('messageOf', () => {
  it('keeps only the errorMessage of a Lambda cause', () => {
    expect(messageOf(JSON.stringify({ errorType: 'Error', errorMessage: 'bad input', trace: [STACK] }), 'fallback')).toBe('bad input');
  });

  it('uses a plain-text cause as is and falls back when there is none', () => {
    expect(messageOf('  the state failed  ', 'fallback')).toBe('the state failed');
    expect(messageOf(null, 'fallback')).toBe('fallback');
    expect(messageOf('', 'fallback')).toBe('fallback');
  });
});
