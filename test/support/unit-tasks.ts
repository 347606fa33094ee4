import * as z from 'zod/mini';
import { choice, defineTask, invoke, map, parallel, sleep, step, waitForInput, type StepContext } from '../../lambdas/tasks/dsl.js';
import { tasks as sampleTasks } from './sample-tasks.js';

/** A Lambda step handler of a unit task, which the test sets. */
export type StepHandler = (input: unknown, context: StepContext) => unknown;

/** Until a test sets a handler, a step that runs fails loudly instead of returning nothing. */
const notSet =
  (name: string): StepHandler =>
  () => {
    throw new Error(`No handler set for unit step ${name}: call unitTask() first`);
  };

/**
 * What the unit tasks' Lambda steps call: `first` runs unit-task's first step, `last` its last step
 * and wait-first's step after the wait, `nested` every Lambda step of unit-nested (its context names
 * the step). The registry holds the task objects for a whole test file, so tests swap these
 * handlers rather than the tasks (unitTask() and nestedTask() install fresh mocks).
 */
export const unitStepHandlers: { first: StepHandler; last: StepHandler; nested: StepHandler } = {
  first: notSet('first'),
  last: notSet('last'),
  nested: notSet('nested'),
};

/** `unit-task`: `first` (Lambda) → `approve` (wait) → `last` (Lambda). */
export const unitTaskDefinition = defineTask({
  id: 'unit-task',
  description: 'A task for unit tests.',
  kind: 'pipeline',
  input: z.strictObject({ n: z.number() }),
  examples: [{ n: 2 }],
  steps: [
    step('first', (input: unknown, context: StepContext) => unitStepHandlers.first(input, context)),
    waitForInput('approve', { timeoutSeconds: 3600, prompt: 'Approve?' }),
    step('last', (input: unknown, context: StepContext) => unitStepHandlers.last(input, context)),
  ],
});

/** `wait-first`: waits for input without a schema (a resume input goes on as sent), then `after` (Lambda). */
export const waitFirst = defineTask({
  id: 'wait-first',
  description: 'Waits before doing anything.',
  kind: 'agent',
  input: z.object({}),
  examples: [{}],
  steps: [waitForInput('gate'), step('after', (input: unknown, context: StepContext) => unitStepHandlers.last(input, context))],
});

/** `unit-echo`: takes any text, so an input can be made as large as a test needs. */
export const unitEcho = defineTask({
  id: 'unit-echo',
  description: 'Echoes a text of any length.',
  kind: 'test',
  input: z.strictObject({ text: z.string() }),
  examples: [{ text: 'a' }],
  steps: [step('echo', (input: unknown) => input)],
});

const nested = (input: unknown, context: StepContext) => unitStepHandlers.nested(input, context);

/**
 * `unit-nested`: every kind of nesting the step runner and the recorder handle. Top level: the map
 * `each-doc` (its items run `summarize-doc` then `tag-doc`), the parallel `both` (branch 0 runs
 * `left`; branch 1 sleeps `pause` for `pause_seconds` of its input, then invokes `lookup`; branch 2
 * maps `each-part` over `parts` with `read-part`), the choice `route` (`fast-path` when `fast` is
 * true, else `slow-path`), the sleep `nap` (60 s) and `finalize`.
 */
export const unitNested = defineTask({
  id: 'unit-nested',
  description: 'Nested steps for unit tests.',
  kind: 'test',
  input: z.strictObject({ docs: z.array(z.string()) }),
  examples: [{ docs: ['a.pdf', 'b.pdf'] }],
  steps: [
    map('each-doc', { items: 'docs', maxConcurrency: 4 }, [step('summarize-doc', nested), step('tag-doc', nested)]),
    parallel('both', [
      [step('left', nested)],
      [sleep('pause', { path: 'pause_seconds' }), invoke('lookup', 'lookup-fn')],
      [map('each-part', { items: 'parts' }, [step('read-part', nested)])],
    ]),
    choice('route', [{ when: { path: 'fast', equals: true }, steps: [step('fast-path', nested)] }], [step('slow-path', nested)]),
    sleep('nap', 60),
    step('finalize', nested),
  ],
});

/**
 * The unit project's tasks module (vitest.config.ts aliases the functions' `#tasks` to it): the
 * sample tasks, then the tasks single unit tests need, so no test has to add a task to the registry.
 */
export const tasks = [...sampleTasks, unitTaskDefinition, waitFirst, unitEcho, unitNested];
