import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/schedules.js';
import { MAX_SCHEDULES, type ScheduleView } from '../../../lambdas/domain/schedules.js';
import { ScheduleStore } from '../../../lambdas/repository/schedule-store.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const scheduler = mockClient(SchedulerClient);
const UNKNOWN_ID = `sch_${'0'.repeat(32)}`;
const BODY = { task_id: 'unit-task', cron: '0 9 ? * MON-FRI *', timezone: 'Europe/Paris', input: { n: 1 }, metadata: { team: 'ops' } };

let store: ScheduleStore;

beforeEach(() => {
  ddb.reset();
  scheduler.reset();
  new FakeTable().install(ddb);
  scheduler.resolves({ ScheduleArn: 'arn:aws:scheduler:us-east-1:123456789012:schedule/Test-schedules/x' });
  store = new ScheduleStore(documentClient, repositoryOptions);
});

function call(routeKey: string, options: RequestOptions = {}) {
  return handler(apiEvent(routeKey, options), lambdaContext());
}

const withId = (id: string, tenant?: string): RequestOptions => ({ pathParameters: { id }, ...(tenant ? { tenant } : {}) });

async function created(body: Record<string, unknown> = {}, tenant?: string): Promise<ScheduleView> {
  const response = parse<ScheduleView>(await call('POST /schedules', { body: { ...BODY, ...body }, ...(tenant ? { tenant } : {}) }));
  expect(response.status).toBe(201);
  return response.body;
}

describe('POST /schedules', () => {
  it('stores the schedule, creates its Scheduler schedule (group, target, role, DLQ, window OFF, retries), and answers 201 synced', async () => {
    const response = parse<ScheduleView>(await call('POST /schedules', { body: { ...BODY, description: 'weekday mornings' } }));

    expect(response.status).toBe(201);
    const view = response.body;
    expect(view).toEqual({
      id: expect.stringMatching(/^sch_[0-9a-f]{32}$/),
      task_id: 'unit-task',
      expression: 'cron(0 9 ? * MON-FRI *)',
      timezone: 'Europe/Paris',
      input: { n: 1 },
      metadata: { team: 'ops' },
      description: 'weekday mornings',
      start_date: null,
      end_date: null,
      status: 'active',
      synced: true,
      created_at: expect.any(String),
      updated_at: view.created_at,
      executions_url: `${API_BASE_URL}/executions?schedule_id=${view.id}`,
    });
    expect(response.headers.location).toBe(`${API_BASE_URL}/schedules/${view.id}`);
    const calls = scheduler.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toMatchObject({
      Name: view.id,
      GroupName: 'Test-schedules',
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: 'arn:aws:lambda:us-east-1:123456789012:function:Test-ScheduleRun',
        RoleArn: 'arn:aws:iam::123456789012:role/Test-SchedulerInvoke',
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:Test-ScheduleDeadLetters' },
      },
    });
    expect(JSON.parse(input.Target!.Input!)).toEqual({ tenant: 'default', schedule_id: view.id, scheduled_time: '<aws.scheduler.scheduled-time>' });
    expect(await store.find('default', view.id)).toMatchObject({ state: 'active', synced: true, version: 1 });
  });

  it('takes a rate, the bare or cron(...) form, dates, and passes the dates to Scheduler', async () => {
    const view = await created({ cron: undefined, rate: 'rate(5 minutes)', start_date: '2027-01-01T00:00:00Z', end_date: '2027-06-01T00:00:00+02:00' });
    expect(view).toMatchObject({ expression: 'rate(5 minutes)', start_date: '2027-01-01T00:00:00.000Z', end_date: '2027-05-31T22:00:00.000Z' });
    const input = scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
    expect(input.StartDate).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(input.EndDate).toEqual(new Date('2027-05-31T22:00:00Z'));
  });

  it.each([
    [{ cron: '0 9 * * * *' }, '/cron'],
    [{ cron: 'cron(0 9 ? * MON-FRI)' }, '/cron'],
    [{ cron: undefined, rate: 'rate(30 seconds)' }, '/rate'],
    [{ rate: 'rate(5 minutes)' }, ''],
    [{ cron: undefined }, ''],
    [{ timezone: 'Mars/Olympus_Mons' }, '/timezone'],
    [{ timezone: '+01:00' }, '/timezone'],
    [{ end_date: '2020-01-01T00:00:00Z' }, '/end_date'],
    [{ start_date: 'soon' }, '/start_date'],
    [{ input: { n: 'one' } }, '/input/n'],
    [{ task_id: 'no-such-task' }, '/task_id'],
    [{ metadata: [] }, '/metadata'],
    [{ every: 'day' }, ''],
    [{ description: 'x'.repeat(513) }, '/description'],
  ])('answers 400 naming the field for %o, and writes nothing', async (change, path) => {
    const problem = expectProblem(await call('POST /schedules', { body: { ...BODY, ...change } }), 400);
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect((await store.list('default', 100)).items).toHaveLength(0);
  });

  it('answers 400 for hostile bodies (prototype keys, deep and odd values) without a 500', async () => {
    for (const body of [
      JSON.parse('{"__proto__":{"task_id":"unit-task"},"cron":"0 9 ? * MON-FRI *","input":{"n":1}}') as unknown,
      { ...BODY, constructor: { prototype: {} } },
      { ...BODY, cron: { toString: '0 9 ? * MON-FRI *' } },
      { ...BODY, timezone: ['Europe/Paris'] },
      { ...BODY, cron: '0 9 ? * MON-FRI *\u202e' },
      [BODY],
      'cron',
    ]) {
      expectProblem(await call('POST /schedules', { body }), 400);
    }
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });

  it(`caps a tenant at ${MAX_SCHEDULES} schedules (409), counted per tenant`, async () => {
    for (let i = 0; i < MAX_SCHEDULES; i++) await created();
    const problem = expectProblem(await call('POST /schedules', { body: BODY }), 409);
    expect(problem.detail).toMatch(new RegExp(`at most ${MAX_SCHEDULES} schedules`));
    await created({}, 'other');
  }, 30_000);

  it('gives the place back and answers 503 when Scheduler fails, so no schedule is left half made', async () => {
    scheduler.on(CreateScheduleCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const problem = expectProblem(await call('POST /schedules', { body: BODY }), 503);
    expect(problem.detail).toMatch(/not created/);
    expect((await store.list('default', 100)).items).toHaveLength(0);
    // The counter was given back: the tenant can still create its full quota.
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'x' });
    await created();
  });

  it('pushes a pause made while its create was under way (the list shows a new schedule at once), so Scheduler ends paused too', async () => {
    scheduler.on(CreateScheduleCommand).callsFake(async (input: { Name: string }) => {
      const stored = (await store.find('default', input.Name))!;
      await store.setState(stored, 'paused', new Date().toISOString());
      return { ScheduleArn: 'x' };
    });

    const view = parse<ScheduleView>(await call('POST /schedules', { body: BODY }));

    expect(view.status).toBe(201);
    expect(view.body).toMatchObject({ status: 'paused', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((sent) => sent.args[0].input.State)).toEqual(['DISABLED']);
  });

  it('answers Scheduler\'s own ValidationException as a 400 in its words', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ValidationException({ message: 'Invalid Schedule Expression', Message: 'Invalid Schedule Expression', $metadata: {} }));
    const problem = expectProblem(await call('POST /schedules', { body: BODY }), 400);
    expect(problem.detail).toMatch(/Scheduler refused the schedule: Invalid Schedule Expression/);
    expect((await store.list('default', 100)).items).toHaveLength(0);
  });
});

