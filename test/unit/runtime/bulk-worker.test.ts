import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedriveExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bulkReplayKey, newBulkJobId, toBulkItemView, type BulkJob } from '../../../lambdas/domain/bulk.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { BULK_ACTIVE_PK, BulkStore, bulkItemsPk, bulkPk, queuedJob } from '../../../lambdas/repository/bulk-store.js';
import { RecoveryStore } from '../../../lambdas/repository/recovery-store.js';
import {
  bulkMessageBody,
  mapBounded,
  parseBulkMessage,
  processBulkMessage,
  sweepBulkJobs,
  type BulkMessage,
  type BulkWorkerDeps,
} from '../../../lambdas/runtime/bulk-worker.js';
import { samplePipeline } from '../../support/sample-tasks.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { unusedPlaceholders } from '../support/expression-names.js';
import { executionRecord, seed, spyLogger, storedRecord, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const TENANT = 'default';
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const OPTIONS = { tableName: 'bulk-table', cursorSecret: 'test-secret' };

let table: FakeTable;
let store: BulkStore;
let sent: BulkMessage[];
let clock: number;
let deps: BulkWorkerDeps;

// DynamoDB refuses a request that declares a name or value no expression uses; the fake does not.
afterEach(() => {
  expect(unusedPlaceholders(ddb)).toEqual([]);
});

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  table = new FakeTable().install(ddb);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  store = new BulkStore(client, OPTIONS);
  sent = [];
  clock = T0 + 60_000;
  deps = {
    store,
    control: {
      repository: new RecoveryStore(client, OPTIONS),
      sfn: new SFNClient({}),
      logger: spyLogger(),
      stateMachineArn: (id) => `arn:sm:${id}`,
      tasks: new Map([[samplePipeline.id, samplePipeline]]),
      limited: async () => false,
    },
    send: async (message) => void sent.push(message),
    logger: spyLogger(),
    leaseMs: 120_000,
    pageSize: 4,
    concurrency: 3,
    now: () => clock,
  };
});

/** `count` running executions of a task, created one ms apart before the job. */
function executions(count: number, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const record = executionRecord({ id: newExecutionId(T0 - 10_000 + index), status: 'running', taskId: 'sample-pipeline', ...overrides });
    seed(table, record);
    return record;
  });
}

async function acceptedJob(fields: Partial<BulkJob> = {}): Promise<BulkJob> {
  const job = { ...queuedJob({ tenant: TENANT, id: newBulkJobId(T0), action: 'cancel', filter: { taskId: 'sample-pipeline' }, maxItems: 100 }, new Date(T0).toISOString()), ...fields };
  await store.create(job);
  return job;
}

/** Handles messages as the queue would deliver them, one after another, until none is left. */
async function drain(first: BulkMessage, using: BulkWorkerDeps = deps): Promise<string[]> {
  const results: string[] = [];
  const queue = [first];
  for (let message = queue.shift(); message; message = queue.shift()) {
    const before = sent.length;
    results.push(await processBulkMessage(using, message));
    queue.push(...sent.slice(before));
  }
  return results;
}

const statusOf = (record: ExecutionRecord) => storedRecord(table, record).status;

