import { randomUUID } from 'node:crypto';
import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { summarize, type Timing } from './cold-import.js';
import type { MeteredStack } from './local-stack.js';

/** Executions per second at one concurrency. */
export interface ThroughputPoint {
  readonly concurrency: number;
  readonly completed: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** Latency of one API call at a concurrency. */
export interface LatencyReport {
  readonly call: string;
  readonly concurrency: number;
  readonly timing: Timing;
}

async function pool(workers: number, work: (worker: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: workers }, (_, worker) => work(worker)));
}

/**
 * The ceiling: two-item transactions per second that DynamoDB Local accepts on the same table
 * (a record update and a row, as one status change writes), from `concurrency` writers.
 */
export async function transactionCeiling(metered: MeteredStack, concurrency: number, seconds: number): Promise<number> {
  const client = new DynamoDBClient({
    endpoint: metered.stack.dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const table = metered.stack.tableName;
  let done = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await pool(concurrency, async () => {
    while (Date.now() < end) {
      const pk = `BENCH#${randomUUID()}`;
      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { pk: { S: pk }, sk: { S: 'META' }, status: { S: 'running' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: table, Item: { pk: { S: pk }, sk: { S: 'TR#0000000001' }, type: { S: 'step' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      done++;
    }
  });
  client.destroy();
  return done / ((Date.now() - started) / 1000);
}

const PIPELINE_INPUT = { input: { document_url: 'https://example.com/reports/q3.pdf' } };

/**
 * document-pipeline executions per second, create to `succeeded`, with `concurrency` callers in
 * a closed loop (each starts one, polls it every 25 ms until it succeeds, starts the next).
 */
export async function endToEnd(metered: MeteredStack, concurrency: number, seconds: number): Promise<ThroughputPoint> {
  const call = metered.api.bind(metered);
  let completed = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await pool(concurrency, async () => {
    while (Date.now() < end) {
      const created = await call('POST', '/tasks/document-pipeline/executions', PIPELINE_INPUT);
      if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const { body: execution } = await call('GET', `/executions/${String(created.body.id)}`);
        if (execution.status === 'succeeded') break;
        if (execution.status === 'failed') throw new Error(`execution failed: ${JSON.stringify(execution.error)}`);
      }
      completed++;
    }
  });
  const elapsed = (Date.now() - started) / 1000;
  return { concurrency, completed, seconds: elapsed, perSecond: completed / elapsed };
}

/** Latency of create and get with `concurrency` callers, `perWorker` calls each. */
export async function latencies(metered: MeteredStack, concurrency: number, perWorker: number): Promise<LatencyReport[]> {
  const call = metered.api.bind(metered);
  const ids: string[] = [];
  const creates: number[] = [];
  await pool(concurrency, async () => {
    for (let i = 0; i < perWorker; i++) {
      const t0 = performance.now();
      const created = await call('POST', '/tasks/document-pipeline/executions', PIPELINE_INPUT);
      creates.push(performance.now() - t0);
      ids.push(String(created.body.id));
    }
  });
  await metered.stack.stepFunctions.drain();
  const gets: number[] = [];
  await pool(concurrency, async (worker) => {
    for (let i = 0; i < perWorker; i++) {
      const t0 = performance.now();
      await call('GET', `/executions/${ids[(worker * perWorker + i) % ids.length]!}`);
      gets.push(performance.now() - t0);
    }
  });
  return [
    { call: 'POST /tasks/{task_id}/executions', concurrency, timing: summarize(creates) },
    { call: 'GET /executions/{id}', concurrency, timing: summarize(gets) },
  ];
}
