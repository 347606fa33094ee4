import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { toTaskView } from '../../../lambdas/tasks/catalogue.js';
import { choice, defineTask, invoke, map, parallel, runTask, sleep, step, waitForInput } from '../../../lambdas/tasks/dsl.js';

const noop = (value: unknown) => value;
const DEFAULT_RETRY = { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 60, errors: ['States.ALL'] };

const task = defineTask({
  id: 'nested-view',
  description: 'Every kind of step.',
  kind: 'test',
  input: z.strictObject({ docs: z.array(z.string()) }),
  examples: [{ docs: ['a'] }],
  steps: [
    step('prepare', noop, { retry: false, timeoutSeconds: 30 }),
    map('each-doc', { items: 'docs', maxConcurrency: 5 }, [step('summarize', noop), sleep('pause', { path: 'pause_seconds' }), invoke('lookup', 'lookup-fn')]),
    parallel('both', [
      [step('left', noop)],
      [map('each-part', {}, [runTask('child', 'other-task', { inputPath: 'job', timeoutSeconds: 600 })]), step('right', noop)],
    ]),
    choice(
      'route',
      [
        { when: { path: 'fast', equals: true }, steps: [step('fast-path', noop)] },
        { when: { and: [{ path: 'n', greaterThan: 3 }, { not: { path: 'skip', present: true } }] }, steps: [sleep('cool-down', 30), step('slow-path', noop)] },
      ],
      [step('fallback', noop)],
    ),
    waitForInput('approve', { prompt: 'OK?', input: z.object({ ok: z.boolean() }), timeoutSeconds: 600 }),
    runTask('spawn', 'other-task'),
    step('done', noop),
  ],
});

describe('toTaskView of nested steps', () => {
  const view = toTaskView(task);
  const [prepare, eachDoc, both, route, approve, spawn] = view.steps;

  it('lists the top-level steps with their index and kind', () => {
    expect(view.steps.map((entry) => [entry.index, entry.name, entry.kind])).toEqual([
      [0, 'prepare', 'step'],
      [1, 'each-doc', 'map'],
      [2, 'both', 'parallel'],
      [3, 'route', 'choice'],
      [4, 'approve', 'wait'],
      [5, 'spawn', 'run-task'],
      [6, 'done', 'step'],
    ]);
    expect(prepare).toEqual({ index: 0, name: 'prepare', kind: 'step', timeout_seconds: 30, retry: false });
  });

  it('shows a map\'s items path, concurrency, mode and its steps indexed within it, each with its own fields', () => {
    expect(eachDoc).toEqual({
      index: 1,
      name: 'each-doc',
      kind: 'map',
      path: 'docs',
      max_concurrency: 5,
      distributed: false,
      steps: [
        { index: 0, name: 'summarize', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY },
        { index: 1, name: 'pause', kind: 'sleep', path: 'pause_seconds' },
        { index: 2, name: 'lookup', kind: 'invoke', timeout_seconds: 300, retry: DEFAULT_RETRY },
      ],
    });
  });

  it('shows a parallel\'s branches, each indexed from 0, a map without items path inside one', () => {
    expect(both?.branches).toEqual([
      [{ index: 0, name: 'left', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY }],
      [
        {
          index: 0,
          name: 'each-part',
          kind: 'map',
          max_concurrency: 10,
          distributed: false,
          steps: [{ index: 0, name: 'child', kind: 'run-task', task_id: 'other-task', timeout_seconds: 600, path: 'job' }],
        },
        { index: 1, name: 'right', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY },
      ],
    ]);
    expect(both).not.toHaveProperty('steps');
    expect(both?.branches?.[1]?.[0]).not.toHaveProperty('path');
  });

  it('shows a choice\'s cases with their conditions as written, then the fallback', () => {
    expect(route).toEqual({
      index: 3,
      name: 'route',
      kind: 'choice',
      cases: [
        { when: { path: 'fast', equals: true }, steps: [{ index: 0, name: 'fast-path', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY }] },
        {
          when: { and: [{ path: 'n', greaterThan: 3 }, { not: { path: 'skip', present: true } }] },
          steps: [
            { index: 0, name: 'cool-down', kind: 'sleep', seconds: 30 },
            { index: 1, name: 'slow-path', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY },
          ],
        },
      ],
      otherwise: [{ index: 0, name: 'fallback', kind: 'step', timeout_seconds: 300, retry: DEFAULT_RETRY }],
    });
  });

  it('has no otherwise on a choice without a fallback', () => {
    const only = toTaskView(
      defineTask({ ...task, id: 'no-fallback', steps: [choice('route', [{ when: { path: 'a', present: true }, steps: [step('a', noop)] }])] }),
    );

    expect(only.steps[0]).not.toHaveProperty('otherwise');
  });

  it('shows a wait\'s prompt and resume schema, and a child task without an input path', () => {
    expect(approve).toMatchObject({ kind: 'wait', timeout_seconds: 600, prompt: 'OK?', input_schema: { type: 'object', required: ['ok'] } });
    expect(spawn).toEqual({ index: 5, name: 'spawn', kind: 'run-task', task_id: 'other-task', timeout_seconds: 86_400 });
  });

  it('shows a distributed map as such', () => {
    const distributed = toTaskView(defineTask({ ...task, id: 'distributed', steps: [map('fan-out', { distributed: true, maxConcurrency: 1000 }, [step('a', noop)])] }));

    expect(distributed.steps[0]).toMatchObject({ kind: 'map', distributed: true, max_concurrency: 1000 });
  });

  it('is plain JSON: it survives serialization unchanged', () => {
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
