import * as z from 'zod/mini';
import { defineTask, step } from 'async-executions/tasks';
import { heavyTask } from './heavy-task.js';
import { lightTask } from './light-task.js';

/** Returned by the inline task's step. */
export const INLINE_MARKER = 'inline-task-marker-31fa';

/**
 * A tasks module of three tasks, for measuring what each step function bundles: a light task and
 * a heavy one, each exported from a file of its own (their step functions bundle just that file),
 * and a task defined inline in `tasks`, which no file exports by name (its step function falls
 * back to the whole module, both other tasks included).
 */
export const tasks = [
  lightTask,
  heavyTask,
  defineTask({
    id: 'inline-task',
    description: 'Reference: defined inline, exported only through the tasks array.',
    kind: 'reference',
    input: z.strictObject({}),
    examples: [{}],
    steps: [step('echo', () => ({ marker: INLINE_MARKER }))],
  }),
];
