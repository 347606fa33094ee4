/**
 * The soak's arithmetic, apart from any process or network so its unit tests can pin it: latency
 * percentiles, the memory growth verdict and the list flatness ratio. The definitions here are the
 * ones docs/performance.md states ("Soak and scale").
 */

/** Percentiles of a set of durations (ms). */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The nearest-rank percentile `p` (0–100) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Count, p50, p99, max and mean of `values`. */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    mean: values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length,
  };
}

/** The median of `values` (the nearest-rank p50). */
export const median = (values: readonly number[]): number => percentile(values, 50);

/** One reading of a process's resident memory. */
export interface MemorySample {
  /** ms since the soak's executions began. */
  readonly atMs: number;
  /** Executions that had reached a terminal status (or were given up as stuck) by then. */
  readonly settled: number;
  /** VmRSS in KiB; undefined when the process could not be read (it had exited). */
  readonly rssKb: number | undefined;
}

/** How growth after warm-up is judged. */
export interface GrowthCriterion {
  /** Warm-up lasts until this fraction of the executions has settled. */
  readonly warmupFraction: number;
  /** Growth counts only when the final RSS exceeds the baseline by more than this percentage… */
  readonly percent: number;
  /** …and by more than this many MiB (both must hold: small processes are noisy in percent, large ones in MiB). */
  readonly mib: number;
  /** Fewer post-warm-up samples than this give no verdict. */
  readonly minSamples: number;
}

/** The criterion `npm run soak` applies unless told otherwise. */
export const DEFAULT_GROWTH: GrowthCriterion = { warmupFraction: 0.25, percent: 20, mib: 32, minSamples: 8 };

/** Whether a process's memory grew after warm-up, with the figures it was judged by. */
export interface GrowthVerdict {
  /** true: grew; false: did not; undefined: too few samples after warm-up to say. */
  readonly grew: boolean | undefined;
  /** Samples after warm-up. */
  readonly samples: number;
  /** Median RSS (KiB) of the first quarter of the post-warm-up samples. */
  readonly baselineKb: number;
  /** Median RSS (KiB) of the last quarter of the post-warm-up samples. */
  readonly finalKb: number;
  /** Highest RSS (KiB) of the whole run, warm-up included. */
  readonly peakKb: number;
  /** finalKb − baselineKb. */
  readonly growthKb: number;
  /** growthKb as a percentage of baselineKb. */
  readonly growthPercent: number;
  /** Least-squares slope of RSS over the post-warm-up samples, KiB per 1,000 settled executions. */
  readonly slopeKbPerThousand: number;
}

/**
 * Judges growth after warm-up. Warm-up: until `warmupFraction` of `total` executions have settled
 * (JIT, caches, connection pools and the heap reach their working size). After it, the median of
 * the first quarter of the samples is the baseline and the median of the last quarter the final
 * figure (medians: a single GC-timed sample moves neither); the process grew when the final
 * figure exceeds the baseline by more than both `percent` and `mib`.
 */
export function judgeGrowth(samples: readonly MemorySample[], total: number, criterion: GrowthCriterion = DEFAULT_GROWTH): GrowthVerdict {
  const read = samples.filter((sample): sample is MemorySample & { rssKb: number } => sample.rssKb !== undefined);
  const after = read.filter((sample) => sample.settled >= criterion.warmupFraction * total);
  const peakKb = read.length === 0 ? Number.NaN : Math.max(...read.map((sample) => sample.rssKb));
  const quarter = Math.max(1, Math.floor(after.length / 4));
  const baselineKb = median(after.slice(0, quarter).map((sample) => sample.rssKb));
  const finalKb = median(after.slice(-quarter).map((sample) => sample.rssKb));
  const growthKb = finalKb - baselineKb;
  const growthPercent = (growthKb / baselineKb) * 100;
  const grew = after.length < criterion.minSamples ? undefined : growthPercent > criterion.percent && growthKb > criterion.mib * 1024;
  return { grew, samples: after.length, baselineKb, finalKb, peakKb, growthKb, growthPercent, slopeKbPerThousand: slope(after.map((sample) => [sample.settled, sample.rssKb])) * 1000 };
}

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  if (sxx === 0) return 0;
  return points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0) / sxx;
}

/** Page latencies of one paged list, from the first page to the last. */
export interface Flatness {
  readonly pages: number;
  readonly first: number;
  readonly middle: number;
  readonly last: number;
  /** Median of the first tenth of the pages (at least 3 pages, or all when fewer). */
  readonly headMedian: number;
  /** Median of the last tenth of the pages (as `headMedian`). */
  readonly tailMedian: number;
  /** tailMedian ÷ headMedian: 1 is perfectly flat; a list whose pages slow down as it goes deeper is above 1. */
  readonly ratio: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * Flatness of a list's page latencies, in page order. Single pages are reported too, but the ratio
 * compares the medians of the first and last tenth, so one slow page (a GC, another engineer's
 * build) does not decide it.
 */
export function flatness(latencies: readonly number[]): Flatness {
  const window = Math.min(latencies.length, Math.max(3, Math.floor(latencies.length / 10)));
  const headMedian = median(latencies.slice(0, window));
  const tailMedian = median(latencies.slice(-window));
  return {
    pages: latencies.length,
    first: latencies[0] ?? Number.NaN,
    middle: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
    last: latencies.at(-1) ?? Number.NaN,
    headMedian,
    tailMedian,
    ratio: tailMedian / headMedian,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
