import * as z from 'zod/mini';
import { defineTask, step, type StepContext } from 'async-executions/tasks';

const input = z.strictObject({
  // A pattern rather than z.url(): only http(s) URLs, and a 400 in words of its own.
  document_url: z.string().check(z.maxLength(2048), z.regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, 'must be an http(s) URL')),
  language: z.optional(z.enum(['en', 'de', 'fr', 'es'])),
  max_summary_words: z.optional(z.int().check(z.minimum(10), z.maximum(500))),
});

type Input = z.output<typeof input>;

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
export const documentPipeline = defineTask({
  id: 'document-pipeline',
  description: 'Extracts a document, analyzes its text and writes a short summary.',
  kind: 'pipeline',
  input,
  examples: [{ document_url: 'https://example.com/reports/q3.pdf', language: 'en', max_summary_words: 40 }],
  steps: [
    step('extract', extract, { timeoutSeconds: 60 }),
    step('analyze', analyze, { timeoutSeconds: 120 }),
    step('summarize', summarize, { timeoutSeconds: 60, retry: { maxAttempts: 3, intervalSeconds: 2 } }),
  ],
});
