import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { invocations } from '../local/lambda-host.js';
import { startMeteredStack } from './bench/local-stack.js';

/**
 * `node --import tsx scripts/capacity-by-index.ts [task] [count]`: runs `count` executions of
 * `task` (default document-pipeline, 10) on the local stack and prints the DynamoDB capacity units
 * each execution consumed, by the table and by each global secondary index, as DynamoDB Local
 * reports them (`ReturnConsumedCapacity: INDEXES`). The per-execution counts of docs/capacity.md
 * come from it: an index's units per execution, divided into a partition's 1,000 write units a
 * second, is how many executions a second one tenant can run before that index partition throttles.
 * The benchmark's own reads (its polls of the execution) are left out; the create, the steps and
 * the stream consumers are counted.
 */
const TASK_INPUTS: Readonly<Record<string, unknown>> = {
  'document-pipeline': { document_url: 'https://example.com/reports/q3.pdf' },
};

const task = process.argv[2] ?? 'document-pipeline';
const count = Number(process.argv[3] ?? 10);
const input = TASK_INPUTS[task];
if (input === undefined || !Number.isInteger(count) || count < 1) {
  console.error(`usage: capacity-by-index.ts [${Object.keys(TASK_INPUTS).join('|')}] [count ≥ 1]`);
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
      for (const item of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        add(read ? 'table (reads)' : 'table (writes)', item.Table?.CapacityUnits);
        for (const [name, index] of Object.entries(item.GlobalSecondaryIndexes ?? {})) add(`index ${name}`, index.CapacityUnits);
        add('total', item.CapacityUnits);
      }
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
  for (let i = 0; i < count; i++) ids.push((await metered.api<{ id: string }>('POST', `/tasks/${task}/executions`, { input })).body.id);
  for (const id of ids) {
    const deadline = Date.now() + 60_000;
    while ((await metered.api<{ status: string }>('GET', `/executions/${id}`)).body.status !== 'succeeded') {
      if (Date.now() > deadline) throw new Error(`${task} execution ${id} did not succeed within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
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
