import * as z from 'zod/mini';
import { defineTask, map, parallel, runTask, step, type StepContext } from 'async-executions/tasks';

const topic = z.strictObject({
  topic: z.string().check(z.minLength(3), z.maxLength(200)),
  max_questions: z.optional(z.int().check(z.minimum(1), z.maximum(10))),
});

const question = z.strictObject({
  question: z.string().check(z.minLength(3), z.maxLength(300)),
});

interface Finding {
  readonly question: string;
  readonly answer: string;
  readonly sources: readonly string[];
}

/** Deterministic stand-in for a model call that splits a topic into questions. */
function plan(request: z.output<typeof topic>) {
  const angles = ['history', 'current state', 'open problems', 'key players', 'outlook'];
  return { topic: request.topic, questions: angles.slice(0, request.max_questions ?? 3).map((angle) => ({ question: `What is the ${angle} of ${request.topic}?` })) };
}

/** Deterministic stand-ins for a search and a model answer: the orchestration is what this shows. */
async function search(input: z.output<typeof question>, context: StepContext) {
  await context.reportProgress(0.5, 'searching');
  const slug = input.question.toLowerCase().replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '');
  return { question: input.question, sources: [`https://example.com/search/${slug}/1`, `https://example.com/search/${slug}/2`] };
}

const answer = (found: { question: string; sources: readonly string[] }): Finding => ({
  question: found.question,
  answer: `${found.sources.length} sources agree on: ${found.question.replace(/\?$/, '')}.`,
  sources: found.sources,
});

/** One research question: its own execution, so it shows (and can be inspected, or cancelled) on its own. */
export const researchQuestion = defineTask({
  id: 'research-question',
  description: 'Researches one question: searches, then answers from the sources (a child of research-agent).',
  kind: 'agent',
  input: question,
  examples: [{ question: 'What is the outlook of solid-state batteries?' }],
  steps: [step('search', search, { timeoutSeconds: 60 }), step('answer', answer, { timeoutSeconds: 120 })],
});

function report(findings: readonly Finding[]) {
  return { findings: findings.length, summary: findings.map((finding) => finding.answer).join(' '), sources: findings.flatMap((finding) => finding.sources) };
}

const critique = (findings: readonly Finding[]) => ({ gaps: findings.filter((finding) => finding.sources.length < 2).map((finding) => finding.question) });

/**
 * A research agent: plans questions about a topic, researches each as a child execution of
 * `research-question` (three at a time), then writes the report and a critique in parallel.
 */
export const researchAgent = defineTask({
  id: 'research-agent',
  description: 'Plans questions on a topic, researches each as a child task, then writes a report and a critique.',
  kind: 'agent',
  input: topic,
  examples: [{ topic: 'solid-state batteries', max_questions: 3 }],
  steps: [
    step('plan', plan, { timeoutSeconds: 60 }),
    map('research-each', { items: 'questions', maxConcurrency: 3 }, [runTask('investigate', 'research-question', { timeoutSeconds: 3600 })]),
    parallel('write-up', [[step('write-report', report)], [step('critique', critique)]]),
    step('deliver', ([written, review]: [ReturnType<typeof report>, ReturnType<typeof critique>]) => ({ ...written, ...review })),
  ],
});
