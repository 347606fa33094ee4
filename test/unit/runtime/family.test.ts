import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  InvalidToken,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { childExecutionId } from '../../../lambdas/domain/children.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { cancelExecution } from '../../../lambdas/runtime/execution-control.js';
import { settleFamily, type FamilyDeps } from '../../../lambdas/runtime/family.js';
import { reconcile } from '../../../lambdas/runtime/reconciler.js';
import { applyStatusChange, type StatusChangeDetail } from '../../../lambdas/runtime/status-change.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  STATE_MACHINE_ARN_PREFIX,
  TENANT,
  executionPk,
  executionRecord,
  seed,
  spyLogger,
  storedRecord,
  storedRows,
  transitionRecord,
  type SpyLogger,
} from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;
let logger: SpyLogger;
let deps: FamilyDeps;
let parent: ExecutionRecord;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  logger = spyLogger();
  deps = { repository, sfn: sfnClient, logger };
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  parent = executionRecord({ status: 'running', transitionCount: 2, startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, parent, [transitionRecord(parent)]);
});

/** A child of `of` created as the child start does it, then moved to `status`. */
async function childOf(
  of: ExecutionRecord,
  instance: string,
  status: ExecutionRecord['status'] = 'running',
  token = `token-${instance}`,
): Promise<ExecutionRecord> {
  const id = childExecutionId(of.id, instance);
  const record = executionRecord({ id, taskId: 'unit-echo', stepName: 'echo', totalSteps: 1, createdAt: '2026-01-02T03:05:00.000Z' });
  await repository.createChild(record, { parent: of, token, attempt: 0 });
  if (status !== 'queued') {
    table.put({ ...storedRecord(table, record), status, transition_count: 2, started_at: '2026-01-02T03:05:01.000Z' });
    table.put({ pk: executionPk(TENANT, id), sk: 'TR#0000000002', seq: 2, type: 'start' });
  }
  return { ...record, status, transitionCount: status === 'queued' ? 1 : 2, parentExecutionId: of.id };
}

function detailOf(record: ExecutionRecord, change: Partial<StatusChangeDetail>): StatusChangeDetail {
  return {
    executionArn: record.executionArn,
    stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
    name: record.id,
    status: 'SUCCEEDED',
    input: JSON.stringify({ tenant: record.tenant, input: record.input }),
    output: null,
    error: null,
    cause: null,
    ...change,
  };
}

const statusChangeDeps = () => ({ repository, sfn: sfnClient, logger });
const followUp = (record: ExecutionRecord) => table.item(executionPk(TENANT, record.id), 'FOLLOW_UP');
const stored = (record: ExecutionRecord) => storedRecord(table, record);