describe('GET /schedules and /schedules/{id}', () => {
  it('lists the tenant\'s own schedules page by page, and no other tenant\'s', async () => {
    const mine = [await created(), await created(), await created()];
    await created({}, 'other');

    const first = parse<{ items: ScheduleView[]; next_cursor: string | null }>(await call('GET /schedules', { query: { limit: '2' } }));
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const second = parse<{ items: ScheduleView[]; next_cursor: string | null }>(
      await call('GET /schedules', { query: { limit: '2', cursor: first.body.next_cursor! } }),
    );
    const ids = [...first.body.items, ...second.body.items].map((item) => item.id).sort();
    expect(ids).toEqual(mine.map((item) => item.id).sort());
    expect(second.body.next_cursor).toBeNull();
  });

  it('answers 404 for another tenant\'s id, an unknown id and a malformed id alike', async () => {
    const theirs = await created({}, 'other');
    expectProblem(await call('GET /schedules/{id}', withId(theirs.id)), 404);
    expectProblem(await call('GET /schedules/{id}', withId(UNKNOWN_ID)), 404);
    expectProblem(await call('GET /schedules/{id}', withId('__proto__')), 404);
    expectProblem(await call('POST /schedules/{id}/pause', withId(theirs.id)), 404);
    expectProblem(await call('DELETE /schedules/{id}', withId(theirs.id)), 404);
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
    expect(scheduler.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
    expect(parse<ScheduleView>(await call('GET /schedules/{id}', withId(theirs.id, 'other'))).body.id).toBe(theirs.id);
  });
});

describe('POST /schedules/{id}/pause and /resume', () => {
  it('pauses (Scheduler DISABLED), then resumes (ENABLED); asking again for the state it has calls Scheduler no more', async () => {
    const { id } = await created();

    const paused = parse<ScheduleView>(await call('POST /schedules/{id}/pause', withId(id)));
    expect(paused.body).toMatchObject({ status: 'paused', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((sent) => sent.args[0].input.State)).toEqual(['DISABLED']);

    expect(parse<ScheduleView>(await call('POST /schedules/{id}/pause', withId(id))).body.status).toBe('paused');
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(1);

    const resumed = parse<ScheduleView>(await call('POST /schedules/{id}/resume', withId(id)));
    expect(resumed.body).toMatchObject({ status: 'active', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((sent) => sent.args[0].input.State)).toEqual(['DISABLED', 'ENABLED']);
    // The whole schedule is pushed each time: an update replaces every setting.
    expect(scheduler.commandCalls(UpdateScheduleCommand)[1]!.args[0].input).toMatchObject({ ScheduleExpression: 'cron(0 9 ? * MON-FRI *)', FlexibleTimeWindow: { Mode: 'OFF' } });
  });

  it('records a pause Scheduler did not take as paused and unsynced (503), and a repeated pause finishes it', async () => {
    const { id } = await created();
    scheduler.on(UpdateScheduleCommand).rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalServerException', $metadata: { httpStatusCode: 500 } }));

    expect(expectProblem(await call('POST /schedules/{id}/pause', withId(id)), 503).detail).toMatch(/recorded as paused/);
    expect(await store.find('default', id)).toMatchObject({ state: 'paused', synced: false });

    expect(parse<ScheduleView>(await call('POST /schedules/{id}/pause', withId(id))).body).toMatchObject({ status: 'paused', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(2);
  });

  it('pushes the newer version again when a concurrent change wrote one while its own push was under way, so Scheduler ends with the latest', async () => {
    const { id } = await created();
    let raced = false;
    scheduler.on(UpdateScheduleCommand).callsFake(async () => {
      if (!raced) {
        raced = true;
        // A resume that landed between this pause's table write and its push (and pushed first).
        const paused = (await store.find('default', id))!;
        await store.setState(paused, 'active', new Date().toISOString());
      }
      return { ScheduleArn: 'x' };
    });

    const answer = parse<ScheduleView>(await call('POST /schedules/{id}/pause', withId(id)));

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'active', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((sent) => sent.args[0].input.State)).toEqual(['DISABLED', 'ENABLED']);
    expect(await store.find('default', id)).toMatchObject({ state: 'active', synced: true, version: 3 });
  });

  it('deletes the Scheduler schedule again when the schedule was deleted while its push was under way (a late push must not leave one firing)', async () => {
    const { id } = await created();
    scheduler.on(UpdateScheduleCommand).callsFake(async () => {
      await store.delete('default', id);
      return { ScheduleArn: 'x' };
    });

    expectProblem(await call('POST /schedules/{id}/pause', withId(id)), 404);
    expect(scheduler.commandCalls(DeleteScheduleCommand).map((sent) => sent.args[0].input.Name)).toEqual([id]);
  });

  it('pauses a schedule at whatever version earlier changes left it', async () => {
    const { id } = await created();
    const stale = (await store.find('default', id))!;
    await store.setState(stale, 'paused', new Date().toISOString());
    await store.setState((await store.find('default', id))!, 'active', new Date().toISOString());

    expect(parse<ScheduleView>(await call('POST /schedules/{id}/pause', withId(id))).body).toMatchObject({ status: 'paused', synced: true });
    expect(await store.find('default', id)).toMatchObject({ state: 'paused', version: 4 });
  });

  it('creates the Scheduler schedule when a resume finds it missing (a create that died between the item and Scheduler)', async () => {
    const now = new Date().toISOString();
    const id = `sch_${'a'.repeat(32)}`;
    await store.create({ id, tenant: 'default', taskId: 'unit-task', expression: 'rate(1 hour)', timezone: 'UTC', input: { n: 1 }, metadata: {}, state: 'active', synced: false, version: 1, createdAt: now, updatedAt: now });
    expect(parse<ScheduleView>(await call('GET /schedules/{id}', withId(id))).body).toMatchObject({ status: 'active', synced: false });
    scheduler.on(UpdateScheduleCommand).rejectsOnce(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }));

    expect(parse<ScheduleView>(await call('POST /schedules/{id}/resume', withId(id))).body).toMatchObject({ status: 'active', synced: true });
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(1);
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(1);
    expect(scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toMatchObject({ Name: id, State: 'ENABLED', ScheduleExpression: 'rate(1 hour)' });
  });
});

describe('DELETE /schedules/{id}', () => {
  it('deletes the Scheduler schedule and the item (204), then 404; its place is given back', async () => {
    const { id } = await created();
    expect((await call('DELETE /schedules/{id}', withId(id))).statusCode).toBe(204);
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]!.args[0].input).toEqual({ Name: id, GroupName: 'Test-schedules' });
    expectProblem(await call('GET /schedules/{id}', withId(id)), 404);
    expectProblem(await call('DELETE /schedules/{id}', withId(id)), 404);
  });

  it('leaves a delete Scheduler refused as `deleting` (503; runs are skipped, pause is 409), and a repeated DELETE finishes it', async () => {
    const { id } = await created();
    scheduler.on(DeleteScheduleCommand).rejectsOnce(Object.assign(new Error('slow'), { name: 'TimeoutError' }));

    expectProblem(await call('DELETE /schedules/{id}', withId(id)), 503);
    expect(await store.find('default', id)).toMatchObject({ state: 'deleting' });
    expectProblem(await call('POST /schedules/{id}/resume', withId(id)), 409);

    expect((await call('DELETE /schedules/{id}', withId(id))).statusCode).toBe(204);
    expect(await store.find('default', id)).toBeUndefined();
  });

  it('treats a Scheduler schedule already gone as deleted', async () => {
    const { id } = await created();
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }));
    expect((await call('DELETE /schedules/{id}', withId(id))).statusCode).toBe(204);
  });
});
