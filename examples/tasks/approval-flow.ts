import * as z from 'zod/mini';
import { defineTask, step, waitForInput, type StepContext } from 'async-executions/tasks';

const input = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  body: z.string().check(z.minLength(1), z.maxLength(20_000)),
  // A pattern with words of its own, so a 400 says what is expected.
  reviewer: z.optional(z.string().check(z.maxLength(254), z.regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address'))),
});

const decision = z.strictObject({
  approved: z.boolean(),
  comment: z.optional(z.string().check(z.maxLength(2000))),
  reviewer: z.optional(z.string().check(z.maxLength(200))),
});

type Decision = z.output<typeof decision>;

function draft(request: z.output<typeof input>, context: StepContext) {
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
export const approvalFlow = defineTask({
  id: 'approval-flow',
  description: 'Drafts a document, waits for a human decision, then publishes or rejects it.',
  kind: 'agent',
  input,
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
