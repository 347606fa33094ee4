import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { defineTask, map, parallel, step, waitForInput } from '../../lambdas/tasks/dsl.js';
import { tasks as sampleTasks } from '../support/sample-tasks.js';
import { flowTasks } from './flow-tasks.js';
import { payloadTasks } from './payload-tasks.js';

/**
 * The integration suite's tasks module: the global setup synthesizes the test stack with it and
 * the local stack serves exactly these tasks (the sample tasks, then tasks for single behaviours).
 */
export const tasks = [
  ...sampleTasks,
  ...flowTasks,
  ...payloadTasks,
  defineTask({
    id: 'test-noop',
    description: 'One trivial step (paging tests).',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [step('echo', (input: { n: number }) => ({ n: input.n }), { retry: false })],
  }),
  defineTask({
    id: 'test-list',
    description: 'One trivial step; only the listing tests create it, so its lists are theirs alone.',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [step('echo', (input: { n: number }) => ({ n: input.n }), { retry: false })],
  }),
  defineTask({
    id: 'test-failing',
    description: 'A step that always throws, retried twice.',
    kind: 'test',
    input: z.strictObject({}),
    examples: [{}],
    steps: [
      step('prepare', () => ({ ok: true })),
      step(
        'explode',
        (_input: unknown, context) => {
          throw new Error(`boom on attempt ${context.attempt}`);
        },
        { retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 1 } },
      ),
    ],
  }),
  defineTask({
    id: 'test-retry',
    description:
      'Three steps; the second fails until the file `ready` exists in `dir` (the test creates it, then retries). Each step ' +
      'appends its name to `dir/runs`, so a test sees which steps ran, and how often.',
    kind: 'test',
    input: z.strictObject({ dir: z.string(), n: z.int() }),
    examples: [{ dir: '/tmp', n: 1 }],
    steps: [
      step('prepare', (input: { dir: string; n: number }) => {
        appendFileSync(join(input.dir, 'runs'), 'prepare\n');
        return { ...input, n: input.n + 1 };
      }, { retry: false }),
      step('flaky', (input: { dir: string; n: number }) => {
        appendFileSync(join(input.dir, 'runs'), 'flaky\n');
        if (!existsSync(join(input.dir, 'ready'))) throw new Error('not ready yet');
        return { ...input, n: input.n * 10 };
      }, { retry: false }),
      step('finish', (input: { dir: string; n: number }) => {
        appendFileSync(join(input.dir, 'runs'), 'finish\n');
        return { n: input.n };
      }, { retry: false }),
    ],
  }),
  defineTask({
    id: 'test-retry-nested',
    description:
      'A parallel whose second branch fails until `dir/ready` exists, then a map over `items` whose item "boom" fails until ' +
      '`dir/ready-map` exists; every step appends `<step>:<value>` to `dir/runs`.',
    kind: 'test',
    input: z.strictObject({ dir: z.string(), items: z.array(z.string()) }),
    examples: [{ dir: '/tmp', items: ['a'] }],
    steps: [
      parallel('both', [
        [step('left', (input: { dir: string; items: string[] }) => {
          appendFileSync(join(input.dir, 'runs'), 'left\n');
          return input;
        }, { retry: false })],
        [step('right', (input: { dir: string; items: string[] }) => {
          appendFileSync(join(input.dir, 'runs'), 'right\n');
          if (!existsSync(join(input.dir, 'ready'))) throw new Error('right not ready');
          return input;
        }, { retry: false })],
      ]),
      step('unwrap', (both: Array<{ dir: string; items: string[] }>) => ({ dir: both[0]!.dir, items: both[0]!.items.map((item) => ({ dir: both[0]!.dir, item })) }), { retry: false }),
      map('each', { items: 'items', maxConcurrency: 1 }, [
        step('item', (input: { dir: string; item: string }) => {
          appendFileSync(join(input.dir, 'runs'), `item:${input.item}\n`);
          if (input.item === 'boom' && !existsSync(join(input.dir, 'ready-map'))) throw new Error('item not ready');
          return input.item;
        }, { retry: false }),
      ]),
    ],
  }),
  defineTask({
    id: 'test-lost-event',
    description: 'One trivial step; the test stack drops its status-change events (the reconciler heals them).',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [step('echo', (input: { n: number }) => ({ n: input.n }), { retry: false })],
  }),
  defineTask({
    id: 'test-short-wait',
    description: 'A wait that times out after 2 seconds.',
    kind: 'test',
    input: z.strictObject({}),
    examples: [{}],
    steps: [waitForInput('approval', { timeoutSeconds: 2 }), step('after', (input: unknown) => input)],
  }),
  defineTask({
    id: 'test-bulk',
    description: 'One long wait; only the bulk action tests create it, so its executions are theirs alone.',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [waitForInput('hold', { timeoutSeconds: 3600 })],
  }),
  defineTask({
    id: 'test-list-hold',
    description: 'One long wait; only the listing tests create it (lists by an active status).',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [waitForInput('hold', { timeoutSeconds: 3600 })],
  }),
  defineTask({
    id: 'test-bulk-cli',
    description: 'One long wait; only the CLI\'s bulk test creates it.',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [waitForInput('hold', { timeoutSeconds: 3600 })],
  }),
  defineTask({
    id: 'test-bulk-retry',
    description: 'Two steps; the first fails until the file `ready` exists in `dir`. Only the bulk retry and replay tests create it.',
    kind: 'test',
    input: z.strictObject({ dir: z.string(), n: z.int() }),
    examples: [{ dir: '/tmp', n: 1 }],
    steps: [
      step('flaky', (input: { dir: string; n: number }) => {
        if (!existsSync(join(input.dir, 'ready'))) throw new Error('not ready yet');
        return { ...input, n: input.n * 10 };
      }, { retry: false }),
      step('finish', (input: { dir: string; n: number }) => ({ n: input.n }), { retry: false }),
    ],
  }),
  defineTask({
    id: 'test-child-holder',
    description:
      'One wait step: a .waitForTaskToken state whose token stands in for a runTask state\'s (the child-start tests answer it through a child).',
    kind: 'test',
    input: z.strictObject({}),
    examples: [{}],
    steps: [waitForInput('child', { timeoutSeconds: 300 })],
  }),
  defineTask({
    id: 'test-slow',
    description: 'A step that runs for a while, reporting progress (cancel while running).',
    kind: 'test',
    input: z.strictObject({ ms: z.int().check(z.minimum(0), z.maximum(30_000)) }),
    examples: [{ ms: 100 }],
    steps: [
      step(
        'work',
        async (input: { ms: number }, context) => {
          const slices = 10;
          for (let i = 1; i <= slices; i++) {
            await new Promise((resolve) => setTimeout(resolve, input.ms / slices));
            await context.reportProgress(i / slices, `slice ${i}`);
          }
          return { worked_ms: input.ms };
        },
        { retry: false, timeoutSeconds: 60 },
      ),
      step('after', (input: unknown) => input),
    ],
  }),
  defineTask({
    id: 'test-step-environment',
    description: 'Each step reports the variables it sees: only the first declares one, as its function\'s own.',
    kind: 'test',
    input: z.strictObject({}),
    examples: [{}],
    steps: [
      step('declares', () => ({ declares: process.env.STEP_MARKER ?? null }), { environment: { STEP_MARKER: 'declares' }, retry: false }),
      step('inherits', (seen: { declares: string | null }) => ({ ...seen, inherits: process.env.STEP_MARKER ?? null }), { retry: false }),
    ],
  }),
];