describe('processing a job page by page', () => {
  it('cancels every matching execution, one result each, and ends succeeded with the counts', async () => {
    const records = executions(10);
    const job = await acceptedJob();
    const results = await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(results).toEqual(['processed', 'processed', 'finished']);
    expect(records.map(statusOf)).toEqual(records.map(() => 'cancelled'));
    expect(sfn).toHaveReceivedCommandTimes(StopExecutionCommand, 10);
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { cause: `Cancelled by bulk action ${job.id}` });
    const done = await store.get(TENANT, job.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: { matched: 10, succeeded: 10, failed: 0, skipped: 0 }, limitReached: false });
    expect(table.partition(bulkItemsPk(TENANT, job.id))).toHaveLength(10);
    expect(table.item(bulkPk(TENANT), 'ACTIVE')?.active_jobs).toBe(0);
  });

  it('records an execution that is already terminal as skipped with the 409 of the single cancel, not as a job failure', async () => {
    const [running] = executions(1);
    const [done] = executions(1, { id: newExecutionId(T0 - 5_000), status: 'succeeded', completedAt: '2026-03-01T11:00:00.000Z' });
    const job = await acceptedJob({ filter: {} });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(statusOf(running!)).toBe('cancelled');
    expect(statusOf(done!)).toBe('succeeded');
    const items = (await store.listResults(TENANT, job.id, 10)).items;
    expect(items.find((item) => item.executionId === done!.id)).toMatchObject({ outcome: 'skipped', problem: { status: 409, type: '/problems/conflict' } });
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 2, succeeded: 1, skipped: 1 } });
  });

  it('uses the job\'s reason as each cancel\'s reason', async () => {
    const [record] = executions(1);
    const job = await acceptedJob({ reason: 'Superseded by v2' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(storedRecord(table, record!).cancel_reason).toBe('Superseded by v2');
  });

  it('does not match executions created after the job was accepted (snapshot)', async () => {
    const before = executions(2);
    const job = await acceptedJob();
    const after = executionRecord({ id: newExecutionId(T0 + 1), status: 'running' });
    seed(table, after);
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(before.map(statusOf)).toEqual(['cancelled', 'cancelled']);
    expect(statusOf(after)).toBe('running');
  });

  it('stops at max_items and says the limit was reached', async () => {
    const records = executions(6);
    const job = await acceptedJob({ maxItems: 5 });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(records.map(statusOf).filter((status) => status === 'cancelled')).toHaveLength(5);
    expect(statusOf(records[5]!)).toBe('running');
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', limitReached: true, progress: { matched: 5 } });
  });

  it('a cancel job by tag cancels only the executions carrying the tag, skipping stale index items, page after page', async () => {
    const all = executions(9);
    const tagged = all.filter((_, index) => index % 2 === 0);
    const indexItem = (record: ExecutionRecord) => table.put({ pk: `TAG#${TENANT}#nightly`, sk: record.id, tenant: TENANT, id: record.id });
    for (const record of tagged) {
      seed(table, { ...record, tags: ['nightly'] });
      indexItem(record);
    }
    // A stale item: the tag was removed from this execution after it was indexed.
    indexItem(all[1]!);
    const job = await acceptedJob({ filter: { tag: 'nightly' } });
    const results = await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(results).toEqual(['processed', 'finished']);
    expect(all.map(statusOf)).toEqual(all.map((_, index) => (index % 2 === 0 ? 'cancelled' : 'running')));
    expect(sfn).toHaveReceivedCommandTimes(StopExecutionCommand, tagged.length);
    expect(table.partition(bulkItemsPk(TENANT, job.id)).map((item) => item.sk)).toEqual(tagged.map((record) => record.id));
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', filter: { tag: 'nightly' }, progress: { matched: 5, succeeded: 5 } });
  });

  it('a job with nothing to match succeeds with zero counts', async () => {
    const job = await acceptedJob();
    expect(await drain({ tenant: TENANT, jobId: job.id, version: 0 })).toEqual(['finished']);
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 0 } });
  });
});

