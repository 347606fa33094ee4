import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { performance } from 'node:perf_hooks';
import { LambdaHost, invocations } from '../../local/lambda-host.js';
import { LocalStepFunctions } from '../../local/step-functions.js';
import { DEFAULT_TASKS_MODULE, loadTasksModule } from '../../infra/tasks-module.js';
import { billedMilliseconds, billedSqsRequests, meteredApiRequests, s3RequestTier, type Architecture, type CallerReads, type ExecutionUsage, type FunctionUsage, type MeasuredExecution } from './cost-model.js';
import type { MeteredStack, Operation } from './local-stack.js';

/** One function invocation the local stack ran. */
interface Invoked {
  readonly function: string;
  readonly entry: string;
  readonly memoryMb: number;
  readonly architecture: Architecture;
  readonly ms: number;
  /** Started by a schedule (every minute, whatever the executions): not an execution's cost. */
  readonly scheduled: boolean;
  /** Its event was an EventBridge event an AWS service put on the default bus. */
  readonly awsServiceEvent: boolean;
  readonly failed: boolean;
}

/** An AWS request a function made to S3 or SQS (counted at the SDK's HTTP handler, whichever client made it). */
interface AwsRequest {
  readonly service: 's3-write' | 's3-read' | 'sqs';
  readonly units: number;
}

const invoked: Invoked[] = [];
const started: string[] = [];
const awsRequests: AwsRequest[] = [];
let installed = false;

const hostOf = (url: string | undefined): string | undefined => {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return undefined;
  }
};

interface EventLike {
  readonly source?: unknown;
  readonly 'detail-type'?: unknown;
}

/** The HTTP request the SDK's handler sends, as far as the meter reads it. */
interface SdkHttpRequest {
  readonly method: string;
  readonly hostname: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, unknown>>;
  readonly body?: unknown;
}

const bodyBytes = (body: unknown): number =>
  typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;

/**
 * Installs the meters, once per process: every function invocation of the local stack (its
 * configured memory read from the synthesized template, its measured duration), every execution
 * Step Functions starts, and every S3 or SQS request a function makes. S3 and SQS are recognized by
 * their endpoints (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS`) at the AWS SDK's HTTP handler, so
 * any client a function constructs is counted, including ones added after this was written.
 */
export async function installCostMeters(metered: MeteredStack): Promise<void> {
  if (installed) return;
  installed = true;
  const template = JSON.parse(readFileSync(metered.templatePath, 'utf8')) as { Resources: Record<string, { Properties?: { Architectures?: string[] } }> };
  const architectureOf = (logicalId: string): Architecture =>
    template.Resources[logicalId]?.Properties?.Architectures?.[0] === 'arm64' ? 'arm64' : 'x86_64';

  const invoke = LambdaHost.prototype.invoke;
  LambdaHost.prototype.invoke = async function meteredInvoke(this: LambdaHost, arnOrName: string, event: unknown): Promise<unknown> {
    const fn = this.find(arnOrName);
    const from = performance.now();
    let failed = false;
    try {
      return await invoke.call(this, arnOrName, event);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (fn) {
        const envelope = (event ?? {}) as EventLike;
        invoked.push({
          function: fn.logicalId,
          entry: fn.entry,
          memoryMb: fn.memoryMb,
          architecture: architectureOf(fn.logicalId),
          ms: performance.now() - from,
          scheduled: envelope['detail-type'] === 'Scheduled Event' || envelope.source === 'aws.scheduler',
          awsServiceEvent: typeof envelope.source === 'string' && envelope.source.startsWith('aws.') && envelope['detail-type'] !== 'Scheduled Event',
          failed,
        });
      }
    }
  };

  const call = LocalStepFunctions.prototype.call;
  LocalStepFunctions.prototype.call = async function meteredCall(this: LocalStepFunctions, operation: string, body: Record<string, unknown>): Promise<unknown> {
    const result = await call.call(this, operation, body);
    if (operation === 'StartExecution') started.push(String((result as { executionArn?: unknown }).executionArn));
    return result;
  };

  // The handler every SDK client of the functions sends through (they are all built with the same
  // request handler options): its prototype, found from the document client's instance.
  const { documentClient } = (await import('../../lambdas/shared/dynamodb-client.js')) as { documentClient: DynamoDBDocumentClient };
  const handler = (documentClient.config as { requestHandler?: unknown }).requestHandler;
  const prototype = handler ? (Object.getPrototypeOf(handler) as { handle?: (request: SdkHttpRequest, options?: unknown) => Promise<unknown> }) : undefined;
  const handle = prototype?.handle;
  if (!prototype || !handle) throw new Error('the AWS SDK request handler has no handle(): the S3 and SQS meters cannot be installed');
  prototype.handle = async function meteredHandle(this: unknown, request: SdkHttpRequest, options?: unknown): Promise<unknown> {
    if (invocations.getStore()) {
      const port = String(request.port ?? (request.protocol === 'https:' ? 443 : 80));
      const endpoint = (url: string | undefined) => {
        const host = hostOf(url);
        if (!host || !host.endsWith(`:${port}`)) return undefined;
        const name = host.slice(0, -(port.length + 1));
        // Path-style (`<endpoint>/<bucket>/<key>`) or virtual-hosted (`<bucket>.<endpoint>/<key>`).
        return request.hostname === name ? 'path' : request.hostname.endsWith(`.${name}`) ? 'virtual' : undefined;
      };
      const s3 = endpoint(process.env.AWS_ENDPOINT_URL_S3);
      if (endpoint(process.env.AWS_ENDPOINT_URL_SQS) === 'path') {
        awsRequests.push({ service: 'sqs', units: billedSqsRequests(bodyBytes(request.body)) });
      } else if (s3) {
        const tier = s3RequestTier(request.method, request.path, request.query ?? {}, s3 === 'virtual');
        if (tier !== 'free') awsRequests.push({ service: tier === 'read' ? 's3-read' : 's3-write', units: 1 });
      }
    }
    return handle.call(this, request, options);
  };
}