describe('a child ends: its parent is answered', () => {
  it('answers SendTaskSuccess with the child\'s output when it succeeds, and settles its follow-up', async () => {
    const child = await childOf(parent, 'a');

    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: JSON.stringify({ text: 'HELLO' }) }));

    expect(stored(child).status).toBe('succeeded');
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-a', output: '{"text":"HELLO"}' });
    expect(followUp(child)).not.toHaveProperty('open_key');
  });

  it('answers SendTaskFailure with the child\'s error name and message when it fails', async () => {
    const child = await childOf(parent, 'a');
    const cause = JSON.stringify({ errorType: 'EchoFailed', errorMessage: 'no echo today' });

    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'FAILED', error: 'EchoFailed', cause }));

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-a', error: 'EchoFailed', cause: 'no echo today' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('answers ChildTimedOut when the child timed out', async () => {
    const child = await childOf(parent, 'a');

    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'TIMED_OUT', error: 'States.Timeout', cause: '' }));

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-a',
      error: 'ChildTimedOut',
      cause: 'States.Timeout: The execution exceeded its time limit.',
    });
  });

  it('answers ChildCancelled with the reason when the child is cancelled through the API (then its ABORTED event)', async () => {
    const child = await childOf(parent, 'a');
    await cancelExecution({ ...statusChangeDeps(), stateMachineArn: () => '' }, await repository.get(TENANT, child.id), 'not needed');

    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'ABORTED', error: 'Cancelled', cause: 'not needed' }));

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-a', error: 'ChildCancelled', cause: 'not needed' });
  });

  it('answers the token the latest attempt stored', async () => {
    const child = await childOf(parent, 'a');
    await repository.replaceParentToken(child, 'token-retry', 1);

    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: '{}' }));

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-retry' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('is harmless when the event is duplicated: the second answer is refused by Step Functions and dropped', async () => {
    const child = await childOf(parent, 'a');
    sfn.on(SendTaskSuccessCommand).resolvesOnce({}).rejects(new TaskDoesNotExist({ message: 'gone', $metadata: {} }));
    const event = detailOf(child, { status: 'SUCCEEDED', output: '{"n":1}' });

    expect(await applyStatusChange(statusChangeDeps(), event)).toBe(true);
    expect(await applyStatusChange(statusChangeDeps(), event)).toBe(false);

    expect(stored(child)).toMatchObject({ status: 'succeeded', transition_count: 3 });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    expect(logger.warn).toHaveBeenCalledWith('the parent no longer waits for this child; its answer is dropped', { answer: 'TaskDoesNotExist' });
  });

  it.each([
    ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'gone', $metadata: {} })],
    ['TaskTimedOut', new TaskTimedOut({ message: 'timed out', $metadata: {} })],
    ['InvalidToken', new InvalidToken({ message: 'invalid', $metadata: {} })],
  ])('drops the answer when Step Functions says %s (the parent moved on), and settles', async (_name, error) => {
    const child = await childOf(parent, 'a');
    sfn.on(SendTaskSuccessCommand).rejects(error);

    await expect(applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: '{}' }))).resolves.toBe(true);
    expect(followUp(child)).not.toHaveProperty('open_key');
  });

  it('fails the event (for its retry) when the answer cannot be sent now, leaving the follow-up for the reconciler', async () => {
    const child = await childOf(parent, 'a');
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: '{}' }))).rejects.toThrow('Rate exceeded');
    expect(stored(child).status).toBe('succeeded');
    expect(followUp(child)).toHaveProperty('open_key');
  });

  it('leaves an execution without a family alone: no answer, no index read', async () => {
    const lone = executionRecord({ status: 'running', transitionCount: 2 });
    seed(table, lone, [transitionRecord(lone)]);

    await applyStatusChange(statusChangeDeps(), detailOf(lone, { status: 'SUCCEEDED', output: '{}' }));

    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    expect(followUp(lone)).toBeUndefined();
  });
});