describe('duplicates and crashes', () => {
  it('a duplicate of a message already done does nothing: no action, no count', async () => {
    executions(6);
    const job = await acceptedJob();
    const first = { tenant: TENANT, jobId: job.id, version: 0 };
    expect(await processBulkMessage(deps, first)).toBe('processed');
    expect(await processBulkMessage(deps, first)).toBe('stale');
    expect(sfn).toHaveReceivedCommandTimes(StopExecutionCommand, 4);
    expect((await store.get(TENANT, job.id)).progress.matched).toBe(4);
  });

  it('a duplicate delivered while another worker holds the page does nothing', async () => {
    executions(2);
    const job = await acceptedJob();
    await store.lease(job, 'someone-else', clock, 120_000);
    expect(await processBulkMessage(deps, { tenant: TENANT, jobId: job.id, version: 0 })).toBe('busy');
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  it('a worker that dies mid-page leaves what it did recorded; the page comes back after its lease and is finished without acting twice', async () => {
    const records = executions(4);
    const job = await acceptedJob();
    // The third result write fails (the function dies there): the page throws, its message comes back.
    let puts = 0;
    const fake = table as unknown as { putCommand(input: PutCommandInput): Promise<unknown> };
    ddb.on(PutCommand).callsFake(async (input: PutCommandInput) => {
      if (String(input.Item?.pk).startsWith('BULKITEMS#') && ++puts === 3) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return fake.putCommand(input);
    });
    const message = { tenant: TENANT, jobId: job.id, version: 0 };
    await expect(processBulkMessage({ ...deps, concurrency: 1 }, message)).rejects.toThrow('socket hang up');
    expect(table.partition(bulkItemsPk(TENANT, job.id))).toHaveLength(2);
    expect((await store.get(TENANT, job.id)).progress.matched).toBe(0);

    // Redelivered at once: the lease still holds.
    expect(await processBulkMessage(deps, message)).toBe('busy');
    // Redelivered after the visibility timeout: the lease has expired.
    clock += 121_000;
    expect(await processBulkMessage(deps, message)).toBe('finished');
    expect(records.map(statusOf)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    // The third execution was cancelled by the dead worker, its result lost: found terminal again, skipped.
    expect(sfn).toHaveReceivedCommandTimes(StopExecutionCommand, 4);
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 4, succeeded: 3, skipped: 1 }, pageAttempts: 0 });
    expect(table.partition(bulkItemsPk(TENANT, job.id))).toHaveLength(4);
  });

  it('fails the job once a page has been attempted too often, giving back its place', async () => {
    executions(1);
    const job = await acceptedJob();
    table.put({ ...table.item(bulkPk(TENANT), `JOB#${job.id}`)!, page_attempts: 5, status: 'running' });
    expect(await processBulkMessage(deps, { tenant: TENANT, jobId: job.id, version: 0 })).toBe('failed');
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'failed', error: { title: 'A page of this bulk action kept failing.' } });
    expect(table.item(bulkPk(TENANT), 'ACTIVE')?.active_jobs).toBe(0);
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  it('a throttled StopExecution does not fail the item: the record is cancelled, as with the single cancel', async () => {
    sfn.on(StopExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const [record] = executions(1);
    const job = await acceptedJob();
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });
    expect(statusOf(record!)).toBe('cancelled');
    expect((await store.get(TENANT, job.id)).progress).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('a job cancelled between pages stops: its next message does nothing', async () => {
    const records = executions(8);
    const job = await acceptedJob();
    expect(await processBulkMessage(deps, { tenant: TENANT, jobId: job.id, version: 0 })).toBe('processed');
    await store.cancel(TENANT, job.id, new Date(clock).toISOString());
    expect(await processBulkMessage(deps, sent.at(-1)!)).toBe('ended');
    expect(records.map(statusOf).filter((status) => status === 'cancelled')).toHaveLength(4);
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'cancelled', progress: { matched: 4 } });
  });

  it('a message for no job, or not of this service, does nothing', async () => {
    expect(await processBulkMessage(deps, { tenant: TENANT, jobId: newBulkJobId(), version: 0 })).toBe('ended');
    for (const body of ['', 'null', '{"__proto__":{"tenant":"x"}}', '{"tenant":"t","job_id":"j","version":"0"}', '[1]']) expect(parseBulkMessage(body), body).toBeUndefined();
    const message = { tenant: 't', jobId: 'j', version: 3 };
    expect(parseBulkMessage(bulkMessageBody(message))).toEqual(message);
  });
});

/** `count` sample-pipeline executions that failed at their second step, stored as the error left them. */
function failedExecutions(count: number, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const record = executionRecord({
      id: newExecutionId(T0 - 20_000 + index),
      taskId: 'sample-pipeline',
      status: 'failed',
      transitionCount: 4,
      stepIndex: 1,
      stepName: 'analyze',
      stepsCompleted: 1,
      completedAt: '2026-03-01T11:00:00.000Z',
      error: { name: 'AnalyzerDown', message: 'the analyzer is down', step: { index: 1, name: 'analyze' } },
      ...overrides,
    });
    seed(table, record, [transitionRecord(record)]);
    return record;
  });
}

/** Every stored execution record that replays one of `records`. */
const replaysOf = (records: readonly ExecutionRecord[]) => {
  const ids = new Set(records.map((record) => record.id));
  return table.all().filter((item) => item.sk === 'META' && typeof item.replayed_from === 'string' && ids.has(item.replayed_from));
};

