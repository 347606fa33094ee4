import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlreadyRecordedError, ConflictError } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { TransitionRequest } from '../../../lambdas/domain/transition.js';
import { progress } from '../../../lambdas/runtime/progression.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { executionPk, seed, storedRecord, storedRows, transitionRecord } from '../support/records.js';
import { nestedRecord } from '../support/unit-task.js';

const ddb = mockClient(DynamoDBDocumentClient);
const START = Date.parse('2026-05-06T07:08:09.000Z');

let table: FakeTable;
let record: ExecutionRecord;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  vi.useFakeTimers();
  vi.setSystemTime(START);
  record = nestedRecord({ stepIndex: 1 });
  seed(table, record, [transitionRecord(record), transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running' })]);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Another writer changes the execution just before each of this writer's next `times` transactions. */
function loseRaces(times: number): void {
  for (let i = 0; i < times; i++) {
    table.beforeNextTransaction(() => {
      const stored = storedRecord(table, record);
      table.put({ ...stored, transition_count: Number(stored.transition_count) + 1 });
    });
  }
}

const OPEN: TransitionRequest = { type: 'init_branch', scope: 'both[0]', output: { parallel: 'both', index: 0, total: 3 } };

describe('progress', () => {
  it('retries a lost race at once, without pausing, and reports the conflict', async () => {
    loseRaces(1);
    const decide = vi.fn((_current: ExecutionRecord) => OPEN);

    // Fake timers that nobody advances: a pause here would never end.
    const result = await progress(repository, record.tenant, record.id, decide, record);

    expect(result).toMatchObject({ applied: true, conflicts: 1, record: { transitionCount: 4 } });
    expect(decide.mock.calls.map(([current]) => current.transitionCount)).toEqual([2, 3]);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    expect(storedRows(table, record).map((row) => [row.seq, row.type])).toEqual([
      [1, 'init'],
      [2, 'start'],
      [4, 'init_branch'],
    ]);
  });

  it('succeeds after a few lost races, asking again on the record as it is each time', async () => {
    loseRaces(4);
    const decide = vi.fn((_current: ExecutionRecord) => OPEN);

    const run = progress(repository, record.tenant, record.id, decide);
    await vi.runAllTimersAsync();
    const result = await run;

    expect(result).toMatchObject({ applied: true, conflicts: 4, record: { transitionCount: 7 } });
    expect(decide.mock.calls.map(([current]) => current.transitionCount)).toEqual([2, 3, 4, 5, 6]);
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 7 });
    expect(storedRows(table, record).at(-1)).toMatchObject({ seq: 7, type: 'init_branch', scope: 'both[0]' });
  });

  it('gives up with a conflict after 30 lost races, having paused with full jitter under a 300 ms cap', async () => {
    loseRaces(50);
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    const decide = vi.fn((_current: ExecutionRecord) => OPEN);

    const run = progress(repository, record.tenant, record.id, decide, record);
    const outcome = run.then(
      () => 'written',
      (error: unknown) => error,
    );
    await vi.runAllTimersAsync();

    expect(await outcome).toBeInstanceOf(ConflictError);
    expect(decide).toHaveBeenCalledTimes(30);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 30);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 29);
    // No pause before the first retry; then just below min(300, 10 × 2^attempt) ms each (the fake
    // clock drops the fraction): 40 + 80 + 160 + 25 × 300 = 7,780 at most, 28 × 1 ms less here.
    const paused = Date.now() - START;
    expect(paused).toBeLessThanOrEqual(7_780);
    expect(paused).toBeGreaterThanOrEqual(7_752);
    expect(storedRows(table, record)).toHaveLength(2);
  });

  it('pauses nothing at all when the jitter draws zero', async () => {
    loseRaces(5);
    vi.spyOn(Math, 'random').mockReturnValue(0);

    const run = progress(repository, record.tenant, record.id, () => OPEN, record);
    await vi.runAllTimersAsync();

    await expect(run).resolves.toMatchObject({ conflicts: 5 });
    expect(Date.now()).toBe(START);
  });

  it('writes nothing when, after a lost race, the change is no longer needed', async () => {
    loseRaces(1);
    const decide = vi.fn((current: ExecutionRecord) => (current.transitionCount === 2 ? OPEN : undefined));

    const result = await progress(repository, record.tenant, record.id, decide, record);

    expect(result).toMatchObject({ applied: false, conflicts: 1, record: { transitionCount: 3 } });
    expect(storedRows(table, record)).toHaveLength(2);
  });

  it('throws at once, writing nothing, when the status table forbids the change', async () => {
    const decide = vi.fn((_current: ExecutionRecord): TransitionRequest => ({ type: 'resume' }));

    await expect(progress(repository, record.tenant, record.id, decide, record)).rejects.toBeInstanceOf(ConflictError);

    expect(decide).toHaveBeenCalledTimes(1);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('does not retry a change whose marker exists: AlreadyRecorded after one write attempt', async () => {
    table.put({ pk: executionPk(record.tenant, record.id), sk: 'MARK#open:both[0]', seq: 2 });
    const decide = vi.fn((_current: ExecutionRecord) => ({ ...OPEN, marker: 'open:both[0]' }));

    await expect(progress(repository, record.tenant, record.id, decide, record)).rejects.toBeInstanceOf(AlreadyRecordedError);

    expect(decide).toHaveBeenCalledTimes(1);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(storedRows(table, record)).toHaveLength(2);
  });

  it('reads the record first when not given one', async () => {
    const decide = vi.fn((_current: ExecutionRecord) => OPEN);

    const result = await progress(repository, record.tenant, record.id, decide);

    expect(result).toMatchObject({ applied: true, conflicts: 0 });
    expect(decide).toHaveBeenCalledWith(expect.objectContaining({ id: record.id, transitionCount: 2 }));
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });
});