/** The S3 and SQS requests counted so far (a copy), by price tier. */
export function countedAwsRequests(): Readonly<Record<AwsRequest['service'], number>> {
  const counted = { 's3-write': 0, 's3-read': 0, sqs: 0 };
  for (const request of awsRequests) counted[request.service] += request.units;
  return counted;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const CALLER_ENTRY = 'api/executions-read.ts';
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** Inputs the bench runs each example task with (a task without one is refused: add it here). */
const INPUTS: Readonly<Record<string, { readonly input: unknown; readonly resume?: unknown }>> = {
  'document-pipeline': { input: { document_url: 'https://example.com/reports/q3.pdf' } },
  'approval-flow': { input: { title: 'Bench', body: 'Measured.' }, resume: { approved: true } },
  'batch-summarize': {
    input: { documents: Array.from({ length: 10 }, (_, index) => ({ url: `https://example.com/batch/${index}.pdf`, words: index % 2 === 0 ? 4000 : 500 })), rate_limit_seconds: 0 },
  },
  'research-agent': { input: { topic: 'What a serverless execution costs', max_questions: 3 } },
  'research-question': { input: { question: 'What does a state transition cost?' } },
};

/** A window of the meters: what happened since {@link mark}. */
interface Mark {
  readonly operations: number;
  readonly invoked: number;
  readonly started: number;
  readonly awsRequests: number;
}

/** Measured per task, with what the section reports besides. */
export interface CostMeasurement {
  readonly executions: readonly MeasuredExecution[];
  /** Writes DynamoDB refused (lost races, failed conditions): DynamoDB charges them, DynamoDB Local reports no units for them. */
  readonly failedWrites: number;
  /** Function invocations that failed (each retried by its caller: more requests and transitions). */
  readonly failedInvocations: number;
}

/**
 * Runs each example task once on the metered local stack with a caller as this service's clients
 * are told to wait (GET with `Prefer: wait=25` and the last ETag, again after each answer, until
 * the end), resuming a wait at once, and counts everything the execution causes: API requests,
 * function invocations and their durations, state transitions (children's included), DynamoDB
 * units, status events, S3 and SQS requests. Schedules' runs are left out (a fixed cost per minute).
 */
export async function measureCosts(metered: MeteredStack): Promise<CostMeasurement> {
  await installCostMeters(metered);
  const mark = (): Mark => ({ operations: metered.operations.length, invoked: invoked.length, started: started.length, awsRequests: awsRequests.length });
  const fetchApi = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const reply = await metered.api<Record<string, unknown>>(method, path, body, headers);
    const bytes = (body === undefined ? 0 : Buffer.byteLength(JSON.stringify(body))) + (reply.body === null ? 0 : Buffer.byteLength(JSON.stringify(reply.body)));
    return { ...reply, units: meteredApiRequests(bytes) };
  };
  const quiet = async () => {
    await metered.stack.stepFunctions.drain();
    // The table's stream consumers run after the execution (polled and batched up to a second).
    for (let seen = invoked.length, deadline = Date.now() + 10_000; Date.now() < deadline; seen = invoked.length) {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      if (invoked.length === seen) break;
    }
  };

  const { tasks } = await loadTasksModule(DEFAULT_TASKS_MODULE);
  const executions: MeasuredExecution[] = [];
  let failedWrites = 0;
  let failedInvocations = 0;
  const failuresFrom = metered.failures.length;
  // One execution first, unmeasured: the first invocation of each handler compiles its code.
  const first = tasks[0] && INPUTS[tasks[0].id];
  if (first && first.resume === undefined) {
    const warm = await metered.api<{ id: string }>('POST', `/tasks/${tasks[0]!.id}/executions`, { input: first.input });
    for (let status = ''; !TERMINAL.has(status); ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = String((await metered.api<{ status: string }>('GET', `/executions/${warm.body.id}`)).body.status);
    }
  }
  for (const task of tasks) {
    const spec = INPUTS[task.id];
    if (!spec) throw new Error(`scripts/bench/cost-meter.ts has no input for task ${task.id}: add one to INPUTS`);
    await quiet();
    const from = mark();
    let workRequests = 0;
    let callerRequests = 0;
    const created = await fetchApi('POST', `/tasks/${task.id}/executions`, { input: spec.input });
    workRequests += created.units;
    if (created.status !== 201) throw new Error(`creating ${task.id} answered ${created.status}`);
    const id = String(created.body.id);
    const createdAt = performance.now();
    let etag = '';
    let resumed = false;
    for (;;) {
      const read = await fetchApi('GET', `/executions/${id}`, undefined, etag ? { prefer: 'wait=25', 'if-none-match': etag } : {});
      callerRequests += read.units;
      etag = read.headers.get('etag') ?? etag;
      const status = read.status === 304 ? undefined : String(read.body.status);
      if (status !== undefined && TERMINAL.has(status)) break;
      if (status === 'awaiting_input' && spec.resume !== undefined && !resumed) {
        const resume = await fetchApi('POST', `/executions/${id}/resume`, { input: spec.resume });
        workRequests += resume.units;
        resumed = true;
      }
    }
    const durationMs = performance.now() - createdAt;
    await quiet();
    const window = slice(metered, from);
    const pollFrom = mark();
    const poll = await fetchApi('GET', `/executions/${id}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pollWindow = slice(metered, pollFrom);
    failedInvocations += window.invoked.filter((call) => call.failed).length;

    const callerOps = window.operations.filter((op) => op.entry === CALLER_ENTRY);
    const callerCalls = window.invoked.filter((call) => call.entry === CALLER_ENTRY);
    const transitions = await stateTransitions(metered, window.started);
    executions.push({
      task: task.id,
      work: usageOf(
        window.invoked.filter((call) => call.entry !== CALLER_ENTRY),
        window.operations.filter((op) => op.entry !== CALLER_ENTRY),
        window.awsRequests,
        workRequests,
        transitions,
      ),
      caller: callerReads(callerRequests, callerCalls, callerOps),
      durationMs,
      poll: callerReads(poll.units, pollWindow.invoked.filter((call) => call.entry === CALLER_ENTRY), pollWindow.operations.filter((op) => op.entry === CALLER_ENTRY)),
    });
  }
  failedWrites = metered.failures.slice(failuresFrom).filter((op) => !READS.has(op.command)).length;
  return { executions, failedWrites, failedInvocations };
}

/** What the meters saw since `from`, without the schedules' runs and the bench's own calls. */
function slice(metered: MeteredStack, from: Mark) {
  const calls = invoked.slice(from.invoked);
  const scheduledEntries = new Set(calls.filter((call) => call.scheduled).map((call) => call.entry));
  return {
    invoked: calls.filter((call) => !call.scheduled),
    operations: metered.operations.slice(from.operations).filter((op) => op.entry !== 'bench' && !scheduledEntries.has(op.entry)),
    started: started.slice(from.started),
    awsRequests: awsRequests.slice(from.awsRequests),
  };
}

/** States entered by the executions started (an execution and the children it started). */
async function stateTransitions(metered: MeteredStack, arns: readonly string[]): Promise<number> {
  let total = 0;
  for (const arn of arns) {
    const history = (await metered.stack.stepFunctions.call('GetExecutionHistory', { executionArn: arn })) as { events: Array<{ type: string }> };
    total += history.events.filter((event) => event.type.endsWith('StateEntered')).length;
  }
  return total;
}

function functionsOf(calls: readonly Invoked[]): FunctionUsage[] {
  const byFunction = new Map<string, FunctionUsage>();
  for (const call of calls) {
    const seen = byFunction.get(call.function);
    byFunction.set(call.function, {
      name: call.entry,
      memoryMb: call.memoryMb,
      architecture: call.architecture,
      invocations: (seen?.invocations ?? 0) + 1,
      billedMs: (seen?.billedMs ?? 0) + billedMilliseconds(call.ms),
    });
  }
  return [...byFunction.values()];
}

const units = (operations: readonly Operation[], reads: boolean) =>
  operations.filter((op) => READS.has(op.command) === reads).reduce((sum, op) => sum + op.capacity, 0);

function usageOf(calls: readonly Invoked[], operations: readonly Operation[], requests: readonly AwsRequest[], apiRequests: number, stateTransitions: number): ExecutionUsage {
  const count = (service: AwsRequest['service']) => requests.filter((request) => request.service === service).reduce((sum, request) => sum + request.units, 0);
  return {
    apiRequests,
    functions: functionsOf(calls),
    stateTransitions,
    readUnits: units(operations, true),
    writeUnits: units(operations, false),
    awsServiceEvents: calls.filter((call) => call.awsServiceEvent).length,
    s3WriteRequests: count('s3-write'),
    s3ReadRequests: count('s3-read'),
    sqsRequests: count('sqs'),
  };
}

function callerReads(requests: number, calls: readonly Invoked[], operations: readonly Operation[]): CallerReads {
  const [fn] = functionsOf(calls);
  if (!fn) throw new Error('the caller\'s reads reached no read function');
  return { requests, fn, readUnits: units(operations, true), writeUnits: units(operations, false) };
}
