import * as z from 'zod/mini';
import { defineTask, step, waitForInput, type StepContext } from '../../lambdas/tasks/dsl.js';

// Test-owned tasks shaped like the example tasks (a three-step pipeline with progress, and a flow
// that waits for a decision), so product tests keep passing whatever happens to examples/tasks/.
const pipelineInput = z.strictObject({
  // A pattern, not z.url(): zod's URL check costs every API function 2.2 KB (docs/performance.md).
  document_url: z.string().check(z.maxLength(2048), z.regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, 'must be an http(s) URL')),
  language: z.optional(z.enum(['en', 'de', 'fr', 'es'])),
  max_summary_words: z.optional(z.int().check(z.minimum(10), z.maximum(500))),
});

type Input = z.output<typeof pipelineInput>;

interface Extracted {
  readonly document_url: string;
  readonly language: string;
  readonly max_summary_words: number;
  readonly pages: readonly string[];
}

interface Analyzed extends Omit<Extracted, 'pages'> {
  readonly words: number;
  readonly keywords: readonly string[];
}

/** Deterministic stand-in for fetching and OCR-ing a document: the pipeline shape is what matters. */
async function extract(request: Input, context: StepContext): Promise<Extracted> {
  const name = new URL(request.document_url).pathname.split('/').pop() || 'document';
  const pages = [1, 2, 3].map((page) => `${name} page ${page}: quarterly results, revenue growth and outlook`);
  await context.reportProgress(1, `extracted ${pages.length} pages`);
  return {
    document_url: request.document_url,
    language: request.language ?? 'en',
    max_summary_words: request.max_summary_words ?? 50,
    pages,
  };
}

async function analyze(extracted: Extracted, context: StepContext): Promise<Analyzed> {
  const counts = new Map<string, number>();
  let words = 0;
  for (const [index, page] of extracted.pages.entries()) {
    for (const word of page.toLowerCase().match(/[a-z]{4,}/g) ?? []) {
      words++;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    await context.reportProgress((index + 1) / extracted.pages.length, `analyzed page ${index + 1}`);
  }
  const keywords = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([word]) => word);
  const { pages: _pages, ...rest } = extracted;
  return { ...rest, words, keywords };
}

function summarize(analyzed: Analyzed): { summary: string; keywords: readonly string[]; words: number } {
  const summary = `${analyzed.words} word${analyzed.words === 1 ? '' : 's'} about ${analyzed.keywords.join(', ')}.`;
  return {
    summary: summary.split(' ').slice(0, analyzed.max_summary_words).join(' '),
    keywords: analyzed.keywords,
    words: analyzed.words,
  };
}

/** A three-step pipeline (extract → analyze → summarize) that reports progress as it goes. */
export const samplePipeline = defineTask({
  id: 'sample-pipeline',
  description: 'Extracts a document, analyzes its text and writes a short summary.',
  kind: 'pipeline',
  input: pipelineInput,
  examples: [{ document_url: 'https://example.com/reports/q3.pdf', language: 'en', max_summary_words: 40 }],
  steps: [
    step('extract', extract, { timeoutSeconds: 60 }),
    step('analyze', analyze, { timeoutSeconds: 120 }),
    step('summarize', summarize, { timeoutSeconds: 60, retry: { maxAttempts: 3, intervalSeconds: 2 } }),
  ],
});
const approvalInput = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  body: z.string().check(z.minLength(1), z.maxLength(20_000)),
  // A pattern, not z.email(): zod's email check costs every API function 0.5 KB (docs/architecture.md).
  reviewer: z.optional(z.string().check(z.maxLength(254), z.regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address'))),
});

const decision = z.strictObject({
  approved: z.boolean(),
  comment: z.optional(z.string().check(z.maxLength(2000))),
  reviewer: z.optional(z.string().check(z.maxLength(200))),
});

type Decision = z.output<typeof decision>;

function draft(request: z.output<typeof approvalInput>, context: StepContext) {
  const words = request.body.trim().split(/\s+/).length;
  return {
    draft_id: `${context.executionId}/draft`,
    title: request.title.trim(),
    text: `${request.title.trim()}\n\n${request.body.trim()}`,
    words,
    reviewer: request.reviewer ?? null,
  };
}

function finalize(review: Decision, context: StepContext) {
  return {
    draft_id: `${context.executionId}/draft`,
    decision: review.approved ? 'approved' : 'rejected',
    published: review.approved,
    comment: review.comment ?? null,
    reviewed_by: review.reviewer ?? null,
  };
}

/**
 * An agent-style flow with a human in the loop: it drafts, waits (`awaiting_input`) for a decision
 * sent with resume, then finalizes using that decision.
 */
export const sampleApproval = defineTask({
  id: 'sample-approval',
  description: 'Drafts a document, waits for a human decision, then publishes or rejects it.',
  kind: 'agent',
  input: approvalInput,
  examples: [{ title: 'Launch announcement', body: 'We are launching the new API next week.', reviewer: 'lead@example.com' }],
  steps: [
    step('draft', draft, { timeoutSeconds: 60 }),
    waitForInput('review', {
      timeoutSeconds: 7 * 86_400,
      prompt: 'Approve or reject the draft: resume with {"approved": true|false, "comment"?: "..."}',
      input: decision,
    }),
    step('finalize', finalize, { timeoutSeconds: 60 }),
  ],
});

/** The sample tasks, as a tasks module exports them. */
export const tasks = [samplePipeline, sampleApproval];
