import * as z from 'zod/mini';
import { defineTask, step, waitForInput, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { tasks as sampleTasks } from './sample-tasks.js';

/**
 * A task that takes any JSON as its input and whose wait takes any input (no schema): inputs and
 * resume inputs, prototype-named keys and all, reach storage unvalidated.
 */
export const openWait: TaskDefinition = defineTask({
  id: 'fuzz-open-wait',
  description: 'Takes any input, waits for any input, then echoes it (fuzzing only).',
  kind: 'test',
  input: z.unknown(),
  examples: [{}],
  steps: [waitForInput('gate'), step('after', (input: unknown) => input)],
});

/**
 * The fuzz project's tasks module (vitest.config.ts aliases the functions' `#tasks` to it): the
 * sample tasks, then the task whose inputs go unvalidated.
 */
export const tasks = [...sampleTasks, openWait];
