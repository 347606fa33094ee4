import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { ExecutionEndedError, SleepSecondsInvalidError, StepOutputTooLargeError, StepRuntimeError } from '../../../lambdas/runtime/payload.js';
import { beginSleep, recordStep } from '../../../lambdas/runtime/recorder.js';
import type { StepRunnerDeps } from '../../../lambdas/runtime/step-runner.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  seed,
  spyLogger,
  storedMarkers,
  storedPayload,
  storedRecord,
  storedRows,
  transitionItem,
  transitionRecord,
} from '../support/records.js';
import { itemOf, nestedRecord, nestedTask, recordPayload, sleepPayload, type NestedTask } from '../support/unit-task.js';
import { unusedPayloads } from '../support/payloads.js';

const ddb = mockClient(DynamoDBDocumentClient);
const NOW = '2026-03-04T05:06:07.000Z';
const YEAR_SECONDS = 365 * 86_400;

let table: FakeTable;
let nested: NestedTask;
let deps: StepRunnerDeps;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  nested = nestedTask();
  deps = { repository, tasks: nested.tasks, logger: spyLogger(), payloads: unusedPayloads() };
  // Only the clock: the retry pauses of lost races still run on real timers.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(NOW));
});

afterEach(() => {
  vi.useRealTimers();
});

/** A started unit-nested execution at top-level step `stepIndex` (init and start rows stored). */
function running(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const record = nestedRecord(overrides);
  seed(table, record, [
    transitionRecord(record),
    transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: { index: 0, name: 'each-doc' } }),
  ]);
  return record;
}

/** [type, scope, step name] of every stored row after init and start, by seq. */
function written(record: ExecutionRecord): Array<[unknown, unknown, unknown]> {
  return storedRows(table, record)
    .slice(2)
    .map((row) => [row.type, row.scope, (row.step as { name?: string } | null)?.name]);
}

/** The place of branch 1 of the top-level parallel `both` (the sleep `pause`, then the invoke `lookup`). */
const branchOne = { segments: [{ name: 'both', index: 1, total: 3 }] };

const later = (seconds: number) => new Date(Date.parse(NOW) + seconds * 1000).toISOString();