describe('a parent ends: its children are cancelled', () => {
  it('cancels and stops its children that still run when it is cancelled, leaving ended ones as they ended', async () => {
    const running = await childOf(parent, 'running');
    const waiting = await childOf(parent, 'waiting', 'awaiting_input');
    const queued = await childOf(parent, 'queued', 'queued');
    const done = await childOf(parent, 'done', 'succeeded');
    sfn.on(StopExecutionCommand, { executionArn: queued.executionArn }).rejects(new ExecutionDoesNotExist({ message: 'none', $metadata: {} }));
    await cancelExecution({ ...statusChangeDeps(), stateMachineArn: () => '' }, await repository.get(TENANT, parent.id), 'stop it all');

    await applyStatusChange(statusChangeDeps(), detailOf(parent, { status: 'ABORTED', error: 'Cancelled', cause: 'stop it all' }));

    for (const child of [running, waiting, queued]) {
      expect(stored(child), child.id).toMatchObject({ status: 'cancelled', cancel_reason: `Parent execution ${parent.id} was cancelled.` });
      expect(storedRows(table, child).at(-1), child.id).toMatchObject({ type: 'cancel', to: 'cancelled' });
    }
    expect(stored(done).status).toBe('succeeded');
    const stopped = sfn.commandCalls(StopExecutionCommand).map((call) => call.args[0].input.executionArn);
    expect(stopped).toEqual(expect.arrayContaining([parent.executionArn, running.executionArn, waiting.executionArn, queued.executionArn]));
    expect(stopped).not.toContain(done.executionArn);
    expect(followUp(parent)).not.toHaveProperty('open_key');
  });

  it('cancels its children when it fails, and when it times out', async () => {
    for (const status of ['FAILED', 'TIMED_OUT'] as const) {
      const ending = executionRecord({ status: 'running', transitionCount: 2 });
      seed(table, ending, [transitionRecord(ending)]);
      const child = await childOf(ending, status);

      await applyStatusChange(statusChangeDeps(), detailOf(ending, { status, error: 'Boom', cause: 'boom' }));

      expect(stored(child), status).toMatchObject({ status: 'cancelled', cancel_reason: `Parent execution ${ending.id} failed.` });
    }
  });

  it('leaves a child that finished just before its parent ended as it finished', async () => {
    const child = await childOf(parent, 'first');
    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: '{"first":true}' }));

    await applyStatusChange(statusChangeDeps(), detailOf(parent, { status: 'FAILED', error: 'Boom', cause: 'boom' }));

    expect(stored(child).status).toBe('succeeded');
    expect(storedRows(table, child).map((row) => row.type)).toEqual(['init', 'start', 'finish']);
    expect(sfn).not.toHaveReceivedCommandWith(StopExecutionCommand, { executionArn: child.executionArn });
  });

  it('has one winner when the child\'s finish lands between the cancel\'s read and write: the finish, no cancel row', async () => {
    const child = await childOf(parent, 'racing');
    // Ends the parent, then, just before the cancel's transaction on the child, records the child's finish.
    table.put({ ...stored(parent), status: 'failed' });
    table.beforeNextTransaction(() => {
      table.put({ ...stored(child), status: 'succeeded', transition_count: 3, output: '{"first":true}' });
      table.put({ pk: executionPk(TENANT, child.id), sk: 'TR#0000000003', seq: 3, type: 'finish' });
    });

    await settleFamily(deps, TENANT, parent.id);

    expect(stored(child).status).toBe('succeeded');
    expect(storedRows(table, child).map((row) => row.type)).toEqual(['init', 'start', 'finish']);
    expect(sfn).not.toHaveReceivedCommandWith(StopExecutionCommand, { executionArn: child.executionArn });
  });

  it('has one winner when the cancel lands first: the child\'s late SUCCEEDED finds it cancelled and changes nothing', async () => {
    const child = await childOf(parent, 'racing');
    await applyStatusChange(statusChangeDeps(), detailOf(parent, { status: 'FAILED', error: 'Boom', cause: 'boom' }));

    const wrote = await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'SUCCEEDED', output: '{"late":true}' }));

    expect(wrote).toBe(false);
    expect(stored(child).status).toBe('cancelled');
    expect(storedRows(table, child).map((row) => row.type)).toEqual(['init', 'start', 'cancel']);
  });

  it('leaves a child whose every step has completed to finish (only its success is still to come)', async () => {
    const child = await childOf(parent, 'finishing');
    table.put({ ...stored(child), steps_completed: 1 });
    table.put({ ...stored(parent), status: 'failed' });

    await settleFamily(deps, TENANT, parent.id);

    expect(stored(child).status).toBe('running');
    expect(followUp(parent)).not.toHaveProperty('open_key');
  });

  it('cancels the children the lagging index lists, then fails (for a retry) until it lists them all', async () => {
    const listed = await childOf(parent, 'listed');
    const late = await childOf(parent, 'late');
    table.put({ ...stored(parent), status: 'cancelled' });
    // The by-parent index has not caught up with the second child yet.
    const lateItem = stored(late);
    const { parent_key: _hidden, ...unindexed } = lateItem;
    table.put(unindexed);

    await expect(settleFamily(deps, TENANT, parent.id)).rejects.toThrow(/2 children, 1 listed/);
    expect(stored(listed).status).toBe('cancelled');
    expect(followUp(parent)).toHaveProperty('open_key');

    table.put(lateItem);
    await expect(settleFamily(deps, TENANT, parent.id)).resolves.toBe('settled');
    expect(stored(late).status).toBe('cancelled');
    expect(followUp(parent)).not.toHaveProperty('open_key');
  });

  it('reaches grandchildren by the same mechanism: the cancelled child\'s own end cancels its children', async () => {
    const child = await childOf(parent, 'child');
    const grandchild = await childOf({ ...child, status: 'running' }, 'grandchild');
    table.put({ ...stored(parent), status: 'cancelled' });

    await settleFamily(deps, TENANT, parent.id);
    expect(stored(child).status).toBe('cancelled');
    expect(stored(grandchild).status).toBe('running');

    // The child's StopExecution ends its state machine: its ABORTED event.
    await applyStatusChange(statusChangeDeps(), detailOf(child, { status: 'ABORTED', error: 'Cancelled', cause: 'x' }));

    expect(stored(grandchild)).toMatchObject({ status: 'cancelled', cancel_reason: `Parent execution ${child.id} was cancelled.` });
    // The child answers its (ended) parent's token too: Step Functions drops it.
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-child', error: 'ChildCancelled' });
  });
});