describe('bulk retry', () => {
  it('retries every failed execution from its failed step (one redrive each, retry_count 1) and skips one that is not failed with the single retry\'s 409', async () => {
    const failed = failedExecutions(3);
    const [running] = executions(1);
    const job = await acceptedJob({ action: 'retry' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });

    for (const record of failed) expect(storedRecord(table, record)).toMatchObject({ status: 'running', redrive_count: 1 });
    expect(sfn).toHaveReceivedCommandTimes(RedriveExecutionCommand, 3);
    for (const record of failed) expect(sfn).toHaveReceivedCommandWith(RedriveExecutionCommand, { executionArn: record.executionArn, clientToken: `${record.id}.1` });
    const items = (await store.listResults(TENANT, job.id, 10)).items;
    expect(items.find((item) => item.executionId === running!.id)).toMatchObject({ outcome: 'skipped', problem: { status: 409 } });
    expect(items.every((item) => item.resultExecutionId === undefined)).toBe(true);
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 4, succeeded: 3, skipped: 1, failed: 0 } });
  });

  it.each([
    ['ExecutionNotRedrivable', 'skipped', 409],
    ['ExecutionLimitExceeded', 'failed', 503],
  ] as const)('answers Step Functions\' %s as the route does: the item is %s (%i) and the execution is failed again', async (name, outcome, status) => {
    sfn.on(RedriveExecutionCommand).rejects(Object.assign(new Error('refused'), { name, $metadata: { httpStatusCode: 400 } }));
    const [record] = failedExecutions(1);
    const job = await acceptedJob({ action: 'retry' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });

    expect(storedRecord(table, record!)).toMatchObject({ status: 'failed' });
    const [item] = (await store.listResults(TENANT, job.id, 10)).items;
    expect(item).toMatchObject({ outcome, problem: { status } });
    expect((await store.get(TENANT, job.id)).status).toBe('succeeded');
  });

  it('fails the item with a 404 when the execution\'s task is no longer deployed, redriving nothing', async () => {
    const [record] = failedExecutions(1);
    const job = await acceptedJob({ action: 'retry' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 }, { ...deps, control: { ...deps.control, tasks: new Map() } });

    expect(storedRecord(table, record!).status).toBe('failed');
    expect(sfn).not.toHaveReceivedCommand(RedriveExecutionCommand);
    expect((await store.listResults(TENANT, job.id, 10)).items[0]).toMatchObject({ outcome: 'failed', problem: { status: 404 } });
  });
});

