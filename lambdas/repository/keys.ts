/** Sort key of the execution record; transition rows sort after it under `TR#`. */
export const META_SK = 'META';
/** Sort key prefix of transition rows. */
export const TRANSITION_PREFIX = 'TR#';
/** Sort key of an idempotency record. */
export const IDEMPOTENCY_SK = 'IDEMPOTENCY';

/** Global secondary indexes of the table; every one sorts by execution id (UUIDv7 = creation time). */
export const INDEXES = {
  /** All executions of a tenant. */
  byTenant: { name: 'by-tenant', partitionKey: 'tenant_key' },
  /** Executions of one task. */
  byTask: { name: 'by-task', partitionKey: 'task_key' },
  /** Executions in one status. */
  byStatus: { name: 'by-status', partitionKey: 'status_key' },
} as const;

/** Sort key attribute shared by every index. */
export const INDEX_SORT_KEY = 'id';

/** Partition key of an execution and its transitions: the tenant is part of every key. */
export function executionPk(tenant: string, executionId: string): string {
  return `EXEC#${tenant}#${executionId}`;
}

/** Sort key of transition `seq`, zero-padded so rows sort by number. */
export function transitionSk(seq: number): string {
  return `${TRANSITION_PREFIX}${String(seq).padStart(10, '0')}`;
}

/** Partition key of an idempotency record (the key is hashed: callers choose its text). */
export function idempotencyPk(tenant: string, keyHash: string): string {
  return `IDEM#${tenant}#${keyHash}`;
}

/** Index partition keys of a record. */
export function tenantKey(tenant: string): string {
  return `T#${tenant}`;
}
export function taskKey(tenant: string, taskId: string): string {
  return `T#${tenant}#TASK#${taskId}`;
}
export function statusKey(tenant: string, status: string): string {
  return `T#${tenant}#STATUS#${status}`;
}
