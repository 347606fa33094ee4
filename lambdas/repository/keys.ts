/** Sort key of the execution record; transition rows sort after it under `TR#`. */
export const META_SK = 'META';
/** Sort key prefix of transition rows. */
export const TRANSITION_PREFIX = 'TR#';
/** Sort key prefix of the markers of changes recorded once (see `TransitionRequest.marker`). */
export const MARKER_PREFIX = 'MARK#';
/** Sort key of an idempotency record. */
export const IDEMPOTENCY_SK = 'IDEMPOTENCY';

/**
 * Global secondary indexes of the table keyed by `id` (UUIDv7 = creation time). Keys only: a list
 * page reads the page's records with one BatchGetItem after the Query (`readRecords`), so each is
 * written once, when the execution is created, and never again (an index of keys only is not
 * written when none of its keys change). New names (`-keys`): a projection cannot change in place.
 */
export const INDEXES = {
  /** All executions of a tenant (also the API keys' and the tenants-with-limits partitions). */
  byTenant: { name: 'by-tenant-keys', partitionKey: 'tenant_key' },
  /** Executions of one task. */
  byTask: { name: 'by-task-keys', partitionKey: 'task_key' },
  /**
   * ENDED executions by terminal status. Sparse: `status_key` is set by the transaction that ends
   * an execution and removed by the retry that reopens it, so an execution is written to it once.
   * Active statuses are listed from {@link OPEN_INDEX}.
   */
  byStatus: { name: 'by-ended', partitionKey: 'status_key' },
} as const;

/** Sort key attribute shared by every index of {@link INDEXES}. */
export const INDEX_SORT_KEY = 'id';

/** Partition key attribute of {@link OPEN_INDEX} (the functions that only write it need not bundle the index). */
export const OPEN_KEY = 'open_key';
/** Sort key attribute of {@link OPEN_INDEX}. */
export const OPEN_SORT = 'open_sort';

/**
 * Executions that are not ended yet (and follow-up items, see {@link FOLLOW_UP_SK}), by tenant:
 * partition `A#<shard of the tenant>` ({@link openKey}), sort `<tenant>#<execution id>`
 * ({@link openSort}), so one tenant's open executions are one key range of one partition, by id.
 * Sparse: both keys are put at create, removed by the transaction that ends the execution and put
 * back by a retry; nothing else changes them or the projected attributes, so an execution costs it
 * one put and one delete. Serves the reconciler (every shard) and lists and bulk actions by an
 * active status (the tenant's range; the status is read from the records). Projects what the
 * reconciler reads without the record: not the status, which changes at every step.
 */
export const OPEN_INDEX = {
  name: 'by-open',
  partitionKey: OPEN_KEY,
  sortKey: OPEN_SORT,
  include: ['tenant', 'execution_arn', 'task_id'],
} as const;

/**
 * The children of an execution (`GET /executions?parent_id=`), sparse: only child executions have
 * `parent_key`. Sorted by `created_at`, not by id: a child's id carries its parent's creation time
 * (see `childExecutionId`), so siblings' ids do not say which came first. Projects ALL, so a page is
 * one Query. Kept out of {@link INDEXES}, which the create function bundles (its size budget has no
 * room for an index it never writes); the table builds it from here.
 */
export const PARENT_INDEX = { name: 'by-parent', partitionKey: 'parent_key', sortKey: 'created_at' } as const;

/**
 * Executions that belong to a group (sparse: only those with `group_key`): the runs of a recurring
 * schedule (`T#<tenant>#SCHEDULE#<schedule id>`) and the items of a batch (`T#<tenant>#BATCH#<batch
 * id>`). Sorted by id (creation time); projects ALL, so a page is one Query. Kept out of
 * {@link INDEXES}, as {@link PARENT_INDEX} is.
 */
export const GROUP_INDEX = { name: 'by-group', partitionKey: 'group_key', sortKey: 'id' } as const;

/**
 * A tenant's ended executions by when they ended (`GET /executions?sort_by=completed_at`). Keyed by
 * the same `tenant_key` as `by-tenant-keys`, and sparse by its sort key: DynamoDB indexes an item
 * only when it has both keys, and `completed_at` is set by the transaction that ends an execution
 * (and removed by one that retries it), so no write path names this index. Keys only.
 */
export const COMPLETED_INDEX = { name: 'by-completed-keys', partitionKey: 'tenant_key', sortKey: 'completed_at' } as const;

/**
 * A tenant's started executions by when they started (`GET /executions?sort_by=started_at`), sparse
 * by its sort key `started_at`, set once by the first step. Keys only.
 */
export const STARTED_INDEX = { name: 'by-started', partitionKey: 'tenant_key', sortKey: 'started_at' } as const;

/** `by-group` partition of a tenant's runs of one schedule. */
export function scheduleGroupKey(tenant: string, scheduleId: string): string {
  return `T#${tenant}#SCHEDULE#${scheduleId}`;
}

/** `by-parent` partition of a tenant's children of one execution. */
export function parentKey(tenant: string, parentId: string): string {
  return `T#${tenant}#PARENT#${parentId}`;
}

/**
 * Sort key of an execution's follow-up item, in its partition: present while the execution owes its
 * family something once it ends (answer the parent's `runTask` state, cancel its children). It
 * carries the `by-open` keys, so the reconciler finds follow-ups a lost event left undone; settling them
 * removes the key.
 */
export const FOLLOW_UP_SK = 'FOLLOW_UP';

/**
 * Partition key of the item that finds a resume link's wait, by the SHA-256 of the link's token. No
 * tenant in it: the caller of a link has no tenant, only the token (as with `APIKEY#` items); the
 * item names the tenant and execution.
 */