describe('bulk replay', () => {
  it('starts one new execution per match with the same task, input and metadata, replayed_from the match, and records its id as the item\'s result', async () => {
    const records = [...failedExecutions(2, { metadata: { team: 'reports' } }), ...executions(1, { status: 'succeeded', completedAt: '2026-03-01T11:00:00.000Z' })];
    const job = await acceptedJob({ action: 'replay' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });

    const replays = replaysOf(records);
    expect(replays).toHaveLength(3);
    const items = (await store.listResults(TENANT, job.id, 10)).items;
    for (const record of records) {
      const item = items.find((candidate) => candidate.executionId === record.id)!;
      expect(item.outcome).toBe('succeeded');
      const replay = replays.find((candidate) => candidate.id === item.resultExecutionId);
      expect(replay, record.id).toMatchObject({ replayed_from: record.id, task_id: record.taskId, status: 'queued' });
      expect(toBulkItemView(item).result_execution_id).toBe(item.resultExecutionId);
      expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: item.resultExecutionId, input: JSON.stringify({ tenant: TENANT, input: record.input }) });
    }
    expect((await deps.control.repository.get(TENANT, items[0]!.resultExecutionId!)).metadata).toEqual({ team: 'reports' });
    // The replays were created after the job was accepted: the job never matches its own replays.
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 3, succeeded: 3 } });
  });

  it('holds the replays of a tenant with concurrency limits for admission (written queued and held, not started), as a create would be', async () => {
    const records = failedExecutions(2);
    deps = { ...deps, control: { ...deps.control, limited: async (tenant) => tenant === TENANT } };
    const job = await acceptedJob({ action: 'replay' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });

    const replays = replaysOf(records);
    expect(replays).toHaveLength(2);
    for (const replay of replays) expect(replay).toMatchObject({ status: 'queued', held: true });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('a page done again after its worker died replays nothing twice: the Idempotency-Key of the job and execution finds the replay already started', async () => {
    const records = failedExecutions(4);
    const job = await acceptedJob({ action: 'replay' });
    // The third result write fails after its replay was started (the function dies there).
    let puts = 0;
    const fake = table as unknown as { putCommand(input: PutCommandInput): Promise<unknown> };
    ddb.on(PutCommand).callsFake(async (input: PutCommandInput) => {
      if (String(input.Item?.pk).startsWith('BULKITEMS#') && ++puts === 3) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return fake.putCommand(input);
    });
    const message = { tenant: TENANT, jobId: job.id, version: 0 };
    await expect(processBulkMessage({ ...deps, concurrency: 1 }, message)).rejects.toThrow('socket hang up');
    expect(replaysOf(records)).toHaveLength(3);
    const startedByDeadWorker = replaysOf(records).find((item) => item.replayed_from === records[2]!.id)!.id;

    clock += 121_000;
    expect(await processBulkMessage(deps, message)).toBe('finished');

    const replays = replaysOf(records);
    expect(replays).toHaveLength(4);
    expect(new Set(replays.map((item) => item.replayed_from))).toEqual(new Set(records.map((record) => record.id)));
    const items = (await store.listResults(TENANT, job.id, 10)).items;
    expect(items.find((item) => item.executionId === records[2]!.id)).toMatchObject({ outcome: 'succeeded', resultExecutionId: startedByDeadWorker });
    // Step Functions was asked to start 4 executions only (a still-queued replay is started again under its own name).
    expect(new Set(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name))).toEqual(new Set(replays.map((item) => item.id)));
    expect(table.all().filter((item) => String(item.pk).startsWith(`IDEM#${TENANT}#`))).toHaveLength(4);
    expect(await store.get(TENANT, job.id)).toMatchObject({ status: 'succeeded', progress: { matched: 4, succeeded: 4 } });
  });

  it('derives each replay\'s Idempotency-Key from the job and the execution: another job, or another execution, has another key', () => {
    expect(bulkReplayKey('bulk_a', 'exec_1')).not.toBe(bulkReplayKey('bulk_b', 'exec_1'));
    expect(bulkReplayKey('bulk_a', 'exec_1')).not.toBe(bulkReplayKey('bulk_a', 'exec_2'));
    expect(bulkReplayKey('bulk_a', 'exec_1')).toBe(bulkReplayKey('bulk_a', 'exec_1'));
  });

  it('a StartExecution refused beyond the SDK\'s retries fails the item with the route\'s 503 and the new execution is recorded failed', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const records = failedExecutions(1);
    const job = await acceptedJob({ action: 'replay' });
    await drain({ tenant: TENANT, jobId: job.id, version: 0 });

    const [replay] = replaysOf(records);
    expect(replay).toMatchObject({ status: 'failed' });
    expect((await store.listResults(TENANT, job.id, 10)).items[0]).toMatchObject({ outcome: 'failed', problem: { status: 503 } });
  });
});

describe('the sweep', () => {
  it('queues again the next page of an idle job whose message was lost, and leaves alone jobs being worked or recently moved', async () => {
    const stalled = await acceptedJob();
    const fresh = await acceptedJob({ id: newBulkJobId(T0 + 1), createdAt: new Date(clock).toISOString(), updatedAt: new Date(clock).toISOString() });
    const leased = await acceptedJob({ id: newBulkJobId(T0 + 2) });
    await store.lease(leased, 'w', clock, 600_000);
    const finished = await acceptedJob({ id: newBulkJobId(T0 + 3) });
    await store.cancel(TENANT, finished.id, new Date(T0).toISOString());
    const queued = await sweepBulkJobs({ store, send: deps.send, logger: spyLogger(), stallMs: 30_000, now: () => clock });
    expect(queued).toBe(1);
    expect(sent).toEqual([{ tenant: TENANT, jobId: stalled.id, version: 0 }]);
    expect(fresh.id).not.toBe(stalled.id);
    expect(table.partition(BULK_ACTIVE_PK)).toHaveLength(3);
  });
});

describe('bounded concurrency', () => {
  it('runs at most the limit at once and keeps results in order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
