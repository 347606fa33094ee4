import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as readHandler } from '../../../lambdas/api/executions-read.js';
import type { ScheduleRecord } from '../../../lambdas/domain/schedules.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { ScheduleStore } from '../../../lambdas/repository/schedule-store.js';
import { handler } from '../../../lambdas/runtime/schedule-run-handler.js';
import { runSchedule, type ScheduleRunDeps } from '../../../lambdas/runtime/schedule-run.js';
import type { ScheduleRunEvent } from '../../../lambdas/runtime/schedule-sync.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { createStore } from '../../../lambdas/shared/stores.js';
import { buildTaskCatalogue } from '../../../lambdas/tasks/catalogue.js';
import { TASKS } from '../../../lambdas/tasks/registry.js';
import { apiEvent, lambdaContext, parse } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { STATE_MACHINE_ARN_PREFIX, spyLogger } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const CATALOGUE_TASKS = new Map(buildTaskCatalogue([...TASKS.values()]).tasks.map((task) => [task.id, task]));
const ID = `sch_${'1'.repeat(32)}`;
const AT = '2026-11-30T09:00:00Z';

let table: FakeTable;
let schedules: ScheduleStore;
let deps: ScheduleRunDeps;

function schedule(overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  const now = '2026-11-30T08:00:00.000Z';
  return {
    id: ID,
    tenant: 'default',
    taskId: 'unit-task',
    expression: 'rate(1 hour)',
    timezone: 'UTC',
    input: { n: 7 },
    metadata: { team: 'ops' },
    state: 'active',
    synced: true,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

const event = (overrides: Partial<ScheduleRunEvent> = {}): ScheduleRunEvent => ({ tenant: 'default', schedule_id: ID, scheduled_time: AT, ...overrides });

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
  schedules = new ScheduleStore(documentClient, repositoryOptions);
  deps = {
    repository: createStore(),
    schedules,
    sfn: sfnClient,
    logger: spyLogger(),
    tasks: CATALOGUE_TASKS,
    stateMachineArn: (taskId) => `${STATE_MACHINE_ARN_PREFIX}${taskId}`,
  };
});

/** The runs of the schedule as `GET /executions?schedule_id=` lists them. */
async function runsListed(scheduleId = ID, tenant = 'default'): Promise<ExecutionView[]> {
  const response = await readHandler(apiEvent('GET /executions', { query: { schedule_id: scheduleId }, tenant }), lambdaContext());
  return parse<{ items: ExecutionView[] }>(response).body.items;
}

describe('runSchedule', () => {
  it('starts an ordinary execution of the task with the schedule\'s input, linked by schedule_id and group_key, metadata naming the run', async () => {
    await schedules.create(schedule());

    const result = await runSchedule(deps, event());

    expect(result.outcome).toBe('started');
    const started = sfn.commandCalls(StartExecutionCommand);
    expect(started).toHaveLength(1);
    expect(JSON.parse(started[0]!.args[0].input.input!)).toEqual({ tenant: 'default', input: { n: 7 } });
    const runs = await runsListed();
    expect(runs).toHaveLength(1);
    expect(table.item(`EXEC#default#${runs[0]!.id}`, 'META')).toMatchObject({ schedule_id: ID, group_key: `T#default#SCHEDULE#${ID}`, task_id: 'unit-task', status: 'queued' });
    expect(runs[0]).toMatchObject({ schedule_id: ID, metadata: { team: 'ops', schedule_id: ID, scheduled_time: AT } });
  });

  it('starts one execution for a duplicated invocation of the same scheduled time (the second replays it), and one per time', async () => {
    await schedules.create(schedule());

    const first = await runSchedule(deps, event());
    const again = await runSchedule(deps, event());
    const next = await runSchedule(deps, event({ scheduled_time: '2026-11-30T10:00:00Z' }));

    expect(first.outcome).toBe('started');
    expect(again).toEqual({ outcome: 'replayed', executionId: first.outcome === 'started' ? first.executionId : '' });
    expect(next.outcome).toBe('started');
    // A replay of a run still queued starts it again under the same name, which Step Functions takes as the same execution.
    expect(new Set(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name)).size).toBe(2);
    expect(await runsListed()).toHaveLength(2);
  });

  it('starts one execution when duplicates arrive at once', async () => {
    await schedules.create(schedule());
    const results = await Promise.all([runSchedule(deps, event()), runSchedule(deps, event()), runSchedule(deps, event())]);
    const ids = new Set(results.map((result) => (result.outcome === 'skipped' ? '' : result.executionId)));
    expect(ids.size).toBe(1);
    expect(await runsListed()).toHaveLength(1);
  });

  it.each([
    ['paused', schedule({ state: 'paused' }), /is paused/],
    ['being deleted', schedule({ state: 'deleting' }), /is deleting/],
    ['of a task no longer deployed', schedule({ taskId: 'gone-task' }), /no longer deployed/],
    ['whose input no longer fits its task', schedule({ input: { n: 'seven' } }), /no longer fits/],
  ])('skips a schedule %s: no execution', async (_name, stored, reason) => {
    await schedules.create(stored);
    const result = await runSchedule(deps, event());
    expect(result).toEqual({ outcome: 'skipped', reason: expect.stringMatching(reason) });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('skips a deleted schedule, another tenant\'s, and events that name none (hostile shapes included)', async () => {
    await schedules.create(schedule({ tenant: 'other' }));
    for (const bad of [
      event(),
      event({ schedule_id: `sch_${'2'.repeat(32)}` }),
      event({ schedule_id: '__proto__' }),
      event({ scheduled_time: 'yesterday' }),
      { tenant: 'default' } as unknown as ScheduleRunEvent,
      null as unknown as ScheduleRunEvent,
      JSON.parse('{"__proto__":{"tenant":"default","schedule_id":"x"}}') as ScheduleRunEvent,
    ]) {
      expect((await runSchedule(deps, bad)).outcome).toBe('skipped');
    }
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('throws when the execution cannot start, so Scheduler retries (and its DLQ keeps the run)', async () => {
    await schedules.create(schedule());
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(runSchedule(deps, event())).rejects.toThrow(/could not be started/);
  });
});

describe('the run handler (Lambda entry)', () => {
  it('runs the event Scheduler sends and answers what it did', async () => {
    await schedules.create(schedule());
    const result = await handler(event(), lambdaContext());
    expect(result.outcome).toBe('started');
    expect(await runsListed()).toHaveLength(1);
    expect(await runsListed(ID, 'other')).toHaveLength(0);
  });
});
