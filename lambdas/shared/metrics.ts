import { logScope } from './logger.js';

/** The CloudWatch namespace of the service's metrics. */
export const NAMESPACE = 'AsyncExecutions';

/**
 * Writes `metrics` as one line of CloudWatch embedded metric format (EMF): CloudWatch Logs turns it
 * into metrics of {@link NAMESPACE}, each once with `dimensions` and once without (the service-wide
 * aggregate). A metric whose name ends in `Duration` is in milliseconds, any other a count. The line
 * also carries the log keys of the work under way (request id, execution) and `properties`, so it
 * reads as a log line too. A few hundred bytes instead of a metrics library (docs/performance.md).
 *
 * Straight to stdout: the Lambda runtime prefixes `console` lines in text log format, and CloudWatch
 * only extracts metrics from lines that are whole JSON. Never throws: a metric is written after the
 * fact it counts, which must not fail for it.
 */
export function putMetrics(metrics: Readonly<Record<string, number>>, dimensions: Readonly<Record<string, string>>, properties: Readonly<Record<string, unknown>> = {}): void {
  try {
    const directive = {
      Namespace: NAMESPACE,
      Dimensions: [Object.keys(dimensions), []],
      Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: Name.endsWith('Duration') ? 'Milliseconds' : 'Count' })),
    };
    process.stdout.write(`${JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [directive] }, ...logScope.getStore(), ...properties, ...dimensions, ...metrics })}\n`);
  } catch {
    // Nothing to do: the fact stands without its metric.
  }
}
