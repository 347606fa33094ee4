import { POLL_DELAYS_MS } from '../../lambdas/api/long-poll.js';
import type { MeteredStack, Operation } from './local-stack.js';

/** DynamoDB work of one API call (the authorizer's, when its verdict was not cached, listed apart). */
export interface CallCost {
  readonly call: string;
  readonly status: number;
  /** The route's own DynamoDB operations (the rate limiter's counter write is in `rateCounterWrites`). */
  readonly operations: readonly string[];
  readonly capacity: number;
  /** Writes of the caller's rate counter (`UpdateItem` of `RATE#…`, 1 write unit each; capacity included above). */
  readonly rateCounterWrites: number;
}

/** DynamoDB and Step Functions work of one execution, start to end. */
export interface ExecutionCost {
  readonly task: string;
  readonly userSteps: number;
  readonly transitions: number;
  readonly transactions: number;
  readonly reads: number;
  readonly otherWrites: number;
  readonly capacity: number;
  /** Writes of rate counters (the create's, a resume's none): not in `otherWrites`, capacity included. */
  readonly rateCounterWrites: number;
  /** States entered in Step Functions on the success path. */
  readonly stateTransitions: number;
  /** Transactions cancelled because another writer of the execution won the race (each retried). */
  readonly lostRaces: number;
}

/** A GET held with `Prefer: wait` on an execution that did not change. */
export interface HeldCost extends CallCost {
  /** The wait asked for, in seconds. */
  readonly waitSeconds: number;
  /** How long the request was held, in ms. */
  readonly heldMs: number;
}

/** Everything section 3 of the benchmark reports. */
export interface OperationReport {
  readonly calls: readonly CallCost[];
  readonly executions: readonly ExecutionCost[];
  /** The held GET (`Prefer: wait`), also listed in `calls`. */
  readonly held: HeldCost;
  readonly scans: number;
}

/** What {@link measureOperations} measures besides the fixed calls. */
export interface OperationOptions {
  /**
   * Seconds a GET is held (`Prefer: wait`) on an execution that does not change: its reads are the
   * poll schedule's. The benchmark holds the longest wait, the budget test a short one.
   * @default 25
   */
  readonly holdSeconds?: number;
}

/**
 * Polls a hold of `ms` makes when it sees no change (`POLL_DELAYS_MS`, the poll at the deadline
 * included): the budget of a held GET's reads, besides the one on arrival.
 */
export function scheduledPolls(ms: number): number {
  let polls = 0;
  for (let at = 0; at < ms; polls++) at = Math.min(ms, at + POLL_DELAYS_MS[Math.min(polls, POLL_DELAYS_MS.length - 1)]!);
  return polls;
}

const RUNTIME = ['runtime/step-handler.ts', 'runtime/wait-handler.ts', 'runtime/record-handler.ts', 'runtime/status-change-handler.ts'];
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Counts, against the local stack, the DynamoDB operations and capacity of each API call and of
 * whole executions of both example tasks, and the Step Functions states they enter.
 */
