import { vi } from 'vitest';

/** A line the functions wrote, parsed: a logger entry or a metric line (EMF). */
export type Line = Record<string, unknown>;

/** The EMF directive of a metric line. */
export interface MetricDirective {
  readonly Namespace: string;
  readonly Dimensions: readonly (readonly string[])[];
  readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
}

/** What {@link captureLines} collects. */
export interface CapturedLines {
  /** Every logger entry (console.log, warn, error), parsed, in order. */
  readonly entries: Line[];
  /** Every metric line (EMF, written to stdout), parsed, in order. */
  readonly metrics: Line[];
}

/**
 * Collects what the code under test writes instead of printing it: the logger's entries (one JSON
 * line per console call) and the metric lines written straight to stdout. Restored by
 * `vi.restoreAllMocks()`.
 */
export function captureLines(): CapturedLines {
  const captured: CapturedLines = { entries: [], metrics: [] };
  const entry = (text: unknown) => {
    captured.entries.push(JSON.parse(String(text)) as Line);
  };
  for (const method of ['log', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation(entry);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const text of String(chunk).split('\n').filter(Boolean)) captured.metrics.push(JSON.parse(text) as Line);
    return true;
  });
  return captured;
}

/** The EMF directive of a metric line (its only one: the service writes one per line). */
export function directiveOf(line: Line): MetricDirective {
  const aws = line._aws as { CloudWatchMetrics: MetricDirective[] };
  return aws.CloudWatchMetrics[0]!;
}

/** The metric names and values of metric lines, as `{ name: value }` per line. */
export function metricValues(lines: readonly Line[]): Record<string, unknown>[] {
  return lines.map((line) => Object.fromEntries(directiveOf(line).Metrics.map(({ Name }) => [Name, line[Name]])));
}
