import { describe, expect, it } from 'vitest';
import { soakSection, withSoakSection } from '../../../scripts/soak/performance-section.js';
import { DEFAULT_GROWTH, flatness, judgeGrowth, percentile, summarizeLatencies, type MemorySample } from '../../../scripts/soak/stats.js';

/** Samples of a run of `total` executions settling evenly, RSS from `rss(i)` MiB. */
const samples = (count: number, total: number, rss: (i: number) => number): MemorySample[] =>
  Array.from({ length: count }, (_, i) => ({ atMs: i * 1000, settled: Math.round((i * total) / (count - 1)), rssKb: rss(i) * 1024 }));

describe('soak percentiles', () => {
  it('takes the nearest rank, so p50 and p99 are values that were measured', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(summarizeLatencies([1, 2, 3, 10])).toEqual({ count: 4, p50: 2, p99: 10, max: 10, mean: 4 });
  });
});

describe('memory growth after warm-up', () => {
  it('ignores the growth of the warm-up and reports a flat process as not growing', () => {
    // Grows from 100 to 300 MiB while the first quarter settles, then stays at 300 ± 5.
    const run = samples(100, 1000, (i) => (i < 25 ? 100 + i * 8 : 300 + (i % 3) * 5 - 5));
    const verdict = judgeGrowth(run, 1000);
    expect(verdict.grew).toBe(false);
    expect(verdict.samples).toBe(75);
    expect(verdict.peakKb).toBe(305 * 1024);
    expect(Math.abs(verdict.growthKb)).toBeLessThanOrEqual(5 * 1024);
  });

  it('reports a steady climb after warm-up as growth, with its slope per thousand executions', () => {
    // 200 MiB, then +1 MiB per sample: 75 samples after warm-up climb about 75 MiB (37 %).
    const verdict = judgeGrowth(samples(100, 1000, (i) => 200 + i), 1000);
    expect(verdict.grew).toBe(true);
    expect(verdict.growthPercent).toBeGreaterThan(DEFAULT_GROWTH.percent);
    // 1 MiB per sample, a sample per ~10 executions: ~100 MiB per 1,000.
    expect(verdict.slopeKbPerThousand / 1024).toBeCloseTo(99, 0);
  });

  it('needs both the percentage and the MiB: 30 % of a small process is noise', () => {
    // 40 → 52 MiB after warm-up: 30 %, but 12 MiB.
    const verdict = judgeGrowth(samples(100, 1000, (i) => (i < 25 ? 40 : i < 62 ? 40 : 52)), 1000);
    expect(verdict.growthPercent).toBeCloseTo(30, 0);
    expect(verdict.grew).toBe(false);
  });

  it('gives no verdict with too few samples after warm-up, and skips unreadable samples', () => {
    const few = samples(6, 10, () => 100);
    expect(judgeGrowth(few, 10).grew).toBeUndefined();
    const gaps = samples(40, 100, (i) => 100 + i).map((sample, i) => (i % 2 ? { ...sample, rssKb: undefined } : sample));
    expect(judgeGrowth(gaps, 100).samples).toBe(15);
  });
});

describe('list flatness', () => {
  it('compares the medians of the first and last tenth, so one slow page does not decide', () => {
    const pages = Array.from({ length: 100 }, (_, i) => (i === 95 ? 500 : 20 + (i % 2)));
    const result = flatness(pages);
    expect(result).toMatchObject({ pages: 100, first: 20, middle: 20, last: 21, headMedian: 20, tailMedian: 20, ratio: 1 });
    expect(result.p99).toBe(21);
  });

  it('reports a list whose pages slow down with depth above 1', () => {
    const result = flatness(Array.from({ length: 50 }, (_, i) => 10 + i));
    // First tenth: 10..14 (median 12); last tenth: 55..59 (median 57).
    expect(result.ratio).toBeCloseTo(57 / 12, 5);
  });

  it('uses at least three pages per end, or all of a shorter list', () => {
    expect(flatness([10, 40, 20]).headMedian).toBe(20);
    expect(flatness([10, 10, 10, 10, 30, 30, 30]).ratio).toBe(3);
  });
});

describe('the soak section of docs/performance.md', () => {
  const bench = '# Performance\n\nintro\n\n## Bundles\n\nrows\n\n## Budgets\n\n| a |\n';
  const section = '## Soak and scale\n\nfigures\n';

  it('is appended when missing and replaced in place when present, leaving the bench sections as they are', () => {
    const once = withSoakSection(bench, section);
    expect(once).toBe(`${bench}\n${section}`);
    expect(soakSection(once)).toBe(section);
    const middle = `# Performance\n\n## Bundles\n\nrows\n\n${section}\n## Budgets\n\n| a |\n`;
    const replaced = withSoakSection(middle, '## Soak and scale\n\nnew figures\n');
    expect(replaced).toBe('# Performance\n\n## Bundles\n\nrows\n\n## Soak and scale\n\nnew figures\n\n## Budgets\n\n| a |\n');
  });

  it('is nothing in a document without one, whatever its other headings say', () => {
    expect(soakSection(bench)).toBe('');
    expect(soakSection('## Soak and scale tips\n\nno\n')).toBe('');
  });
});
