import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnLocalStack, stopLocalStack, type LocalStackReady, type SpawnedLocalStack } from '../local/spawn-stack.js';
import { processExists } from '../local/state-file.js';
import { loadRecords, type LoadedRecords } from './soak/load-records.js';
import { withSoakSection } from './soak/performance-section.js';
import { renderSoakSection, soakOutcomeLine } from './soak/render.js';
import { DEFAULT_GROWTH, flatness, judgeGrowth, summarizeLatencies, type Flatness, type GrowthVerdict, type LatencySummary, type MemorySample } from './soak/stats.js';

/**
 * `npm run soak [-- --executions 5000 --concurrency 50 --task document-pipeline --list-records 100000 --write]`:
 * starts the local stack as `npm start` does (a separate process, `local/start.ts --json`, in a
 * temporary LOCAL_DIR), runs a bounded number of executions through its HTTP API with a fixed
 * number in flight, samples the memory of the stack's Node.js process and of DynamoDB Local's Java
 * process, then (with --list-records) loads that many records and pages through the lists. Prints
 * a report (JSON with --json), writes the "Soak and scale" section of docs/performance.md with
 * --write, stops the stack whatever happens (Ctrl-C included) and exits 1 when an execution failed,
 * got stuck or could not be created, the stack's memory grew after warm-up, a list lost or repeated
 * records or its pages slowed past --max-flatness, or the stack did not stop.
 */
const USAGE = `Usage: npm run soak -- [--executions 5000] [--concurrency 50] [--task document-pipeline] [--input JSON]
  [--expect succeeded] [--deadline-seconds 300] [--list-records 0] [--page-size 100] [--max-flatness 2]
  [--sample-ms 1000] [--warmup-fraction F] [--growth-percent P] [--growth-mib M]
  [--tasks module] [--template file] [--function name=module] [--stack-log file]
  [--json] [--write] [--from report.json ...] [--note text ...]`;

const { values } = parsedArgs();

/** The options, or the usage on standard error and exit 2 for an unknown or malformed one (exit 0 for --help). */
function parsedArgs() {
  try {
    return parseOptions();
  } catch (error) {
    const help = process.argv.includes('--help') || process.argv.includes('-h');
    process.stderr.write(`${help ? '' : `${error instanceof Error ? error.message : String(error)}\n`}${USAGE}\n`);
    process.exit(help ? 0 : 2);
  }
}

function parseOptions() {
  return parseArgs({
    options: {
      executions: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '50' },
      task: { type: 'string', default: 'document-pipeline' },
      // The execution input as JSON; the task's first example (GET /tasks/{id}) by default.
      input: { type: 'string' },
      // The terminal status every execution must reach.
      expect: { type: 'string', default: 'succeeded' },
      // An execution not terminal this long after its create is stuck.
      'deadline-seconds': { type: 'string', default: '300' },
      'sample-ms': { type: 'string', default: '1000' },
      'warmup-fraction': { type: 'string', default: String(DEFAULT_GROWTH.warmupFraction) },
      'growth-percent': { type: 'string', default: String(DEFAULT_GROWTH.percent) },
      'growth-mib': { type: 'string', default: String(DEFAULT_GROWTH.mib) },
      'list-records': { type: 'string', default: '0' },
      'page-size': { type: 'string', default: '100' },
      'max-flatness': { type: 'string', default: '2' },
      // Passed on to local/start.ts: another template or tasks module, stand-ins of invoked functions.
      template: { type: 'string' },
      tasks: { type: 'string' },
      function: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      // Renders reports saved with --json (a soak, then a list run) instead of running anything.
      from: { type: 'string', multiple: true, default: [] },
      // Appends everything the stack prints (the functions' log lines, the gateway's errors) to this file.
      'stack-log': { type: 'string' },
      // A paragraph of the runner's reading of the figures, added to the section (repeatable).
      note: { type: 'string', multiple: true, default: [] },
    },
  });
}

/** A whole number option, at least `min`. */
function count(name: keyof typeof values, min: number): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}, got "${String(values[name])}"`);
  return value;
}
/** A positive number option. */
function positive(name: keyof typeof values): number {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${String(values[name])}"`);
  return value;
}

const ROOT = resolve(import.meta.dirname, '..');
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const API_KEY = 'soak-local-key';
/** The tenant the local development key belongs to (local/stack.ts). */
const TENANT = 'default';
/** Retries of a create answered 503 or 429, at most, before it counts as refused. */
const CREATE_RETRIES = 10;
let createRetries = 0;
const log = (message: string) => process.stderr.write(`[soak] ${message}\n`);