export function callbackPk(hash: string): string {
  return `CALLBACK#${hash}`;
}
/** Sort key of a resume link's lookup item. */
export const CALLBACK_SK = 'CALLBACK';

/** Partition key of an execution and its transitions: the tenant is part of every key. */
export function executionPk(tenant: string, executionId: string): string {
  return `EXEC#${tenant}#${executionId}`;
}

/** Sort key of transition `seq`, zero-padded so rows sort by number. */
export function transitionSk(seq: number): string {
  return `${TRANSITION_PREFIX}${String(seq).padStart(10, '0')}`;
}

/** Sort key of the marker of a change recorded once. */
export function markerSk(marker: string): string {
  return `${MARKER_PREFIX}${marker}`;
}

/** Partition key of an idempotency record (the key is hashed: callers choose its text). */
export function idempotencyPk(tenant: string, keyHash: string): string {
  return `IDEM#${tenant}#${keyHash}`;
}

/** `by-tenant-keys` (and `by-completed-keys`, `by-started`) partition of a tenant's executions. */
export function tenantKey(tenant: string): string {
  return `T#${tenant}`;
}
/** `by-task-keys` partition of a tenant's executions of one task. */
export function taskKey(tenant: string, taskId: string): string {
  return `T#${tenant}#TASK#${taskId}`;
}
/** `by-ended` partition of a tenant's ended executions in one (terminal) status. */
export function statusKey(tenant: string, status: string): string {
  return `T#${tenant}#STATUS#${status}`;
}

/** Number of partitions of the `by-open` index (and of `by-due`, and of the delayed stage of `by-admission`). */
export const ACTIVE_SHARDS = 8;

/** The shard of a string (an execution id, a tenant): FNV-1a of it, modulo {@link ACTIVE_SHARDS}. */
export function activeShard(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % ACTIVE_SHARDS;
}

/** `by-open` partition key of shard `shard` (0 ≤ shard < {@link ACTIVE_SHARDS}). */
export function activeKey(shard: number): string {
  return `A#${shard}`;
}

/** `by-open` partition of a tenant's open executions: the shard of the tenant. */
export function openKey(tenant: string): string {
  return activeKey(activeShard(tenant));
}

/** `by-open` sort key of an execution: `<tenant>#<id>` (a tenant name has no `#`). */
export function openSort(tenant: string, executionId: string): string {
  return `${tenant}#${executionId}`;
}

/**
 * Webhook deliveries not settled yet, by when their message is due back (sparse: `due_key` is set
 * while a delivery is pending, being attempted or retrying, and removed when it is delivered or
 * failed). Keys only: the redrive reads the few overdue items themselves. Kept out of
 * {@link INDEXES}, as {@link PARENT_INDEX} is.
 */
export const DUE_INDEX = { name: 'by-due', partitionKey: 'due_key', sortKey: 'due_at' } as const;

/** `by-due` partition of a delivery: one of {@link ACTIVE_SHARDS}, by its message id. */
export function dueKey(messageId: string): string {
  return `DUE#${activeShard(messageId)}`;
}

/**
 * Held work (docs/architecture.md, "Admission"), sparse: an execution that waits for its start
 * time or for a slot, or holds a slot, is in exactly one partition of this index at a time, its
 * stage named by the partition:
 * - `D#<shard>` ({@link delayedKey}): delayed, sorted by start time then id, sharded by execution id;
 * - `Q#<tenant>` ({@link queueKey}): in its tenant's queue, sorted by priority then id (`queueSort`);
 * - `S#<tenant>` ({@link slotKey}): admitted, holding a slot until it ends and the slot is released.
 * One index for the three stages: CloudFormation adds one index per table update, and a record
 * moves through them in order, so one attribute pair holds its stage. Kept out of {@link INDEXES},
 * as {@link PARENT_INDEX} is.
 */
export const ADMISSION_INDEX = {
  name: 'by-admission',
  partitionKey: 'admission_key',
  sortKey: 'admission_sort',
  include: ['id', 'tenant', 'task_id', 'status', 'priority', 'concurrency_key', 'slot'],
} as const;

/** `by-admission` partition of a delayed execution. */
export const delayedKey = (executionId: string): string => `D#${activeShard(executionId)}`;
/** `by-admission` partition of a tenant's queue. */
export const queueKey = (tenant: string): string => `Q#${tenant}`;
/** `by-admission` partition of a tenant's slot holders. */
export const slotKey = (tenant: string): string => `S#${tenant}`;

/** Partition of a tenant's running-executions counters, one item per scope (sort key = the scope). */
export const countersPk = (tenant: string): string => `SLOTS#${tenant}`;
/** Key of a tenant's concurrency limits. */
export const limitsKey = (tenant: string): { pk: string; sk: string } => ({ pk: `LIMITS#${tenant}`, sk: 'LIMITS' });
/** Every limits item sits in this partition of `by-tenant-keys` (by tenant name, as `id`): the tenants with limits. */
export const LIMITS_PARTITION = 'LIMITS';

/** `by-group` partition ({@link GROUP_INDEX}) of a tenant's executions of one batch (`GET /executions?batch_id=`). */
export function batchGroupKey(tenant: string, batchId: string): string {
  return `T#${tenant}#BATCH#${batchId}`;
}

/**
 * Partition key of the tag index: one item per tenant, tag and execution (sort key: the execution
 * id, so a tag's executions come newest or oldest first). A tag has no `#` (`TAG_PATTERN`).
 */
export function tagPk(tenant: string, tag: string): string {
  return `TAG#${tenant}#${tag}`;
}
