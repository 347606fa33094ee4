import * as z from 'zod/mini';
import { defineTask, step, waitForInput, type StepContext } from '../../lambdas/tasks/dsl.js';

// Test-owned tasks shaped like the example tasks (a three-step pipeline with progress, and a flow
// that waits for a decision), so product tests keep passing whatever happens to examples/tasks/.
const pipelineInput = z.strictObject({
  document_url: z.string().check(z.maxLength(2048), z.regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, 'must be an http(s) URL')),
  language: z.optional(z.enum(['en', 'de', 'fr', 'es'])),
  max_summary_words: z.optional(z.int().check(z.minimum(10), z.maximum(500))),
});

// Fixture handlers: just enough work to report progress and hand a value on; the product tests
// assert the service around them, not what they compute.
async function extract(request: z.output<typeof pipelineInput>, context: StepContext) {
  await context.reportProgress(1, 'extracted 3 pages');
  return { document_url: request.document_url, pages: 3 };
}

async function analyze(extracted: { pages: number }, context: StepContext) {
  for (let page = 1; page <= extracted.pages; page++) await context.reportProgress(page / extracted.pages, `analyzed page ${page}`);
  return { words: 18, keywords: ['quarterly', 'results'] };
}

const summarize = (analyzed: { words: number; keywords: readonly string[] }) => ({ summary: `${analyzed.words} words.`, ...analyzed });

/** A three-step pipeline (extract → analyze → summarize) that reports progress as it goes. */
export const samplePipeline = defineTask({
  id: 'sample-pipeline',
  description: 'Fixture: three steps that report progress.',
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
  reviewer: z.optional(z.string().check(z.maxLength(254), z.regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address'))),
});

const decision = z.strictObject({
  approved: z.boolean(),
  comment: z.optional(z.string().check(z.maxLength(2000))),
  reviewer: z.optional(z.string().check(z.maxLength(200))),
});

const draft = (request: z.output<typeof approvalInput>, context: StepContext) => ({
  draft_id: `${context.executionId}/draft`,
  title: request.title,
});

const finalize = (review: z.output<typeof decision>) => ({
  decision: review.approved ? 'approved' : 'rejected',
  comment: review.comment ?? null,
  reviewed_by: review.reviewer ?? null,
});

/** Fixture: a step, a wait for a decision (with a schema and a prompt), a step that uses it. */
export const sampleApproval = defineTask({
  id: 'sample-approval',
  description: 'Fixture: drafts, waits for a decision, finalizes.',
  kind: 'agent',
  input: approvalInput,
  examples: [{ title: 'Fixture', body: 'A body.', reviewer: 'reviewer@example.com' }],
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
