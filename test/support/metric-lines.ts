type Write = ((chunk: string | Uint8Array, ...rest: unknown[]) => boolean) & { dropsMetricLines?: true };

/**
 * Drops the metric lines (embedded metric format, which the functions write straight to stdout,
 * `lambdas/shared/metrics.ts`) from this process's stdout: where functions run in the test's own
 * process, every execution they drive writes some, and they would bury the report. A test that
 * reads them spies on `process.stdout.write` over this. Once per process (a worker may run several
 * test files).
 */
export function dropMetricLines(): void {
  if ((process.stdout.write as Write).dropsMetricLines) return;
  const write = process.stdout.write.bind(process.stdout) as Write;
  const filtered: Write = (chunk, ...rest) => (typeof chunk === 'string' && chunk.startsWith('{"_aws":') ? true : write(chunk, ...rest));
  filtered.dropsMetricLines = true;
  process.stdout.write = filtered as typeof process.stdout.write;
}
