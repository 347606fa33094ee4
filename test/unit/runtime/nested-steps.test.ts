import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { ExecutionEndedError, StepRuntimeError } from '../../../lambdas/runtime/payload.js';
import { locateStep, resolveStep, runStep, type StepRunnerDeps } from '../../../lambdas/runtime/step-runner.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import type { StepContext } from '../../../lambdas/tasks/dsl.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  recordItem,
  seed,
  spyLogger,
  storedMarkers,
  storedPayload,
  storedRecord,
  storedRows,
  transitionItem,
  transitionRecord,
  transitionSk,
  type SpyLogger,
} from '../support/records.js';
import { itemOf, namedPayload, nestedRecord, nestedTask, stepPayload, type NestedTask } from '../support/unit-task.js';
import { unusedPayloads } from '../support/payloads.js';

const ddb = mockClient(DynamoDBDocumentClient);

let table: FakeTable;
let nested: NestedTask;
let logger: SpyLogger;
let deps: StepRunnerDeps;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().install(ddb);
  nested = nestedTask();
  logger = spyLogger();
  deps = { repository, tasks: nested.tasks, logger, payloads: unusedPayloads() };
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

/** Item `index` of the 3 items of the top-level map `each-doc`. */
const docItem = (index: number) => ({ scope: itemOf('each-doc', index, 3) });

/** [type, scope, step name] of every stored row, by seq. */
function history(record: ExecutionRecord): Array<[unknown, unknown, unknown]> {
  return storedRows(table, record).map((row) => [row.type, row.scope, (row.step as { name?: string } | null)?.name]);
}

/** What another invocation that wrote `row` first leaves in the table: the row, its marker, the count. */
function writtenElsewhere(record: ExecutionRecord, marker: string, row: Partial<Parameters<typeof transitionRecord>[1]>): void {
  const stored = storedRecord(table, record);
  const seq = Number(stored.transition_count) + 1;
  table.put({ ...stored, transition_count: seq });
  table.put(transitionItem(record.tenant, transitionRecord(record, { from: 'running', to: 'running', currentStep: record.stepIndex, nextStep: record.stepIndex, ...row, seq })));
  table.put({ pk: stored.pk, sk: `MARK#${marker}`, seq });
}

/** A throttled DynamoDB call, as the SDK reports it. */
function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

describe('locateStep', () => {
  it('finds a nested step by name, with its index in its own sequence and the top-level step it is in', () => {
    const record = nestedRecord();

    const located = locateStep(nested.tasks, namedPayload(record, 'read-part', 0, {}));

    expect(located).toMatchObject({ index: 0, topIndex: 1, nested: true, step: { kind: 'step', name: 'read-part' } });
    expect(locateStep(nested.tasks, namedPayload(record, 'tag-doc', 1, {}))).toMatchObject({ index: 1, topIndex: 0, nested: true });
    expect(locateStep(nested.tasks, namedPayload(record, 'slow-path', 0, {}))).toMatchObject({ index: 0, topIndex: 2, nested: true });
  });

  it('finds a top-level step by name, and by index when the payload names none', () => {
    const record = nestedRecord();

    expect(locateStep(nested.tasks, namedPayload(record, 'finalize', 4, {}))).toMatchObject({ index: 4, topIndex: 4, nested: false });
    expect(locateStep(nested.tasks, stepPayload(record, 4, {}))).toMatchObject({ index: 4, topIndex: 4, nested: false, step: { name: 'finalize' } });
  });

  it('finds nothing when the index the payload gives is not the named step\'s, the name is unknown or the task is', () => {
    const record = nestedRecord();

    expect(locateStep(nested.tasks, namedPayload(record, 'tag-doc', 0, {}))).toBeUndefined();
    expect(locateStep(nested.tasks, namedPayload(record, 'no-such-step', 0, {}))).toBeUndefined();
    expect(locateStep(nested.tasks, { ...namedPayload(record, 'left', 0, {}), task_id: 'retired' })).toBeUndefined();
  });

  it('resolves only Lambda steps: a nested sleep or invoke is a deployment error', () => {
    const record = nestedRecord();

    expect(resolveStep(nested.tasks, namedPayload(record, 'left', 0, {})).step.name).toBe('left');
    expect(() => resolveStep(nested.tasks, namedPayload(record, 'pause', 0, {}))).toThrow('No Lambda step pause in task unit-nested: redeploy the state machine');
    expect(() => resolveStep(nested.tasks, namedPayload(record, 'lookup', 1, {}))).toThrow(/No Lambda step lookup/);
  });
});

