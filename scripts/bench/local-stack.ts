import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { invocations } from '../../local/lambda-host.js';
import { RATE_PK_PREFIX } from '../../lambdas/repository/rate-counters.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { DEFAULT_TASKS_MODULE, loadTasksModule } from '../../infra/tasks-module.js';
import { synthForLocal } from '../../local/synth.js';

/** One DynamoDB call a function made. */
export interface Operation {
  readonly command: string;
  /** The function's entry, or `bench` for the benchmark's own calls. */
  readonly entry: string;
  readonly requestId: string;
  /** Capacity units DynamoDB reports (table and indexes). */
  readonly capacity: number;
  /** A write of a rate limit counter (`RATE#…`): the limiter's, not the route's own work. */
  readonly rateCounter: boolean;
}

/** A local stack started in this process, with every DynamoDB call recorded. */
export interface MeteredStack {
  readonly stack: LocalStack;
  readonly operations: Operation[];
  /** DynamoDB calls that failed (e.g. a transaction cancelled because another writer won the race). */
  readonly failures: Operation[];
  /** The synthesized template the stack runs. */
  readonly templatePath: string;
  readonly apiKey: string;
  /**
   * Calls the stack's HTTP API as tenant `default` (with `headers` besides) and parses the JSON
   * reply (`null` when it has no body, as a 304).
   */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

interface Consumed {
  readonly CapacityUnits?: number;
  readonly Table?: { readonly CapacityUnits?: number };
}

/**
 * Capacity units of one call as DynamoDB bills them. DynamoDB Local reports a transaction's table
 * units as 2 in all when none of its items changes an index (two 1 KB puts: 2, where DynamoDB bills
 * 2 per item and KB, 4), so a transaction's table units are at least 2 per item (`transactItems`).
 */
export function capacityOf(output: unknown, transactItems = 0): number {
  const consumed = (output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
  const list: Consumed[] = Array.isArray(consumed) ? consumed : consumed ? [consumed as Consumed] : [];
  const reported = list.reduce((sum, item) => sum + (item.CapacityUnits ?? 0), 0);
  const table = list.reduce((sum, item) => sum + (item.Table?.CapacityUnits ?? 0), 0);
  return reported + Math.max(0, 2 * transactItems - table);
}

/**
 * Starts the local stack in this process (so the handler modules share this process's module
 * instances) and meters the DynamoDB client they all use.
 */
export async function startMeteredStack(): Promise<MeteredStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-stack-'));
  const apiKey = 'bench-key';
  const templatePath = synthForLocal(outdir, await loadTasksModule(DEFAULT_TASKS_MODULE));
  const stack = await startLocalStack({ templatePath, port: 0, apiKey });
  const { documentClient } = (await import('../../lambdas/shared/dynamodb-client.js')) as { documentClient: DynamoDBDocumentClient };
  const operations: Operation[] = [];
  const failures: Operation[] = [];
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      const invocation = invocations.getStore();
      const pk = (args.input as { Key?: { pk?: unknown } }).Key?.pk;
      const operation = (capacity: number): Operation => ({
        rateCounter: typeof pk === 'string' && pk.startsWith(RATE_PK_PREFIX),
        command: String(context.commandName).replace(/Command$/, ''),
        entry: invocation?.entry ?? 'bench',
        requestId: invocation?.requestId ?? '',
        capacity,
      });
      try {
        const result = await next(args);
        operations.push(operation(capacityOf(result.output, (args.input as { TransactItems?: unknown[] }).TransactItems?.length)));
        return result;
      } catch (error) {
        failures.push(operation(0));
        throw error;
      }
    },
    { step: 'initialize', name: 'benchOperationMeter' },
  );
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  return {
    stack,
    operations,
    failures,
    templatePath,
    apiKey,
    api: async <T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
      const response = await fetch(`${stack.url}${path}`, {
        method,
        headers: { ...headers, ...extra },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
    },
    stop: async () => {
      await stack.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
