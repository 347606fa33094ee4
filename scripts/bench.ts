import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, bundle, floorBundle, type Bundle, type Client } from './bench/bundle.js';
import { CLIENT_GZIP_BUDGET_BYTES, clientSize } from './bench/client-size.js';
import { coldImports, type Timing } from './bench/cold-import.js';
import { constructCosts } from './bench/constructs.js';
import { measureEvents, type EventsReport, type WatchCost } from './bench/events.js';
import { bundleFunctions, FUNCTIONS, stepFunctionsOf } from './bench/functions.js';
import { startMeteredStack } from './bench/local-stack.js';
import { measureOperations, scheduledPolls, type OperationReport } from './bench/operations.js';
import { METRICS_WRITER_SECTION } from './bench/metrics-writer.js';
import { measureWebhooks, type WebhooksReport } from './bench/webhooks.js';
import { measureAdmission, type AdmissionReport } from './bench/admission.js';
import { measureCosts, type CostMeasurement } from './bench/cost-meter.js';
import { costSection } from './bench/cost-section.js';
import { DEFAULT_TASKS_MODULE, loadTasksModule } from '../infra/tasks-module.js';
import { dropMetricLines } from '../test/support/metric-lines.js';
import { soakSection } from './soak/performance-section.js';
import { endToEnd, latencies, transactionCeiling, type LatencyReport, type ThroughputPoint } from './bench/throughput.js';

/**
 * `npm run bench [-- --check] [-- --runs N]`: bundle sizes and cold imports against the naive
 * baseline and each function's floor, DynamoDB and Step Functions work per call and per
 * execution, and local throughput against DynamoDB Local's ceiling. Writes docs/performance.md;
 * with --check, exits 1 when a budget is missed.
 */
const { values } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    runs: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '8' },
  },
});
const RUNS = Math.max(15, Number(values.runs));
// The functions run in this process; their info lines would bury the tables, and so would their
// metric lines (one or two per execution, written whatever the level).
process.env.LOG_LEVEL ??= 'warn';
dropMetricLines();
const SECONDS = Number(values.seconds);
const BUDGET = {
  size: 1.15,
  cold: 1.25,
  throughput: 0.5,
  stateTransitionsPerStep: 2,
  eventLatencyP95Ms: 1000,
  webhookLatencyP95Ms: 2000,
  /** DynamoDB writes concurrency limits may add to an execution of a tenant without limits (issue 13). */
  unlimitedExtraWrites: 2,
  /** Capacity units of a document-pipeline execution, create to end (issue 14: half of {@link PIPELINE_CAPACITY_BEFORE}). */
  pipelineCapacity: 45,
} as const;
/**
 * Capacity units of a document-pipeline execution measured before issue 14's index redesign (the
 * by-tenant, by-task and by-status indexes projecting ALL), kept as the reference the budget halves.
 */
const PIPELINE_CAPACITY_BEFORE = 91;
/** A tasks module with a heavy import in one task, whose step function bundles are reported. */
const SPLIT_TASKS = 'scripts/bench/reference/split-tasks/index.ts';

interface BudgetResult {
  readonly budget: string;
  readonly measured: string;
  readonly ok: boolean | 'n/a';
}
const budgets: BudgetResult[] = [];
const check = (budget: string, measured: string, ok: boolean | 'n/a') => budgets.push({ budget, measured, ok });

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (value: number) => `${value.toFixed(2)}×`;
/** Operations in order, a run of one repeated written once with its count (a held GET's polls). */
const operationList = (operations: readonly string[]) =>
  operations
    .reduce<Array<[string, number]>>((runs, operation) => {
      const last = runs.at(-1);
      if (last?.[0] === operation) last[1]++;
      else runs.push([operation, 1]);
      return runs;
    }, [])
    .map(([operation, count]) => (count > 1 ? `${operation} × ${count}` : operation))
    .join(', ') || 'none';
