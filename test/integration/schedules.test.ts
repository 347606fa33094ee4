import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../local/state-file.js';
import type { Execution } from './client.js';
import { killStartedStacks, PROCESS_API_KEY, spawnStack, waitUntil } from './stack-process.js';

// Recurring schedules on the local stack: its EventBridge Scheduler (a real endpoint the schedules
// function calls through the SDK) fires them through the local Lambda host into the run function,
// which starts ordinary executions. The stack's scheduler clock runs 60 times faster than real
// time (--scheduler-time-scale 60): a `rate(1 minute)` schedule fires every second.

const base = mkdtempSync(join(tmpdir(), 'schedules-it-'));
afterAll(async () => {
  await killStartedStacks();
  rmSync(base, { recursive: true, force: true });
});

interface Schedule {
  readonly id: string;
  readonly status: string;
  readonly synced: boolean;
  readonly expression: string;
  readonly timezone: string;
  readonly executions_url: string;
}

interface RunExecution extends Execution {
  readonly schedule_id: string | null;
}

async function call<T>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${PROCESS_API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Every run of a schedule, as `GET /executions?schedule_id=` lists them (newest first). */
async function runsOf(url: string, scheduleId: string): Promise<RunExecution[]> {
  const reply = await call<{ items: RunExecution[] }>(url, 'GET', `/executions?schedule_id=${scheduleId}&limit=100`);
  expect(reply.status).toBe(200);
  return reply.body.items;
}

async function waitForRuns(url: string, scheduleId: string, count: number, timeoutMs = 20_000): Promise<RunExecution[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await runsOf(url, scheduleId);
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId}: ${runs.length} runs, not ${count}, within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const scheduledTime = (run: RunExecution): number => Date.parse((run.metadata as { scheduled_time: string }).scheduled_time);

describe('recurring schedules on the local stack', () => {
  it('fire on the accelerated clock as ordinary executions linked by schedule_id; pause stops them, resume and a restart go on, delete ends them', async () => {
    const dir = join(base, 'stack');
    const first = spawnStack(dir, ['--persist', '--scheduler-time-scale', '60']);
    const { url, dynamodbPid } = await first.ready;

    const created = await call<Schedule>(url, 'POST', '/schedules', { task_id: 'test-noop', rate: 'rate(1 minute)', input: { n: 3 }, metadata: { team: 'it' } });
    expect(created.status).toBe(201);
    const schedule = created.body;
    expect(schedule).toMatchObject({ status: 'active', synced: true, expression: 'rate(1 minute)', timezone: 'UTC' });

    // Several runs in seconds: each an execution of the task, linked to the schedule, one scheduled minute apart.
    const runs = await waitForRuns(url, schedule.id, 3);
    for (const run of runs) {
      expect(run).toMatchObject({ task_id: 'test-noop', schedule_id: schedule.id, input: { n: 3 }, metadata: { team: 'it', schedule_id: schedule.id } });
    }
    const times = runs.map(scheduledTime).sort((a, b) => a - b);
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(60_000);
    const oldest = runs.at(-1)!;
    expect((await call<RunExecution>(url, 'GET', `/executions/${oldest.id}`)).body.schedule_id).toBe(schedule.id);
    const done = await (async () => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const execution = (await call<RunExecution>(url, 'GET', `/executions/${oldest.id}`)).body;
        if (execution.status === 'succeeded' || Date.now() > deadline) return execution;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    expect(done).toMatchObject({ status: 'succeeded', output: { n: 3 } });

    // A cron schedule in a time zone fires too (every minute of its clock: every second here).
    const cron = (await call<Schedule>(url, 'POST', '/schedules', { task_id: 'test-noop', cron: 'cron(* * ? * * *)', timezone: 'Europe/Paris', input: { n: 4 } })).body;
    expect(cron).toMatchObject({ expression: 'cron(* * ? * * *)', timezone: 'Europe/Paris' });
    await waitForRuns(url, cron.id, 2);
    expect((await call(url, 'DELETE', `/schedules/${cron.id}`)).status).toBe(204);

    // Paused: no run starts (give a run already under way a moment to land first).
    expect((await call<Schedule>(url, 'POST', `/schedules/${schedule.id}/pause`)).body).toMatchObject({ status: 'paused', synced: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = (await runsOf(url, schedule.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await runsOf(url, schedule.id)).length).toBe(whilePaused);

    // Resumed: runs go on.
    expect((await call<Schedule>(url, 'POST', `/schedules/${schedule.id}/resume`)).body).toMatchObject({ status: 'active', synced: true });
    const resumed = await waitForRuns(url, schedule.id, whilePaused + 2);
    const lastBefore = Math.max(...resumed.map(scheduledTime));

    // Killed outright and started again: the schedule (table item and Scheduler schedule) is still there and still fires, never a time twice.
    first.child.kill('SIGKILL');
    await waitUntil(() => !isRunning(dynamodbPid), 10_000, 'DynamoDB Local of the killed stack');
    const second = spawnStack(dir, ['--persist', '--scheduler-time-scale', '60']);
    const next = await second.ready;
    expect((await call<Schedule>(next.url, 'GET', `/schedules/${schedule.id}`)).body).toMatchObject({ status: 'active', synced: true });
    const listed = (await call<{ items: Schedule[] }>(next.url, 'GET', '/schedules')).body.items;
    expect(listed.map((item) => item.id)).toEqual([schedule.id]);
    const before = (await runsOf(next.url, schedule.id)).length;
    const after = await waitForRuns(next.url, schedule.id, before + 2);
    const newTimes = after.map(scheduledTime).filter((time) => time > lastBefore);
    expect(newTimes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(after.map(scheduledTime)).size).toBe(after.length);

    // Deleted: 404, and no run starts any more.
    expect((await call(next.url, 'DELETE', `/schedules/${schedule.id}`)).status).toBe(204);
    expect((await call(next.url, 'GET', `/schedules/${schedule.id}`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whenDeleted = (await runsOf(next.url, schedule.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await runsOf(next.url, schedule.id)).length).toBe(whenDeleted);
    expect((await call<{ items: Schedule[] }>(next.url, 'GET', '/schedules')).body.items).toEqual([]);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 240_000);

  it('answers 400 for an expression or time zone EventBridge would refuse, naming the field', async () => {
    const dir = join(base, 'checks');
    const stack = spawnStack(dir, []);
    const { url } = await stack.ready;
    for (const [body, path] of [
      [{ cron: '0 9 * * * *' }, '/cron'],
      [{ rate: 'rate(30 seconds)' }, '/rate'],
      [{ rate: 'rate(1 hour)', timezone: 'Mars/Olympus_Mons' }, '/timezone'],
    ] as const) {
      const reply = await call<{ errors: Array<{ path: string }> }>(url, 'POST', '/schedules', { task_id: 'test-noop', input: { n: 1 }, ...body });
      expect(reply.status).toBe(400);
      expect(reply.body.errors.map((error) => error.path)).toContain(path);
    }
    expect((await call(url, 'GET', `/executions?schedule_id=nope`)).status).toBe(400);
    stack.child.kill('SIGTERM');
    await stack.exited;
  }, 90_000);
});
