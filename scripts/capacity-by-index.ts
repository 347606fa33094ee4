import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { invocations } from '../local/lambda-host.js';
import { capacityOf, startMeteredStack } from './bench/local-stack.js';

/**
 * `node --import tsx scripts/capacity-by-index.ts [task] [count]`: runs `count` executions of
 * `task` (default document-pipeline, 10) on the local stack and prints the DynamoDB capacity units
 * each execution consumed, by the table and by each global secondary index, as DynamoDB Local
 * reports them (`ReturnConsumedCapacity: INDEXES`). The per-execution counts of docs/capacity.md
 * come from it: an index's units per execution, divided into a partition's 1,000 write units a
 * second, is how many executions a second one tenant can run before that index partition throttles.
 * The benchmark's own reads (its polls of the execution) are left out; the create, the resume
 * (approval-flow), the steps and the stream consumers are counted. A transaction's table units are
 * raised to DynamoDB's 2 per item where DynamoDB Local reports fewer, as the benchmark does
 * (`capacityOf`), so the total matches `npm run bench`'s "Work per execution".
 */
const TASKS: Readonly<Record<string, { readonly input: unknown; readonly resume?: unknown }>> = {
  'document-pipeline': { input: { document_url: 'https://example.com/reports/q3.pdf' } },
  'approval-flow': { input: { title: 'Bench', body: 'Measured.' }, resume: { approved: true } },
  'batch-summarize': {
    input: {
      documents: Array.from({ length: 10 }, (_, index) => ({ url: `https://example.com/batch/${index}.pdf`, words: index % 2 === 0 ? 4000 : 500 })),
      rate_limit_seconds: 0,
    },
  },
};

const task = process.argv[2] ?? 'document-pipeline';
const count = Number(process.argv[3] ?? 10);
const chosen = Object.hasOwn(TASKS, task) ? TASKS[task] : undefined;
if (chosen === undefined || !Number.isInteger(count) || count < 1) {
  console.error(`usage: capacity-by-index.ts [${Object.keys(TASKS).join('|')}] [count ≥ 1]`);
  process.exit(2);
}

interface Consumed {
  readonly CapacityUnits?: number;
  readonly Table?: { readonly CapacityUnits?: number };
  readonly GlobalSecondaryIndexes?: Readonly<Record<string, { readonly CapacityUnits?: number }>>;
}

const metered = await startMeteredStack();
const { documentClient } = (await import('../lambdas/shared/dynamodb-client.js')) as { documentClient: DynamoDBDocumentClient };
const units = new Map<string, number>();
const add = (key: string, value: number | undefined) => units.set(key, (units.get(key) ?? 0) + (value ?? 0));
let counting = false;
documentClient.middlewareStack.add(
  (next, context) => async (args) => {
    const result = await next(args);
    // The benchmark's polls go through the read function: not the execution's own work.
    if (counting && invocations.getStore()?.entry !== 'api/executions-read.ts') {
      const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
      const read = /^(GetItem|Query|BatchGetItem)/.test(String(context.commandName));
      const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
      for (const item of list) {
        add(read ? 'table (reads)' : 'table (writes)', item.Table?.CapacityUnits);
        for (const [name, index] of Object.entries(item.GlobalSecondaryIndexes ?? {})) add(`index ${name}`, index.CapacityUnits);
      }
      const total = capacityOf(result.output, (args.input as { TransactItems?: unknown[] }).TransactItems?.length);
      const reported = list.reduce((sum, item) => sum + (item.CapacityUnits ?? 0), 0);
      // DynamoDB Local's shortfall on a transaction that writes no index: table units DynamoDB bills.
      add('table (writes)', total - reported);
      add('total', total);
    }
    return result;
  },
  { step: 'initialize', name: 'capacityByIndex' },
);

try {
  // The first request warms the authorizer's cache: a key's verdict is read once a minute, not per execution.
  await metered.api('GET', '/tasks');
  counting = true;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await metered.api<{ id: string }>('POST', `/tasks/${task}/executions`, { input: chosen.input })).body.id);
  const reached = async (id: string, status: string) => {
    const deadline = Date.now() + 60_000;
    while ((await metered.api<{ status: string }>('GET', `/executions/${id}`)).body.status !== status) {
      if (Date.now() > deadline) throw new Error(`${task} execution ${id} did not reach ${status} within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  for (const id of ids) {
    if (chosen.resume !== undefined) {
      await reached(id, 'awaiting_input');
      await metered.api('POST', `/executions/${id}/resume`, { input: chosen.resume });
    }
    await reached(id, 'succeeded');
  }
  await metered.stack.stepFunctions.drain();
  // The stream consumers (webhooks, admission, tag index) see the last changes within their batching window.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  counting = false;
  console.log(`| ${task}: capacity units per execution (${count} executions) | units |\n|---|---|`);
  for (const [key, value] of [...units].sort(([a], [b]) => a.localeCompare(b))) console.log(`| ${key} | ${(value / count).toFixed(1)} |`);
} finally {
  await metered.stop();
}
