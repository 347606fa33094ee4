import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlreadyRecordedError, ConflictError, DomainError, toProblem } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { planTransition, type TransitionRequest } from '../../../lambdas/domain/transition.js';
import { RuntimeStore } from '../../../lambdas/repository/runtime-store.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { executionPk, executionRecord, seed, storedMarkers, storedRecord, storedRows, transitionItem, transitionRecord, transitionSk } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const NOW = '2026-01-02T03:10:00.000Z';
const DAY = 86_400;

let store: RuntimeStore;
let record: ExecutionRecord;

beforeEach(() => {
  ddb.reset();
  store = new RuntimeStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { tableName: 't', cursorSecret: 's' });
  record = runningRecord();
});

/** A sample-pipeline execution that has started and is at its second step. */
function runningRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return executionRecord({ status: 'running', transitionCount: 2, stepIndex: 1, stepName: 'analyze', stepsCompleted: 1, startedAt: '2026-01-02T03:04:06.000Z', ...overrides });
}

function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });
}

function transactItems(call = 0) {
  return ddb.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems ?? [];
}

const STEP: TransitionRequest = { type: 'step', step: { index: 0, name: 'left' }, scope: 'both[0]', marker: 'step:both[0]:left', output: { ok: true } };

describe('applyTransition with a marker', () => {
  it('adds the marker item to the same transaction, holding the row\'s seq and conditioned on not existing', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const planned = planTransition(record, STEP, NOW);

    await store.applyTransition(record, planned);

    const items = transactItems();
    expect(items).toHaveLength(3);
    expect(items[1]?.Put?.Item).toMatchObject({ sk: transitionSk(3), scope: 'both[0]', type: 'step' });
    expect(items[2]).toEqual({
      Put: {
        TableName: 't',
        Item: {
          pk: executionPk(record.tenant, record.id),
          sk: 'MARK#step:both[0]:left',
          seq: 3,
          expires_at: Date.parse(record.createdAt) / 1000 + 90 * DAY + 366 * DAY,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
  });

  it('writes no marker item for a change without one', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const { marker: _marker, ...unmarked } = STEP;

    await store.applyTransition(record, planTransition(record, unmarked, NOW));

    expect(transactItems()).toHaveLength(2);
  });

  it.each([
    ['only the marker failed', ['None', 'None', 'ConditionalCheckFailed']],
    ['the count and the marker failed', ['ConditionalCheckFailed', 'ConditionalCheckFailed', 'ConditionalCheckFailed']],
  ])('reports AlreadyRecorded, naming the marker and without retrying, when %s', async (_case, codes) => {
    ddb.on(TransactWriteCommand).rejects(cancelled(...codes));

    const write = store.applyTransition(record, planTransition(record, STEP, NOW));

    await expect(write).rejects.toBeInstanceOf(AlreadyRecordedError);
    await expect(write).rejects.toMatchObject({ name: 'AlreadyRecorded', marker: 'step:both[0]:left', message: 'Already recorded: step:both[0]:left' });
    await expect(write).rejects.not.toBeInstanceOf(ConflictError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('reports a lost race as a conflict when the marker did not exist', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));

    await expect(store.applyTransition(record, planTransition(record, STEP, NOW))).rejects.toBeInstanceOf(ConflictError);
  });

  it('reports a transaction conflict on the marker as a lost race (a conflict), for the caller to retry with backoff', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'TransactionConflict'));

    await expect(store.applyTransition(record, planTransition(record, STEP, NOW))).rejects.toBeInstanceOf(ConflictError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('refuses the same change a second time against the table, leaving one row and one marker', async () => {
    const table = new FakeTable().install(ddb);
    seed(table, record, [transitionRecord(record), transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running' })]);
    const written = await store.applyTransition(record, planTransition(record, STEP, NOW));
    const before = table.all();

    const again = store.applyTransition(written, planTransition(written, STEP, NOW));

    await expect(again).rejects.toBeInstanceOf(AlreadyRecordedError);
    expect(table.all()).toEqual(before);
    expect(storedRows(table, record).map((row) => [row.seq, row.type, row.scope])).toEqual([
      [1, 'init', undefined],
      [2, 'start', undefined],
      [3, 'step', 'both[0]'],
    ]);
    expect(storedMarkers(table, record)).toEqual({ 'step:both[0]:left': 3 });
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 3, steps_completed: record.stepsCompleted });
  });

  it('stores the branch count a finish_branch counts and removes it with the next top-level step', async () => {
    const table = new FakeTable().install(ddb);
    seed(table, record);
    const closed = await store.applyTransition(
      record,
      planTransition(record, { type: 'finish_branch', scope: 'both[0]', marker: 'close:both[0]', countsToward: { total: 3, unit: 'branches' } }, NOW),
    );
    expect(storedRecord(table, record)).toMatchObject({ branches_done: 1, step_fraction: 1 / 3, progress_message: '1 of 3 branches done' });
    expect((await store.get(record.tenant, record.id)).branchesDone).toBe(1);

    await store.applyTransition(closed, planTransition(closed, { type: 'step', step: { index: record.stepIndex, name: record.stepName } }, NOW));

    const stored = storedRecord(table, record);
    expect(stored.branches_done).toBeUndefined();
    expect(stored.progress_message).toBeUndefined();
    expect((await store.get(record.tenant, record.id)).branchesDone).toBeUndefined();
  });
});

describe('AlreadyRecordedError', () => {
  it('is no HTTP error: it never reaches a caller as a problem of its own', () => {
    const error = new AlreadyRecordedError('open:m[0]');

    expect(error).not.toBeInstanceOf(DomainError);
    expect(toProblem(error).status).toBe(500);
  });
});

describe('findMarkedRow', () => {
  let table: FakeTable;

  beforeEach(() => {
    table = new FakeTable().install(ddb);
    seed(table, record);
  });

  it('reads the marker, then the row whose seq it holds, both consistently', async () => {
    const planned = planTransition(record, STEP, NOW);
    await store.applyTransition(record, planned);
    ddb.resetHistory();

    const row = await store.findMarkedRow(record.tenant, record.id, 'step:both[0]:left');

    expect(row).toEqual(planned.row);
    const pk = executionPk(record.tenant, record.id);
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual([
      { TableName: 't', Key: { pk, sk: 'MARK#step:both[0]:left' }, ConsistentRead: true },
      { TableName: 't', Key: { pk, sk: transitionSk(3) }, ConsistentRead: true },
    ]);
  });

  it('finds nothing, reading only the marker, when the change was not recorded', async () => {
    expect(await store.findMarkedRow(record.tenant, record.id, 'step:both[0]:left')).toBeUndefined();

    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('finds nothing for a marker without a seq, or whose row is gone', async () => {
    const pk = executionPk(record.tenant, record.id);
    table.put({ pk, sk: 'MARK#no-seq' });
    table.put({ pk, sk: 'MARK#gone', seq: 42 });

    expect(await store.findMarkedRow(record.tenant, record.id, 'no-seq')).toBeUndefined();
    expect(await store.findMarkedRow(record.tenant, record.id, 'gone')).toBeUndefined();
  });

  it('does not find a marker of another execution', async () => {
    await store.applyTransition(record, planTransition(record, STEP, NOW));
    const other = runningRecord({ id: '01900000-0000-7000-8000-0000000000aa' });

    expect(await store.findMarkedRow(other.tenant, other.id, 'step:both[0]:left')).toBeUndefined();
  });
});

describe('findStepRow', () => {
  it('finds a top-level step\'s row, not a nested row with the same index written after it', async () => {
    const table = new FakeTable().install(ddb);
    const step = (seq: number, overrides: Parameters<typeof transitionRecord>[1]) =>
      transitionRecord(record, { seq, type: 'step', from: 'running', to: 'running', currentStep: 0, nextStep: 1, ...overrides });
    seed(table, record, [
      step(3, { step: { index: 0, name: 'first' }, output: 'top' }),
      step(4, { step: { index: 0, name: 'left' }, scope: 'both[0]', output: 'nested' }),
    ]);

    const row = await store.findStepRow(record.tenant, record.id, 0);

    expect(row).toMatchObject({ seq: 3, output: 'top' });
    expect(row).not.toHaveProperty('scope');
  });

  it('finds no top-level row when only nested rows have that index', async () => {
    const table = new FakeTable().install(ddb);
    seed(table, record);
    table.put(transitionItem(record.tenant, transitionRecord(record, { seq: 3, type: 'step', step: { index: 1, name: 'tag-doc' }, scope: 'each-doc[0]' })));

    expect(await store.findStepRow(record.tenant, record.id, 1)).toBeUndefined();
  });
});