describe('recordStep', () => {
  it('records a top-level map with the items\' results, moving the execution to its next step', async () => {
    const record = running({ branchesDone: 3, stepFraction: 1, progressMessage: '3 of 3 items done' });
    const items = ['summary a', { tags: ['b'] }, false];

    const data = await recordStep(deps, recordPayload(record, 'each-doc', 0, items));

    expect(data).toEqual({ input: ['summary a', { tags: ['b'] }, false], scope: null });
    const [row] = storedRows(table, record).slice(2);
    expect(row).toMatchObject({ type: 'step', step: { index: 0, name: 'each-doc' }, current_step: 0, next_step: 1 });
    expect(row?.scope).toBeUndefined();
    expect(storedPayload(row?.output)).toEqual(['summary a', { tags: ['b'] }, false]);
    const stored = storedRecord(table, record);
    expect(stored).toMatchObject({ steps_completed: 1, step_index: 1, step_name: 'both', step_fraction: 0, transition_count: 3 });
    expect(stored.branches_done).toBeUndefined();
    expect(stored.progress_message).toBeUndefined();
  });

  it('records an output exactly as the state gives it', async () => {
    const record = running();
    const odd = [{ scope: null }, 7, null, 'text', { input: null }];

    const kept = await recordStep(deps, recordPayload(record, 'each-doc', 0, odd));

    expect(kept.input).toEqual(odd);
    expect(storedPayload(storedRows(table, record)[2]?.output)).toEqual(odd);
  });

  it('records an undefined output as null', async () => {
    const record = running({ stepIndex: 2 });

    const data = await recordStep(deps, recordPayload(record, 'route', 2, undefined));

    expect(data.input).toBeNull();
    expect(storedPayload(storedRows(table, record)[2]?.output)).toBeNull();
  });

  it('records a nested invoke in its branch, closes the branch, and hands back the place and the parent execution', async () => {
    const record = running({ stepIndex: 1 });
    const execution = { id: record.id, tenant: record.tenant };

    const data = await recordStep(deps, recordPayload(record, 'lookup', 1, { found: 2 }, { ...branchOne, closes: 1, execution }));

    expect(data).toEqual({ input: { found: 2 }, scope: null, execution });
    expect(written(record)).toEqual([
      ['step', 'both[1]', 'lookup'],
      ['finish_branch', 'both[1]', undefined],
    ]);
    expect(storedMarkers(table, record)).toEqual({ 'step:both[1]:lookup': 3, 'close:both[1]': 4 });
    expect(storedRecord(table, record)).toMatchObject({ steps_completed: 1, step_index: 1, branches_done: 1, progress_message: '1 of 3 branches done' });
  });

  it('hands back the map item it ran in, so the next state of the item keeps its place', async () => {
    const record = running({ stepIndex: 1 });
    const scope = itemOf('each-part', 0, 2, { name: 'both', index: 2, total: 3, unit: 'branches' });

    const data = await recordStep(deps, recordPayload(record, 'each-part', 0, [1], { segments: [{ name: 'both', index: 2, total: 3 }] }));
    const inner = await recordStep(deps, { ...recordPayload(record, 'lookup', 1, 'x', branchOne), scope });

    expect(data).toEqual({ input: [1], scope: null });
    expect(inner.scope).toEqual(scope);
  });

  it('returns the first recorded output when the recorder is invoked again for a recorded step, writing nothing', async () => {
    const record = running();
    await recordStep(deps, recordPayload(record, 'each-doc', 0, ['first']));
    const before = table.all();

    const again = await recordStep(deps, recordPayload(record, 'each-doc', 0, ['second']));

    expect(again.input).toEqual(['first']);
    expect(table.all()).toEqual(before);
  });

  it('finds a recorded top-level step\'s own row, not a later nested row with the same index', async () => {
    const record = running();
    await recordStep(deps, recordPayload(record, 'each-doc', 0, ['the map']));
    // A step of the next top-level step's first branch, also at index 0, recorded afterwards.
    const after = { ...record, transitionCount: 3 };
    table.put({ ...storedRecord(table, record), transition_count: 4 });
    table.put(
      transitionItem(
        record.tenant,
        transitionRecord(after, { seq: 4, type: 'step', from: 'running', to: 'running', step: { index: 0, name: 'left' }, scope: 'both[0]', currentStep: 1, nextStep: 1, output: 'the branch' }),
      ),
    );

    const again = await recordStep(deps, recordPayload(record, 'each-doc', 0, ['retried']));

    expect(again.input).toEqual(['the map']);
  });

  it('refuses an output over the 250 KiB step payload limit with StepOutputTooLarge, recording nothing', async () => {
    const record = running();

    const recording = recordStep(deps, recordPayload(record, 'each-doc', 0, ['x'.repeat(300 * 1024)]));

    await expect(recording).rejects.toBeInstanceOf(StepOutputTooLargeError);
    await expect(recording).rejects.toThrow(/^Step "each-doc" returned 300\.\d KB of JSON/);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('ends with ExecutionEnded and records nothing for a cancelled execution', async () => {
    const record = running({ status: 'cancelled', completedAt: NOW });

    await expect(recordStep(deps, recordPayload(record, 'each-doc', 0, []))).rejects.toBeInstanceOf(ExecutionEndedError);

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('refuses a payload that names a Lambda step or a sleep as a runtime failure (a deployment mismatch)', async () => {
    const record = running();

    await expect(recordStep(deps, recordPayload(record, 'finalize', 4, 'x'))).rejects.toBeInstanceOf(StepRuntimeError);
    await expect(recordStep(deps, recordPayload(record, 'nap', 3, 'x'))).rejects.toBeInstanceOf(StepRuntimeError);
    expect(deps.logger.error).toHaveBeenCalledWith('step runtime failed', {
      error: expect.objectContaining({ message: expect.stringMatching(/No parallel\/map\/choice\/invoke\/run-task step nap in task unit-nested: redeploy/) }),
    });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('beginSleep', () => {
  it('records a top-level sleep\'s row with the instant it sleeps until, shows it as progress and returns it', async () => {
    const record = running({ stepIndex: 3 });

    const until = await beginSleep(deps, sleepPayload(record, 'nap', 3, { any: 'input' }, { seconds: 60 }));

    expect(until).toBe(later(60));
    const [row] = storedRows(table, record).slice(2);
    expect(row).toMatchObject({ type: 'step', step: { index: 3, name: 'nap' }, next_step: 4 });
    expect(storedPayload(row?.output)).toEqual({ sleep_until: later(60) });
    expect(storedRecord(table, record)).toMatchObject({
      status: 'running',
      steps_completed: 4,
      step_index: 4,
      step_name: 'finalize',
      progress_message: `nap: sleeping until ${later(60)}`,
    });
  });

  it('returns the instant first recorded when the sleep is begun again later, so a retry never extends it', async () => {
    const record = running({ stepIndex: 3 });
    await beginSleep(deps, sleepPayload(record, 'nap', 3, {}, { seconds: 60 }));
    const before = table.all();
    vi.setSystemTime(new Date(Date.parse(NOW) + 45_000));

    const again = await beginSleep(deps, sleepPayload(record, 'nap', 3, {}, { seconds: 60 }));

    expect(again).toBe(later(60));
    expect(table.all()).toEqual(before);
  });

  it('reads the seconds from the input path, and records a nested sleep in its branch, opening it', async () => {
    const record = running({ stepIndex: 1 });

    const until = await beginSleep(deps, sleepPayload(record, 'pause', 0, { pause_seconds: 5 }, { seconds_path: 'pause_seconds' }, { ...branchOne, opens: 1 }));

    expect(until).toBe(later(5));
    expect(written(record)).toEqual([
      ['init_branch', 'both[1]', undefined],
      ['step', 'both[1]', 'pause'],
    ]);
    expect(storedPayload(storedRows(table, record)[3]?.output)).toEqual({ sleep_until: later(5) });
    expect(storedRecord(table, record)).toMatchObject({ step_index: 1, steps_completed: 1, progress_message: `pause: sleeping until ${later(5)}` });
  });

  it('returns the nested sleep\'s first instant on a retry', async () => {
    const record = running({ stepIndex: 1 });
    const payload = sleepPayload(record, 'pause', 0, { pause_seconds: 5 }, { seconds_path: 'pause_seconds' }, branchOne);
    await beginSleep(deps, payload);
    vi.setSystemTime(new Date(Date.parse(NOW) + 3_000));

    expect(await beginSleep(deps, payload)).toBe(later(5));
    expect(written(record)).toEqual([['step', 'both[1]', 'pause']]);
  });

  it('reads a nested path and accepts zero seconds', async () => {
    const record = running({ stepIndex: 1 });

    const until = await beginSleep(deps, sleepPayload(record, 'pause', 0, { wait: { for: [0] } }, { seconds_path: 'wait.for.0' }, branchOne));

    expect(until).toBe(NOW);
  });

  it.each([
    ['negative', { pause_seconds: -1 }, '-1'],
    ['fractional', { pause_seconds: 1.5 }, '1.5'],
    ['text', { pause_seconds: '5' }, '"5"'],
    ['missing', {}, 'nothing'],
    ['over a year', { pause_seconds: YEAR_SECONDS + 1 }, String(YEAR_SECONDS + 1)],
  ])('refuses %s seconds from the input with SleepSecondsInvalid naming the path, writing nothing', async (_case, input, got) => {
    const record = running({ stepIndex: 1 });

    const sleeping = beginSleep(deps, sleepPayload(record, 'pause', 0, input, { seconds_path: 'pause_seconds' }, { ...branchOne, opens: 1 }));

    await expect(sleeping).rejects.toBeInstanceOf(SleepSecondsInvalidError);
    await expect(sleeping).rejects.toMatchObject({
      name: 'SleepSecondsInvalid',
      message: `Sleep "pause": input.pause_seconds must be a whole number of seconds from 0 to ${YEAR_SECONDS}, got ${got}`,
    });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('does not read a path through inherited properties', async () => {
    const record = running({ stepIndex: 1 });

    const sleeping = beginSleep(deps, sleepPayload(record, 'pause', 0, {}, { seconds_path: 'constructor.length' }, branchOne));

    await expect(sleeping).rejects.toBeInstanceOf(SleepSecondsInvalidError);
  });

  it('refuses a payload that names a step which is not a sleep as a runtime failure', async () => {
    const record = running({ stepIndex: 4 });

    await expect(beginSleep(deps, sleepPayload(record, 'finalize', 4, {}, { seconds: 5 }))).rejects.toBeInstanceOf(StepRuntimeError);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('ends with ExecutionEnded for a cancelled execution', async () => {
    const record = running({ stepIndex: 3, status: 'cancelled', completedAt: NOW });

    await expect(beginSleep(deps, sleepPayload(record, 'nap', 3, {}, { seconds: 60 }))).rejects.toBeInstanceOf(ExecutionEndedError);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});
