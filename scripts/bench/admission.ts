import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newApiKey } from '../../lambdas/domain/api-keys.js';
import { AdmissionStore } from '../../lambdas/repository/admission-store.js';
import { ApiKeysRepository } from '../../lambdas/repository/api-keys-repository.js';
import { latencyOf, type Latency } from './events.js';
import type { MeteredStack, Operation } from './local-stack.js';

/** What concurrency limits cost per execution, and how fast a freed slot is taken up, on the local stack. */
export interface AdmissionReport {
  /** DynamoDB reads of one scheduled run (every minute, whatever the executions: the due shards and the tenants with limits), when one fell in the windows. */
  readonly readsPerScheduledRun: number | null;
  /** A tenant without limits (the default): what limits add to its executions. */
  readonly unlimited: {
    readonly executions: number;
    /** DynamoDB writes per execution beyond create's one transaction, by create and admission together (budget ≤ 2; 0 by design). */
    readonly extraWritesPerExecution: number;
    /** DynamoDB reads per execution by create and admission beyond create's none (0 by design). */
    readonly extraReadsPerExecution: number;
  };
  /** A tenant with a limit of 1: executions wait, and each end starts the next. */
  readonly limited: {
    readonly executions: number;
    /** DynamoDB writes per execution beyond create's one transaction: admission's place, admit and release. */
    readonly writesPerExecution: number;
    /** Admission's DynamoDB reads per execution. */
    readonly readsPerExecution: number;
    /** From an execution's end (its `completed_at`) to the start of the next one in the queue (its `started_at`). */
    readonly slotToStart: Latency;
  };
}

const ADMISSION_ENTRY = 'runtime/admission-handler.ts';
const CREATE_ENTRY = 'api/executions-create.ts';
const WRITES = new Set(['TransactWriteItems', 'UpdateItem', 'PutItem', 'DeleteItem', 'BatchWriteItem']);
const READS = new Set(['GetItem', 'Query', 'BatchGetItem']);

const INPUT = { document_url: 'https://example.com/reports/q3.pdf' };

interface View {
  readonly id: string;
  readonly status: string;
  readonly started_at: string | null;
  readonly completed_at: string | null;
}

function count(operations: readonly Operation[], kinds: ReadonlySet<string>): number {
  return operations.filter((operation) => kinds.has(operation.command)).length;
}

/**
 * The admission function's scheduled runs among `operations`: an invocation whose first call is a
 * Query (the first due shard). A stream invocation starts with the record it was invoked for (a
 * GetItem or an UpdateItem), never a Query.
 */
function scheduledRuns(operations: readonly Operation[]): Set<string> {
  const first = new Map<string, string>();
  for (const operation of operations) if (operation.entry === ADMISSION_ENTRY && !first.has(operation.requestId)) first.set(operation.requestId, operation.command);
  return new Set([...first].filter(([, command]) => command === 'Query').map(([requestId]) => requestId));
}

/** Creates `n` document-pipeline executions with `headers`, one after another, and waits until all succeeded. */
async function runAll(metered: MeteredStack, n: number, headers: Record<string, string> = {}): Promise<View[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const created = await metered.api<View>('POST', '/tasks/document-pipeline/executions', { input: INPUT }, headers);
    if (created.status !== 201) throw new Error(`create → ${created.status}: ${JSON.stringify(created.body)}`);
    ids.push(created.body.id);
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const views = await Promise.all(ids.map(async (id) => (await metered.api<View>('GET', `/executions/${id}`, undefined, headers)).body));
    if (views.every((view) => view.status === 'succeeded')) return views;
    if (Date.now() > deadline) throw new Error(`admission bench: ${views.filter((view) => view.status !== 'succeeded').length} of ${n} executions did not finish`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/**
 * Measures the DynamoDB work concurrency limits add, and the delay between a slot freeing and the
 * next queued start: `unlimited` executions of the default tenant (no limit), then `limited`
 * executions of a tenant with a limit of 1 (each waits for the one before it). The admission
 * schedule's runs (every minute, per run not per execution: the due shards and the tenants with
 * limits) may fall in a window; they only read, so the write counts are exact.
 */
export async function measureAdmission(metered: MeteredStack, unlimited = 5, limited = 8): Promise<AdmissionReport> {
  const ops = metered.operations;
  // Per execution: the scheduled runs (per minute, whatever the executions) are reported apart.
  const ofEntries = (from: number, entries: readonly string[]) => {
    const window = ops.slice(from);
    const scheduled = scheduledRuns(window);
    // The rate limiter's counter write is a create's whatever its tenant's concurrency limits (the
    // operations report counts it apart): what limits add is measured without it.
    return window.filter((operation) => entries.includes(operation.entry) && !scheduled.has(operation.requestId) && !operation.rateCounter);
  };

  const fromUnlimited = ops.length;
  await runAll(metered, unlimited);
  await metered.stack.stepFunctions.drain();
  const plain = ofEntries(fromUnlimited, [CREATE_ENTRY, ADMISSION_ENTRY]);

  // A tenant with a limit of 1 and a key the authorizer reads it from (as `npm run keys -- concurrency set` makes them).
  const { documentClient } = (await import('../../lambdas/shared/dynamodb-client.js')) as { documentClient: DynamoDBDocumentClient };
  const tenant = `bench-limited-${Date.now().toString(36)}`;
  const key = newApiKey();
  await new AdmissionStore(documentClient, { tableName: metered.stack.tableName, cursorSecret: 'bench' }).setLimits(tenant, { tenant: 1 }, new Date().toISOString());
  await new ApiKeysRepository(documentClient, metered.stack.tableName).put(key.hash, {
    keyId: key.keyId,
    tenant,
    name: 'bench',
    createdAt: new Date().toISOString(),
    limited: true,
  });
  const fromLimited = ops.length;
  const views = await runAll(metered, limited, { authorization: `Bearer ${key.key}` });
  await metered.stack.stepFunctions.drain();
  const held = ofEntries(fromLimited, [CREATE_ENTRY, ADMISSION_ENTRY]);
  const admission = held.filter((operation) => operation.entry === ADMISSION_ENTRY);

  // With a limit of 1 the executions run one after another: each start follows the end before it.
  const ordered = [...views].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
  const gaps = ordered.slice(1).map((view, index) => Date.parse(view.started_at!) - Date.parse(ordered[index]!.completed_at!));
  const runs = scheduledRuns(ops.slice(fromUnlimited));
  const scheduledReads = count(ops.slice(fromUnlimited).filter((operation) => runs.has(operation.requestId)), READS);
  return {
    readsPerScheduledRun: runs.size > 0 ? scheduledReads / runs.size : null,
    unlimited: {
      executions: unlimited,
      // Create's own transaction is the one write an execution always had.
      extraWritesPerExecution: (count(plain, WRITES) - unlimited) / unlimited,
      extraReadsPerExecution: count(plain, READS) / unlimited,
    },
    limited: {
      executions: limited,
      writesPerExecution: (count(held, WRITES) - limited) / limited,
      readsPerExecution: count(admission, READS) / limited,
      slotToStart: latencyOf(gaps),
    },
  };
}
