import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConcurrencyLimits } from '../domain/admission.js';
import { limitsKey } from './keys.js';

/**
 * A tenant's concurrency limits, read from its limits item (`limitsKey`); undefined when it has none
 * set. A function of its own, so what only asks "is this tenant limited?" (a scheduled run, a bulk
 * replay) bundles one GetItem, not the whole admission store.
 */
export async function readTenantLimits(client: DynamoDBDocumentClient, table: string, tenant: string): Promise<ConcurrencyLimits | undefined> {
  const { Item } = await client.send(new GetCommand({ TableName: table, Key: limitsKey(tenant), ConsistentRead: true }));
  if (!Item) return undefined;
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  const tasks = Item.task_limits !== null && typeof Item.task_limits === 'object' ? (Item.task_limits as Record<string, number>) : undefined;
  return {
    ...(number(Item.tenant_limit) === undefined ? {} : { tenant: number(Item.tenant_limit) }),
    ...(number(Item.key_limit) === undefined ? {} : { perKey: number(Item.key_limit) }),
    ...(tasks && Object.keys(tasks).length > 0 ? { tasks: { ...tasks } } : {}),
  };
}

/**
 * Whether a tenant has a concurrency limit of some scope: what a caller outside the API (which has no
 * authorizer's word) passes to `startExecution` as `limited`. One read.
 */
export async function tenantLimited(client: DynamoDBDocumentClient, table: string, tenant: string): Promise<boolean> {
  return Object.keys((await readTenantLimits(client, table, tenant)) ?? {}).length > 0;
}
