import type { MeteredStack, Operation } from './local-stack.js';

/** DynamoDB work of one API call (the authorizer's, when its verdict was not cached, listed apart). */
export interface CallCost {
  readonly call: string;
  readonly status: number;
  readonly operations: readonly string[];
  readonly capacity: number;
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
  /** States entered in Step Functions on the success path. */
  readonly stateTransitions: number;
  /** Transactions cancelled because another writer of the execution won the race (each retried). */
  readonly lostRaces: number;
}

/** Everything section 3 of the benchmark reports. */
export interface OperationReport {
  readonly calls: readonly CallCost[];
  readonly executions: readonly ExecutionCost[];
  readonly scans: number;
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
export async function measureOperations(metered: MeteredStack): Promise<OperationReport> {
  const api = metered.api.bind(metered);
  const ops = metered.operations;
  const ofEntries = (from: number, entries: readonly string[]) =>
    ops.slice(from).filter((op) => entries.includes(op.entry));

  const calls: CallCost[] = [];
  const measure = async <T>(call: string, entry: string, method: string, path: string, body?: unknown): Promise<T> => {
    const from = ops.length;
    const reply = await api<T>(method, path, body);
    const own = ofEntries(from, [entry]);
    calls.push({ call, status: reply.status, operations: own.map((op) => op.command), capacity: sum(own) });
    return reply.body;
  };
  const status = async (id: string) => (await api<{ status: string }>('GET', `/executions/${id}`)).body.status;

  // Warm the authorizer's cache, then measure the first (uncached) verdict of a second key apart.
  await api('GET', '/health');
  const fromAuth = ops.length;
  await api('GET', '/tasks');
  const auth = ofEntries(fromAuth, ['api/authorizer.ts']);
  calls.push({ call: 'authorizer (per key, once a minute)', status: 200, operations: auth.map((op) => op.command), capacity: sum(auth) });

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
      otherWrites: own.filter((op) => WRITES.has(op.command)).length,
      capacity: sum(own),
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
  await measure('GET /executions/{id}/transitions', 'api/executions-read.ts', 'GET', `/executions/${id}/transitions`);
  const waiting = await api<{ id: string }>('POST', '/tasks/approval-flow/executions', { input: { title: 'T', body: 'B' } });
  await until(async () => (await status(waiting.body.id)) === 'awaiting_input', 'awaiting_input');
  await measure('POST /executions/{id}/cancel', 'api/executions-control.ts', 'POST', `/executions/${waiting.body.id}/cancel`, { reason: 'bench' });
  await metered.stack.stepFunctions.drain();

  return { calls, executions, scans: ops.filter((op) => op.command === 'Scan').length };
}

function sum(operations: readonly Operation[]): number {
  return Math.round(operations.reduce((total, op) => total + op.capacity, 0) * 10) / 10;
}
