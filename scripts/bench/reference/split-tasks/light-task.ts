import * as z from 'zod/mini';
import { defineTask, step } from 'async-executions/tasks';

/** Returned by the light task's step: a step function's bundle holds it only if it holds that step's code. */
export const LIGHT_MARKER = 'light-task-marker-5c1d';

/** A task that imports nothing heavy: its step functions should carry the step runtime and little more. */
export const lightTask = defineTask({
  id: 'light-task',
  description: 'Reference: one cheap step.',
  kind: 'reference',
  input: z.strictObject({ n: z.int() }),
  examples: [{ n: 1 }],
  steps: [step('echo', (input: { n: number }) => ({ n: input.n, marker: LIGHT_MARKER }))],
});
