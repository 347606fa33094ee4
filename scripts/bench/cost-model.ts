import { unitPrice, type Prices } from './prices.js';

/** A Lambda function's processor, which sets its price per GB-second. */
export type Architecture = 'arm64' | 'x86_64';

/** What one function did for one execution. */
export interface FunctionUsage {
  /** Its entry (e.g. `api/executions-create.ts`), or a label. */
  readonly name: string;
  /** Configured memory, in MB (read from the synthesized template). */
  readonly memoryMb: number;
  readonly architecture: Architecture;
  readonly invocations: number;
  /** Sum over its invocations of each one's duration rounded up to the next millisecond (Lambda bills per 1 ms). */
  readonly billedMs: number;
}

/** Billable operations of one execution, start to end, as the bench counts them. */
export interface ExecutionUsage {
  /** HTTP API requests, each counted once per started 512 KB (API Gateway meters HTTP APIs so). */
  readonly apiRequests: number;
  readonly functions: readonly FunctionUsage[];
  /** Step Functions Standard state transitions (states entered). */
  readonly stateTransitions: number;
  /** DynamoDB read request units (as reported by ReturnConsumedCapacity). */
  readonly readUnits: number;
  /** DynamoDB write request units (as reported: transactional writes already count 2 per KB). */
  readonly writeUnits: number;
  /** EventBridge events that AWS services put on the default bus (Step Functions status changes). */
  readonly awsServiceEvents: number;
  /** S3 PUT, COPY, POST and LIST requests. */
  readonly s3WriteRequests: number;
  /** S3 GET and HEAD requests. */
  readonly s3ReadRequests: number;
  /** SQS requests (each 64 KB of payload counted once). */
  readonly sqsRequests: number;
}

/** The components of the cost, in the order the table shows them. */
export const COMPONENTS = [
  'API Gateway',
  'Lambda requests',
  'Lambda duration',
  'Step Functions',
  'DynamoDB writes',
  'DynamoDB reads',
  'EventBridge',
  'S3',
  'SQS',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** US dollars per million executions, by component. */
export type Breakdown = Readonly<Record<Component, number>>;

/** Lambda's billed duration of one invocation: rounded up to the next millisecond, at least 1 ms. */
export function billedMilliseconds(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

/** API Gateway HTTP API requests one call is metered as: one per started 512 KB of its payload, at least one. */
export function meteredApiRequests(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / (512 * 1024)));
}

/** SQS requests one call is billed as: one per started 64 KB of its payload, at least one. */
export function billedSqsRequests(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / (64 * 1024)));
}

/**
 * The S3 price tier of one request: DELETE is free; GET and HEAD of an object are the read tier;
 * PUT, COPY, POST and LIST (a GET of the bucket itself) the write tier. `bucketInHost` for a
 * virtual-hosted request (`<bucket>.<endpoint>`), whose path holds only the key.
 */
export function s3RequestTier(method: string, path: string, query: Readonly<Record<string, unknown>>, bucketInHost: boolean): 'read' | 'write' | 'free' {
  const verb = method.toUpperCase();
  if (verb === 'DELETE') return 'free';
  if (verb === 'HEAD') return 'read';
  if (verb !== 'GET') return 'write';
  const keySegments = path.split('/').filter(Boolean).length - (bucketInHost ? 0 : 1);
  return query['list-type'] !== undefined || keySegments <= 0 ? 'write' : 'read';
}

/** GB-seconds of a function's usage: configured memory (MB / 1,024) × billed seconds. */
export function gbSeconds(fn: FunctionUsage): number {
  return (fn.memoryMb / 1024) * (fn.billedMs / 1000);
}

