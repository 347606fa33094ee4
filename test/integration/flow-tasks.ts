import * as z from 'zod/mini';
import { choice, defineTask, invoke, map, parallel, runTask, sleep, step, waitForInput } from '../../lambdas/tasks/dsl.js';

const document = z.strictObject({ title: z.string().check(z.minLength(1)), words: z.int().check(z.minimum(0)) });

interface Document {
  readonly title: string;
  readonly words: number;
}

interface Summary {
  readonly title: string;
  readonly summary: string;
}

/**
 * Every control-flow construct in one task: a sleep, a map with a choice inside each item, and a
 * parallel with two branches, for the local-stack tests of nesting, progress and `seq`.
 */
export const flowTask = defineTask({
  id: 'test-flow',
  description: 'Sleeps, summarizes each document (long and short ones differently), then joins and counts in parallel.',
  kind: 'test',
  input: z.strictObject({ documents: z.array(document).check(z.maxLength(40)) }),
  examples: [{ documents: [{ title: 'a', words: 10 }] }],
  steps: [
    step('prepare', (input: { documents: readonly Document[] }) => ({ documents: input.documents, count: input.documents.length }), { retry: false }),
    sleep('rate-limit', 1),
    map('summarize-each', { items: 'documents', maxConcurrency: 10 }, [
      choice(
        'by-size',
        [{ when: { path: 'words', greaterThan: 1000 }, steps: [step('summarize-long', (doc: Document): Summary => ({ title: doc.title, summary: `long: ${doc.words} words` }))] }],
        [step('summarize-short', (doc: Document): Summary => ({ title: doc.title, summary: `short: ${doc.words} words` }))],
      ),
    ]),
    parallel('finish', [
      [step('join', (summaries: readonly Summary[]) => summaries.map((entry) => entry.summary).join('; '))],
      [step('count', (summaries: readonly Summary[]) => summaries.length)],
    ]),
  ],
});

/** A map whose items fail on a marker document: the execution fails with the step's error. */
export const flowFailingTask = defineTask({
  id: 'test-flow-failing',
  description: 'A map item that throws on a document titled "boom".',
  kind: 'test',
  input: z.strictObject({ documents: z.array(document) }),
  examples: [{ documents: [{ title: 'a', words: 1 }] }],
  steps: [
    map('check-each', { items: 'documents', maxConcurrency: 4 }, [
      step(
        'check',
        (doc: Document) => {
          if (doc.title === 'boom') throw new RangeError(`document ${doc.title} exploded`);
          return doc.title;
        },
        { retry: false },
      ),
    ]),
    step('done', (titles: readonly string[]) => titles.length, { retry: false }),
  ],
});

/** A choice without otherwise: an input no case matches fails the execution with NoChoiceMatched. */
export const flowChoiceTask = defineTask({
  id: 'test-flow-choice',
  description: 'Routes on a mode; an unknown mode matches no case.',
  kind: 'test',
  input: z.strictObject({ mode: z.string() }),
  examples: [{ mode: 'a' }],
  steps: [
    choice('route', [
      { when: { path: 'mode', equals: 'a' }, steps: [step('route-a', () => 'a')] },
      { when: { or: [{ path: 'mode', equals: 'b' }, { path: 'mode', equals: 'bee' }] }, steps: [step('route-b', () => 'b')] },
    ]),
    step('after', (routed: string) => ({ routed }), { retry: false }),
  ],
});

/** A child task: answers one question. */
export const childAnswerTask = defineTask({
  id: 'test-child-answer',
  description: 'Answers one question (a child of test-parent).',
  kind: 'test',
  input: z.strictObject({ question: z.string() }),
  examples: [{ question: 'why?' }],
  steps: [step('answer', (input: { question: string }) => ({ question: input.question, answer: input.question.length }), { retry: false })],
});

/** A child task that always fails. */
export const childFailingTask = defineTask({
  id: 'test-child-failing',
  description: 'Throws a TypeError (a child whose failure fails its parent).',
  kind: 'test',
  input: z.strictObject({}),
  examples: [{}],
  steps: [
    step(
      'explode',
      () => {
        throw new TypeError('child exploded');
      },
      { retry: false },
    ),
  ],
});

/** A child task that waits for input until it is resumed or cancelled. */
export const childWaitingTask = defineTask({
  id: 'test-child-waiting',
  description: 'Waits for input (a child to cancel through its parent).',
  kind: 'test',
  input: z.strictObject({}),
  examples: [{}],
  steps: [waitForInput('hold', { timeoutSeconds: 300 }), step('after-hold', (value: unknown) => value, { retry: false })],
});

/** Runs a child task per question, three at a time, then collects the answers. */
export const parentTask = defineTask({
  id: 'test-parent',
  description: 'A map of child executions.',
  kind: 'test',
  input: z.strictObject({ questions: z.array(z.strictObject({ question: z.string() })).check(z.maxLength(20)) }),
  examples: [{ questions: [{ question: 'why?' }] }],
  steps: [
    map('ask-each', { items: 'questions', maxConcurrency: 3 }, [runTask('investigate', 'test-child-answer')]),
    step('collect', (answers: ReadonlyArray<{ answer: number }>) => ({ total: answers.reduce((sum, entry) => sum + entry.answer, 0), answers }), { retry: false }),
  ],
});

/** A parent whose only child fails. */
export const parentFailingTask = defineTask({
  id: 'test-parent-failing',
  description: 'Runs a child that fails.',
  kind: 'test',
  input: z.strictObject({}),
  examples: [{}],
  steps: [runTask('doomed', 'test-child-failing'), step('never', (value: unknown) => value, { retry: false })],
});

/** A parent whose child waits: cancelling the parent cancels the child. */
export const parentWaitingTask = defineTask({
  id: 'test-parent-waiting',
  description: 'Runs a child that waits for input.',
  kind: 'test',
  input: z.strictObject({}),
  examples: [{}],
  steps: [runTask('hold-child', 'test-child-waiting'), step('after-child', (value: unknown) => value, { retry: false })],
});

/** The existing function the invoke task calls; the suite's stack runs `stand-ins/legacy-scorer.ts` for it. */
export const LEGACY_SCORER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:legacy-scorer';

/** Invokes an existing function by ARN, then uses its output. */
export const invokeTask = defineTask({
  id: 'test-invoke',
  description: 'Scores a text with an existing Lambda function.',
  kind: 'test',
  input: z.strictObject({ text: z.string() }),
  examples: [{ text: 'hello' }],
  steps: [invoke('score', LEGACY_SCORER_ARN, { retry: false }), step('grade', (scored: { score: number }) => ({ ...scored, grade: scored.score > 3 ? 'long' : 'short' }), { retry: false })],
});

/** The flow tasks of the integration suite. */
export const flowTasks = [
  flowTask,
  flowFailingTask,
  flowChoiceTask,
  childAnswerTask,
  childFailingTask,
  childWaitingTask,
  parentTask,
  parentFailingTask,
  parentWaitingTask,
  invokeTask,
];