/** What one execution did. */
interface Outcome {
  readonly id?: string;
  /** The last status seen; `create-refused` when the create did not answer 201. */
  readonly status: string;
  readonly createMs: number;
  /** completed_at − created_at of the record (the service's clock), for a terminal execution. */
  readonly completionMs?: number;
  readonly stuck: boolean;
  readonly detail?: string;
}

/** One paged list: its query, page latencies and what it returned. */
export interface ListRun {
  readonly query: string;
  readonly items: number;
  readonly duplicates: number;
  readonly expected: number;
  readonly latencies: readonly number[];
  readonly flatness: Flatness;
}

/** Everything the soak measured. */
export interface SoakReport {
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly date: string;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly memoryGiB: number; readonly node: string };
  readonly command: string;
  readonly task: string;
  readonly concurrency: number;
  readonly executions: {
    readonly requested: number;
    readonly created: number;
    readonly reachedExpected: number;
    readonly otherTerminal: number;
    readonly stuck: number;
    readonly createRefused: number;
    /** Creates answered 503 or 429 and retried with their Idempotency-Key. */
    readonly createRetries: number;
    readonly seconds: number;
    readonly perSecond: number;
    readonly deadlineSeconds: number;
    readonly expected: string;
    readonly examples: readonly string[];
  };
  readonly createLatency: LatencySummary;
  readonly completionLatency: LatencySummary;
  readonly memory: {
    readonly sampleMs: number;
    readonly criterion: { readonly warmupFraction: number; readonly percent: number; readonly mib: number; readonly minSamples: number };
    readonly stack: { readonly pid: number; readonly samples: readonly MemorySample[]; readonly verdict: GrowthVerdict };
    readonly dynamodb: { readonly pid: number; readonly samples: readonly MemorySample[]; readonly verdict: GrowthVerdict };
  };
  readonly list?: { readonly loaded: LoadedRecords; readonly pageSize: number; readonly maxFlatness: number; readonly runs: readonly ListRun[] };
  readonly stopped: { readonly stack: boolean; readonly dynamodb: boolean; readonly seconds: number };
}

/** VmRSS of a process in KiB from /proc/<pid>/status, or undefined when it cannot be read (it has exited). */
function rssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Calls the stack's API as the soak's key; a network error answers status 0. */
async function api(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; retryAfter?: string }> {
  try {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    const retryAfter = response.headers.get('retry-after');
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ...(retryAfter ? { retryAfter } : {}) };
  } catch (error) {
    return { status: 0, body: { error: (error as Error).message } };
  }
}

/** Runs `executions` executions of `task`, `concurrency` in flight, each followed to a terminal status or its deadline. */
async function runExecutions(url: string, input: unknown, onSettled: () => void): Promise<{ outcomes: Outcome[]; seconds: number }> {
  const total = count('executions', 0);
  const deadlineMs = positive('deadline-seconds') * 1000;
  const outcomes: Outcome[] = [];
  let next = 0;
  const started = performance.now();
  const one = async (): Promise<Outcome> => {
    const t0 = performance.now();
    // As a careful client does: an Idempotency-Key, so a create answered 503 or 429 (or lost on the
    // way) is retried safely after the Retry-After it was given; every retry is counted.
    const key = randomUUID();
    let created = await api(url, 'POST', `/tasks/${values.task}/executions`, { input }, { 'idempotency-key': key });
    let retries = 0;
    while ((created.status === 503 || created.status === 429 || created.status === 0) && retries < CREATE_RETRIES && !interrupted) {
      retries++;
      await sleep(Math.min(10_000, 1000 * Number(created.retryAfter ?? 1)));
      created = await api(url, 'POST', `/tasks/${values.task}/executions`, { input }, { 'idempotency-key': key });
    }
    const createMs = performance.now() - t0;
    createRetries += retries;
    if (created.status !== 201 && created.status !== 200) return { status: 'create-refused', createMs, stuck: false, detail: `${created.status} ${JSON.stringify(created.body).slice(0, 300)}` };
    const id = String(created.body.id);
    let view = created.body;
    // Held GETs (Prefer: wait) answer on each change, so following an execution costs a few requests, not a poll every few ms.
    while (!TERMINAL.has(String(view.status))) {
      const left = deadlineMs - (performance.now() - t0);
      if (left <= 0) return { id, status: String(view.status), createMs, stuck: true };
      const wait = Math.max(1, Math.min(25, Math.floor(left / 1000)));
      const read = await api(url, 'GET', `/executions/${id}`, undefined, { prefer: `wait=${wait}` });
      if (read.status === 200) view = read.body;
      else await sleep(250);
    }
    const completed = typeof view.completed_at === 'string' ? Date.parse(view.completed_at) - Date.parse(String(view.created_at)) : undefined;
    return {
      id,
      status: String(view.status),
      createMs,
      ...(completed === undefined ? {} : { completionMs: completed }),
      stuck: false,
      ...(view.error ? { detail: JSON.stringify(view.error).slice(0, 300) } : {}),
    };
  };
  await Promise.all(
    Array.from({ length: Math.min(total, count('concurrency', 1)) }, async () => {
      while (next < total && !interrupted) {
        next++;
        outcomes.push(await one());
        onSettled();
      }
    }),
  );
  return { outcomes, seconds: (performance.now() - started) / 1000 };
}