/** Dollars per million executions of `usage`, by component, at `prices`. */
export function costPerMillion(usage: ExecutionUsage, prices: Prices): Breakdown {
  const million = 1_000_000;
  const perGbSecond = (architecture: Architecture) => unitPrice(architecture === 'arm64' ? prices.lambdaGbSecondArm : prices.lambdaGbSecondX86);
  const invocations = usage.functions.reduce((sum, fn) => sum + fn.invocations, 0);
  const duration = usage.functions.reduce((sum, fn) => sum + gbSeconds(fn) * perGbSecond(fn.architecture), 0);
  return {
    'API Gateway': million * usage.apiRequests * unitPrice(prices.apiGatewayHttpRequest),
    'Lambda requests': million * invocations * unitPrice(prices.lambdaRequest),
    'Lambda duration': million * duration,
    'Step Functions': million * usage.stateTransitions * unitPrice(prices.stepFunctionsTransition),
    'DynamoDB writes': million * usage.writeUnits * unitPrice(prices.dynamoDbWriteRequestUnit),
    'DynamoDB reads': million * usage.readUnits * unitPrice(prices.dynamoDbReadRequestUnit),
    EventBridge: million * usage.awsServiceEvents * unitPrice(prices.eventBridgeAwsServiceEvent),
    S3: million * (usage.s3WriteRequests * unitPrice(prices.s3WriteRequest) + usage.s3ReadRequests * unitPrice(prices.s3ReadRequest)),
    SQS: million * usage.sqsRequests * unitPrice(prices.sqsRequest),
  };
}

/** The sum of a breakdown. */
export function totalOf(breakdown: Breakdown): number {
  return COMPONENTS.reduce((sum, component) => sum + breakdown[component], 0);
}

/** The reads of an execution's caller (its GETs, through the read function), apart from the rest. */
export interface CallerReads {
  /** API requests (metered). */
  readonly requests: number;
  /** The read function that serves them. */
  readonly fn: FunctionUsage;
  readonly readUnits: number;
  /** The per-key rate counter's writes the reads make. */
  readonly writeUnits: number;
}

/** One execution as measured: its work, its caller's reads apart, and what the naive design needs. */
export interface MeasuredExecution {
  readonly task: string;
  /** Everything but the caller's reads: create, resume, steps, records, status events… */
  readonly work: ExecutionUsage;
  /** The caller's reads as this service's clients make them (`Prefer: wait` long polls). */
  readonly caller: CallerReads;
  /** From the create's answer to the caller seeing the execution end, in ms. */
  readonly durationMs: number;
  /** One plain GET /executions/{id} (no wait), measured: a naive poll. */
  readonly poll: CallerReads;
}

/**
 * The naive design the bench compares with, defined here and nowhere else (docs/performance.md
 * prints this text): the same execution with three careless choices, each common and each a
 * choice this service makes the other way.
 */
export const NAIVE = {
  /** Every function at 1,024 MB: what the shared step runner had before, a common "safe" size. */
  memoryMb: 1024,
  /** Lambda's default architecture; the service's functions run on arm64 (Graviton), 20 % less per GB-second. */
  architecture: 'x86_64' as Architecture,
  /** The caller polls GET /executions/{id} once a second until the end, instead of holding one GET with `Prefer: wait`. */
  pollIntervalMs: 1000,
  description:
    'The same execution with three careless choices: every function at 1,024 MB (what the shared step runner had before; a common "safe" size) on x86_64 (Lambda\'s default), where the service configures each function\'s memory and runs arm64; and a caller that polls `GET /executions/{id}` once a second from the create until the end (at least once), each poll costing what one plain GET measured in this run costs (API request, read function invocation, read units, rate counter write), instead of holding GETs with `Prefer: wait`. The rest is the measured execution unchanged: the same create, steps, DynamoDB writes (the index redesign is measured by the capacity section, not re-invented here), state transitions and status events. Durations stay as measured: more memory buys CPU, but these handlers mostly wait on DynamoDB and Step Functions.',
} as const;

/** Polls the naive caller makes for an execution lasting `durationMs`: one per started interval, at least one. */
export function naivePolls(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs / NAIVE.pollIntervalMs));
}

const withCaller = (work: ExecutionUsage, caller: CallerReads, times: number): ExecutionUsage => ({
  ...work,
  apiRequests: work.apiRequests + caller.requests * times,
  functions: [...work.functions, { ...caller.fn, invocations: caller.fn.invocations * times, billedMs: caller.fn.billedMs * times }],
  readUnits: work.readUnits + caller.readUnits * times,
  writeUnits: work.writeUnits + caller.writeUnits * times,
});