describe('runStep of a nested step', () => {
  it('opens the map item, records each step in its scope and closes the item as one of the map\'s items done, leaving the top-level step where it is', async () => {
    const record = running();
    nested.handler.mockImplementation((input, context) => ({ step: context.stepName, input }));

    const first = await runStep(deps, namedPayload(record, 'summarize-doc', 0, 'a.pdf', { ...docItem(0), opens: 1 }));
    const second = await runStep(deps, namedPayload(record, 'tag-doc', 1, first, { ...docItem(0), closes: 1 }));

    expect(first).toEqual({ step: 'summarize-doc', input: 'a.pdf' });
    expect(second).toEqual({ step: 'tag-doc', input: first });
    expect(history(record)).toEqual([
      ['init', undefined, undefined],
      ['start', undefined, 'each-doc'],
      ['init_branch', 'each-doc[0]', undefined],
      ['step', 'each-doc[0]', 'summarize-doc'],
      ['step', 'each-doc[0]', 'tag-doc'],
      ['finish_branch', 'each-doc[0]', undefined],
    ]);
    const rows = storedRows(table, record);
    expect(rows[2]).toMatchObject({ from: 'running', to: 'running', step: null, current_step: 0, next_step: 0 });
    expect(storedPayload(rows[2]?.output)).toEqual({ map: 'each-doc', index: 0, total: 3 });
    expect(rows[4]).toMatchObject({ step: { index: 1, name: 'tag-doc' }, current_step: 0, next_step: 0 });
    expect(storedPayload(rows[4]?.output)).toEqual(second);
    expect(storedPayload(rows[5]?.output)).toEqual({ map: 'each-doc', index: 0, total: 3 });
    expect(storedMarkers(table, record)).toEqual({
      'open:each-doc[0]': 3,
      'step:each-doc[0]:summarize-doc': 4,
      'step:each-doc[0]:tag-doc': 5,
      'close:each-doc[0]': 6,
    });
    expect(storedRecord(table, record)).toMatchObject({
      status: 'running',
      transition_count: 6,
      step_index: 0,
      step_name: 'each-doc',
      steps_completed: 0,
      branches_done: 1,
      step_fraction: 1 / 3,
      progress_message: '1 of 3 items done',
    });
  });

  it('gives the handler the payload input and a context with the step\'s index in its own sequence', async () => {
    const record = running();
    nested.handler.mockResolvedValue('tagged');

    await runStep(deps, namedPayload(record, 'tag-doc', 1, { summary: 's' }, docItem(2), 3));

    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(nested.handler).toHaveBeenCalledWith(
      { summary: 's' },
      expect.objectContaining({ executionId: record.id, taskId: 'unit-nested', stepIndex: 1, stepName: 'tag-doc', attempt: 3 }),
    );
  });

  it('counts every item closed: the last of three shows the map step complete', async () => {
    const record = running();
    nested.handler.mockResolvedValue('tagged');

    for (const index of [2, 0, 1]) await runStep(deps, namedPayload(record, 'tag-doc', 1, {}, { ...docItem(index), closes: 1 }));

    expect(storedRecord(table, record)).toMatchObject({ branches_done: 3, step_fraction: 1, progress_message: '3 of 3 items done', steps_completed: 0 });
    expect(history(record).filter(([type]) => type === 'finish_branch').map(([, scope]) => scope)).toEqual(['each-doc[2]', 'each-doc[0]', 'each-doc[1]']);
  });

  it('closes a parallel branch as one of the parallel\'s branches', async () => {
    const record = running({ stepIndex: 1 });
    nested.handler.mockResolvedValue('left done');

    await runStep(deps, namedPayload(record, 'left', 0, {}, { segments: [{ name: 'both', index: 0, total: 3 }], opens: 1, closes: 1 }));

    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'both[0]', undefined],
      ['step', 'both[0]', 'left'],
      ['finish_branch', 'both[0]', undefined],
    ]);
    expect(storedPayload(storedRows(table, record)[4]?.output)).toEqual({ parallel: 'both', index: 0, total: 3 });
    expect(storedRecord(table, record)).toMatchObject({ branches_done: 1, step_fraction: 1 / 3, progress_message: '1 of 3 branches done', step_index: 1 });
  });

  it('closes a choice case without counting it: only one case runs (a payload with an explicit null scope, as compiled before nulls were left out)', async () => {
    const record = running({ stepIndex: 2, progressMessage: 'before the choice' });
    nested.handler.mockResolvedValue('fast');

    await runStep(deps, namedPayload(record, 'fast-path', 0, {}, { scope: null, segments: [{ name: 'route', index: 0 }], opens: 1, closes: 1 }));

    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'route[0]', undefined],
      ['step', 'route[0]', 'fast-path'],
      ['finish_branch', 'route[0]', undefined],
    ]);
    expect(storedPayload(storedRows(table, record)[4]?.output)).toEqual({ choice: 'route', index: 0 });
    const stored = storedRecord(table, record);
    expect(stored.branches_done).toBeUndefined();
    expect(stored).toMatchObject({ step_fraction: 0, progress_message: 'before the choice' });
  });

  it('closes levels innermost first, and only the outermost (a branch of a top-level parallel) counts', async () => {
    const record = running({ stepIndex: 1 });
    nested.handler.mockResolvedValue('part');
    const branch = { name: 'both', index: 2, total: 3, unit: 'branches' as const };

    await runStep(deps, namedPayload(record, 'read-part', 0, {}, { scope: itemOf('each-part', 1, 2, branch), opens: 2, closes: 2 }));

    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'both[2]', undefined],
      ['init_branch', 'both[2]/each-part[1]', undefined],
      ['step', 'both[2]/each-part[1]', 'read-part'],
      ['finish_branch', 'both[2]/each-part[1]', undefined],
      ['finish_branch', 'both[2]', undefined],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ branches_done: 1, progress_message: '1 of 3 branches done' });
  });

  it('returns the recorded output without running the handler or writing anything when a nested step is retried after its row exists', async () => {
    const record = running();
    nested.handler.mockResolvedValueOnce({ run: 1 }).mockResolvedValue({ run: 2 });
    const payload = namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(1), opens: 1 });
    await runStep(deps, payload);
    ddb.resetHistory();

    const retried = await runStep(deps, { ...payload, attempt: 1 });

    expect(retried).toEqual({ run: 1 });
    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    const pk = storedRecord(table, record).pk;
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk, sk: 'MARK#step:each-doc[1]:summarize-doc' }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk, sk: transitionSk(4) }, ConsistentRead: true });
    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'each-doc[1]', undefined],
      ['step', 'each-doc[1]', 'summarize-doc'],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 4 });
  });

  it('writes no second close when a nested step that closed its item is retried: the close marker refuses it', async () => {
    const record = running();
    nested.handler.mockResolvedValueOnce({ run: 1 }).mockResolvedValue({ run: 2 });
    const payload = namedPayload(record, 'tag-doc', 1, {}, { ...docItem(1), closes: 1 });
    await runStep(deps, payload);
    const before = table.all();

    const retried = await runStep(deps, { ...payload, attempt: 1 });

    expect(retried).toEqual({ run: 1 });
    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(table.all()).toEqual(before);
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 4, branches_done: 1, progress_message: '1 of 3 items done' });
  });

  it('returns the other invocation\'s output when it recorded the same nested step first, writing no second row but still closing the item', async () => {
    const record = running();
    nested.handler.mockResolvedValue({ from: 'this invocation' });
    table.beforeNextTransaction(() =>
      writtenElsewhere(record, 'step:each-doc[0]:tag-doc', { type: 'step', step: { index: 1, name: 'tag-doc' }, scope: 'each-doc[0]', output: { from: 'the other invocation' } }),
    );

    const output = await runStep(deps, namedPayload(record, 'tag-doc', 1, {}, { ...docItem(0), closes: 1 }));

    expect(output).toEqual({ from: 'the other invocation' });
    expect(history(record).slice(2)).toEqual([
      ['step', 'each-doc[0]', 'tag-doc'],
      ['finish_branch', 'each-doc[0]', undefined],
    ]);
    expect(storedMarkers(table, record)).toEqual({ 'step:each-doc[0]:tag-doc': 3, 'close:each-doc[0]': 4 });
    expect(storedRecord(table, record)).toMatchObject({ transition_count: 4, branches_done: 1 });
  });

  it('returns the other invocation\'s output even when what it recorded is null', async () => {
    const record = running();
    nested.handler.mockResolvedValue({ from: 'this invocation' });
    table.beforeNextTransaction(() =>
      writtenElsewhere(record, 'step:each-doc[0]:summarize-doc', { type: 'step', step: { index: 0, name: 'summarize-doc' }, scope: 'each-doc[0]', output: null }),
    );

    const output = await runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, docItem(0)));

    expect(output).toBeNull();
    expect(history(record).slice(2)).toEqual([['step', 'each-doc[0]', 'summarize-doc']]);
  });

  it('writes init_branch once when another invocation opened the same level first, and goes on to run the step', async () => {
    const record = running();
    nested.handler.mockResolvedValue('summary');
    table.beforeNextTransaction(() =>
      writtenElsewhere(record, 'open:each-doc[0]', { type: 'init_branch', scope: 'each-doc[0]', output: { map: 'each-doc', index: 0, total: 3 } }),
    );

    const output = await runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(0), opens: 1 }));

    expect(output).toBe('summary');
    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'each-doc[0]', undefined],
      ['step', 'each-doc[0]', 'summarize-doc'],
    ]);
    expect(storedMarkers(table, record)).toEqual({ 'open:each-doc[0]': 3, 'step:each-doc[0]:summarize-doc': 4 });
  });

  it('opens a shared level once when the first steps of several items race to open it, with a gapless seq', async () => {
    const record = running({ stepIndex: 1 });
    nested.handler.mockImplementation((_input, context: StepContext) => `part of ${context.stepName}`);
    const branch = { name: 'both', index: 2, total: 3, unit: 'branches' as const };

    const outputs = await Promise.all(
      [0, 1, 2].map((index) => runStep(deps, namedPayload(record, 'read-part', 0, {}, { scope: itemOf('each-part', index, 3, branch), opens: 2, closes: 1 }))),
    );

    expect(outputs).toEqual(['part of read-part', 'part of read-part', 'part of read-part']);
    const rows = storedRows(table, record);
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: rows.length }, (_, index) => index + 1));
    const scopes = (type: string) => rows.filter((row) => row.type === type).map((row) => String(row.scope)).sort();
    expect(scopes('init_branch')).toEqual(['both[2]', 'both[2]/each-part[0]', 'both[2]/each-part[1]', 'both[2]/each-part[2]']);
    expect(scopes('step')).toEqual(['both[2]/each-part[0]', 'both[2]/each-part[1]', 'both[2]/each-part[2]']);
    expect(scopes('finish_branch')).toEqual(['both[2]/each-part[0]', 'both[2]/each-part[1]', 'both[2]/each-part[2]']);
    expect(rows).toHaveLength(2 + 4 + 3 + 3);
    // The branch opens before any item in it; each item opens, records its step, then closes.
    const branchOpened = rows.find((row) => row.type === 'init_branch' && row.scope === 'both[2]')!.seq as number;
    for (const index of [0, 1, 2]) {
      const own = rows.filter((row) => row.scope === `both[2]/each-part[${index}]`);
      expect(own.map((row) => row.type)).toEqual(['init_branch', 'step', 'finish_branch']);
      expect(own[0]!.seq as number).toBeGreaterThan(branchOpened);
    }
    expect(storedRecord(table, record)).toMatchObject({ transition_count: rows.length, status: 'running' });
    expect(storedRecord(table, record).branches_done).toBeUndefined();
  });

  it('records one row when a duplicated invocation of the same nested step runs at the same time, both returning the recorded output', async () => {
    const record = running();
    let run = 0;
    nested.handler.mockImplementation(() => ({ run: ++run }));
    const payload = namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(0), opens: 1 });

    const [a, b] = await Promise.all([runStep(deps, payload), runStep(deps, { ...payload, attempt: 1 })]);

    expect(a).toEqual(b);
    expect(history(record).slice(2)).toEqual([
      ['init_branch', 'each-doc[0]', undefined],
      ['step', 'each-doc[0]', 'summarize-doc'],
    ]);
    expect(storedPayload(storedRows(table, record)[3]?.output)).toEqual(a);
  });

  it('closes the item on a retry when the first attempt recorded the step but failed to close', async () => {
    const record = running();
    nested.handler.mockResolvedValueOnce({ run: 1 }).mockResolvedValue({ run: 2 });
    const payload = namedPayload(record, 'tag-doc', 1, {}, { ...docItem(0), closes: 1 });
    table.beforeNextTransaction(() => undefined);
    table.beforeNextTransaction(() => {
      throw throttling();
    });
    await expect(runStep(deps, payload)).rejects.toBeInstanceOf(StepRuntimeError);
    expect(history(record).slice(2)).toEqual([['step', 'each-doc[0]', 'tag-doc']]);

    const retried = await runStep(deps, { ...payload, attempt: 1 });

    expect(retried).toEqual({ run: 1 });
    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(history(record).slice(2)).toEqual([
      ['step', 'each-doc[0]', 'tag-doc'],
      ['finish_branch', 'each-doc[0]', undefined],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ branches_done: 1, progress_message: '1 of 3 items done' });
  });

  it('refuses a nested step of a cancelled execution: ExecutionEnded, handler not run, nothing written', async () => {
    const record = running({ status: 'cancelled', completedAt: '2026-01-02T04:00:00.000Z' });

    const run = runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(0), opens: 1 }));

    await expect(run).rejects.toBeInstanceOf(ExecutionEndedError);
    expect(nested.handler).not.toHaveBeenCalled();
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(storedMarkers(table, record)).toEqual({});
  });

  it('ends with ExecutionEnded, recording neither the step nor the close, when the execution is cancelled while the handler runs', async () => {
    const record = running();
    nested.handler.mockImplementation(() => {
      table.put(recordItem({ ...record, status: 'cancelled', transitionCount: 4, completedAt: record.createdAt }));
      return 'late';
    });

    await expect(runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(0), opens: 1, closes: 1 }))).rejects.toBeInstanceOf(
      ExecutionEndedError,
    );

    expect(nested.handler).toHaveBeenCalledTimes(1);
    expect(history(record).map(([type]) => type)).toEqual(['init', 'start', 'init_branch']);
    expect(storedMarkers(table, record)).toEqual({ 'open:each-doc[0]': 3 });
  });

  it('only logs a nested step\'s own progress: the item and branch counts are the execution\'s progress', async () => {
    const record = running();
    nested.handler.mockImplementation(async (_input, context: StepContext) => {
      await context.reportProgress(0.5, 'half the document');
      return 'summary';
    });

    await runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, docItem(0)));

    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(logger.info).toHaveBeenCalledWith('nested step progress', { fraction: 0.5, message: 'half the document' });
    expect(storedRecord(table, record)).toMatchObject({ step_fraction: 0 });
  });

  it('starts a queued execution before opening the first branch of a top-level parallel', async () => {
    const record = nestedRecord({ stepIndex: 0, status: 'queued', transitionCount: 1, startedAt: undefined });
    seed(table, record, [transitionRecord(record)]);
    nested.handler.mockResolvedValue('ok');

    await runStep(deps, namedPayload(record, 'summarize-doc', 0, {}, { ...docItem(0), opens: 1 }));

    expect(history(record)).toEqual([
      ['init', undefined, undefined],
      ['start', undefined, 'each-doc'],
      ['init_branch', 'each-doc[0]', undefined],
      ['step', 'each-doc[0]', 'summarize-doc'],
    ]);
    expect(storedRecord(table, record)).toMatchObject({ status: 'running', started_at: expect.any(String) });
  });
});
