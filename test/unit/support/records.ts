import { vi } from 'vitest';
import { callbackHash, callbackKey, callbackToken } from '../../../lambdas/domain/callbacks.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { newExecutionId, newTransitionId } from '../../../lambdas/domain/ids.js';
import { TERMINAL_STATUSES } from '../../../lambdas/domain/status.js';
import { openKey, openSort } from '../../../lambdas/repository/keys.js';
import type { Logger } from '../../../lambdas/shared/logger.js';
import type { FakeTable, Item } from './fake-dynamodb.js';

/** The tenant of requests without an authorizer. */
export const TENANT = 'default';
/** `STATE_MACHINE_ARN_PREFIX` of the unit project (vitest.config.ts). */
export const STATE_MACHINE_ARN_PREFIX = 'arn:aws:states:us-east-1:123456789012:stateMachine:Test-';
const CREATED_AT = '2026-01-02T03:04:05.000Z';

/** Partition key of an execution (the stored layout: `EXEC#<tenant>#<id>`). */
export function executionPk(tenant: string, id: string): string {
  return `EXEC#${tenant}#${id}`;
}

/** Sort key of transition `seq`. */
export function transitionSk(seq: number): string {
  return `TR#${String(seq).padStart(10, '0')}`;
}

/** The ARN Step Functions gives execution `id` of a task's state machine. */
export function executionArnFor(taskId: string, id: string): string {
  return `${STATE_MACHINE_ARN_PREFIX.replace(':stateMachine:', ':execution:')}${taskId}:${id}`;
}

/** A queued `sample-pipeline` execution, with `overrides` applied. */
export function executionRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const id = overrides.id ?? newExecutionId(Date.parse(CREATED_AT));
  const taskId = overrides.taskId ?? 'sample-pipeline';
  return {
    tenant: TENANT,
    id,
    taskId,
    status: 'queued',
    input: { document_url: 'https://example.com/reports/q3.pdf' },
    metadata: {},
    transitionCount: 1,
    stepIndex: 0,
    stepName: 'extract',
    stepsCompleted: 0,
    totalSteps: 3,
    stepFraction: 0,
    executionArn: executionArnFor(taskId, id),
    createdAt: CREATED_AT,
    updatedAt: CREATED_AT,
    ...overrides,
  };
}

function payload(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/** A record as the repository stores it: snake_case attributes, payloads as JSON text, index keys. */
export function recordItem(record: ExecutionRecord): Item {
  return {
    pk: executionPk(record.tenant, record.id),
    sk: 'META',
    id: record.id,
    tenant: record.tenant,
    task_id: record.taskId,
    status: record.status,
    input: payload(record.input),
    output: payload(record.output),
    error: record.error,
    metadata: payload(record.metadata),
    transition_count: record.transitionCount,
    step_index: record.stepIndex,
    step_name: record.stepName,
    steps_completed: record.stepsCompleted,
    total_steps: record.totalSteps,
    step_fraction: record.stepFraction,
    progress_message: record.progressMessage,
    execution_arn: record.executionArn,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    started_at: record.startedAt,
    completed_at: record.completedAt,
    wait_token: record.waitToken,
    callback_nonce: record.callbackNonce,
    cancel_reason: record.cancelReason,
    branches_done: record.branchesDone,
    tags: record.tags,
    batch_id: record.batchId,
    group_key: record.batchId === undefined ? undefined : `T#${record.tenant}#BATCH#${record.batchId}`,
    redrive_count: record.redriveCount,
    replayed_from: record.replayedFrom,
    tenant_key: `T#${record.tenant}`,
    task_key: `T#${record.tenant}#TASK#${record.taskId}`,
    // Sparse: ended executions are in by-ended, the others in by-open.
    status_key: TERMINAL_STATUSES.has(record.status) ? `T#${record.tenant}#STATUS#${record.status}` : undefined,
    open_key: TERMINAL_STATUSES.has(record.status) ? undefined : openKey(record.tenant),
    open_sort: TERMINAL_STATUSES.has(record.status) ? undefined : openSort(record.tenant, record.id),
  };
}

/** A transition row of `record`, with `overrides` applied (seq 1 `init` by default). */
export function transitionRecord(record: ExecutionRecord, overrides: Partial<TransitionRecord> = {}): TransitionRecord {
  const seq = overrides.seq ?? 1;
  return {
    id: newTransitionId(seq, Date.parse(record.createdAt)),
    executionId: record.id,
    taskId: record.taskId,
    seq,
    type: 'init',
    from: null,
    to: 'queued',
    step: null,
    currentStep: 0,
    nextStep: 0,
    output: record.input,
    metadata: {},
    createdAt: record.createdAt,
    ...overrides,
  };
}

/** A transition row as the repository stores it. */
export function transitionItem(tenant: string, row: TransitionRecord): Item {
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
    output: payload(row.output),
    metadata: payload(row.metadata),
    created_at: row.createdAt,
    expires_at: 1_900_000_000,
    callback_nonce: row.callbackNonce,
  };
}