/** This service's usage of an execution: its work and its caller's long polls. */
export function ourUsage(measured: MeasuredExecution): ExecutionUsage {
  return withCaller(measured.work, measured.caller, 1);
}

/** The naive design's usage of the same execution ({@link NAIVE}). */
export function naiveUsage(measured: MeasuredExecution): ExecutionUsage {
  const careless = (fn: FunctionUsage): FunctionUsage => ({ ...fn, memoryMb: NAIVE.memoryMb, architecture: NAIVE.architecture });
  const work = { ...measured.work, functions: measured.work.functions.map(careless) };
  return withCaller(work, { ...measured.poll, fn: careless(measured.poll.fn) }, naivePolls(measured.durationMs));
}

/** An execution's usage with nothing in it. */
export const NO_USAGE: ExecutionUsage = {
  apiRequests: 0,
  functions: [],
  stateTransitions: 0,
  readUnits: 0,
  writeUnits: 0,
  awsServiceEvents: 0,
  s3WriteRequests: 0,
  s3ReadRequests: 0,
  sqsRequests: 0,
};

/** How a held GET behaves when nothing changes: how long it is held, and how many reads it makes meanwhile. */
export interface Hold {
  readonly seconds: number;
  /** Reads of the record: one on arrival and one per poll. */
  readonly readsPerHold: number;
}

/**
 * One hour of a caller waiting on an execution that does not change (a wait for a human): this
 * service's held GETs (each billed for its whole hold, reading the record per its poll schedule)
 * against the naive caller's polls, each priced from one measured plain GET (`poll`).
 */
export function waitingHour(poll: CallerReads, hold: Hold): { ours: ExecutionUsage; naive: ExecutionUsage } {
  const holds = Math.ceil(3600 / hold.seconds);
  const held: CallerReads = {
    requests: poll.requests,
    fn: { ...poll.fn, invocations: 1, billedMs: hold.seconds * 1000 },
    readUnits: (poll.readUnits / Math.max(1, poll.fn.invocations)) * hold.readsPerHold,
    writeUnits: poll.writeUnits,
  };
  const careless: CallerReads = { ...poll, fn: { ...poll.fn, memoryMb: NAIVE.memoryMb, architecture: NAIVE.architecture } };
  return { ours: withCaller(NO_USAGE, held, holds), naive: withCaller(NO_USAGE, careless, Math.ceil(3_600_000 / NAIVE.pollIntervalMs)) };
}

/** Dollars per million, as the table prints them. */
export const dollars = (value: number): string => (value === 0 ? '$0' : value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`);

/** One task's row pair of the cost table. */
export interface CostRow {
  readonly task: string;
  readonly ours: Breakdown;
  readonly naive: Breakdown;
}

/** The cost table (one row per task and design) and a Mermaid bar chart of the totals. */
export function costTable(rows: readonly CostRow[]): { table: string; chart: string } {
  const head = ['task', 'design', ...COMPONENTS, 'total', 'vs naive'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const ours = totalOf(row.ours);
    const naive = totalOf(row.naive);
    lines.push(`| ${row.task} | this service | ${COMPONENTS.map((c) => dollars(row.ours[c])).join(' | ')} | **${dollars(ours)}** | ${naive > 0 ? `${((ours / naive) * 100).toFixed(0)} %` : 'n/a'} |`);
    lines.push(`| ${row.task} | naive | ${COMPONENTS.map((c) => dollars(row.naive[c])).join(' | ')} | ${dollars(naive)} | 100 % |`);
  }
  const max = Math.max(1, ...rows.flatMap((row) => [totalOf(row.ours), totalOf(row.naive)]));
  const labels = rows.flatMap((row) => [`"${row.task}"`, `"${row.task} (naive)"`]);
  const values = rows.flatMap((row) => [totalOf(row.ours), totalOf(row.naive)].map((value) => value.toFixed(2)));
  const chart = [
    '```mermaid',
    'xychart-beta',
    '  title "US dollars per million executions (us-east-1, on-demand)"',
    `  x-axis [${labels.join(', ')}]`,
    `  y-axis "US dollars" 0 --> ${Math.ceil(max * 1.1)}`,
    `  bar [${values.join(', ')}]`,
    '```',
  ].join('\n');
  return { table: lines.join('\n'), chart };
}
