import * as z from 'zod/mini';
import { defineTask, step, waitForInput } from '../../lambdas/tasks/dsl.js';

/** What each step of `test-large-output` hands on: the text, and the steps that saw it whole. */
interface Large {
  readonly text: string;
  readonly seen: readonly string[];
}

/** Checks that a step got the plain value (never a payload reference) and notes it saw the text whole. */
function seenBy(name: string, input: Large): Large {
  if (typeof input.text !== 'string' || !Array.isArray(input.seen)) throw new TypeError(`${name} got ${JSON.stringify(input).slice(0, 200)}`);
  return { text: input.text, seen: [...input.seen, `${name}:${input.text.length}`] };
}

/**
 * Large payloads through the local stack: `test-large-output` returns `kb` KiB of text from its first
 * step and hands it through two more (each far over Step Functions' 256 KB state limit: offloaded to
 * the payload bucket); `test-large-input` takes an input of any size up to 5 MiB and answers its length;
 * `test-large-resume` waits for a resume input and answers its text's length.
 */
export const payloadTasks = [
  defineTask({
    id: 'test-large-output',
    description: 'Makes kb KiB of text and passes it through three steps.',
    kind: 'test',
    input: z.strictObject({ kb: z.int().check(z.minimum(0), z.maximum(8192)) }),
    examples: [{ kb: 1 }],
    steps: [
      step('produce', (input: { kb: number }): Large => ({ text: 'x'.repeat(input.kb * 1024), seen: [] }), { retry: false }),
      step('relay', (input: Large) => seenBy('relay', input), { retry: false }),
      step('finish', (input: Large) => seenBy('finish', input), { retry: false }),
    ],
  }),
  defineTask({
    id: 'test-large-input',
    description: 'Answers the length and the first characters of its input text.',
    kind: 'test',
    input: z.strictObject({ blob: z.string() }),
    examples: [{ blob: 'abc' }],
    steps: [step('measure', (input: { blob: string }) => ({ length: input.blob.length, head: input.blob.slice(0, 8) }), { retry: false })],
  }),
  defineTask({
    id: 'test-large-resume',
    description: 'Waits for a resume input, then answers the length of its text.',
    kind: 'test',
    input: z.strictObject({}),
    examples: [{}],
    steps: [
      waitForInput('hold', { timeoutSeconds: 600 }),
      step('measure', (input: { blob: string }) => ({ length: input.blob.length }), { retry: false }),
    ],
  }),
];