/** Pages through `GET /executions?<query>` from the first page to the last, timing each. */
async function pageThrough(url: string, query: string, expected: number): Promise<ListRun> {
  const latencies: number[] = [];
  const seen = new Set<string>();
  let items = 0;
  let duplicates = 0;
  let cursor: string | undefined;
  // One unmeasured request first: the first call of the list's function is its cold start in the
  // local Lambda host (an import of its bundle), which says nothing about how deep the list is.
  await api(url, 'GET', `/executions?${query}`);
  do {
    const path = `/executions?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const t0 = performance.now();
    const page = await api(url, 'GET', path);
    latencies.push(performance.now() - t0);
    if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status}: ${JSON.stringify(page.body).slice(0, 300)}`);
    for (const item of page.body.items as Array<{ id: string }>) {
      items++;
      if (seen.has(item.id)) duplicates++;
      seen.add(item.id);
    }
    cursor = (page.body.next_cursor as string | null) ?? undefined;
  } while (cursor && !interrupted);
  return { query, items, duplicates, expected, latencies, flatness: flatness(latencies) };
}

let interrupted = false;
let spawned: SpawnedLocalStack | undefined;
let localDir: string | undefined;

/** Stops the stack (SIGTERM, then SIGKILL after 20 s) and waits for DynamoDB Local's process to go; says what is gone. */
async function stopStack(ready: LocalStackReady | undefined): Promise<{ stack: boolean; dynamodb: boolean; seconds: number }> {
  const since = performance.now();
  if (spawned) await stopLocalStack(spawned);
  const javaPid = ready?.dynamodbPid;
  for (let waited = 0; javaPid !== undefined && processExists(javaPid) && waited < 10_000; waited += 100) await sleep(100);
  if (localDir) rmSync(localDir, { recursive: true, force: true });
  return {
    stack: spawned === undefined || spawned.child.exitCode !== null || spawned.child.signalCode !== null,
    dynamodb: javaPid === undefined || !processExists(javaPid),
    seconds: (performance.now() - since) / 1000,
  };
}

let readyLine: LocalStackReady | undefined;
// Ctrl-C (and a closed terminal, or a kill): the stack is stopped before this process ends. The
// stack gets the terminal's SIGINT as well (same process group) and stops itself the same way.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the stack…`);
    void stopStack(readyLine).then((stopped) => {
      log(`stack stopped (${stopped.stack && stopped.dynamodb ? 'nothing left running' : 'something survived'})`);
      process.exit(130);
    });
  });
}