export async function measureOperations(metered: MeteredStack, options: OperationOptions = {}): Promise<OperationReport> {
  const api = metered.api.bind(metered);
  const ops = metered.operations;
  const ofEntries = (from: number, entries: readonly string[]) =>
    ops.slice(from).filter((op) => entries.includes(op.entry));

  const calls: CallCost[] = [];
  const measure = async <T>(call: string, entry: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> => {
    const from = ops.length;
    const reply = await api<T>(method, path, body, headers);
    const own = ofEntries(from, [entry]);
    calls.push({
      call,
      status: reply.status,
      operations: own.filter((op) => !op.rateCounter).map((op) => op.command),
      capacity: sum(own),
      rateCounterWrites: own.filter((op) => op.rateCounter).length,
    });
    return reply.body;
  };
  const status = async (id: string) => (await api<{ status: string }>('GET', `/executions/${id}`)).body.status;

  // Warm the authorizer's cache, then measure the first (uncached) verdict of a second key apart.
  await api('GET', '/health');
  const fromAuth = ops.length;
  await api('GET', '/tasks');
  const auth = ofEntries(fromAuth, ['api/authorizer.ts']);
  calls.push({ call: 'authorizer (per key, once a minute)', status: 200, operations: auth.map((op) => op.command), capacity: sum(auth), rateCounterWrites: 0 });

  const executions: ExecutionCost[] = [];
  const run = async (task: string, input: unknown, resume?: unknown): Promise<string> => {
    const from = ops.length;
    const failedFrom = metered.failures.length;
    const created = await measure<{ id: string }>(`POST /tasks/${task}/executions`, 'api/executions-create.ts', 'POST', `/tasks/${task}/executions`, { input });
    if (resume !== undefined) {
      await until(async () => (await status(created.id)) === 'awaiting_input', 'awaiting_input');
      await measure('POST /executions/{id}/resume', 'api/executions-control.ts', 'POST', `/executions/${created.id}/resume`, { input: resume });
    }
    await until(async () => (await status(created.id)) === 'succeeded', `${task} to succeed`);
    await metered.stack.stepFunctions.drain();
    const own = ofEntries(from, ['api/executions-create.ts', 'api/executions-control.ts', ...RUNTIME]);
    const view = (await api<{ transition_count: number; console_url: string }>('GET', `/executions/${created.id}`)).body;
    const rows: Array<{ type: string }> = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: { items: Array<{ type: string }>; next_cursor: string | null } = (
        await api<{ items: Array<{ type: string }>; next_cursor: string | null }>('GET', `/executions/${created.id}/transitions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      ).body;
      rows.push(...page.items);
      cursor = page.next_cursor;
    }
    const arn = decodeURIComponent(view.console_url.split('/details/')[1]!);
    const history = (await metered.stack.stepFunctions.call('GetExecutionHistory', { executionArn: arn })) as { events: Array<{ type: string }> };
    executions.push({
      task,
      // Every step run, nested ones included, writes one `step` row (a wait its `wait` row).
      userSteps: rows.filter((row) => row.type === 'step' || row.type === 'wait').length,
      transitions: view.transition_count,
      transactions: own.filter((op) => op.command === 'TransactWriteItems').length,
      reads: own.filter((op) => op.command === 'GetItem' || op.command === 'Query').length,
      otherWrites: own.filter((op) => WRITES.has(op.command) && !op.rateCounter).length,
      capacity: sum(own),
      rateCounterWrites: own.filter((op) => op.rateCounter).length,
      stateTransitions: history.events.filter((event) => event.type.endsWith('StateEntered')).length,
      lostRaces: metered.failures.slice(failedFrom).filter((op) => op.command === 'TransactWriteItems' && RUNTIME.includes(op.entry)).length,
    });
    return created.id;
  };

  const id = await run('document-pipeline', { document_url: 'https://example.com/reports/q3.pdf' });
  await run('approval-flow', { title: 'Bench', body: 'Measured.' }, { approved: true });
  // Ten documents, ten map items at once: every item's rows contend for the one execution record.
  const documents = Array.from({ length: 10 }, (_, index) => ({ url: `https://example.com/batch/${index}.pdf`, words: index % 2 === 0 ? 4000 : 500 }));
  await run('batch-summarize', { documents, rate_limit_seconds: 0 });

  await measure('GET /executions/{id}', 'api/executions-read.ts', 'GET', `/executions/${id}`);
  await measure('GET /executions (page of 20)', 'api/executions-read.ts', 'GET', '/executions?limit=20');
  await measure('GET /tasks/{task_id}/executions', 'api/executions-read.ts', 'GET', '/tasks/document-pipeline/executions');
  await measure('GET /executions?status=succeeded', 'api/executions-read.ts', 'GET', '/executions?status=succeeded');
  await measure('GET /executions?sort_by=completed_at', 'api/executions-read.ts', 'GET', '/executions?sort_by=completed_at');
  await measure('GET /executions/{id}/transitions', 'api/executions-read.ts', 'GET', `/executions/${id}/transitions`);
  const waiting = await api<{ id: string }>('POST', '/tasks/approval-flow/executions', { input: { title: 'T', body: 'B' } });
  await until(async () => (await status(waiting.body.id)) === 'awaiting_input', 'awaiting_input');
  // Held the whole wait: the execution waits for input and nothing resumes it meanwhile.
  const waitSeconds = options.holdSeconds ?? 25;
  const etag = (await api('GET', `/executions/${waiting.body.id}`)).headers.get('etag') ?? '';
  const heldFrom = Date.now();
  await measure(`GET /executions/{id} held (Prefer: wait=${waitSeconds}, no change)`, 'api/executions-read.ts', 'GET', `/executions/${waiting.body.id}`, undefined, {
    'if-none-match': etag,
    prefer: `wait=${waitSeconds}`,
  });
  const held: HeldCost = { ...calls.at(-1)!, waitSeconds, heldMs: Date.now() - heldFrom };
  await measure('POST /executions/{id}/cancel', 'api/executions-control.ts', 'POST', `/executions/${waiting.body.id}/cancel`, { reason: 'bench' });
  await metered.stack.stepFunctions.drain();

  return { calls, executions, held, scans: ops.filter((op) => op.command === 'Scan').length };
}

function sum(operations: readonly Operation[]): number {
  return Math.round(operations.reduce((total, op) => total + op.capacity, 0) * 10) / 10;
}
