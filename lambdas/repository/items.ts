import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import type { ExecutionStatus } from '../domain/status.js';
import { decodeMetadata, decodePayload, encodePayload } from './codec.js';
import { INDEXES, META_SK, OPEN_KEY, OPEN_SORT, executionPk, openKey, openSort, taskKey, tenantKey, transitionSk } from './keys.js';

// How records and rows look in the table, shared by the repository's classes.

/** A stored item. */
export type Item = Record<string, unknown>;

/** Seconds in a day. */
export const DAY_SECONDS = 86_400;
/** Transition rows outlive any possible execution (Standard workflows run at most a year). */
export const ROW_EXTRA_SECONDS = 366 * DAY_SECONDS;

/** The stored attribute of a record field: snake_case of its name (`stepIndex` → `step_index`). */
export function attributeOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Epoch seconds of an ISO timestamp (DynamoDB TTL attributes are in seconds). */
export function epochSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}


/** The cancellation reason codes of a failed transaction, item by item; undefined for other errors. */
export function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

/**
 * The optional record fields stored exactly as they are, under their snake_case attribute
 * ({@link attributeOf}), and absent when unset. One list for both directions: every Lambda step
 * function bundles this module, so a field costs its name here and nothing more.
 */
const STORED_AS_IS = [
  'progressMessage',
  'startedAt',
  'completedAt',
  'waitToken',
  'callbackNonce',
  'cancelReason',
  'branchesDone',
  'parentExecutionId',
  'webhookUrl',
  'webhookSecret',
  // A new record is never retried yet (`redrive_count` comes with its first retry), but may replay another.
  'replayedFrom',
  'redriveCount',
  'scheduleId',
  'batchId',
  // Written by this service only (checked at create), so read as stored.
  'tags',
  'priority',
  'concurrencyKey',
  'startAt',
] as const satisfies readonly (keyof ExecutionRecord)[];

type StoredAsIs = (typeof STORED_AS_IS)[number];

/** The stored form of a record. */
export function toItem(record: ExecutionRecord): Item {
  return {
    pk: executionPk(record.tenant, record.id),
    sk: META_SK,
    id: record.id,
    tenant: record.tenant,
    task_id: record.taskId,
    status: record.status,
    input: encodePayload(record.input),
    output: encodePayload(record.output),
    error: record.error,
    metadata: encodePayload(record.metadata),
    transition_count: record.transitionCount,
    step_index: record.stepIndex,
    step_name: record.stepName,
    steps_completed: record.stepsCompleted,
    total_steps: record.totalSteps,
    step_fraction: record.stepFraction,
    execution_arn: record.executionArn,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    ...Object.fromEntries(STORED_AS_IS.map((field) => [attributeOf(field), record[field]])),
    // Sparse `by-group` (GROUP_INDEX): a batch's executions (`T#<tenant>#BATCH#<id>`) or a schedule's runs (`T#<tenant>#SCHEDULE#<id>`).
    group_key: record.batchId ? `T#${record.tenant}#BATCH#${record.batchId}` : record.scheduleId && `T#${record.tenant}#SCHEDULE#${record.scheduleId}`,
    [INDEXES.byTenant.partitionKey]: tenantKey(record.tenant),
    [INDEXES.byTask.partitionKey]: taskKey(record.tenant, record.taskId),
    // A new record (the only one written whole) has not ended: it is in sparse `by-open`, not in `by-ended`.
    [OPEN_KEY]: openKey(record.tenant),
    [OPEN_SORT]: openSort(record.tenant, record.id),
  };
}

/** A string attribute, or undefined. */
export function str(item: Item, name: string): string | undefined {
  const value = item[name];
  return typeof value === 'string' ? value : undefined;
}

/** The domain form of a stored record. */
export function fromItem(item: Item): ExecutionRecord {
  return {
    tenant: item.tenant as string,
    id: item.id as string,
    taskId: item.task_id as string,
    status: item.status as ExecutionStatus,
    input: decodePayload(item.input) ?? null,
    output: decodePayload(item.output),
    error: item.error as ExecutionRecord['error'],
    metadata: decodeMetadata(item.metadata),
    transitionCount: item.transition_count as number,
    stepIndex: item.step_index as number,
    stepName: item.step_name as string,
    stepsCompleted: item.steps_completed as number,
    totalSteps: item.total_steps as number,
    stepFraction: (item.step_fraction as number | undefined) ?? 0,
    executionArn: item.execution_arn as string,
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
    ...(Object.fromEntries(STORED_AS_IS.map((field) => [field, item[attributeOf(field)] ?? undefined])) as Pick<ExecutionRecord, StoredAsIs>),
  };
}

/** The stored form of a transition row. */
export function rowItem(tenant: string, row: TransitionRecord, expiresAt: number): Item {
  return {
    pk: executionPk(tenant, row.executionId),
    sk: transitionSk(row.seq),
    id: row.id,
    execution_id: row.executionId,
    task_id: row.taskId,
    seq: row.seq,
    type: row.type,
    from: row.from,
    to: row.to,
    step: row.step,
    scope: row.scope,
    current_step: row.currentStep,
    next_step: row.nextStep,
    output: encodePayload(row.output),
    metadata: encodePayload(row.metadata),
    created_at: row.createdAt,
    expires_at: expiresAt,
    callback_nonce: row.callbackNonce,
  };
}

/** The domain form of a stored transition row. */
export function fromRowItem(item: Item): TransitionRecord {
  return {
    id: item.id as string,
    executionId: item.execution_id as string,
    taskId: item.task_id as string,
    seq: item.seq as number,
    type: item.type as TransitionRecord['type'],
    from: (item.from as ExecutionStatus | null | undefined) ?? null,
    to: item.to as ExecutionStatus,
    step: (item.step as TransitionRecord['step'] | undefined) ?? null,
    ...(typeof item.scope === 'string' ? { scope: item.scope } : {}),
    currentStep: item.current_step as number,
    nextStep: (item.next_step as number | null | undefined) ?? null,
    output: decodePayload(item.output) ?? null,
    metadata: decodeMetadata(item.metadata),
    createdAt: item.created_at as string,
    ...(typeof item.callback_nonce === 'string' ? { callbackNonce: item.callback_nonce } : {}),
  };
}
