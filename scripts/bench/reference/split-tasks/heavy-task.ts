import * as z from 'zod/mini';
// Classic zod, imported whole: about 400 KB more in any bundle that holds this file.
import { z as classic } from 'zod';
import { defineTask, step } from 'async-executions/tasks';

/** Returned by the heavy task's step: a step function's bundle holds it only if it holds that step's code. */
export const HEAVY_MARKER = 'heavy-task-marker-9e2b';

const report = classic.object({ url: classic.string().url(), pages: classic.number().int().positive() });

/** A task whose step imports a heavy dependency (classic zod): only its own step functions should pay for it. */
export const heavyTask = defineTask({
  id: 'heavy-task',
  description: 'Reference: a step with a heavy import.',
  kind: 'reference',
  input: z.strictObject({ url: z.string() }),
  examples: [{ url: 'https://example.com/a.pdf' }],
  steps: [step('parse', (input: { url: string }) => ({ ...report.parse({ url: input.url, pages: 1 }), marker: HEAVY_MARKER }))],
});
