import * as z from 'zod/mini';
import { choice, defineTask, map, parallel, sleep, step } from 'async-executions/tasks';

const input = z.strictObject({
  documents: z
    .array(
      z.strictObject({
        // A pattern, not z.url(): zod's URL check is large (docs/architecture.md).
        url: z.string().check(z.maxLength(2048), z.regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, 'must be an http(s) URL')),
        words: z.int().check(z.minimum(1), z.maximum(1_000_000)),
      }),
    )
    .check(z.minLength(1), z.maxLength(200)),
  /** Seconds to wait before summarizing, e.g. to respect a model provider's rate limit. */
  rate_limit_seconds: z.optional(z.int().check(z.minimum(0), z.maximum(3600))),
});

interface Fetched {
  readonly url: string;
  readonly title: string;
  readonly words: number;
  readonly text: string;
}

interface Prepared {
  readonly title: string;
  readonly chunks: readonly string[];
}

const LONG_DOCUMENT_WORDS = 2000;

/** Deterministic stand-in for downloading each document: the flow is what this example shows. */
function fetchBatch(request: z.output<typeof input>) {
  const documents: Fetched[] = request.documents.map((document) => {
    const title = decodeURIComponent(new URL(document.url).pathname.split('/').pop() || 'document');
    return { url: document.url, title, words: document.words, text: `${title}: revenue growth, outlook and risks in ${document.words} words` };
  });
  return { documents, pause: request.rate_limit_seconds ?? 1 };
}

/** Long documents are cut into chunks a model can take; short ones go whole. */
const chunk = (document: Fetched): Prepared => ({
  title: document.title,
  chunks: Array.from({ length: Math.ceil(document.words / LONG_DOCUMENT_WORDS) }, (_, index) => `${document.text} (part ${index + 1})`),
});
const whole = (document: Fetched): Prepared => ({ title: document.title, chunks: [document.text] });

const summarize = (prepared: Prepared) => `${prepared.title}: ${prepared.chunks.length} part${prepared.chunks.length === 1 ? '' : 's'} on revenue and outlook.`;

function keywords(prepared: Prepared): string[] {
  const counts = new Map<string, number>();
  for (const word of prepared.chunks.join(' ').toLowerCase().match(/[a-z]{5,}/g) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3).map(([word]) => word);
}

/** The two branches of `analyze` in branch order: [summary, keywords]. */
const combine = ([summary, words]: [string, string[]]) => ({ summary, keywords: words });

function report(results: ReadonlyArray<{ summary: string; keywords: readonly string[] }>) {
  return { documents: results.length, summaries: results.map((result) => result.summary), keywords: [...new Set(results.flatMap((result) => result.keywords))] };
}

/**
 * Summarizes a batch of documents: waits for the rate limit, then for each document (10 at a time)
 * chunks it if it is long, and writes its summary and keywords in parallel; finally one report.
 */
export const batchSummarize = defineTask({
  id: 'batch-summarize',
  description: 'Summarizes a batch of documents, ten at a time: long ones are chunked first, summary and keywords run in parallel.',
  kind: 'pipeline',
  input,
  examples: [
    {
      documents: [
        { url: 'https://example.com/reports/q3.pdf', words: 5200 },
        { url: 'https://example.com/reports/memo.pdf', words: 300 },
      ],
      rate_limit_seconds: 1,
    },
  ],
  steps: [
    step('fetch-batch', fetchBatch, { timeoutSeconds: 120 }),
    sleep('respect-rate-limit', { path: 'pause' }),
    map('each-document', { items: 'documents', maxConcurrency: 10 }, [
      choice('by-length', [{ when: { path: 'words', greaterThan: LONG_DOCUMENT_WORDS }, steps: [step('chunk', chunk)] }], [step('take-whole', whole)]),
      parallel('analyze', [[step('summarize', summarize, { timeoutSeconds: 120 })], [step('extract-keywords', keywords)]]),
      step('combine', combine),
    ]),
    step('report', report),
  ],
});
