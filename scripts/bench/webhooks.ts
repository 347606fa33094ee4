import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencyOf, type Latency } from './events.js';
import type { MeteredStack } from './local-stack.js';

/** What webhooks cost and how fast they arrive, on the local stack. */
export interface WebhooksReport {
  /** From a change's `timestamp` (its record's `updated_at`) to the request's arrival at the receiver. */
  readonly latency: Latency;
  /** Events received (each execution's `started` and `succeeded`). */
  readonly events: number;
  /** DynamoDB calls of the dispatch and delivery functions, per event received. */
  readonly dynamoDbCallsPerEvent: number;
  /** Capacity units of those calls, per event received. */
  readonly capacityPerEvent: number;
}

const WEBHOOK_ENTRIES = new Set(['webhooks/dispatch-handler.ts', 'webhooks/deliver-handler.ts']);

/**
 * Subscribes a receiver on 127.0.0.1 to `execution.started` and `execution.succeeded`, runs
 * `executions` document-pipeline executions `spacingMs` apart, and waits for both events of each.
 */
export async function measureWebhooks(metered: MeteredStack, executions = 20, spacingMs = 250): Promise<WebhooksReport> {
  const arrivals: number[] = [];
  const seen = new Set<string>();
  // Only this run's executions count: the tenant's others (earlier measurements still ending) reach the receiver too.
  const ours = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const arrived = Date.now();
      const id = String(req.headers['webhook-id']);
      const { timestamp, data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string; data: { id: string } };
      if (!seen.has(id) && ours.has(data.id)) {
        seen.add(id);
        arrivals.push(arrived - Date.parse(timestamp));
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const subscribed = await metered.api<{ id: string }>('POST', '/webhooks', { url, events: ['execution.started', 'execution.succeeded'] });
  if (subscribed.status !== 201) throw new Error(`POST /webhooks → ${subscribed.status}: ${JSON.stringify(subscribed.body)}`);
  const before = metered.operations.length;
  try {
    for (let i = 0; i < executions; i++) {
      const created = await metered.api<{ id: string }>('POST', '/tasks/document-pipeline/executions', { input: { document_url: 'https://example.com/reports/q3.pdf' } });
      if (created.status !== 201) throw new Error(`create → ${created.status}`);
      ours.add(created.body.id);
      await new Promise((done) => setTimeout(done, spacingMs));
    }
    const deadline = Date.now() + 60_000;
    while (seen.size < executions * 2) {
      if (Date.now() > deadline) throw new Error(`webhooks: ${seen.size} of ${executions * 2} events arrived in a minute`);
      await new Promise((done) => setTimeout(done, 100));
    }
  } finally {
    await metered.api('DELETE', `/webhooks/${subscribed.body.id}`);
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
  const calls = metered.operations.slice(before).filter((operation) => WEBHOOK_ENTRIES.has(operation.entry));
  return {
    latency: latencyOf(arrivals),
    events: seen.size,
    dynamoDbCallsPerEvent: calls.length / seen.size,
    capacityPerEvent: calls.reduce((sum, call) => sum + call.capacity, 0) / seen.size,
  };
}
