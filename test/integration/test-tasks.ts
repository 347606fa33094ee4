import * as z from 'zod/mini';
import { defineTask, step, waitForInput } from '../../lambdas/tasks/dsl.js';
import { tasks as sampleTasks } from '../support/sample-tasks.js';
import { flowTasks } from './flow-tasks.js';

/**
 * The integration suite's tasks module: the global setup synthesizes the test stack with it and
 * the local stack serves exactly these tasks (the sample tasks, then tasks for single behaviours).
 */
export const tasks = [
  ...sampleTasks,
  ...flowTasks,
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
    id: 'test-bulk-cli',
    description: 'One long wait; only the CLI\'s bulk test creates it.',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [waitForInput('hold', { timeoutSeconds: 3600 })],
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
    id: 'test-large-output',
    description: 'A step that returns `kb` KiB of text: over 250 it exceeds the step payload limit.',
    kind: 'test',
    input: z.strictObject({ kb: z.int().check(z.minimum(1), z.maximum(1024)) }),
    examples: [{ kb: 1 }],
    // The default retry policy (States.ALL): the refusal must still not be retried.
    steps: [step('summarize', (input: { kb: number }) => ({ text: 'x'.repeat(input.kb * 1024) }))],
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
