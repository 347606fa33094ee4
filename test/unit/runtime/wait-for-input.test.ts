import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { callbackHash, callbackToken } from '../../../lambdas/domain/callbacks.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { ExecutionEndedError, StepRuntimeError } from '../../../lambdas/runtime/payload.js';
import { beginWait, type WaitDeps } from '../../../lambdas/runtime/wait-for-input.js';
import { waitStore } from '../../../lambdas/shared/stores.js';
import { toTaskView } from '../../../lambdas/tasks/catalogue.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { CALLBACK_KEY, seed, spyLogger, storedPayload, storedRecord, storedRows, transitionRecord } from '../support/records.js';
import { unitRecord, unitTask, waitPayload } from '../support/unit-task.js';

const ddb = mockClient(DynamoDBDocumentClient);

let table: FakeTable;
let deps: WaitDeps;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  // The wait function knows the tasks by their catalogue views, as it bundles them.
  deps = {
    repository: waitStore(),
    tasks: new Map([...unitTask().tasks].map(([id, task]) => [id, toTaskView(task)])),
    logger: spyLogger(),
    callbackKey: CALLBACK_KEY,
  };
});

/** A unit-task execution whose first step is recorded, so the wait at index 1 is next. */
/** The stored lookup items of resume links. */
function callbackItems() {
  return table.all().filter((item) => String(item.pk).startsWith('CALLBACK#'));
}

function runningBeforeWait(): ExecutionRecord {
  const record = unitRecord({
    status: 'running',
    transitionCount: 3,
    stepsCompleted: 1,
    stepIndex: 1,
    stepName: 'approve',
    startedAt: '2026-01-02T03:04:06.000Z',
  });
  seed(table, record, [
    transitionRecord(record),
    transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: { index: 0, name: 'first' } }),
    transitionRecord(record, { seq: 3, type: 'step', from: 'running', to: 'running', step: { index: 0, name: 'first' }, output: { doubled: 4 } }),
  ]);
  return record;
}