describe('settleFamily', () => {
  it('does nothing for an execution that has not ended', async () => {
    const child = await childOf(parent, 'a');

    expect(await settleFamily(deps, TENANT, child.id)).toBe('active');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(followUp(child)).toHaveProperty('open_key');
  });

  it('settles the follow-up item of a record that no longer exists (removed by TTL)', async () => {
    const id = childExecutionId(parent.id, 'expired');
    table.put({ pk: executionPk(TENANT, id), sk: 'FOLLOW_UP', id, tenant: TENANT, task_id: 'unit-echo', open_key: 'A#0', open_sort: `${TENANT}#${id}` });

    expect(await settleFamily(deps, TENANT, id)).toBe('missing');
    expect(table.item(executionPk(TENANT, id), 'FOLLOW_UP')).not.toHaveProperty('open_key');
  });
});

describe('the reconciler heals lost follow-ups', () => {
  const OPTIONS = { minAgeMs: 60_000, startGraceMs: 300_000, maxChecks: 400 };
  const NOW = Date.parse('2026-01-02T04:00:00.000Z');

  it('answers the parent of a child whose end was recorded but whose answer was lost', async () => {
    const child = await childOf(parent, 'a');
    // Its end recorded (so out of by-open), and the answer to its parent lost.
    const { open_key: _open, open_sort: _sort, ...ended } = stored(child);
    table.put({ ...ended, status: 'succeeded', output: '{"n":2}' });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    const summary = await reconcile({ repository, sfn: sfnClient, logger, now: () => NOW }, OPTIONS);

    expect(summary).toMatchObject({ settled: 1, errors: 0 });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-a', output: '{"n":2}' });
    expect(followUp(child)).not.toHaveProperty('open_key');
  });

  it('cancels the children of a parent whose end was recorded but whose event was lost', async () => {
    const child = await childOf(parent, 'a');
    // Cancelled through the API (so out of by-open), and its ABORTED event lost.
    const { open_key: _open, open_sort: _sort, ...ended } = stored(parent);
    table.put({ ...ended, status: 'cancelled', completed_at: '2026-01-02T03:30:00.000Z' });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    const summary = await reconcile({ repository, sfn: sfnClient, logger, now: () => NOW }, OPTIONS);

    expect(summary).toMatchObject({ errors: 0 });
    expect(summary.settled).toBeGreaterThanOrEqual(1);
    expect(stored(child).status).toBe('cancelled');
    expect(followUp(parent)).not.toHaveProperty('open_key');
  });

  it('leaves the follow-up of an execution that still runs, and checks it without Step Functions', async () => {
    await childOf(parent, 'a');
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    const summary = await reconcile({ repository, sfn: sfnClient, logger, now: () => NOW }, OPTIONS);

    expect(summary).toMatchObject({ settled: 0, errors: 0 });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  it('fails a queued child that never started by its own creation time (its id carries its parent\'s), then answers its parent', async () => {
    const young = await childOf(parent, 'young', 'queued');
    table.put({ ...stored(young), created_at: new Date(NOW - 60_000).toISOString() });
    const old = await childOf(parent, 'old', 'queued');
    table.put({ ...stored(old), created_at: new Date(NOW - 600_000).toISOString() });
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'none', $metadata: {} }));
    sfn.on(DescribeExecutionCommand, { executionArn: parent.executionArn }).resolves({ status: 'RUNNING' });

    await reconcile({ repository, sfn: sfnClient, logger, now: () => NOW }, OPTIONS);

    expect(stored(young).status).toBe('queued');
    expect(stored(old)).toMatchObject({ status: 'failed', error: { name: 'ExecutionNotStarted' } });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-old', error: 'ExecutionNotStarted' });
  });
});
