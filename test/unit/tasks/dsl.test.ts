import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { definitionSiteOf } from '../../../lambdas/tasks/definition-site.js';
import { defineTask, step, waitForInput, type Step, type TaskDefinition } from '../../../lambdas/tasks/dsl.js';

const input = z.strictObject({ n: z.number() });
const noop = (value: unknown) => value;

function definition(overrides: Partial<TaskDefinition<typeof input>> = {}): TaskDefinition<typeof input> {
  return {
    id: 'sample-task',
    description: 'A sample.',
    kind: 'pipeline',
    input,
    examples: [{ n: 1 }],
    steps: [step('one', noop), step('two', noop)],
    ...overrides,
  };
}

describe('step', () => {
  it('defaults to a 300 s timeout and two retries with exponential backoff on any error', () => {
    const defined = step('fetch', noop);

    expect(defined).toMatchObject({
      kind: 'step',
      name: 'fetch',
      timeoutSeconds: 300,
      retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 60, errors: ['States.ALL'] },
    });
  });

  it('keeps the given options and runs the given handler', async () => {
    const defined = step('fetch', (value: { n: number }) => ({ doubled: value.n * 2 }), {
      timeoutSeconds: 900,
      retry: { maxAttempts: 5, errors: ['Lambda.TooManyRequestsException'] },
    });

    expect(defined.timeoutSeconds).toBe(900);
    expect(defined.retry).toEqual({
      maxAttempts: 5,
      intervalSeconds: 1,
      backoffRate: 2,
      maxDelaySeconds: 60,
      errors: ['Lambda.TooManyRequestsException'],
    });
    const context = { executionId: 'e', taskId: 't', stepIndex: 0, stepName: 'fetch', attempt: 0, reportProgress: async () => undefined };
    expect(await defined.run({ n: 2 }, context)).toEqual({ doubled: 4 });
  });

  it('turns retries off with retry: false', () => {
    expect(step('once', noop, { retry: false }).retry).toBe(false);
  });

  it.each([0, -1, 1.5, 901, Number.NaN])('throws for timeoutSeconds %s', (timeoutSeconds) => {
    expect(() => step('slow', noop, { timeoutSeconds })).toThrow(/Step slow: timeoutSeconds must be an integer from 1 to 900/);
  });
});

describe('waitForInput', () => {
  it('defaults to a one-day timeout without prompt or schema', () => {
    expect(waitForInput('review')).toEqual({ kind: 'wait', name: 'review', timeoutSeconds: 86_400 });
  });

  it('keeps prompt, schema and timeout, up to a year', () => {
    const schema = z.object({ ok: z.boolean() });

    const wait = waitForInput('review', { prompt: 'OK?', input: schema, timeoutSeconds: 365 * 86_400 });

    expect(wait).toEqual({ kind: 'wait', name: 'review', prompt: 'OK?', input: schema, timeoutSeconds: 365 * 86_400 });
  });

  it('throws for a timeout over a year', () => {
    expect(() => waitForInput('review', { timeoutSeconds: 365 * 86_400 + 1 })).toThrow(/Wait review: timeoutSeconds/);
  });
});

describe('defineTask', () => {
  it('returns a valid definition unchanged', () => {
    const valid = definition();

    expect(defineTask(valid)).toBe(valid);
  });

  it.each(['Sample', 'sample_task', '1sample', 'sample-', '-sample', 'sample--task', 'a'.repeat(41), ''])(
    'throws for the task id %j',
    (id) => {
      expect(() => defineTask(definition({ id }))).toThrow(/Task id must be kebab-case and at most 40 characters/);
    },
  );

  it('accepts a 40-character kebab-case id with digits', () => {
    const id = `task-${'a'.repeat(30)}-v2-x`.slice(0, 40);

    expect(defineTask(definition({ id })).id).toBe(id);
  });

  it('throws for a task without steps', () => {
    expect(() => defineTask(definition({ steps: [] }))).toThrow('Task sample-task has no steps');
  });

  it('throws for a step name used twice, also across step kinds', () => {
    const twice: Step[] = [step('one', noop), waitForInput('one')];

    expect(() => defineTask(definition({ steps: twice }))).toThrow('Task sample-task: step name "one" is used twice');
  });

  it.each(['One', 'step one', 'step_one', 'x'.repeat(61)])('throws for the step name %j', (name) => {
    expect(() => defineTask(definition({ steps: [step(name, noop)] }))).toThrow(/step name must be kebab-case/);
  });

  it('throws without an example input', () => {
    expect(() => defineTask(definition({ examples: [] }))).toThrow('Task sample-task needs at least one example input');
  });

  it('records the file that defined the task, beside it: the definition is unchanged, and other objects have no site', () => {
    const valid = definition();

    const defined = defineTask(valid);

    expect(definitionSiteOf(defined)).toBe(import.meta.filename);
    expect(Object.keys(defined).sort()).toEqual(['description', 'examples', 'id', 'input', 'kind', 'steps']);
    expect(definitionSiteOf({ ...defined })).toBeUndefined();
    expect(definitionSiteOf(definition())).toBeUndefined();
  });

  it('throws for an example that does not match the input schema', () => {
    const examples = [{ n: 1 }, { n: 'one' } as unknown as { n: number }];

    expect(() => defineTask(definition({ examples }))).toThrow(/example \{"n":"one"\} does not match its input schema/);
  });
});

describe('task timeoutSeconds', () => {
  it('is absent unless given, so the state machine computes one', () => {
    expect(defineTask(definition()).timeoutSeconds).toBeUndefined();
  });

  it('accepts a timeout equal to the longest single step', () => {
    const steps = [step('one', noop, { timeoutSeconds: 30 }), waitForInput('gate', { timeoutSeconds: 600 })];

    expect(defineTask(definition({ steps, timeoutSeconds: 600 })).timeoutSeconds).toBe(600);
  });

  it('throws for a timeout shorter than the longest single step, naming that step', () => {
    const steps = [step('one', noop, { timeoutSeconds: 30 }), waitForInput('gate', { timeoutSeconds: 600 })];

    expect(() => defineTask(definition({ steps, timeoutSeconds: 599 }))).toThrow(
      'Task sample-task: timeoutSeconds (599) is shorter than step "gate" (600)',
    );
  });

  it.each([0, -5, 1.5, Number.NaN, 365 * 86_400 + 1])('throws for timeoutSeconds %s', (timeoutSeconds) => {
    expect(() => defineTask(definition({ timeoutSeconds }))).toThrow(/Task sample-task: timeoutSeconds must be an integer from 1 to 31536000/);
  });
});
