import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTasksModule, PROJECT_DIR } from '../../infra/tasks-module.js';
import { synthForLocal } from '../../local/synth.js';
import { functionUrlPlaceholder, loadStackModel, localFunctionUrls } from '../../local/template.js';

/**
 * What the local stack reads of a template whose step functions bundle their own task each: it maps
 * every step function to the step handler with its step, memory and timeout, and resolves `#tasks`
 * of every function, step functions included, to the one whole tasks module (docs/local.md).
 */
const SPLIT_TASKS = join(PROJECT_DIR, 'scripts/bench/reference/split-tasks/index.ts');
const out = mkdtempSync(join(tmpdir(), 'local-model-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the local stack model of per-step functions', async () => {
  const template = synthForLocal(out, await loadTasksModule(SPLIT_TASKS));
  const model = loadStackModel(template, { region: 'us-east-1', account: '000000000000', stackName: 'AsyncExecutions', stackId: 'stack-id' });
  const steps = model.functions.filter((fn) => fn.step !== undefined);

  it('maps each step function to the step handler, with its step, memory and timeout', () => {
    expect(steps.map((fn) => fn.step).sort()).toEqual(['heavy-task/parse', 'inline-task/echo', 'light-task/echo']);
    for (const fn of steps) expect(fn).toMatchObject({ entry: 'runtime/step-handler.ts', memoryMb: 1024, timeoutSeconds: 305 });
    expect(model.functions.filter((fn) => fn.step === undefined).map((fn) => fn.entry)).not.toContain('runtime/step-handler.ts');
  });

  it('resolves #tasks of every function, step functions included, to the whole tasks module', () => {
    expect(model.tasksModule).toBe(SPLIT_TASKS);
  });
});

describe('the local stack model of the streaming Function URL', async () => {
  const template = synthForLocal(out, await loadTasksModule(SPLIT_TASKS));
  const model = loadStackModel(template, { region: 'us-east-1', account: '000000000000', stackName: 'AsyncExecutions', stackId: 'stack-id' });
  const [url] = model.streamingUrls;
  const events = model.functions.find((fn) => fn.entry === 'api/executions-events.ts')!;

  it("gives the events function the URL's address as a placeholder, which the stack replaces with where it serves the URL", () => {
    expect(model.streamingUrls).toHaveLength(1);
    expect(events.environment.EVENTS_STREAM_URL).toBe(functionUrlPlaceholder(url!.logicalId));

    const local = localFunctionUrls(events.environment, new Map([[url!.logicalId, 'http://127.0.0.1:4321/']]));

    expect(local.EVENTS_STREAM_URL).toBe('http://127.0.0.1:4321/');
    expect(local.TABLE_NAME).toBe(events.environment.TABLE_NAME);
  });

  it('names the schedule group for the local Scheduler and resolves what the schedules function is told: the group, the run function, the invoke role and the dead-letter queue', () => {
    expect(model.scheduleGroups).toHaveLength(1);
    const schedules = model.functions.find((fn) => fn.entry.endsWith('api/schedules.ts'))!;
    const run = model.functions.find((fn) => fn.entry.endsWith('runtime/schedule-run-handler.ts'))!;
    const deadLetters = model.queues.find((queue) => queue.logicalId.startsWith('SchedulesDeadLetters'))!;
    expect(schedules.environment).toMatchObject({
      SCHEDULE_GROUP: model.scheduleGroups[0],
      SCHEDULE_TARGET_ARN: run.arn,
      SCHEDULE_ROLE_ARN: expect.stringMatching(/^arn:aws:iam::000000000000:role\/AsyncExecutions-SchedulesInvokeRole/),
      SCHEDULE_DEAD_LETTER_ARN: deadLetters.arn,
    });
  });
});