const table = (head: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

const sections: string[] = [];
const section = (title: string, body: string) => {
  sections.push(`## ${title}\n\n${body}\n`);
  console.log(`\n## ${title}\n\n${body}`);
};

// 1–2. Bundles, the naive baseline and the floors: the service's functions and one function per
// Lambda step of the example tasks (the steps of one task share a bundle: it is built and imported once).
const out = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
const ALL = [...FUNCTIONS, ...(await stepFunctionsOf(DEFAULT_TASKS_MODULE, out))];
const bundles = await bundleFunctions(ALL, out);
const floors = new Map<string, Bundle>();
for (const clients of new Set(ALL.map((fn) => fn.clients.join('+')))) {
  floors.set(clients, await floorBundle(`floor-${clients || 'none'}`, clients ? (clients.split('+') as Client[]) : [], out));
}
const floorOf = (fn: (typeof ALL)[number]): Bundle => floors.get(fn.clients.join('+'))!;
const naive = await bundle('naive-create', join(ROOT, 'scripts/bench/reference/naive-create.ts'), out);
// Keyed by file: each distinct bundle is imported RUNS times, whichever functions share it.
const files = new Map<string, string>(
  [...bundles.values(), ...floors.values(), naive].map((b): [string, string] => [b.file, b.file]),
);
console.log(`Importing ${files.size} bundles ${RUNS} times each, interleaved…`);
const cold = await coldImports(files, RUNS);
const coldOf = (b: Bundle): Timing => cold.get(b.file)!;

const bundleRows = ALL.map((fn) => {
  const own = bundles.get(fn.name)!;
  const floor = floorOf(fn);
  const t = coldOf(own);
  const f = coldOf(floor);
  const sdkFree = fn.clients.length === 0;
  const sizeRatio = own.bytes / floor.bytes;
  const coldRatio = t.median / f.median;
  if (sdkFree) {
    check(`${fn.name}: size ≤ ${BUDGET.size}× floor`, `floor is an empty module (${kb(floor.bytes)}): not meetable by any handler; ${kb(own.bytes)}`, 'n/a');
  } else {
    check(`${fn.name}: size ≤ ${BUDGET.size}× floor`, ratio(sizeRatio), sizeRatio <= BUDGET.size);
    check(`${fn.name}: cold import median ≤ ${BUDGET.cold}× floor`, ratio(coldRatio), coldRatio <= BUDGET.cold);
  }
  return [
    fn.name,
    kb(own.bytes),
    kb(own.gzipBytes),
    fn.clients.join(' + ') || 'none',
    kb(floor.bytes),
    ratio(sizeRatio),
    ratio(own.bytes / naive.bytes),
    `${ms(t.median)} (p90 ${ms(t.p90)}, ${ms(t.min)}–${ms(t.max)})`,
    ms(f.median),
    ratio(coldRatio),
    ratio(t.median / coldOf(naive).median),
  ];
});
const n = coldOf(naive);
section(
  'Bundles and cold imports',
  `${table(
    ['function', 'minified', 'gzip', 'floor clients', 'floor', 'size / floor', 'size / naive', `cold import median (p90, range; ${RUNS} runs)`, 'floor median', 'cold / floor', 'cold / naive'],
    bundleRows,
  )}\n\nNaive baseline (create written without care: middy + classic zod + lib-dynamodb + client-sfn): ${kb(naive.bytes)} (${kb(naive.gzipBytes)} gzip), cold import median ${ms(n.median)} (p90 ${ms(n.p90)}).\n\nEach \`step:<task>/<step>\` row is the function of one Lambda step of the example tasks: its bundle holds the step runtime and its own task's file only (the steps of a task share it), so it is held to the same budgets as the service's own functions.`,
);

// Step functions of a tasks module with a heavy import in one task: reported, not budgeted (task
// code is the deployer's; what is measured is that only its own steps carry it).
const splitSteps = await stepFunctionsOf(join(ROOT, SPLIT_TASKS), out);
const splitBundles = await bundleFunctions(splitSteps, out);
const dynamodbFloor = floors.get('dynamodb')!;
section(
  'Step function bundles of a tasks module with a heavy import',
  `${table(
    ['function', 'bundles as #tasks', 'minified', 'gzip', 'size / floor'],
    splitSteps.map((fn) => {
      const own = splitBundles.get(fn.name)!;
      return [fn.name, fn.tasksModule?.endsWith('.mjs') ? 'its task\'s file' : 'the whole tasks module', kb(own.bytes), kb(own.gzipBytes), ratio(own.bytes / dynamodbFloor.bytes)];
    }),
  )}\n\n\`${SPLIT_TASKS}\`: \`light-task\` and \`heavy-task\` (which imports classic zod whole) are each exported from a file of their own, so each step function bundles only its task's file; \`inline-task\` is defined inline in the \`tasks\` array, which no file exports by name, so its step function falls back to the whole module, heavy import included. Reported only: a task's own code is the deployer's.`,
);
rmSync(out, { recursive: true, force: true });
section(METRICS_WRITER_SECTION.title, METRICS_WRITER_SECTION.body);

// The typed client (async-executions/client), as an app's bundler ships it.
const client = await clientSize();
section(
  'Typed client',
  `\`async-executions/client\` bundled by esbuild (ESM, minified, platform neutral), openapi-fetch left out: ${kb(client.bytes)} minified, ${kb(client.gzipBytes)} gzip. openapi-fetch itself, built the same way: ${kb(client.openapiFetch.bytes)} minified, ${kb(client.openapiFetch.gzipBytes)} gzip. The generated types (\`client/schema.d.ts\`) weigh nothing at run time.`,
);
check(`typed client < ${kb(CLIENT_GZIP_BUDGET_BYTES)} gzip (without openapi-fetch)`, kb(client.gzipBytes), client.gzipBytes < CLIENT_GZIP_BUDGET_BYTES);

// 3–4. Against the local stack.
console.log('\nStarting the local stack in this process…');
const metered = await startMeteredStack();
let operations: OperationReport;
let ceiling: number;
const points: ThroughputPoint[] = [];
let latency: LatencyReport[];
let costs: ReturnType<typeof constructCosts>;
let events: EventsReport;
let webhooks: WebhooksReport;
let admission: AdmissionReport;
let dollarCosts: CostMeasurement;
try {
  operations = await measureOperations(metered);
  console.log('Cost: one execution of each example task, metered…');
  dollarCosts = await measureCosts(metered);
  ceiling = await transactionCeiling(metered, 8, Math.min(SECONDS, 4));
  for (const concurrency of [1, 8, 32]) {
    console.log(`Throughput at concurrency ${concurrency} for ${SECONDS} s…`);
    points.push(await endToEnd(metered, concurrency, SECONDS));
    await metered.stack.stepFunctions.drain();
  }
  latency = await latencies(metered, 8, 25);
  console.log('Event streams: idle watchers for a minute, then watchers of batch-summarize executions…');
  events = await measureEvents(metered);
  console.log('Webhooks: a receiver subscribed to 20 document-pipeline executions…');
  webhooks = await measureWebhooks(metered);
  console.log('Admission: executions of a tenant without limits, then of one with a limit of 1…');
  admission = await measureAdmission(metered);
  costs = constructCosts(metered.templatePath, (await loadTasksModule(DEFAULT_TASKS_MODULE)).tasks);
} finally {
  await metered.stop();
}

section(
  'DynamoDB work per API call',
  `${table(
    ['call', 'status', 'operations', 'rate counter writes', 'capacity units'],
    operations.calls.map((call) => [call.call, call.status, operationList(call.operations), call.rateCounterWrites, call.capacity]),
  )}

Rate counter writes: the per-key limiter's one conditional \`UpdateItem\` of the caller's fixed-window counter (1 write unit, included in the capacity units) on each create and each read of executions; the route's own operations are listed apart from it. A resume or a cancel counts against no limit.

The held GET (\`Prefer: wait=${operations.held.waitSeconds}\` with the current ETag in \`If-None-Match\`, on an execution waiting for input that nothing resumes) was answered 304 after ${(operations.held.heldMs / 1000).toFixed(1)} s: ${operations.held.operations.length} consistent GetItems of the record, one on arrival and one per poll (after 250 ms, 500 ms, then every second, and at the deadline), ${operations.held.capacity} capacity units for a record under 4 KB. A change ends the hold at the next poll, so it reads less.`,
);
section(
  'Work per execution',
  `${table(
    ['task', 'steps run', 'transitions', 'transactions', 'lost races', 'reads', 'other writes', 'rate counter writes', 'capacity units', 'Step Functions states entered', 'per step run'],
    operations.executions.map((execution) => [
      execution.task,
      execution.userSteps,
      execution.transitions,
      execution.transactions,
      execution.lostRaces,
      execution.reads,
      execution.otherWrites,
      execution.rateCounterWrites,
      execution.capacity,
      execution.stateTransitions,
      (execution.stateTransitions / execution.userSteps).toFixed(2),
    ]),
  )}

Steps run counts nested steps (each writes one \`step\` row). Lost races: transactions DynamoDB cancelled because another writer of the same execution won (the loser re-reads and retries, at most 29 times with jittered pauses); batch-summarize runs 10 map items at once. Transactions count the ones that were written. Capacity units are DynamoDB Local's report (\`ReturnConsumedCapacity: INDEXES\`: table and each index), with a transaction's table units raised to DynamoDB's 2 per item where DynamoDB Local reports fewer (it reports 2 in all for a transaction none of whose items changes an index). Reference: a document-pipeline execution cost ${PIPELINE_CAPACITY_BEFORE} capacity units before issue 14's index redesign (docs/architecture.md, "Indexes and what a write costs").`,
);
section(
  'State transitions per step, by construct',
  `${table(
    ['construct', 'steps', 'state transitions per run of the step'],
    [...costs].map(([kind, counts]) => [kind, counts.length, [...new Set(counts)].join(', ')]),
  )}

Read from the synthesized definitions of the example tasks and the construct showcase (scripts/bench/state-transitions.ts): a step's own states, without the nested steps of a parallel, map or choice (steps of their own); no step has a Fail state (nothing catches: docs/architecture.md).`,
);
for (const [kind, counts] of costs) {
  check(`${kind}: ≤ ${BUDGET.stateTransitionsPerStep} state transitions per step`, String(Math.max(...counts)), Math.max(...counts) <= BUDGET.stateTransitionsPerStep);
}
for (const execution of operations.executions) {
  check(`${execution.task}: one transaction per status transition`, `${execution.transactions} transactions / ${execution.transitions} transitions`, execution.transactions === execution.transitions);
  const perStep = execution.stateTransitions / execution.userSteps;
  check(`${execution.task}: ≤ ${BUDGET.stateTransitionsPerStep} state transitions per user step`, perStep.toFixed(2), perStep <= BUDGET.stateTransitionsPerStep);
}
for (const call of operations.calls.filter((c) => c.call.startsWith('GET ') && c.call !== operations.held.call)) {
  const single = call.call === 'GET /executions/{id}';
  // A page of executions is one Query of an index of keys and one BatchGetItem of its records.
  const expected = single ? 'GetItem' : call.call.includes('/transitions') ? 'Query' : 'Query, BatchGetItem';
  check(
    single ? 'one read per GET /executions/{id}' : `one query per list page (and one batch read of its records): ${call.call}`,
    call.operations.join(', '),
    call.operations.join(', ') === expected,
  );
}
const heldBudget = 1 + scheduledPolls(operations.held.waitSeconds * 1000);
check(
  `a held GET reads once on arrival and once per poll: at most ${heldBudget} in ${operations.held.waitSeconds} s`,
  `${operations.held.operations.length} reads in ${(operations.held.heldMs / 1000).toFixed(1)} s`,
  operations.held.operations.every((operation) => operation === 'GetItem') && operations.held.operations.length <= heldBudget,
);
check('zero Scans', String(operations.scans), operations.scans === 0);

const pipeline = operations.executions.find((execution) => execution.task === 'document-pipeline')!;
check(
  `capacity units per document-pipeline execution ≤ ${BUDGET.pipelineCapacity}`,
  `${pipeline.capacity} (before issue 14's index redesign: ${PIPELINE_CAPACITY_BEFORE})`,
  pipeline.capacity <= BUDGET.pipelineCapacity,
);
const writesPerExecution = pipeline.transactions + pipeline.otherWrites;
const ideal = ceiling / writesPerExecution;
section(
  'Local throughput',
  `${table(
    ['concurrency', 'executions', 'seconds', 'executions / s', 'fraction of ceiling ÷ writes'],
    points.map((point) => [point.concurrency, point.completed, point.seconds.toFixed(1), point.perSecond.toFixed(2), `${((point.perSecond / ideal) * 100).toFixed(0)} %`]),
  )}\n\nCeiling: DynamoDB Local accepts ${ceiling.toFixed(0)} two-item transactions/s on the same table (8 writers). A document-pipeline execution needs ${writesPerExecution} writes (${pipeline.transactions} transactions + ${pipeline.otherWrites} progress updates), so the ceiling allows ${ideal.toFixed(1)} executions/s. The ceiling counts two-item transactions only; an execution's progress updates are single-item writes, which DynamoDB Local takes faster, so the fraction can pass 100 %. Machine: ${cpus().length} cores; everything (API, Step Functions, functions, the benchmark's callers) shares one Node.js process, and DynamoDB Local its Java process.\n\n![throughput](performance-throughput.svg)\n\n${table(
    ['call', 'concurrency', 'p50', 'p90', 'p99 (max of 200)'],
    latency.map((report) => [report.call, report.concurrency, ms(report.timing.median), ms(report.timing.p90), ms(report.timing.max)]),
  )}`,
);
const perWatcherMinute = (cost: WatchCost, value: number) => (value / (cost.watchers * cost.minutes)).toFixed(1);
section(
  'Event streams',
  `${table(
    ['watching', 'watchers', 'minutes each', 'requests', 'Queries', 'GetItems', 'capacity units', 'per watcher-minute: requests', 'Queries', 'GetItems', 'capacity units'],
    [events.idle, events.active].map((cost) => [
      cost.what,
      cost.watchers,
      cost.minutes.toFixed(2),
      cost.requests,
      cost.queries,
      cost.gets,
      cost.capacity.toFixed(1),
      perWatcherMinute(cost, cost.requests),
      perWatcherMinute(cost, cost.queries),
      perWatcherMinute(cost, cost.gets),
      perWatcherMinute(cost, cost.capacity),
    ]),
  )}

Watchers read \`GET /executions/{id}/events\` as an \`EventSource\` does: reconnecting with Last-Event-ID after each response, after its \`retry\`. The first row watches an execution that waits for input (nothing happens: each response lasts the 25 s window); the second watches batch-summarize executions (a 1 s sleep, then 10 documents at once) from start to end, two watchers each, started 1.5 s apart. Capacity units are what DynamoDB Local reports, which counts nothing for a Query that finds no row; DynamoDB rounds every read up to 4 KB, so count each Query as at least one read unit (strongly consistent).

Event latency, from a transition's \`created_at\` to its arrival at a watcher, over ${events.latency.samples} transitions of the second row: p50 ${ms(events.latency.p50)}, p95 ${ms(events.latency.p95)}, max ${ms(events.latency.max)}.`,
);
check(`event latency p95 ≤ ${BUDGET.eventLatencyP95Ms} ms (transition written → arrival at a watcher)`, ms(events.latency.p95), events.latency.p95 <= BUDGET.eventLatencyP95Ms);

section(
  'Webhooks',
  `A receiver on 127.0.0.1 subscribed to \`execution.started\` and \`execution.succeeded\` of 20 document-pipeline executions (started 250 ms apart) got ${webhooks.events} events. Delivery latency, from a change's \`timestamp\` (its record's \`updated_at\`) to the request's arrival: p50 ${ms(webhooks.latency.p50)}, p95 ${ms(webhooks.latency.p95)}, max ${ms(webhooks.latency.max)}. The path is the table's stream (the local mapping polls it and batches up to 1 s, as \`maxBatchingWindow\`), the dispatch function, the delivery queue and the delivery function. DynamoDB work of the two functions per event: ${webhooks.dynamoDbCallsPerEvent.toFixed(1)} calls, ${webhooks.capacityPerEvent.toFixed(1)} capacity units (the subscriptions Query is shared by the events of one stream batch; each delivery counts its attempt and records it).`,
);
check(`webhook delivery latency p95 ≤ ${BUDGET.webhookLatencyP95Ms} ms locally (change written → arrival at the receiver)`, ms(webhooks.latency.p95), webhooks.latency.p95 <= BUDGET.webhookLatencyP95Ms);

section(
  'Concurrency limits and delays (admission)',
  `${admission.unlimited.executions} document-pipeline executions of a tenant without limits: ${admission.unlimited.extraWritesPerExecution.toFixed(1)} DynamoDB writes and ${admission.unlimited.extraReadsPerExecution.toFixed(1)} reads per execution beyond create's one transaction (create decides from the authorizer's context, and the stream filters pass none of its changes to admission). ${admission.limited.executions} executions of a tenant with a limit of 1: ${admission.limited.writesPerExecution.toFixed(1)} writes per execution beyond create's (place, admit, release: one conditional write or transaction each) and ${admission.limited.readsPerExecution.toFixed(1)} reads (the record, the queue head, the limits and counters). From an execution's end (\`completed_at\`) to the start of the next queued one (\`started_at\`): p50 ${ms(admission.limited.slotToStart.p50)}, p95 ${ms(admission.limited.slotToStart.p95)}, max ${ms(admission.limited.slotToStart.max)} over ${admission.limited.slotToStart.samples} hand-overs (the table's stream, polled locally as Lambda does, the admission function, StartExecution, and the first step's \`start\` transition). The schedule's run every minute reads ${admission.readsPerScheduledRun ?? 'about 9'} times (the due shards and the tenants with limits), whatever the executions.`,
);
check(
  `no limit set: ≤ ${BUDGET.unlimitedExtraWrites} extra DynamoDB writes per execution (issue 13; 0 by design)`,
  admission.unlimited.extraWritesPerExecution.toFixed(1),
  admission.unlimited.extraWritesPerExecution <= BUDGET.unlimitedExtraWrites,
);

const cost = costSection(dollarCosts, undefined, { task: 'document-pipeline', before: PIPELINE_CAPACITY_BEFORE, now: pipeline.capacity });
section(cost.title, cost.body);

const at8 = points.find((point) => point.concurrency === 8)!;
check(
  `throughput at concurrency 8 ≥ ${BUDGET.throughput * 100} % of ceiling ÷ writes per execution`,
  `${at8.perSecond.toFixed(2)}/s vs ${(BUDGET.throughput * ideal).toFixed(2)}/s (${((at8.perSecond / ideal) * 100).toFixed(0)} %)`,
  at8.perSecond >= BUDGET.throughput * ideal,
);

// The chart.
const width = 480;
const height = 260;
const pad = 48;
const maxY = Math.max(ideal, ...points.map((point) => point.perSecond)) * 1.15;
const x = (index: number) => pad + (index * (width - 2 * pad)) / (points.length - 1);
const y = (value: number) => height - pad - (value / maxY) * (height - 2 * pad);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">document-pipeline executions/s against concurrency</text>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="black"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>
<line x1="${pad}" y1="${y(ideal)}" x2="${width - pad}" y2="${y(ideal)}" stroke="#c33" stroke-dasharray="4 4"/>
<text x="${width - pad}" y="${y(ideal) - 6}" text-anchor="end" fill="#c33">DynamoDB Local ceiling ÷ writes = ${ideal.toFixed(1)}/s</text>
<polyline fill="none" stroke="#36c" stroke-width="2" points="${points.map((point, index) => `${x(index)},${y(point.perSecond)}`).join(' ')}"/>
${points
  .map(
    (point, index) => `<circle cx="${x(index)}" cy="${y(point.perSecond)}" r="4" fill="#36c"/>
<text x="${x(index)}" y="${y(point.perSecond) - 10}" text-anchor="middle">${point.perSecond.toFixed(1)}</text>
<text x="${x(index)}" y="${height - pad + 18}" text-anchor="middle">${point.concurrency}</text>`,
  )
  .join('\n')}
<text x="${width / 2}" y="${height - 10}" text-anchor="middle">concurrent callers</text>
<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">executions / s</text>
</svg>
`;
writeFileSync(join(ROOT, 'docs', 'performance-throughput.svg'), svg);

section(
  'Budgets',
  table(
    ['budget', 'measured', 'result'],
    budgets.map((budget) => [budget.budget, budget.measured, budget.ok === 'n/a' ? 'n/a' : budget.ok ? 'ok' : '**MISSED**']),
  ),
);

const missed = budgets.filter((budget) => budget.ok === false);
const performanceFile = join(ROOT, 'docs', 'performance.md');
// The "Soak and scale" section is written by `npm run soak -- --write` (far longer than a bench run): kept as found.
const soak = existsSync(performanceFile) ? soakSection(readFileSync(performanceFile, 'utf8')) : '';
writeFileSync(
  performanceFile,
  `# Performance\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${cpus().length} cores, Node.js ${process.version}). Run it again to refresh; \`npm run bench -- --check\` fails when a budget is missed. Timings on this shared machine are noisy: runs are interleaved and reported as medians with their spread.\n\n${sections.join('\n')}${soak ? `\n${soak}` : ''}`,
);
console.log(`\nWrote docs/performance.md. ${missed.length === 0 ? 'Every budget holds.' : `${missed.length} budget(s) missed.`}`);
if (values.check && missed.length > 0) process.exit(1);
process.exit(0);
