import type { SoakReport } from '../soak.js';
import { SOAK_SECTION_TITLE } from './performance-section.js';
import type { GrowthVerdict, MemorySample } from './stats.js';

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');
const mib = (kb: number) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : 'n/a');
const table = (head: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

const verdictText = (verdict: GrowthVerdict) =>
  verdict.grew === undefined ? `no verdict (${verdict.samples} samples after warm-up)` : verdict.grew ? '**grew**' : 'no growth';

/**
 * The soak's last line. A run too short to judge memory (fewer post-warm-up samples than the
 * criterion needs) says so instead of claiming that nothing grew: it only proved the executions.
 */
export function soakOutcomeLine(report: Pick<SoakReport, 'ok' | 'failures' | 'memory'>): string {
  if (!report.ok) return `FAILED: ${report.failures.join('; ')}`;
  const { verdict } = report.memory.stack;
  const memory =
    verdict.grew === undefined
      ? `the stack's memory was not judged (${verdict.samples} samples after warm-up, ${report.memory.criterion.minSamples} needed: run longer)`
      : "the stack's memory did not grow";
  return `ok: every execution reached its status, ${memory}, the stack is stopped`;
}

/** About ten evenly spaced samples of the run, the first and last included. */
function spread<T>(samples: readonly T[], rows = 10): T[] {
  if (samples.length <= rows) return [...samples];
  return Array.from({ length: rows }, (_, i) => samples[Math.round((i * (samples.length - 1)) / (rows - 1))]!);
}

/** The "Soak and scale" section of docs/performance.md (also what `npm run soak` prints). */
export function renderSoakSection(report: SoakReport, listRun: SoakReport = report, notes: readonly string[] = []): string {
  const { executions: e, memory } = report;
  const { list } = listRun;
  const criterion = memory.criterion;
  const timeline = spread(memory.stack.samples.map((sample, i): [MemorySample, MemorySample | undefined] => [sample, memory.dynamodb.samples[i]]));
  const parts = [
    `## ${SOAK_SECTION_TITLE}`,
    `Written by \`npm run soak -- --write\` on ${report.date.slice(0, 16).replace('T', ' ')} UTC: ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memoryGiB} GiB, Node.js ${report.machine.node}, shared with other work. Command: \`${report.command}\`. \`npm run bench\` keeps this section as it finds it; only the soak rewrites it.`,
    `The soak starts the local stack as \`npm start\` does, as a separate process (\`local/start.ts --json\`, DynamoDB Local in memory), runs ${e.requested} executions of \`${report.task}\` through its HTTP API with ${report.concurrency} in flight (each caller creates one, follows it with held GETs, \`Prefer: wait\`, until it is terminal, then creates the next), and stops the stack at the end, on failure and on Ctrl-C. Create latency: \`POST /tasks/{id}/executions\` to its 201, at the caller, retries included (a create answered 503 or 429 is retried after its \`Retry-After\` with the same \`Idempotency-Key\`, at most 10 times, as a careful client does; ${e.createRetries} retries in this run). Completion: \`completed_at − created_at\` of the record (the service's clock). Stuck: not terminal ${e.deadlineSeconds} s after its create.`,
    table(
      ['executions', 'reached `' + e.expected + '`', 'other terminal status', 'stuck', 'create refused', 'seconds', 'executions / s', 'create p50', 'create p99', 'completion p50', 'completion p99', 'completion max'],
      [[e.requested, e.reachedExpected, e.otherTerminal, e.stuck, e.createRefused, e.seconds.toFixed(1), e.perSecond.toFixed(2), ms(report.createLatency.p50), ms(report.createLatency.p99), ms(report.completionLatency.p50), ms(report.completionLatency.p99), ms(report.completionLatency.max)]],
    ),
    ...(e.examples.length > 0 ? [`Examples: ${e.examples.map((example) => `\`${example}\``).join('; ')}.`] : []),
    `Memory: VmRSS from \`/proc/<pid>/status\` every ${memory.sampleMs} ms, of the stack's Node.js process (the API, the functions, the Step Functions engine, the pollers) and of DynamoDB Local's Java process. Warm-up lasts until ${criterion.warmupFraction * 100} % of the executions have settled. After it, the baseline is the median of the first quarter of the samples and the final figure the median of the last quarter; a process grew when the final figure exceeds the baseline by more than ${criterion.percent} % and by more than ${criterion.mib} MiB (fewer than ${criterion.minSamples} samples after warm-up: no verdict). Growth of the stack process fails the soak. DynamoDB Local is judged the same way but only reported: it holds the whole table in memory, so it grows with the records and rows the executions write, which is data, not a leak. Slope: least squares over the samples after warm-up.`,
    table(
      ['process', 'baseline', 'final', 'peak', 'growth', 'slope per 1,000 executions', 'verdict'],
      (
        [
          ['stack (Node.js)', memory.stack.verdict],
          ['DynamoDB Local (Java)', memory.dynamodb.verdict],
        ] as const
      ).map(([name, verdict]) => [name, mib(verdict.baselineKb), mib(verdict.finalKb), mib(verdict.peakKb), `${mib(verdict.growthKb)} (${Number.isFinite(verdict.growthPercent) ? verdict.growthPercent.toFixed(1) : 'n/a'} %)`, mib(verdict.slopeKbPerThousand), verdictText(verdict)]),
    ),
    table(
      ['seconds', 'executions settled', 'stack RSS', 'DynamoDB Local RSS'],
      timeline.map(([stack, java]) => [(stack.atMs / 1000).toFixed(0), stack.settled, mib(stack.rssKb ?? Number.NaN), mib(java?.rssKb ?? Number.NaN)]),
    ),
  ];
  if (list) {
    parts.push(
      `List flatness${listRun === report ? '' : ` (a run of its own: \`${listRun.command}\` on ${listRun.date.slice(0, 16).replace('T', ' ')} UTC, same machine; result ${listRun.ok ? 'ok' : `**failed**: ${listRun.failures.join('; ')}`})`}: ${list.loaded.records} terminal records of the tenant (${list.loaded.failed} \`failed\`, the rest \`succeeded\`) loaded straight into the table with BatchWriteItem in ${list.loaded.seconds.toFixed(1)} s: copies of an execution the stack ran, re-keyed through the repository's own item functions, each with its \`init\` row as create writes it (${list.loaded.items} items; \`scripts/soak/load-records.ts\`). Then each list is paged from the first page to the last (\`limit=${list.pageSize}\`, following \`next_cursor\`), one request at a time. Flatness ratio: the median latency of the last tenth of the pages over that of the first tenth (at least 3 pages each); 1 is flat; the soak fails above ${list.maxFlatness}.`,
      table(
        ['list', 'items', 'pages', 'first page', 'middle page', 'last page', 'first tenth (median)', 'last tenth (median)', 'flatness ratio', 'p50', 'p99'],
        list.runs.map((run) => [`\`GET /executions?${run.query}\``, run.items, run.flatness.pages, ms(run.flatness.first), ms(run.flatness.middle), ms(run.flatness.last), ms(run.flatness.headMedian), ms(run.flatness.tailMedian), `${run.flatness.ratio.toFixed(2)}×`, ms(run.flatness.p50), ms(run.flatness.p99)]),
      ),
    );
  }
  parts.push(
    `Stack stopped in ${report.stopped.seconds.toFixed(1)} s: Node.js process ${report.stopped.stack ? 'exited' : '**still running**'}, DynamoDB Local ${report.stopped.dynamodb ? 'exited' : '**still running**'}. Result: ${report.ok ? 'ok' : `**failed**: ${report.failures.join('; ')}`}.`,
  );
  parts.push(...notes.map((note) => `Reading: ${note}`));
  return `${parts.join('\n\n')}\n`;
}