describe('beginWait', () => {
  it('stores the task token on the record with one wait transition to awaiting_input', async () => {
    const record = runningBeforeWait();

    await beginWait(deps, waitPayload(record, 1, 'token-1', { doubled: 4 }));

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(storedRecord(table, record)).toMatchObject({
      status: 'awaiting_input',
      wait_token: 'token-1',
      transition_count: 4,
      step_index: 1,
      step_name: 'approve',
    });
    // Still open: in by-open (the record says its status), not in the sparse by-ended.
    expect(storedRecord(table, record).status_key).toBeUndefined();
    expect(storedRecord(table, record).open_key).toEqual(expect.any(String));
    const wait = storedRows(table, record)[3];
    expect(wait).toMatchObject({ seq: 4, type: 'wait', from: 'running', to: 'awaiting_input', step: { index: 1, name: 'approve' } });
    expect(storedPayload(wait?.output)).toEqual({ prompt: 'Approve?', input: { doubled: 4 }, timeout_seconds: 3600 });
  });

  it('writes the resume link with the wait, in the same transaction: a lookup item by the token hash, expiring with the wait', async () => {
    const record = runningBeforeWait();
    vi.useFakeTimers({ now: Date.parse('2026-01-02T05:00:00.000Z'), toFake: ['Date'] });

    await beginWait(deps, waitPayload(record, 1, 'token-1'));
    vi.useRealTimers();

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const { TransactItems = [] } = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input;
    expect(TransactItems.map((item) => Object.keys(item)[0])).toEqual(['Update', 'Put', 'Put']);
    const nonce = storedRecord(table, record).callback_nonce as string;
    const wait = storedRows(table, record)[3]!;
    // The row carries the nonce the view mints the link from; the record the nonce a link must match.
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(wait.callback_nonce).toBe(nonce);
    const token = callbackToken(CALLBACK_KEY, { tenant: record.tenant, executionId: record.id, stepIndex: 1, nonce });
    expect(callbackItems()).toEqual([
      {
        pk: `CALLBACK#${callbackHash(token)}`,
        sk: 'CALLBACK',
        tenant: record.tenant,
        execution_id: record.id,
        step_index: 1,
        nonce,
        // The wait's timeout (3600 s in unit-task) from now: the link expires with the wait, and TTL removes it.
        expires_at: Date.parse('2026-01-02T05:00:00.000Z') / 1000 + 3600,
      },
    ]);
    // Only the token's hash is stored, never the token.
    expect(JSON.stringify(table.all())).not.toContain(token);
  });

  it('gives each wait a link of its own', async () => {
    const first = runningBeforeWait();
    const second = runningBeforeWait();

    await beginWait(deps, waitPayload(first, 1, 'token-1'));
    await beginWait(deps, waitPayload(second, 1, 'token-2'));

    const items = callbackItems();
    expect(items.map((item) => item.execution_id)).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(new Set(items.map((item) => item.pk)).size).toBe(2);
    expect(storedRecord(table, first).callback_nonce).not.toBe(storedRecord(table, second).callback_nonce);
  });

  it('keeps the token out of the transition row', async () => {
    const record = runningBeforeWait();

    await beginWait(deps, waitPayload(record, 1, 'secret-token-value'));

    expect(JSON.stringify(storedRows(table, record))).not.toContain('secret-token-value');
  });

  it('only replaces the token when the same wait is invoked again with a new token, keeping its link and moving its expiry', async () => {
    const record = runningBeforeWait();
    vi.useFakeTimers({ now: Date.parse('2026-01-02T05:00:00.000Z'), toFake: ['Date'] });
    await beginWait(deps, waitPayload(record, 1, 'token-1'));
    const [link] = callbackItems();
    ddb.resetHistory();
    vi.setSystemTime(Date.parse('2026-01-02T05:03:00.000Z'));

    await beginWait(deps, waitPayload(record, 1, 'token-2'));
    vi.useRealTimers();

    // One transaction: the token, and the same link refreshed (a retried wait starts its timeout afresh).
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        {
          Update: expect.objectContaining({
            UpdateExpression: 'SET wait_token = :token',
            ConditionExpression: '#status = :waiting AND step_index = :i',
            ExpressionAttributeValues: { ':token': 'token-2', ':waiting': 'awaiting_input', ':i': 1 },
          }),
        },
        { Put: expect.objectContaining({ Item: { ...link, expires_at: link!.expires_at as number + 180 } }) },
      ],
    });
    expect(storedRecord(table, record)).toMatchObject({ wait_token: 'token-2', transition_count: 4, status: 'awaiting_input' });
    expect(storedRows(table, record)).toHaveLength(4);
    expect(callbackItems()).toHaveLength(1);
  });

  it('writes neither token nor link when the execution leaves the wait between the retried wait\'s read and its write', async () => {
    const record = runningBeforeWait();
    await beginWait(deps, waitPayload(record, 1, 'token-1'));
    const [link] = callbackItems();
    const waiting = storedRecord(table, record);
    table.beforeNextTransaction(() => table.put({ ...waiting, status: 'running', step_index: 2, wait_token: undefined, callback_nonce: undefined }));

    await beginWait(deps, waitPayload(record, 1, 'token-2'));

    expect(storedRecord(table, record)).toMatchObject({ status: 'running', step_index: 2 });
    expect(storedRecord(table, record).wait_token).toBeUndefined();
    expect(callbackItems()).toEqual([link]);
  });

  it('replaces only the token of a wait written before resume links existed (no nonce, no link)', async () => {
    const record = unitRecord({ status: 'awaiting_input', transitionCount: 4, stepsCompleted: 1, stepIndex: 1, stepName: 'approve', waitToken: 'token-1' });
    seed(table, record, [transitionRecord(record)]);

    await beginWait(deps, waitPayload(record, 1, 'token-2'));

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { UpdateExpression: 'SET wait_token = :token' });
    expect(storedRecord(table, record)).toMatchObject({ wait_token: 'token-2' });
    expect(callbackItems()).toHaveLength(0);
  });

  it('writes nothing when the same wait is invoked again with the token it already stored', async () => {
    const record = runningBeforeWait();
    await beginWait(deps, waitPayload(record, 1, 'token-1'));
    ddb.resetHistory();

    await beginWait(deps, waitPayload(record, 1, 'token-1'));

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('starts a queued execution whose first step is a wait, then waits (start and wait rows)', async () => {
    const record = unitRecord({ taskId: 'wait-first', stepName: 'gate', totalSteps: 2, input: {} });
    seed(table, record, [transitionRecord(record)]);

    await beginWait(deps, waitPayload(record, 0, 'token-1', {}));

    expect(storedRows(table, record).map((row) => [row.type, row.from, row.to])).toEqual([
      ['init', null, 'queued'],
      ['start', 'queued', 'running'],
      ['wait', 'running', 'awaiting_input'],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', wait_token: 'token-1', transition_count: 3 });
  });

  it('refuses a late duplicate of a wait that was already resumed, leaving the execution where it is', async () => {
    const record = unitRecord({ status: 'running', transitionCount: 5, stepsCompleted: 2, stepIndex: 2, stepName: 'last' });
    seed(table, record, [transitionRecord(record)]);

    await expect(beginWait(deps, waitPayload(record, 1, 'token-late'))).rejects.toBeInstanceOf(ExecutionEndedError);

    expect(storedRecord(table, record)).toMatchObject({ status: 'running', steps_completed: 2, step_index: 2 });
    expect(storedRecord(table, record).wait_token).toBeUndefined();
  });

  it('refuses to wait for a cancelled execution and writes nothing', async () => {
    const record = unitRecord({ status: 'cancelled', transitionCount: 2, stepIndex: 1, stepName: 'approve' });
    seed(table, record, [transitionRecord(record)]);

    await expect(beginWait(deps, waitPayload(record, 1, 'token-1'))).rejects.toBeInstanceOf(ExecutionEndedError);

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('ends with ExecutionEnded, writing no wait, when the execution is cancelled between its read and the wait write', async () => {
    const record = runningBeforeWait();
    table.beforeNextTransaction(() =>
      seed(table, { ...record, status: 'cancelled', transitionCount: 4, completedAt: '2026-01-02T04:00:00.000Z' }),
    );

    await expect(beginWait(deps, waitPayload(record, 1, 'token-1'))).rejects.toBeInstanceOf(ExecutionEndedError);

    expect(storedRecord(table, record)).toMatchObject({ status: 'cancelled' });
    expect(storedRecord(table, record).wait_token).toBeUndefined();
    expect(storedRows(table, record).map((row) => row.type)).not.toContain('wait');
  });

  it('fails with a generic runtime error, and logs the deployment error, when the payload points at a Lambda step', async () => {
    const record = runningBeforeWait();

    const failure = beginWait(deps, waitPayload(record, 0, 'token-1'));

    await expect(failure).rejects.toBeInstanceOf(StepRuntimeError);
    await expect(failure).rejects.not.toThrow(/unit-task/);
    const logged = vi.mocked(deps.logger.error).mock.calls[0]?.[1] as { error: Error } | undefined;
    expect(logged?.error.message).toMatch(/No wait step 0 in task unit-task/);
  });
});
