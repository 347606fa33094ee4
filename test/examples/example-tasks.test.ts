import { describe, expect, it, vi } from 'vitest';
import { approvalFlow } from '../../examples/tasks/approval-flow.js';
import { documentPipeline } from '../../examples/tasks/document-pipeline.js';
import { tasks } from '../../examples/tasks/index.js';
import { toTaskView } from '../../lambdas/tasks/catalogue.js';
import type { LambdaStep, StepContext, TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { stepAt } from '../../lambdas/tasks/task-catalogue.js';

type Progress = StepContext['reportProgress'];

function contextFor(task: TaskDefinition, index: number, reportProgress = vi.fn<Progress>(async () => undefined)) {
  const context: StepContext = {
    executionId: '019b7ca9-8c88-783d-b9fe-37f08a75a232',
    taskId: task.id,
    stepIndex: index,
    stepName: task.steps[index]!.name,
    attempt: 0,
    reportProgress,
  };
  return { context, reportProgress };
}

function lambdaStep(task: TaskDefinition, index: number): LambdaStep {
  const found = task.steps[index];
  if (found?.kind !== 'step') throw new Error(`step ${index} of ${task.id} is not a Lambda step`);
  return found;
}

/** Runs the Lambda steps of `task` in order from `input`, as the state machine would (JSON between steps). */
async function runAll(task: TaskDefinition, input: unknown): Promise<unknown> {
  let value: unknown = input;
  for (const [index, step] of task.steps.entries()) {
    if (step.kind !== 'step') throw new Error('runAll handles Lambda steps only');
    value = JSON.parse(JSON.stringify(await step.run(value, contextFor(task, index).context)));
  }
  return value;
}

describe('the task registry', () => {
  it('serves the example tasks by id when no tasks module is chosen (package.json maps #tasks to them)', () => {
    expect([...TASKS.values()]).toEqual(tasks);
  });

  it('finds a step reference by index and nothing past the last step', () => {
    expect(stepAt(approvalFlow, 1)).toEqual({ index: 1, name: 'review' });
    expect(stepAt(approvalFlow, 3)).toBeUndefined();
  });

  it.each([...TASKS.values()].map((task) => [task.id, task] as const))('%s: every example validates against its input schema', (_id, task) => {
    expect(task.examples.length).toBeGreaterThan(0);
    for (const example of task.examples) expect(task.input.safeParse(example).success).toBe(true);
  });

  it.each([...TASKS.values()].map((task) => [task.id, task] as const))('%s: the catalogue view carries the examples in its JSON Schema', (_id, task) => {
    const view = toTaskView(task);

    expect(view.input_schema).toMatchObject({ type: 'object', examples: task.examples });
    expect(view.steps).toHaveLength(task.steps.length);
  });
});

describe('document-pipeline', () => {
  const example = { document_url: 'https://example.com/reports/q3.pdf', language: 'en', max_summary_words: 40 };

  it('accepts http(s) URLs only, a known language and 10..500 summary words', () => {
    const parse = (value: unknown) => documentPipeline.input.safeParse(value).success;

    expect(parse({ document_url: 'http://example.com/a' })).toBe(true);
    expect(parse({ document_url: 'ftp://example.com/a' })).toBe(false);
    expect(parse({ document_url: 'https://example.com/a', language: 'it' })).toBe(false);
    expect(parse({ document_url: 'https://example.com/a', max_summary_words: 9 })).toBe(false);
    expect(parse({ document_url: 'https://example.com/a', max_summary_words: 501 })).toBe(false);
    expect(parse({ document_url: 'https://example.com/a', extra: 1 })).toBe(false);
  });

  it('extracts three pages named after the document, with defaults, and reports completion', async () => {
    const { context, reportProgress } = contextFor(documentPipeline, 0);

    const extracted = await lambdaStep(documentPipeline, 0).run({ document_url: 'https://example.com/reports/q3.pdf' }, context);

    expect(extracted).toEqual({
      document_url: 'https://example.com/reports/q3.pdf',
      language: 'en',
      max_summary_words: 50,
      pages: [1, 2, 3].map((page) => `q3.pdf page ${page}: quarterly results, revenue growth and outlook`),
    });
    expect(reportProgress).toHaveBeenCalledWith(1, 'extracted 3 pages');
  });

  it('analyzes word counts and the top five keywords, reporting progress per page', async () => {
    const { context: extractContext } = contextFor(documentPipeline, 0);
    const extracted = await lambdaStep(documentPipeline, 0).run(example, extractContext);
    const { context, reportProgress } = contextFor(documentPipeline, 1);

    const analyzed = await lambdaStep(documentPipeline, 1).run(extracted, context);

    expect(analyzed).toEqual({
      document_url: example.document_url,
      language: 'en',
      max_summary_words: 40,
      words: 18,
      keywords: ['growth', 'outlook', 'page', 'quarterly', 'results'],
    });
    expect(reportProgress.mock.calls).toEqual([
      [1 / 3, 'analyzed page 1'],
      [2 / 3, 'analyzed page 2'],
      [1, 'analyzed page 3'],
    ]);
  });

  it('summarizes within max_summary_words', () => {
    const analyzed = { document_url: 'u', language: 'en', max_summary_words: 3, words: 18, keywords: ['growth', 'outlook'] };

    const summary = lambdaStep(documentPipeline, 2).run(analyzed, contextFor(documentPipeline, 2).context);

    expect(summary).toEqual({ summary: '18 words about', keywords: ['growth', 'outlook'], words: 18 });
  });

  it('counts words in good English: "1 word", "18 words" (it wrote "A 18-word document")', () => {
    const run = (words: number) =>
      lambdaStep(documentPipeline, 2).run({ document_url: 'u', language: 'en', max_summary_words: 50, words, keywords: ['growth'] }, contextFor(documentPipeline, 2).context);

    expect(run(1)).toMatchObject({ summary: '1 word about growth.' });
    expect(run(18)).toMatchObject({ summary: '18 words about growth.' });
  });

  it('produces the documented summary from its example input end to end', async () => {
    const output = await runAll(documentPipeline, documentPipeline.examples[0]);

    expect(output).toEqual({
      summary: '18 words about growth, outlook, page, quarterly, results.',
      keywords: ['growth', 'outlook', 'page', 'quarterly', 'results'],
      words: 18,
    });
  });
});

describe('approval-flow', () => {
  it('drafts from the request, naming the draft after the execution', async () => {
    const { context } = contextFor(approvalFlow, 0);

    const draft = await lambdaStep(approvalFlow, 0).run({ title: '  Launch  ', body: ' We launch next week. ' }, context);

    expect(draft).toEqual({
      draft_id: `${context.executionId}/draft`,
      title: 'Launch',
      text: 'Launch\n\nWe launch next week.',
      words: 4,
      reviewer: null,
    });
  });

  it('waits for a decision that must match its schema', () => {
    const review = approvalFlow.steps[1];

    expect(review?.kind).toBe('wait');
    if (review?.kind !== 'wait') return;
    expect(review.prompt).toContain('Approve or reject');
    expect(review.input?.safeParse({ approved: true, comment: 'fine' }).success).toBe(true);
    expect(review.input?.safeParse({ approved: 'yes' }).success).toBe(false);
    expect(review.input?.safeParse({}).success).toBe(false);
  });

  it('publishes an approved draft and rejects a rejected one', async () => {
    const { context } = contextFor(approvalFlow, 2);
    const finalize = lambdaStep(approvalFlow, 2);

    const approved = await finalize.run({ approved: true, comment: 'ship it', reviewer: 'lead' }, context);
    const rejected = await finalize.run({ approved: false }, context);

    expect(approved).toEqual({
      draft_id: `${context.executionId}/draft`,
      decision: 'approved',
      published: true,
      comment: 'ship it',
      reviewed_by: 'lead',
    });
    expect(rejected).toMatchObject({ decision: 'rejected', published: false, comment: null, reviewed_by: null });
  });

  it('requires a title and body and a well-formed reviewer email', () => {
    const parse = (value: unknown) => approvalFlow.input.safeParse(value).success;

    expect(parse({ title: 'T', body: 'B', reviewer: 'lead@example.com' })).toBe(true);
    expect(parse({ title: '', body: 'B' })).toBe(false);
    expect(parse({ title: 'T' })).toBe(false);
    expect(parse({ title: 'T', body: 'B', reviewer: 'not-an-email' })).toBe(false);
  });
});