/** The key resume links are minted with in the unit project (`CURSOR_SECRET` is `test-secret`, vitest.config.ts). */
export const CALLBACK_KEY = callbackKey('test-secret');

/**
 * Gives a record waiting with a `callbackNonce` its resume link, as the wait function writes it: the
 * lookup item keyed by the token's SHA-256, expiring at `expiresAt` (epoch seconds). Returns the token.
 */
export function storeCallback(table: FakeTable, record: ExecutionRecord, expiresAt = 2_000_000_000): string {
  if (record.callbackNonce === undefined) throw new Error('the record has no callback nonce');
  const target = { tenant: record.tenant, executionId: record.id, stepIndex: record.stepIndex, nonce: record.callbackNonce };
  const token = callbackToken(CALLBACK_KEY, target);
  table.put({
    pk: `CALLBACK#${callbackHash(token)}`,
    sk: 'CALLBACK',
    tenant: record.tenant,
    execution_id: record.id,
    step_index: record.stepIndex,
    nonce: record.callbackNonce,
    expires_at: expiresAt,
  });
  return token;
}

/** Stores `record` and its rows in the fake table. */
export function seed(table: FakeTable, record: ExecutionRecord, rows: readonly TransitionRecord[] = []): void {
  table.put(recordItem(record));
  for (const row of rows) table.put(transitionItem(record.tenant, row));
}

/** The stored record item of an execution. */
export function storedRecord(table: FakeTable, record: Pick<ExecutionRecord, 'tenant' | 'id'>): Item {
  const item = table.item(executionPk(record.tenant, record.id), 'META');
  if (!item) throw new Error(`no stored record ${record.id}`);
  return item;
}

/** The stored transition rows of an execution, by seq. */
export function storedRows(table: FakeTable, record: Pick<ExecutionRecord, 'tenant' | 'id'>): Item[] {
  return table.partition(executionPk(record.tenant, record.id)).filter((item) => String(item.sk).startsWith('TR#'));
}

/** The stored marker items of an execution (`MARK#<marker>` → the seq of the row it recorded). */
export function storedMarkers(table: FakeTable, record: Pick<ExecutionRecord, 'tenant' | 'id'>): Record<string, unknown> {
  const markers = table.partition(executionPk(record.tenant, record.id)).filter((item) => String(item.sk).startsWith('MARK#'));
  return Object.fromEntries(markers.map((item) => [String(item.sk).slice('MARK#'.length), item.seq]));
}

/** A stored payload (JSON text) read back. */
export function storedPayload(value: unknown): unknown {
  if (typeof value !== 'string') throw new Error(`stored payload is not JSON text: ${String(value)}`);
  return JSON.parse(value);
}

/** A logger that writes nothing and records its calls. */
export interface SpyLogger extends Logger {
  readonly debug: ReturnType<typeof vi.fn<Logger['debug']>>;
  readonly info: ReturnType<typeof vi.fn<Logger['info']>>;
  readonly warn: ReturnType<typeof vi.fn<Logger['warn']>>;
  readonly error: ReturnType<typeof vi.fn<Logger['error']>>;
}

/**
 * A sample-approval execution waiting at its `review` step (its init, start, step and wait rows
 * counted), with `overrides`: the resume and cancel tests' common subject.
 */
export function awaitingReviewRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return executionRecord({
    taskId: 'sample-approval',
    status: 'awaiting_input',
    input: { title: 'T', body: 'B' },
    transitionCount: 4,
    stepIndex: 1,
    stepName: 'review',
    stepsCompleted: 1,
    waitToken: 'token-1',
    ...overrides,
  });
}

/** A silent logger whose children are itself, so every call can be asserted on one object. */
export function spyLogger(): SpyLogger {
  const logger: SpyLogger = {
    debug: vi.fn<Logger['debug']>(),
    info: vi.fn<Logger['info']>(),
    warn: vi.fn<Logger['warn']>(),
    error: vi.fn<Logger['error']>(),
    child: () => logger,
  };
  return logger;
}