async function main(): Promise<SoakReport> {
  const executions = count('executions', 0);
  const concurrency = count('concurrency', 1);
  const listRecords = count('list-records', 0);
  const pageSize = count('page-size', 1);
  const sampleMs = count('sample-ms', 50);
  const criterion = { ...DEFAULT_GROWTH, warmupFraction: positive('warmup-fraction'), percent: positive('growth-percent'), mib: positive('growth-mib') };
  localDir = mkdtempSync(join(tmpdir(), 'soak-local-'));
  const stackArgs = [
    '--port', '0',
    // The stack's own log lines (a gateway error, an integration timeout) only when they are kept.
    ...(values['stack-log'] ? [] : ['--quiet']),
    ...(values.template ? ['--template', resolve(values.template)] : []),
    ...(values.tasks ? ['--tasks', resolve(values.tasks)] : []),
    ...values.function.flatMap((fn) => ['--function', fn]),
  ];
  log(`starting the local stack (node --import tsx local/start.ts --json ${stackArgs.join(' ')})…`);
  spawned = spawnLocalStack(stackArgs, {
    env: { LOCAL_DIR: localDir, LOCAL_API_KEY: API_KEY },
    timeoutMs: 300_000,
    ...(values['stack-log'] ? { outputFile: resolve(values['stack-log']) } : {}),
  });
  const ready = await spawned.ready;
  readyLine = ready;
  log(`ready in ${ready.seconds} s: ${ready.url} (stack pid ${ready.pid}, DynamoDB Local pid ${ready.dynamodbPid})`);
  const failures: string[] = [];

  const described = await api(ready.url, 'GET', `/tasks/${values.task}`);
  if (described.status !== 200) throw new Error(`GET /tasks/${values.task} answered ${described.status}: is it a task of this stack?`);
  const input: unknown = values.input !== undefined ? JSON.parse(values.input) : (described.body.input_schema as { examples?: unknown[] } | undefined)?.examples?.[0];

  const stackSamples: MemorySample[] = [];
  const javaSamples: MemorySample[] = [];
  let settled = 0;
  const soakStart = performance.now();
  const sample = () => {
    const atMs = performance.now() - soakStart;
    stackSamples.push({ atMs, settled, rssKb: rssKb(ready.pid) });
    javaSamples.push({ atMs, settled, rssKb: rssKb(ready.dynamodbPid) });
  };
  sample();
  const sampler = setInterval(sample, sampleMs);
  let lastLog = 0;
  log(`${executions} executions of ${values.task}, ${concurrency} in flight…`);
  const { outcomes, seconds } = await runExecutions(ready.url, input, () => {
    settled++;
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`${settled}/${executions} settled (stack RSS ${((rssKb(ready.pid) ?? 0) / 1024).toFixed(0)} MiB, DynamoDB Local ${((rssKb(ready.dynamodbPid) ?? 0) / 1024).toFixed(0)} MiB)`);
    }
  });
  sample();
  clearInterval(sampler);

  const expected = values.expect;
  const created = outcomes.filter((outcome) => outcome.id !== undefined);
  const reached = created.filter((outcome) => !outcome.stuck && outcome.status === expected);
  const otherTerminal = created.filter((outcome) => !outcome.stuck && outcome.status !== expected);
  const stuck = created.filter((outcome) => outcome.stuck);
  const refused = outcomes.filter((outcome) => outcome.id === undefined);
  const examples = [...otherTerminal, ...stuck, ...refused].slice(0, 5).map((outcome) => `${outcome.id ?? '(not created)'}: ${outcome.stuck ? `stuck in ${outcome.status}` : outcome.status}${outcome.detail ? ` ${outcome.detail}` : ''}`);
  if (outcomes.length < executions) failures.push(`only ${outcomes.length} of ${executions} executions ran (interrupted)`);
  if (otherTerminal.length > 0) failures.push(`${otherTerminal.length} execution(s) ended other than ${expected}`);
  if (stuck.length > 0) failures.push(`${stuck.length} execution(s) stuck (not terminal ${values['deadline-seconds']} s after create)`);
  if (refused.length > 0) failures.push(`${refused.length} create(s) refused (after ${CREATE_RETRIES} retries each)`);
  const stackVerdict = judgeGrowth(stackSamples, executions, criterion);
  const javaVerdict = judgeGrowth(javaSamples, executions, criterion);
  if (stackVerdict.grew === true) failures.push(`the stack process's memory grew after warm-up (${(stackVerdict.growthKb / 1024).toFixed(0)} MiB, ${stackVerdict.growthPercent.toFixed(0)} %)`);

  let list: SoakReport['list'];
  // The records to load copy one of the soak's executions: none is worth copying when they failed.
  if (listRecords > 0 && !interrupted && (reached.length > 0 || executions === 0)) {
    const template = reached.find((outcome) => outcome.status === 'succeeded')?.id ?? (await oneSucceeded(ready.url, input));
    const queries = [`limit=${pageSize}`, `limit=${pageSize}&status=succeeded`, `limit=${pageSize}&status=failed`] as const;
    // What the tenant holds already (the soak's executions, any a 503'd create left failed with
    // StartExecutionFailed, the one made to copy), counted through the same lists before the load.
    const before: number[] = [];
    for (const query of queries) before.push((await pageThrough(ready.url, query, 0)).items);
    log(`loading ${listRecords} records (copies of ${template}) with BatchWriteItem…`);
    let lastProgress = 0;
    const loaded = await loadRecords({ endpoint: ready.dynamodb, table: ready.table, tenant: TENANT }, template, listRecords, (written) => {
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        log(`${written}/${listRecords} loaded`);
      }
    });
    log(`loaded ${loaded.records} records (${loaded.items} items) in ${loaded.seconds.toFixed(1)} s; paging…`);
    const maxFlatness = positive('max-flatness');
    const runs: ListRun[] = [];
    for (const [query, expect] of [
      [queries[0], before[0]! + loaded.records],
      [queries[1], before[1]! + loaded.records - loaded.failed],
      [queries[2], before[2]! + loaded.failed],
    ] as const) {
      if (interrupted) break;
      const run = await pageThrough(ready.url, query, expect);
      log(`GET /executions?${query}: ${run.items} items in ${run.flatness.pages} pages; first ${run.flatness.first.toFixed(1)} ms, middle ${run.flatness.middle.toFixed(1)} ms, last ${run.flatness.last.toFixed(1)} ms, flatness ${run.flatness.ratio.toFixed(2)}`);
      runs.push(run);
      if (run.items !== expect || run.duplicates > 0) failures.push(`GET /executions?${query} returned ${run.items} items (${run.duplicates} repeated), expected ${expect} distinct`);
      // Fewer than 6 pages: a tenth of them is a page or two, whose median says little.
      if (run.flatness.pages >= 6 && run.flatness.ratio > maxFlatness) failures.push(`GET /executions?${query}: the last pages took ${run.flatness.ratio.toFixed(2)}× the first (more than ${maxFlatness}×)`);
    }
    list = { loaded, pageSize, maxFlatness, runs };
  }

  const stopped = await stopStack(ready);
  if (!stopped.stack) failures.push('the stack process did not exit');
  if (!stopped.dynamodb) failures.push(`DynamoDB Local (pid ${ready.dynamodbPid}) is still running`);
  const cpu = cpus();
  return {
    ok: failures.length === 0,
    failures,
    date: new Date().toISOString(),
    machine: { cores: cpu.length, cpu: cpu[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    task: values.task,
    concurrency,
    executions: {
      requested: executions,
      created: created.length,
      reachedExpected: reached.length,
      otherTerminal: otherTerminal.length,
      stuck: stuck.length,
      createRefused: refused.length,
      createRetries,
      seconds,
      perSecond: reached.length / seconds,
      deadlineSeconds: positive('deadline-seconds'),
      expected,
      examples,
    },
    createLatency: summarizeLatencies(outcomes.map((outcome) => outcome.createMs)),
    completionLatency: summarizeLatencies(created.flatMap((outcome) => (outcome.completionMs === undefined ? [] : [outcome.completionMs]))),
    memory: {
      sampleMs,
      criterion,
      stack: { pid: ready.pid, samples: stackSamples, verdict: stackVerdict },
      dynamodb: { pid: ready.dynamodbPid, samples: javaSamples, verdict: javaVerdict },
    },
    ...(list ? { list } : {}),
    stopped,
  };
}

/** Creates one execution and waits for it to succeed: the record the loaded ones copy when the soak ran none. */
async function oneSucceeded(url: string, input: unknown): Promise<string> {
  const created = await api(url, 'POST', `/tasks/${values.task}/executions`, { input });
  if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  const id = String(created.body.id);
  for (let view = created.body; ; ) {
    if (view.status === 'succeeded') return id;
    if (TERMINAL.has(String(view.status))) throw new Error(`execution ${id} ended ${String(view.status)}: the records to load copy a succeeded one`);
    view = (await api(url, 'GET', `/executions/${id}`, undefined, { prefer: 'wait=25' })).body;
  }
}

const performanceFile = join(ROOT, 'docs', 'performance.md');
if (values.from.length > 0) {
  // Each file's last line is a report (`npm run soak -- --json > file`): the first with executions, and the first with a list.
  const reports = values.from.map((file) => JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as SoakReport);
  const soaked = reports.find((entry) => entry.executions.requested > 0) ?? reports[0]!;
  const text = renderSoakSection(soaked, reports.find((entry) => entry.list) ?? soaked, values.note);
  console.log(text);
  if (values.write) writeFileSync(performanceFile, withSoakSection(readFileSync(performanceFile, 'utf8'), text));
  process.exit(0);
}

let report: SoakReport;
try {
  report = await main();
} catch (error) {
  if (interrupted) await new Promise(() => undefined); // the signal handler exits
  log(`failed: ${(error as Error).message}`);
  const stopped = await stopStack(readyLine);
  log(`stack stopped (${stopped.stack && stopped.dynamodb ? 'nothing left running' : 'something survived'})`);
  process.exit(1);
}
if (interrupted) await new Promise(() => undefined);
const section = renderSoakSection(report, report, values.note);
if (values.json) console.log(JSON.stringify(report));
else console.log(section);
if (values.write) {
  writeFileSync(performanceFile, withSoakSection(readFileSync(performanceFile, 'utf8'), section));
  log(`wrote the "Soak and scale" section of ${performanceFile}`);
}
log(soakOutcomeLine(report));
process.exit(report.ok ? 0 : 1);
