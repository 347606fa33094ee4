import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalScheduler, type LocalEventBridgeSchedulerOptions, type LocalSchedulerEndpoint } from '../../../local/eventbridge-scheduler.js';

// The local EventBridge Scheduler, driven through the real SDK client (its REST-JSON serializers),
// as the schedules function drives it in `npm start`.

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Stack-Run';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:Stack-DeadLetters';

const running: LocalSchedulerEndpoint[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const endpoint of running.splice(0)) await endpoint.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  readonly endpoint: LocalSchedulerEndpoint;
  readonly client: SchedulerClient;
  readonly invocations: Array<{ arn: string; event: unknown }>;
  readonly deadLetters: Array<{ queue: string; body: string; attributes: Readonly<Record<string, string>> }>;
}

async function start(options: Partial<LocalEventBridgeSchedulerOptions> = {}): Promise<Started> {
  const invocations: Started['invocations'] = [];
  const deadLetters: Started['deadLetters'] = [];
  const endpoint = await startLocalScheduler({
    region: 'us-east-1',
    account: '000000000000',
    groups: ['Stack-Group'],
    invoke: async (arn, event) => {
      invocations.push({ arn, event });
    },
    hasFunction: (arn) => arn === FUNCTION_ARN,
    deadLetter: async (queue, body, attributes) => {
      deadLetters.push({ queue, body, attributes });
    },
    ...options,
  });
  running.push(endpoint);
  const client = new SchedulerClient({ endpoint: endpoint.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { endpoint, client, invocations, deadLetters };
}

function schedule(name: string, overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    GroupName: 'Stack-Group',
    ScheduleExpression: 'rate(1 minute)',
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Target: {
      Arn: FUNCTION_ARN,
      RoleArn: 'arn:aws:iam::000000000000:role/Stack-Invoke',
      Input: JSON.stringify({ schedule_id: name, scheduled_time: '<aws.scheduler.scheduled-time>' }),
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      DeadLetterConfig: { Arn: QUEUE_ARN },
    },
    ...overrides,
  };
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('the local EventBridge Scheduler API (SDK client)', () => {
  it('creates, gets, updates, lists and deletes schedules in the SDK\'s shapes', async () => {
    const { client } = await start();
    const created = await client.send(new CreateScheduleCommand(schedule('sch_a', { StartDate: new Date('2030-01-01T00:00:00Z'), Description: 'a' })));
    expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/Stack-Group/sch_a');

    const got = await client.send(new GetScheduleCommand({ Name: 'sch_a', GroupName: 'Stack-Group' }));
    expect(got).toMatchObject({
      Name: 'sch_a',
      GroupName: 'Stack-Group',
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Description: 'a',
      StartDate: new Date('2030-01-01T00:00:00Z'),
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: FUNCTION_ARN, DeadLetterConfig: { Arn: QUEUE_ARN } },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);

    await client.send(new UpdateScheduleCommand({ ...schedule('sch_a'), State: 'DISABLED', ScheduleExpression: 'cron(0 9 ? * MON-FRI *)', ScheduleExpressionTimezone: 'Europe/Paris' }));
    expect(await client.send(new GetScheduleCommand({ Name: 'sch_a', GroupName: 'Stack-Group' }))).toMatchObject({
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
    });

    for (const name of ['sch_b', 'sch_c', 'other']) await client.send(new CreateScheduleCommand(schedule(name, { State: 'DISABLED' })));
    const page = await client.send(new ListSchedulesCommand({ GroupName: 'Stack-Group', NamePrefix: 'sch_', MaxResults: 2 }));
    expect(page.Schedules?.map((item) => item.Name)).toEqual(['sch_a', 'sch_b']);
    const rest = await client.send(new ListSchedulesCommand({ GroupName: 'Stack-Group', NamePrefix: 'sch_', NextToken: page.NextToken! }));
    expect(rest.Schedules?.map((item) => item.Name)).toEqual(['sch_c']);
    expect(rest.NextToken).toBeUndefined();

    await client.send(new DeleteScheduleCommand({ Name: 'sch_a', GroupName: 'Stack-Group' }));
    await expect(client.send(new GetScheduleCommand({ Name: 'sch_a', GroupName: 'Stack-Group' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers Scheduler\'s errors with their exception types', async () => {
    const { client } = await start();
    await client.send(new CreateScheduleCommand(schedule('dup')));
    await expect(client.send(new CreateScheduleCommand(schedule('dup')))).rejects.toBeInstanceOf(ConflictException);
    await expect(client.send(new UpdateScheduleCommand(schedule('missing')))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new DeleteScheduleCommand({ Name: 'missing', GroupName: 'Stack-Group' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new CreateScheduleCommand(schedule('g', { GroupName: 'no-such-group' })))).rejects.toBeInstanceOf(ResourceNotFoundException);
    for (const bad of [
      schedule('bad', { ScheduleExpression: 'rate(5 seconds)' }),
      schedule('bad', { ScheduleExpression: 'cron(0 12 * * ?)' }),
      schedule('bad', { ScheduleExpressionTimezone: 'Mars/Base' }),
      schedule('bad', { EndDate: new Date('2020-01-01T00:00:00Z') }),
      schedule('bad', { Target: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:Elsewhere', RoleArn: 'r' } }),
      schedule('bad name!'),
    ]) {
      await expect(client.send(new CreateScheduleCommand(bad))).rejects.toBeInstanceOf(ValidationException);
    }
  });
});

describe('the local EventBridge Scheduler over raw HTTP', () => {
  it('answers a body that is not a JSON object, an unknown path and an unknown method with Scheduler\'s error types, never a 500', async () => {
    const { endpoint } = await start();
    const send = (method: string, path: string, body?: string) => fetch(`${endpoint.endpoint}${path}`, { method, ...(body === undefined ? {} : { body }) });
    for (const [method, path, body, status, type] of [
      ['POST', '/schedules/x', '{not json', 400, 'ValidationException'],
      ['POST', '/schedules/x', '[1,2]', 400, 'ValidationException'],
      ['POST', '/schedules/x', 'null', 400, 'ValidationException'],
      ['POST', '/schedules/x', JSON.stringify({ __proto__: { ScheduleExpression: 'rate(1 minute)' } }), 400, 'ValidationException'],
      ['POST', `/schedules/${'n'.repeat(65)}`, '{}', 400, 'ValidationException'],
      ['GET', '/schedules/a/b', undefined, 404, 'ResourceNotFoundException'],
      ['PATCH', '/schedules/x', '{}', 405, 'ValidationException'],
    ] as const) {
      const response = await send(method, path, body);
      expect(response.status, `${method} ${path} ${body}`).toBe(status);
      expect(response.headers.get('x-amzn-errortype')).toBe(type);
      expect(((await response.json()) as { Message: string }).Message).toEqual(expect.any(String));
    }
  });
});

describe('the local EventBridge Scheduler firing', () => {
  it('fires a rate(1 minute) schedule several times in a second on a clock 60 000 times faster, with the scheduled time filled in', async () => {
    const { client, endpoint, invocations } = await start({ timeScale: 60_000 });
    endpoint.scheduler.start();
    await client.send(new CreateScheduleCommand(schedule('fast')));
    await until(() => invocations.length >= 4);
    const times = invocations.slice(0, 4).map(({ event }) => Date.parse((event as { scheduled_time: string }).scheduled_time));
    expect(invocations[0]!.arn).toBe(FUNCTION_ARN);
    expect((invocations[0]!.event as { schedule_id: string }).schedule_id).toBe('fast');
    // One minute apart on the scheduler's clock.
    expect(times.slice(1).map((time, index) => time - times[index]!)).toEqual([60_000, 60_000, 60_000]);
  });

  it('does not fire a DISABLED schedule, and fires it once ENABLED by an update', async () => {
    const { client, endpoint, invocations } = await start({ timeScale: 60_000 });
    endpoint.scheduler.start();
    await client.send(new CreateScheduleCommand(schedule('off', { State: 'DISABLED' })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(invocations).toHaveLength(0);
    await client.send(new UpdateScheduleCommand(schedule('off', { State: 'ENABLED' })));
    await until(() => invocations.length >= 1);
  });

  it('retries a failing target as its retry policy says, then sends the run to its dead-letter queue', async () => {
    let attempts = 0;
    const { client, endpoint, deadLetters } = await start({
      timeScale: 1000,
      invoke: async () => {
        attempts++;
        throw new Error('the run function failed');
      },
    });
    endpoint.scheduler.start();
    await client.send(new CreateScheduleCommand(schedule('failing', { ScheduleExpression: 'rate(1 day)' })));
    await until(() => deadLetters.length >= 1);
    expect(attempts).toBe(3);
    expect(deadLetters[0]).toMatchObject({ queue: QUEUE_ARN, attributes: { ERROR_CODE: 'TargetInvocationFailed', ERROR_MESSAGE: 'the run function failed' } });
    expect(JSON.parse(deadLetters[0]!.body)).toMatchObject({ schedule_id: 'failing' });
  });

  it('keeps its schedules and its clock in its file across a restart, and does not fire a time twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-scheduler-'));
    dirs.push(dir);
    const file = join(dir, 'schedules.json');
    const first = await start({ timeScale: 60_000, file });
    first.endpoint.scheduler.start();
    await first.client.send(new CreateScheduleCommand(schedule('kept')));
    await until(() => first.invocations.length >= 2);
    await first.endpoint.stop();
    const before = first.invocations.map(({ event }) => (event as { scheduled_time: string }).scheduled_time);

    const second = await start({ timeScale: 60_000, file });
    expect((await second.client.send(new GetScheduleCommand({ Name: 'kept', GroupName: 'Stack-Group' }))).State).toBe('ENABLED');
    second.endpoint.scheduler.start();
    await until(() => second.invocations.length >= 2);
    const after = second.invocations.map(({ event }) => (event as { scheduled_time: string }).scheduled_time);
    expect(after.filter((time) => before.includes(time))).toEqual([]);
    expect(Date.parse(after[0]!)).toBeGreaterThan(Date.parse(before.at(-1)!));
  });

  it('fires at() once and deletes it when its ActionAfterCompletion is DELETE', async () => {
    const { client, endpoint, invocations } = await start({ timeScale: 1 });
    endpoint.scheduler.start();
    const soon = new Date(Date.now() + 1500).toISOString().slice(0, 19);
    await client.send(new CreateScheduleCommand(schedule('once', { ScheduleExpression: `at(${soon})`, ActionAfterCompletion: 'DELETE' })));
    await until(() => invocations.length >= 1, 4000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(invocations).toHaveLength(1);
    await expect(client.send(new GetScheduleCommand({ Name: 'once', GroupName: 'Stack-Group' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});
