import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  IdempotencyMismatchError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { idBoundAt, newExecutionId, transitionSeq } from '../../../lambdas/domain/ids.js';
import { planRetry } from '../../../lambdas/domain/recovery.js';
import { planTransition } from '../../../lambdas/domain/transition.js';
import { CreateStore } from '../../../lambdas/repository/create-store.js';
import { ExecutionsRepository, type ExecutionQuery } from '../../../lambdas/repository/executions-repository.js';
import { ACTIVE_SHARDS, activeKey, activeShard } from '../../../lambdas/repository/keys.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { recordItem } from '../support/records.js';

type Item = Record<string, unknown>;

const ddb = mockClient(DynamoDBDocumentClient);

const TENANT = 'acme';
const TASK = 'sample-pipeline';
const CREATED = '2025-01-02T03:04:05.000Z';
const CREATED_S = Date.parse(CREATED) / 1000;
const NOW = '2025-01-02T03:10:00.000Z';
const DAY = 86_400;
const ID = newExecutionId(Date.parse(CREATED));
const PK = `EXEC#${TENANT}#${ID}`;

function record(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const id = overrides.id ?? ID;
  return {
    tenant: TENANT,
    id,
    taskId: TASK,
    status: 'queued',
    input: { document: 'a.pdf' },
    metadata: { source: 'test' },
    transitionCount: 1,
    stepIndex: 0,
    stepName: 'extract',
    stepsCompleted: 0,
    totalSteps: 3,
    stepFraction: 0,
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:Test-${TASK}:${id}`,
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

/** The stored form of a record, written out from the storage layout (independently of the code under test). */
function storedItem(r: ExecutionRecord): Item {
  return {
    pk: `EXEC#${r.tenant}#${r.id}`,
    sk: 'META',
    id: r.id,
    tenant: r.tenant,
    task_id: r.taskId,
    status: r.status,
    input: JSON.stringify(r.input),
    ...(r.output === undefined ? {} : { output: JSON.stringify(r.output) }),
    ...(r.error === undefined ? {} : { error: r.error }),
    metadata: JSON.stringify(r.metadata),
    transition_count: r.transitionCount,
    step_index: r.stepIndex,
    step_name: r.stepName,
    steps_completed: r.stepsCompleted,
    total_steps: r.totalSteps,
    step_fraction: r.stepFraction,
    ...(r.progressMessage === undefined ? {} : { progress_message: r.progressMessage }),
    execution_arn: r.executionArn,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    ...(r.startedAt === undefined ? {} : { started_at: r.startedAt }),
    ...(r.completedAt === undefined ? {} : { completed_at: r.completedAt }),
    ...(r.waitToken === undefined ? {} : { wait_token: r.waitToken }),
    ...(r.cancelReason === undefined ? {} : { cancel_reason: r.cancelReason }),
    tenant_key: `T#${r.tenant}`,
    task_key: `T#${r.tenant}#TASK#${r.taskId}`,
    // Sparse: an ended execution is in by-ended, the others in their tenant's range of by-open.
    ...(['succeeded', 'failed', 'cancelled'].includes(r.status)
      ? { status_key: `T#${r.tenant}#STATUS#${r.status}` }
      : { open_key: `A#${activeShard(r.tenant)}`, open_sort: `${r.tenant}#${r.id}` }),
  };
}

function storedRow(seq: number, overrides: Item = {}): Item {
  return {
    pk: PK,
    sk: `TR#${String(seq).padStart(10, '0')}`,
    id: `0194283a-3f49-7aaa-8000-${String(seq).padStart(4, '0')}bbbbbbbb`,
    execution_id: ID,
    task_id: TASK,
    seq,
    type: 'step',
    from: 'running',
    to: 'running',
    step: { index: seq - 3, name: `step-${seq - 3}` },
    current_step: seq - 3,
    next_step: seq - 2,
    output: JSON.stringify({ seq }),
    metadata: '{}',
    created_at: CREATED,
    expires_at: CREATED_S + 456 * DAY,
    ...overrides,
  };
}

/** Records created one second apart, so their ids sort in creation order. */
function records(count: number, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const at = new Date(Date.parse(CREATED) + i * 1000).toISOString();
    return record({ id: newExecutionId(Date.parse(at)), createdAt: at, updatedAt: at, ...overrides });
  });
}

function indexKey(r: ExecutionRecord, indexPk: 'tenant_key' | 'task_key' | 'status_key' = 'tenant_key'): Item {
  const item = storedItem(r);
  return { pk: item.pk, sk: item.sk, [indexPk]: item[indexPk], id: r.id };
}

function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

function namedError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function throttled(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
}

function transactItems(call = 0) {
  return ddb.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems ?? [];
}

function queryInput(call = 0) {
  const input = ddb.commandCalls(QueryCommand)[call]?.args[0].input;
  if (!input) throw new Error(`no query call ${call}`);
  return input;
}

let repository: ExecutionsRepository;
/** The store of the create function, over the same table. */
let creator: CreateStore;

beforeEach(() => {
  ddb.reset();
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  repository = new ExecutionsRepository(client, { tableName: 't', cursorSecret: 's' });
  creator = new CreateStore(client, { tableName: 't', cursorSecret: 's' });
});

describe('create', () => {
  it('writes the record and its init row in one transaction, each conditioned on not existing', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const r = record();

    const result = await creator.create(r);

    expect(result).toEqual({ record: r, replayed: false });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        { Put: { TableName: 't', Item: storedItem(r), ConditionExpression: 'attribute_not_exists(pk)' } },
        {
          Put: {
            TableName: 't',
            Item: {
              pk: PK,
              sk: 'TR#0000000001',
              id: expect.any(String),
              execution_id: ID,
              task_id: TASK,
              seq: 1,
              type: 'init',
              from: null,
              to: 'queued',
              step: null,
              current_step: 0,
              next_step: 0,
              output: '{"document":"a.pdf"}',
              metadata: '{"source":"test"}',
              created_at: CREATED,
              expires_at: CREATED_S + 90 * DAY + 366 * DAY,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });
    const rowId = transactItems()[1]?.Put?.Item?.id;
    expect(typeof rowId === 'string' ? transitionSeq(rowId) : undefined).toBe(1);
  });

  it('adds the Idempotency-Key item, hashes only, to the same transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    await creator.create(record(), { keyHash: 'key-hash', requestHash: 'request-hash' });

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const items = transactItems();
    expect(items).toHaveLength(3);
    expect(items[0]?.Put?.Item).toMatchObject({ pk: PK, sk: 'META' });
    expect(items[1]?.Put?.Item).toMatchObject({ pk: PK, sk: 'TR#0000000001' });
    expect(items[2]).toEqual({
      Put: {
        TableName: 't',
        Item: {
          pk: `IDEM#${TENANT}#key-hash`,
          sk: 'IDEMPOTENCY',
          request_hash: 'request-hash',
          execution_id: ID,
          created_at: CREATED,
          expires_at: CREATED_S + 24 * 3600,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
        ExpressionAttributeValues: { ':now': CREATED_S },
      },
    });
  });

  it('keeps rows and idempotency keys as long as configured', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const custom = new CreateStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
      tableName: 'other',
      cursorSecret: 's',
      retentionDays: 7,
      idempotencyHours: 2,
    });

    await custom.create(record(), { keyHash: 'k', requestHash: 'r' });

    const items = transactItems();
    expect(items[1]?.Put).toMatchObject({ TableName: 'other', Item: { expires_at: CREATED_S + 7 * DAY + 366 * DAY } });
    expect(items[2]?.Put).toMatchObject({ TableName: 'other', Item: { expires_at: CREATED_S + 2 * 3600 } });
  });

  it('stores a large input gzipped', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    await creator.create(record({ input: { text: 'x'.repeat(10_000) } }));

    expect(transactItems()[0]?.Put?.Item?.input).toBeInstanceOf(Uint8Array);
    expect(transactItems()[1]?.Put?.Item?.output).toBeInstanceOf(Uint8Array);
  });

  it('replays the stored execution when the same key comes with the same request', async () => {
    const first = record({ id: newExecutionId(Date.parse(CREATED) - 60_000), status: 'running', transitionCount: 2 });
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    ddb
      .on(GetCommand, { Key: { pk: `IDEM#${TENANT}#key-hash`, sk: 'IDEMPOTENCY' } })
      .resolves({ Item: { pk: `IDEM#${TENANT}#key-hash`, sk: 'IDEMPOTENCY', request_hash: 'request-hash', execution_id: first.id } })
      .on(GetCommand, { Key: { pk: `EXEC#${TENANT}#${first.id}`, sk: 'META' } })
      .resolves({ Item: storedItem(first) });

    const result = await creator.create(record(), { keyHash: 'key-hash', requestHash: 'request-hash' });

    expect(result).toEqual({ record: first, replayed: true });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedNthCommandWith(GetCommand, 1, {
      TableName: 't',
      Key: { pk: `IDEM#${TENANT}#key-hash`, sk: 'IDEMPOTENCY' },
      ConsistentRead: true,
    });
  });

  it('refuses the same key with a different request as an idempotency mismatch', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    ddb.on(GetCommand).resolves({ Item: { request_hash: 'another-request-hash', execution_id: ID } });

    await expect(creator.create(record(), { keyHash: 'key-hash', requestHash: 'request-hash' })).rejects.toThrow(
      IdempotencyMismatchError,
    );
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('reports a key that vanished before it could be read as unavailable', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    ddb.on(GetCommand).resolves({});

    await expect(creator.create(record(), { keyHash: 'k', requestHash: 'r' })).rejects.toThrow(ServiceUnavailableError);
  });

  it('retries a transaction conflict and succeeds', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('TransactionConflict', 'None')).resolves({});

    const result = await creator.create(record());

    expect(result.replayed).toBe(false);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
  });

  it('gives up after three conflicting attempts with a 503', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None'));

    await expect(creator.create(record())).rejects.toThrow(ServiceUnavailableError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 3);
  });

  it('reports a cancelled transaction that is no idempotency replay as unavailable, without retrying', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));

    await expect(creator.create(record())).rejects.toThrow(ServiceUnavailableError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 0);
  });

  it.each([
    ['ProvisionedThroughputExceededException', throttled()],
    ['ThrottlingException', namedError('ThrottlingException')],
    ['RequestLimitExceeded', namedError('RequestLimitExceeded')],
  ])('maps throttling (%s) to a 503', async (_label, error) => {
    ddb.on(TransactWriteCommand).rejects(error);

    await expect(creator.create(record())).rejects.toThrow(ServiceUnavailableError);
  });

  it('lets any other failure through unchanged', async () => {
    ddb.on(TransactWriteCommand).rejects(namedError('AccessDeniedException', 'not allowed'));

    await expect(creator.create(record())).rejects.toThrow('not allowed');
    await expect(creator.create(record())).rejects.not.toThrow(ServiceUnavailableError);
  });
});

describe('applyTransition', () => {
  const running = record({
    status: 'running',
    transitionCount: 3,
    stepIndex: 1,
    stepName: 'transform',
    stepsCompleted: 1,
    stepFraction: 0.4,
    progressMessage: 'half way',
    startedAt: CREATED,
  });

  it('sends ONE transaction: the update conditioned on status and count, and the new row conditioned on not existing', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const planned = planTransition(
      running,
      { type: 'step', step: { index: 1, name: 'transform' }, advanceTo: { index: 2, name: 'load' }, output: { rows: 3 } },
      NOW,
    );

    const result = await repository.applyTransition(running, planned);

    expect(result).toBe(planned.record);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        {
          Update: {
            TableName: 't',
            Key: { pk: PK, sk: 'META' },
            UpdateExpression:
              'SET #status = :status, #transition_count = :transition_count, #updated_at = :updated_at, ' +
              '#steps_completed = :steps_completed, #step_fraction = :step_fraction, ' +
              '#step_index = :step_index, #step_name = :step_name REMOVE #progress_message',
            ConditionExpression: '#status = :from AND #count = :count',
            ExpressionAttributeNames: {
              '#status': 'status',
              '#count': 'transition_count',
              '#transition_count': 'transition_count',
              '#updated_at': 'updated_at',
              '#step_index': 'step_index',
              '#step_name': 'step_name',
              '#steps_completed': 'steps_completed',
              '#step_fraction': 'step_fraction',
              '#progress_message': 'progress_message',
            },
            ExpressionAttributeValues: {
              ':from': 'running',
              ':count': 3,
              ':status': 'running',
              ':transition_count': 4,
              ':updated_at': NOW,
              ':step_index': 2,
              ':step_name': 'load',
              ':steps_completed': 2,
              ':step_fraction': 0,
            },
          },
        },
        {
          Put: {
            TableName: 't',
            Item: {
              pk: PK,
              sk: 'TR#0000000004',
              id: planned.row.id,
              execution_id: ID,
              task_id: TASK,
              seq: 4,
              type: 'step',
              from: 'running',
              to: 'running',
              step: { index: 1, name: 'transform' },
              current_step: 1,
              next_step: 2,
              output: '{"rows":3}',
              metadata: '{}',
              created_at: NOW,
              expires_at: CREATED_S + 90 * DAY + 366 * DAY,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });
    expect(transactItems()).toHaveLength(2);
  });

  it('puts the record in by-ended, takes it out of by-open and sets the output, completion and expiry on finish', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const planned = planTransition(running, { type: 'finish', result: { summary: 'ok' } }, NOW);

    await repository.applyTransition(running, planned);

    const update = transactItems()[0]?.Update;
    expect(update?.UpdateExpression).toContain('#status_key = :status_key');
    expect(update?.UpdateExpression).toContain('#completed_at = :completed_at');
    expect(update?.UpdateExpression).toContain('#expires_at = :expires_at');
    expect(update?.UpdateExpression).toMatch(/ REMOVE #progress_message, #open_key, #open_sort$/);
    expect(update?.ExpressionAttributeNames).toMatchObject({
      '#status_key': 'status_key',
      '#expires_at': 'expires_at',
      '#open_key': 'open_key',
      '#open_sort': 'open_sort',
    });
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ':status': 'succeeded',
      ':status_key': `T#${TENANT}#STATUS#succeeded`,
      ':completed_at': NOW,
      ':output': '{"summary":"ok"}',
      ':steps_completed': 3,
      ':expires_at': Date.parse(NOW) / 1000 + 90 * DAY,
    });
    expect(transactItems()[1]?.Put?.Item).toMatchObject({ sk: 'TR#0000000004', type: 'finish', to: 'succeeded', step: null, next_step: null });
  });

  it('writes no key of its own for by-completed: ending sets completed_at (its sort key), a retry removes it', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const failed = planTransition(running, { type: 'error', error: { name: 'E', message: 'm' } }, NOW).record;

    await repository.applyTransition(running, planTransition(running, { type: 'finish', result: { summary: 'ok' } }, NOW));
    await repository.applyTransition(failed, planRetry(failed, NOW));

    expect(transactItems(0)[0]?.Update?.UpdateExpression).toContain('#completed_at = :completed_at');
    expect(transactItems(1)[0]?.Update?.UpdateExpression).toMatch(/ REMOVE .*#completed_at/);
    expect(JSON.stringify([transactItems(0), transactItems(1)])).not.toContain('completed_key');
  });

  it('stores a large final output gzipped', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const planned = planTransition(running, { type: 'finish', result: { text: 'y'.repeat(10_000) } }, NOW);

    await repository.applyTransition(running, planned);

    expect(transactItems()[0]?.Update?.ExpressionAttributeValues?.[':output']).toBeInstanceOf(Uint8Array);
  });

  it('stores the task token on wait and removes it on resume', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const wait = planTransition(running, { type: 'wait', step: { index: 2, name: 'approve' }, waitToken: 'token-123' }, NOW);
    const waiting = wait.record;
    const resume = planTransition(waiting, { type: 'resume', step: { index: 2, name: 'approve' }, output: { ok: true } }, NOW);

    await repository.applyTransition(running, wait);
    await repository.applyTransition(waiting, resume);

    const waitUpdate = transactItems(0)[0]?.Update;
    expect(waitUpdate?.UpdateExpression).toContain('#wait_token = :wait_token');
    expect(waitUpdate?.ExpressionAttributeValues).toMatchObject({ ':wait_token': 'token-123', ':status': 'awaiting_input' });
    // Not ended: no by-ended key, and no index key written at all (by-open's keys stay as they are).
    expect(waitUpdate?.UpdateExpression).not.toMatch(/status_key|open_key|open_sort/);
    expect(JSON.stringify(transactItems(0)[1]?.Put?.Item)).not.toContain('token-123');
    const resumeUpdate = transactItems(1)[0]?.Update;
    expect(resumeUpdate?.UpdateExpression).toMatch(/ REMOVE .*#wait_token/);
    expect(resumeUpdate?.ExpressionAttributeValues).toMatchObject({ ':from': 'awaiting_input', ':count': 4 });
    expect(resumeUpdate?.ExpressionAttributeValues).not.toHaveProperty(':wait_token');
  });

  it.each([
    ['error', { type: 'error', error: { name: 'E', message: 'm' } }],
    ['cancel', { type: 'cancel', reason: 'stop' }],
  ] as const)('takes the record out of by-open and into by-ended in the same transaction on %s', async (_type, request) => {
    ddb.on(TransactWriteCommand).resolves({});
    const queued = record();

    const ended = await repository.applyTransition(queued, planTransition(queued, request, NOW));

    expect(transactItems()).toHaveLength(2);
    const update = transactItems()[0]?.Update;
    expect(update?.UpdateExpression).toMatch(/ REMOVE .*#open_key, #open_sort/);
    expect(update?.ExpressionAttributeNames).toMatchObject({ '#open_key': 'open_key', '#open_sort': 'open_sort', '#status_key': 'status_key' });
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':status_key': `T#${TENANT}#STATUS#${ended.status}` });
  });

  it.each([
    ['start', record(), { type: 'start', step: { index: 0, name: 'extract' } }],
    ['step', running, { type: 'step', step: { index: 1, name: 'transform' } }],
    ['wait', running, { type: 'wait', step: { index: 1, name: 'transform' }, waitToken: 't' }],
  ] as const)('writes no index key on %s: the record stays in by-open, out of by-ended, and no keys-only index is written', async (_type, before, request) => {
    ddb.on(TransactWriteCommand).resolves({});

    await repository.applyTransition(before, planTransition(before, request, NOW));

    const update = transactItems()[0]?.Update;
    for (const key of ['open_key', 'open_sort', 'status_key', 'tenant_key', 'task_key']) {
      expect(update?.UpdateExpression).not.toContain(key);
      expect(JSON.stringify(update?.ExpressionAttributeNames)).not.toContain(key);
    }
  });

  it('maps a failed condition to a conflict', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'x',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );
    const planned = planTransition(running, { type: 'cancel', reason: 'stop' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow(ConflictError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('refuses a requested cancel as a conflict when the stored record shows every step done, even with the status and count it was planned from', async () => {
    const table = new FakeTable().install(ddb);
    const read = record({ status: 'running', transitionCount: 5, stepIndex: 2, stepName: 'summarize', stepsCompleted: 2 });
    table.put(recordItem({ ...read, stepsCompleted: 3 }));
    const planned = planTransition(read, { type: 'cancel', reason: 'too late' }, NOW);

    await expect(repository.applyTransition(read, planned)).rejects.toThrow(ConflictError);

    expect(table.item(PK, 'META')).toMatchObject({ status: 'running', steps_completed: 3, transition_count: 5 });
    expect(table.partition(PK).filter((item) => String(item.sk).startsWith('TR#'))).toEqual([]);
  });

  it('maps an existing row (a concurrent writer took the seq) to a conflict', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    const planned = planTransition(running, { type: 'step' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow(ConflictError);
  });

  it('maps a transaction conflict (a concurrent transaction on the record) to a conflict at once: the caller re-reads and backs off', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None'));
    const planned = planTransition(running, { type: 'step' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow(ConflictError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('maps throttling to a 503', async () => {
    ddb.on(TransactWriteCommand).rejects(throttled());
    const planned = planTransition(running, { type: 'step' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow(ServiceUnavailableError);
  });

  it('maps another cancellation reason to a 503', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', 'None'));
    const planned = planTransition(running, { type: 'step' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow(ServiceUnavailableError);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('lets any other failure through unchanged', async () => {
    ddb.on(TransactWriteCommand).rejects(namedError('ValidationException', 'bad expression'));
    const planned = planTransition(running, { type: 'step' }, NOW);

    await expect(repository.applyTransition(running, planned)).rejects.toThrow('bad expression');
  });
});

describe('find and get', () => {
  it('reads the record of this tenant consistently', async () => {
    const r = record({ status: 'running', progressMessage: 'working', startedAt: CREATED });
    ddb.on(GetCommand).resolves({ Item: storedItem(r) });

    const found = await repository.get(TENANT, ID);

    // The whole repository reads an execution's family fields too (no parent, no children here).
    expect(found).toEqual({ ...r, childCount: 0 });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 't', Key: { pk: PK, sk: 'META' }, ConsistentRead: true });
  });

  it('reads back exactly what create wrote, including gzipped payloads and optional fields', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const r = record({
      status: 'failed',
      input: { text: 'z'.repeat(12_000) },
      output: { partial: [1, 2, 3] },
      error: { name: 'StepFailed', message: 'boom', step: { index: 1, name: 'extract' } },
      progressMessage: 'almost',
      startedAt: CREATED,
      completedAt: NOW,
      waitToken: 'tok',
      cancelReason: 'because',
      stepFraction: 0.25,
    });
    await creator.create(r);
    ddb.on(GetCommand).resolves({ Item: transactItems()[0]?.Put?.Item });

    expect(await repository.get(TENANT, ID)).toEqual({ ...r, childCount: 0 });
    expect(await creator.get(TENANT, ID)).toEqual(r);
  });

  it('fills defaults for attributes an old item lacks', async () => {
    const { metadata: _m, step_fraction: _f, input: _i, ...item } = storedItem(record());
    ddb.on(GetCommand).resolves({ Item: item });

    const found = await repository.get(TENANT, ID);

    expect(found).toMatchObject({ metadata: {}, stepFraction: 0, input: null });
  });

  it('reads the metadata of an item stored before metadata became JSON text, a map of strings', async () => {
    ddb.on(GetCommand).resolves({ Item: { ...storedItem(record()), metadata: { source: 'old' } } });

    const found = await repository.get(TENANT, ID);

    expect(found?.metadata).toEqual({ source: 'old' });
  });

  it('finds nothing for an unknown id', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await repository.find(TENANT, ID)).toBeUndefined();
  });

  it('throws NotFoundError from get for an unknown id', async () => {
    ddb.on(GetCommand).resolves({});

    await expect(repository.get('other-tenant', ID)).rejects.toThrow(NotFoundError);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: `EXEC#other-tenant#${ID}`, sk: 'META' } });
  });

  it('hands the SDK the abort signal of a read that may have to give up (a held GET at its deadline)', async () => {
    ddb.on(GetCommand).resolves({ Item: storedItem(record()) });
    const controller = new AbortController();

    await repository.get(TENANT, ID, { abortSignal: controller.signal });
    await creator.get(TENANT, ID, { abortSignal: controller.signal });

    // The stub types `send` with its command only; the SDK's second argument is its HTTP options.
    const options = ddb.send.getCalls().map((call) => (call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined);
    expect(options.map((option) => option?.abortSignal)).toEqual([controller.signal, controller.signal]);
  });
});

describe('updateProgress', () => {
  const target = { tenant: TENANT, id: ID };

  it('sets the fraction and message while the execution is running that step', async () => {
    ddb.on(UpdateCommand).resolves({});

    const updated = await repository.updateProgress(target, 2, 0.5, 'page 6 of 12', NOW);

    expect(updated).toBe(true);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 't',
      Key: { pk: PK, sk: 'META' },
      UpdateExpression: 'SET step_fraction = :f, updated_at = :now, progress_message = :m',
      ConditionExpression: '#status = :running AND step_index = :i',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':f': 0.5, ':now': NOW, ':running': 'running', ':i': 2, ':m': 'page 6 of 12' },
    });
  });

  it('removes the message when none is given', async () => {
    ddb.on(UpdateCommand).resolves({});

    await repository.updateProgress(target, 2, 0.75, undefined, NOW);

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET step_fraction = :f, updated_at = :now REMOVE progress_message',
      ExpressionAttributeValues: { ':f': 0.75, ':now': NOW, ':running': 'running', ':i': 2 },
    });
  });

  it('returns false when the execution has moved on', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));

    expect(await repository.updateProgress(target, 2, 0.5, undefined, NOW)).toBe(false);
  });

  it('lets other failures through', async () => {
    ddb.on(UpdateCommand).rejects(throttled());

    await expect(repository.updateProgress(target, 2, 0.5, undefined, NOW)).rejects.toThrow(ProvisionedThroughputExceededException);
  });
});

describe('replaceWaitToken', () => {
  const target = { tenant: TENANT, id: ID };

  it('swaps the token while the execution still waits at that step', async () => {
    ddb.on(UpdateCommand).resolves({});

    expect(await repository.replaceWaitToken(target, 1, 'new-token')).toBe(true);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 't',
      Key: { pk: PK, sk: 'META' },
      UpdateExpression: 'SET wait_token = :token',
      ConditionExpression: '#status = :waiting AND step_index = :i',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':token': 'new-token', ':waiting': 'awaiting_input', ':i': 1 },
    });
  });

  it('returns false when the execution no longer waits there', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));

    expect(await repository.replaceWaitToken(target, 1, 'new-token')).toBe(false);
  });

  it('lets other failures through', async () => {
    ddb.on(UpdateCommand).rejects(namedError('InternalServerError', 'boom'));

    await expect(repository.replaceWaitToken(target, 1, 'new-token')).rejects.toThrow('boom');
  });
});

describe('list', () => {
  const base: ExecutionQuery = { tenant: TENANT, limit: 20, direction: 'desc' };

  beforeEach(() => {
    // The indexes of keys name records; BatchGetItem answers with the records (of those keys) a
    // Query of this test answered with, as the table would.
    ddb.on(BatchGetCommand).callsFake(async (input: { RequestItems: Record<string, { Keys: Item[] }> }) => {
      const [table, { Keys }] = Object.entries(input.RequestItems)[0]!;
      const items: Item[] = [];
      for (const call of ddb.commandCalls(QueryCommand)) items.push(...(((await call.returnValue) as { Items?: Item[] } | undefined)?.Items ?? []));
      return { Responses: { [table]: Keys.flatMap((key) => items.filter((item) => item.pk === key.pk && item.sk === key.sk).slice(0, 1)) } };
    });
  });

  it('queries the by-tenant-keys index newest first when nothing is filtered, then reads the page\'s records in one BatchGetItem', async () => {
    const [a, b] = records(2);
    ddb.on(QueryCommand).resolves({ Items: [storedItem(b!), storedItem(a!)] });

    const page = await repository.list(base);

    expect(page).toEqual({ items: [b, a], nextCursor: null });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(BatchGetCommand, {
      RequestItems: { t: { Keys: [b!, a!].map((r) => ({ pk: `EXEC#${TENANT}#${r.id}`, sk: 'META' })) } },
    });
    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: 'by-tenant-keys',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'tenant_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}` },
      ScanIndexForward: false,
      Limit: 20,
    });
  });

  it.each([
    ['completed_at', 'by-completed-keys'],
    ['started_at', 'by-started'],
  ] as const)('queries the tenant\'s entries of the %s order in %s, checking status, task and creation time on the records read', async (sortBy, index) => {
    const inRange = Date.parse('2026-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(ms).toISOString();
    const wanted = record({ id: newExecutionId(inRange + 1000), createdAt: at(inRange + 1000), status: 'failed', completedAt: NOW, startedAt: NOW });
    const others = [
      record({ id: newExecutionId(inRange + 2000), createdAt: at(inRange + 2000), status: 'succeeded', completedAt: NOW, startedAt: NOW }),
      record({ id: newExecutionId(inRange + 3000), createdAt: at(inRange + 3000), status: 'failed', taskId: 'other-task', completedAt: NOW, startedAt: NOW }),
      record({ id: newExecutionId(inRange - 1000), createdAt: at(inRange - 1000), status: 'failed', completedAt: NOW, startedAt: NOW }),
    ];
    ddb.on(QueryCommand).resolves({ Items: [wanted, ...others].map(storedItem), LastEvaluatedKey: { pk: 'x', sk: 'META' } });

    const page = await repository.list({ ...base, sortBy, status: 'failed', taskId: TASK, createdAfter: inRange, direction: 'asc' });

    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: index,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'tenant_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}` },
      ScanIndexForward: true,
      Limit: 20,
    });
    // Filtered on the records: one Query, a short page, and a cursor that goes on.
    expect(page.items.map((r) => r.id)).toEqual([wanted.id]);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
  });

  it('resumes a by-completed-keys page after the last entry the Query read', async () => {
    const [a, b, c] = records(3).map((r, index) => ({ ...r, status: 'succeeded' as const, completedAt: `2026-03-0${index + 1}T00:00:00.000Z` }));
    const item = (r: ExecutionRecord): Item => ({ ...storedItem(r), completed_at: r.completedAt });
    const last = { pk: `EXEC#${TENANT}#${b!.id}`, sk: 'META', tenant_key: `T#${TENANT}`, completed_at: b!.completedAt };
    ddb.on(QueryCommand).resolvesOnce({ Items: [item(a!), item(b!)], LastEvaluatedKey: last }).resolvesOnce({ Items: [item(c!)] });

    const first = await repository.list({ ...base, sortBy: 'completed_at', limit: 2, direction: 'asc' });
    const second = await repository.list({ ...base, sortBy: 'completed_at', limit: 2, direction: 'asc', cursor: first.nextCursor! });

    expect(first.items.map((r) => r.id)).toEqual([a!.id, b!.id]);
    expect(second.items.map((r) => r.id)).toEqual([c!.id]);
    expect(queryInput(1).ExclusiveStartKey).toEqual(last);
  });

  it('queries the by-task-keys index when a task is given, oldest first for asc', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await repository.list({ ...base, taskId: TASK, direction: 'asc' });

    expect(queryInput()).toMatchObject({
      IndexName: 'by-task-keys',
      ExpressionAttributeNames: { '#pk': 'task_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}#TASK#${TASK}` },
      ScanIndexForward: true,
    });
    expect(queryInput()).not.toHaveProperty('FilterExpression');
    expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
  });

  it('queries the sparse by-ended index for an ended status, and drops a record retried since', async () => {
    const [a, b] = records(2, { status: 'failed', completedAt: NOW });
    ddb.on(QueryCommand).resolves({ Items: [storedItem(b!), { ...storedItem(a!), status: 'running' }] });

    const page = await repository.list({ ...base, status: 'failed' });

    expect(queryInput()).toMatchObject({
      IndexName: 'by-ended',
      ExpressionAttributeNames: { '#pk': 'status_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}#STATUS#failed` },
      ScanIndexForward: false,
    });
    expect(queryInput()).not.toHaveProperty('FilterExpression');
    expect(page.items.map((r) => r.id)).toEqual([b!.id]);
  });

  it.each(['queued', 'running', 'awaiting_input'] as const)('reads the tenant\'s range of its by-open shard for the active status %s, keeping the records in that status', async (status) => {
    const [a, b] = records(2, { status });
    const [other] = records(1, { status: status === 'running' ? 'queued' : 'running' });
    ddb.on(QueryCommand).resolves({ Items: [storedItem(b!), storedItem(other!), storedItem(a!)] });

    const page = await repository.list({ ...base, status });

    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: 'by-open',
      KeyConditionExpression: '#pk = :pk AND #sort BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': 'open_key', '#sort': 'open_sort' },
      ExpressionAttributeValues: { ':pk': `A#${activeShard(TENANT)}`, ':lo': `${TENANT}#${idBoundAt(0, 'min')}`, ':hi': `${TENANT}#${idBoundAt(2 ** 48 - 1, 'max')}` },
      ScanIndexForward: false,
      Limit: 20,
    });
    expect(page.items.map((r) => r.id)).toEqual([b!.id, a!.id]);
  });

  it('keeps only execution records from by-open (not the follow-up items it also holds), each once', async () => {
    const [a] = records(1, { status: 'running' });
    ddb.on(QueryCommand).resolves({ Items: [storedItem(a!), { ...storedItem(a!), sk: 'FOLLOW_UP' }] });

    const page = await repository.list({ ...base, status: 'running' });

    expect(page.items.map((r) => r.id)).toEqual([a!.id]);
  });

  it('reads the status\'s index and checks the task on the records when both are given', async () => {
    const [a, b] = records(2, { status: 'succeeded', completedAt: NOW });
    ddb.on(QueryCommand).resolves({ Items: [storedItem(b!), storedItem({ ...a!, taskId: 'other-task' })] });

    const page = await repository.list({ ...base, status: 'succeeded', taskId: TASK });

    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: 'by-ended',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'status_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}#STATUS#succeeded` },
      ScanIndexForward: false,
      Limit: 20,
    });
    expect(page.items.map((r) => r.id)).toEqual([b!.id]);
  });

  it('turns created_after and created_before into a BETWEEN on id bounds', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const after = Date.parse('2025-01-01T00:00:00.000Z');
    const before = Date.parse('2025-01-31T23:59:59.999Z');

    await repository.list({ ...base, createdAfter: after, createdBefore: before });

    expect(queryInput()).toMatchObject({
      KeyConditionExpression: '#pk = :pk AND #sort BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': 'tenant_key', '#sort': 'id' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}`, ':lo': idBoundAt(after, 'min'), ':hi': idBoundAt(before, 'max') },
    });
  });

  it('leaves the open end of a one-sided time range unbounded', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await repository.list({ ...base, createdAfter: Date.parse(CREATED) });
    await repository.list({ ...base, createdBefore: Date.parse(CREATED) });

    expect(queryInput(0).ExpressionAttributeValues).toMatchObject({
      ':lo': idBoundAt(Date.parse(CREATED), 'min'),
      ':hi': 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    });
    expect(queryInput(1).ExpressionAttributeValues).toMatchObject({
      ':lo': '00000000-0000-0000-0000-000000000000',
      ':hi': idBoundAt(Date.parse(CREATED), 'max'),
    });
  });

  it('returns a cursor that makes the next page continue after the last item', async () => {
    const [a, b, c] = records(3);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [storedItem(a!), storedItem(b!)], LastEvaluatedKey: indexKey(b!) })
      .resolvesOnce({ Items: [storedItem(c!)] });

    const first = await repository.list({ ...base, limit: 2, direction: 'asc' });
    const second = await repository.list({ ...base, limit: 2, direction: 'asc', cursor: first.nextCursor ?? undefined });

    expect(first.items.map((item) => item.id)).toEqual([a!.id, b!.id]);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.nextCursor).not.toContain(b!.id);
    expect(queryInput(0)).not.toHaveProperty('ExclusiveStartKey');
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, {
      IndexName: 'by-tenant-keys',
      Limit: 2,
      ExclusiveStartKey: { pk: `EXEC#${TENANT}#${b!.id}`, sk: 'META', tenant_key: `T#${TENANT}`, id: b!.id },
    });
    expect(second).toEqual({ items: [c], nextCursor: null });
  });

  it('lists the children of a parent from by-parent (one Query, no BatchGetItem: it projects everything), status and task checked on the items, the time range on created_at', async () => {
    const [a, b, c] = records(3, { status: 'running' });
    ddb.on(QueryCommand).resolves({ Items: [storedItem(c!), storedItem({ ...b!, status: 'queued' }), storedItem({ ...a!, taskId: 'other-task' })], LastEvaluatedKey: indexKey(a!) });
    const after = Date.parse('2025-01-01T00:00:00.000Z');
    const before = Date.parse('2025-01-31T23:59:59.999Z');

    const page = await repository.list({ ...base, parentId: ID, status: 'running', taskId: TASK, createdAfter: after, createdBefore: before });

    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: 'by-parent',
      KeyConditionExpression: '#pk = :pk AND #sort BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': 'parent_key', '#sort': 'created_at' },
      ExpressionAttributeValues: {
        ':pk': `T#${TENANT}#PARENT#${ID}`,
        ':lo': '2025-01-01T00:00:00.000Z',
        ':hi': '2025-01-31T23:59:59.999Z',
      },
      ScanIndexForward: false,
      Limit: 20,
    });
    // Filtered: one Query, a short page, a cursor that goes on.
    expect(page.items.map((r) => r.id)).toEqual([c!.id]);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
  });

  it('lists the children of a parent without a filter, and leaves the open end of their time range unbounded', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await repository.list({ ...base, parentId: ID });
    await repository.list({ ...base, parentId: ID, createdAfter: Date.parse(CREATED) });

    expect(queryInput(0)).toEqual({
      TableName: 't',
      IndexName: 'by-parent',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'parent_key' },
      ExpressionAttributeValues: { ':pk': `T#${TENANT}#PARENT#${ID}` },
      ScanIndexForward: false,
      Limit: 20,
    });
    expect(queryInput(1).ExpressionAttributeValues).toMatchObject({ ':lo': CREATED, ':hi': '9999-12-31T23:59:59.999Z' });
  });

  it('continues a page of children after the last one, with the by-parent keys in the cursor', async () => {
    const [a, b] = records(2);
    const child = (r: ExecutionRecord) => ({ ...storedItem(r), parent_key: `T#${TENANT}#PARENT#${ID}` });
    const last = { pk: `EXEC#${TENANT}#${a!.id}`, sk: 'META', parent_key: `T#${TENANT}#PARENT#${ID}`, created_at: a!.createdAt };
    ddb.on(QueryCommand).resolvesOnce({ Items: [child(a!)], LastEvaluatedKey: last }).resolves({ Items: [child(b!)] });

    const first = await repository.list({ ...base, parentId: ID, limit: 1 });
    const second = await repository.list({ ...base, parentId: ID, limit: 1, cursor: first.nextCursor ?? undefined });

    expect(queryInput(1).ExclusiveStartKey).toEqual(last);
    expect(second.items.map((item) => item.id)).toEqual([b!.id]);
    // A cursor continues only its own query: not the tenant's list.
    await expect(repository.list({ ...base, cursor: first.nextCursor ?? undefined })).rejects.toBeInstanceOf(ValidationError);
  });

  it('puts the index keys of the query into the cursor key', async () => {
    const [a, b] = records(2, { status: 'failed', completedAt: NOW });
    ddb.on(QueryCommand).resolvesOnce({ Items: [storedItem(a!)], LastEvaluatedKey: indexKey(a!, 'status_key') }).resolves({ Items: [storedItem(b!)] });

    const first = await repository.list({ ...base, status: 'failed', limit: 1 });
    await repository.list({ ...base, status: 'failed', limit: 1, cursor: first.nextCursor ?? undefined });

    expect(queryInput(1).ExclusiveStartKey).toEqual({
      pk: `EXEC#${TENANT}#${a!.id}`,
      sk: 'META',
      status_key: `T#${TENANT}#STATUS#failed`,
      id: a!.id,
    });
  });

  it('refuses a tampered cursor with a 400 before querying', async () => {
    const [a] = records(1);
    ddb.on(QueryCommand).resolves({ Items: [storedItem(a!)], LastEvaluatedKey: indexKey(a!) });
    const { nextCursor } = await repository.list({ ...base, limit: 1 });
    const [body, signature] = (nextCursor ?? '').split('.') as [string, string];
    const tampered = `${body}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;

    await expect(repository.list({ ...base, limit: 1, cursor: tampered })).rejects.toThrow(ValidationError);
    await expect(repository.list({ ...base, limit: 1, cursor: 'not-a-cursor' })).rejects.toThrow(ValidationError);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
  });

  it.each<[string, Partial<ExecutionQuery>]>([
    ['the other direction', { direction: 'asc' }],
    ['another task', { taskId: 'sample-approval' }],
    ['a status filter', { status: 'running' }],
    ['another tenant', { tenant: 'globex' }],
    ['a time range', { createdAfter: 0 }],
  ])('refuses a cursor of another query (%s) with a 400', async (_label, change) => {
    const [a] = records(1);
    ddb.on(QueryCommand).resolves({ Items: [storedItem(a!)], LastEvaluatedKey: indexKey(a!) });
    const { nextCursor } = await repository.list({ ...base, limit: 1 });

    await expect(repository.list({ ...base, limit: 1, ...change, cursor: nextCursor ?? undefined })).rejects.toThrow(ValidationError);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
  });

  it('skips offset items across DynamoDB pages', async () => {
    const all = records(6);
    const stored = all.map((r) => storedItem(r));
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: stored.slice(0, 2), LastEvaluatedKey: indexKey(all[1]!) })
      .resolvesOnce({ Items: stored.slice(2, 5), LastEvaluatedKey: indexKey(all[4]!) });

    const page = await repository.list({ ...base, limit: 2, offset: 3, direction: 'asc' });

    expect(page.items.map((item) => item.id)).toEqual([all[3]!.id, all[4]!.id]);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 1, { Limit: 5 });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { Limit: 3, ExclusiveStartKey: indexKey(all[1]!) });
  });

  it('returns an empty last page when the offset is past the end', async () => {
    ddb.on(QueryCommand).resolves({ Items: records(2).map((r) => storedItem(r)) });

    expect(await repository.list({ ...base, offset: 10 })).toEqual({ items: [], nextCursor: null });
  });

  it('keeps reading short DynamoDB pages until the page is full', async () => {
    const all = records(3);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [storedItem(all[0]!)], LastEvaluatedKey: indexKey(all[0]!) })
      .resolvesOnce({ Items: [storedItem(all[1]!), storedItem(all[2]!)] });

    const page = await repository.list({ ...base, limit: 3 });

    expect(page).toEqual({ items: all, nextCursor: null });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { Limit: 2, ExclusiveStartKey: indexKey(all[0]!) });
  });

  it('returns a short filtered page with a cursor that continues after what DynamoDB read', async () => {
    const all = records(3, { status: 'running' });
    const evaluated = indexKey(all[2]!, 'status_key');
    ddb.on(QueryCommand).resolvesOnce({ Items: [storedItem(all[0]!)], LastEvaluatedKey: evaluated }).resolves({ Items: [] });
    const query: ExecutionQuery = { ...base, status: 'running', taskId: TASK, limit: 3 };

    const page = await repository.list(query);
    await repository.list({ ...query, cursor: page.nextCursor ?? undefined });

    expect(page.items).toEqual([all[0]]);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(queryInput(1).ExclusiveStartKey).toEqual(evaluated);
  });

  it('maps DynamoDB rejecting a cursor key to a 400', async () => {
    const [a] = records(1);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [storedItem(a!)], LastEvaluatedKey: indexKey(a!) })
      .rejects(namedError('ValidationException', 'The provided starting key is invalid'));
    const { nextCursor } = await repository.list({ ...base, limit: 1 });

    await expect(repository.list({ ...base, limit: 1, cursor: nextCursor ?? undefined })).rejects.toThrow(ValidationError);
  });

  it('lets a ValidationException without a cursor through as an internal fault', async () => {
    ddb.on(QueryCommand).rejects(namedError('ValidationException', 'Invalid KeyConditionExpression'));

    const failure = repository.list(base);

    await expect(failure).rejects.toThrow('Invalid KeyConditionExpression');
    await expect(failure).rejects.not.toBeInstanceOf(ValidationError);
  });

  it('maps throttling to a 503', async () => {
    ddb.on(QueryCommand).rejects(throttled());

    await expect(repository.list(base)).rejects.toThrow(ServiceUnavailableError);
  });
});

describe('listTransitions', () => {
  const base = { tenant: TENANT, executionId: ID, limit: 20, direction: 'asc' as const };

  it('queries the rows of the execution partition by seq, consistently', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await repository.listTransitions(base);

    expect(queryInput()).toEqual({
      TableName: 't',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': PK, ':prefix': 'TR#' },
      ScanIndexForward: true,
      ConsistentRead: true,
      Limit: 20,
    });
  });

  it('reads newest first for desc', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await repository.listTransitions({ ...base, direction: 'desc' });

    expect(queryInput().ScanIndexForward).toBe(false);
  });

  it('decodes rows, including an init row without source status or step', async () => {
    const init = storedRow(1, { type: 'init', from: null, to: 'queued', step: null, current_step: 0, next_step: 0, output: '{"document":"a.pdf"}' });
    const finish = storedRow(5, { type: 'finish', to: 'succeeded', step: undefined, next_step: undefined, output: undefined, metadata: undefined });
    ddb.on(QueryCommand).resolves({ Items: [init, finish] });

    const page = await repository.listTransitions(base);

    const expected: TransitionRecord[] = [
      {
        id: init.id as string,
        executionId: ID,
        taskId: TASK,
        seq: 1,
        type: 'init',
        from: null,
        to: 'queued',
        step: null,
        currentStep: 0,
        nextStep: 0,
        output: { document: 'a.pdf' },
        metadata: {},
        createdAt: CREATED,
      },
      {
        id: finish.id as string,
        executionId: ID,
        taskId: TASK,
        seq: 5,
        type: 'finish',
        from: 'running',
        to: 'succeeded',
        step: null,
        currentStep: 2,
        nextStep: null,
        output: null,
        metadata: {},
        createdAt: CREATED,
      },
    ];
    expect(page).toEqual({ items: expected, nextCursor: null });
  });

  it('continues on the next page after the last row through the cursor', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [storedRow(1), storedRow(2)], LastEvaluatedKey: { pk: PK, sk: 'TR#0000000002' } })
      .resolvesOnce({ Items: [storedRow(3)] });

    const first = await repository.listTransitions({ ...base, limit: 2 });
    const second = await repository.listTransitions({ ...base, limit: 2, cursor: first.nextCursor ?? undefined });

    expect(first.items.map((row) => row.seq)).toEqual([1, 2]);
    expect(queryInput(1).ExclusiveStartKey).toEqual({ pk: PK, sk: 'TR#0000000002' });
    expect(second.items.map((row) => row.seq)).toEqual([3]);
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a cursor of another execution or of the executions list', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [storedRow(1)], LastEvaluatedKey: { pk: PK, sk: 'TR#0000000001' } })
      .resolves({ Items: [storedItem(record())], LastEvaluatedKey: { pk: PK, sk: 'META' } });
    ddb.on(BatchGetCommand).resolves({ Responses: { t: [storedItem(record())] } });
    const { nextCursor } = await repository.listTransitions({ ...base, limit: 1 });
    const executions = await repository.list({ tenant: TENANT, limit: 1, direction: 'asc' });

    await expect(
      repository.listTransitions({ ...base, executionId: newExecutionId(), cursor: nextCursor ?? undefined }),
    ).rejects.toThrow(ValidationError);
    await expect(repository.listTransitions({ ...base, cursor: executions.nextCursor ?? undefined })).rejects.toThrow(ValidationError);
    await expect(repository.list({ tenant: TENANT, limit: 1, direction: 'asc', cursor: nextCursor ?? undefined })).rejects.toThrow(
      ValidationError,
    );
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  });

  it('skips offset rows', async () => {
    ddb.on(QueryCommand).resolves({ Items: [storedRow(1), storedRow(2), storedRow(3)] });

    const page = await repository.listTransitions({ ...base, limit: 2, offset: 1 });

    expect(page.items.map((row) => row.seq)).toEqual([2, 3]);
    expect(queryInput().Limit).toBe(3);
  });
});

describe('findTransition', () => {
  it('reads one row by its seq', async () => {
    ddb.on(GetCommand).resolves({ Item: storedRow(7) });

    const row = await repository.findTransition(TENANT, ID, 7);

    expect(row).toMatchObject({ seq: 7, type: 'step', step: { index: 4, name: 'step-4' }, output: { seq: 7 } });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 't', Key: { pk: PK, sk: 'TR#0000000007' } });
  });

  it('returns undefined when the execution has no such row', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await repository.findTransition(TENANT, ID, 99)).toBeUndefined();
  });

  it('reads back exactly the row applyTransition wrote', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const before = record({ status: 'running', transitionCount: 3, stepIndex: 1 });
    const planned = planTransition(
      before,
      { type: 'step', step: { index: 1, name: 'transform' }, output: { big: 'q'.repeat(9_000) }, metadata: { a: 'b' } },
      NOW,
    );
    await repository.applyTransition(before, planned);
    ddb.on(GetCommand).resolves({ Item: transactItems()[1]?.Put?.Item });

    expect(await repository.findTransition(TENANT, ID, 4)).toEqual(planned.row);
  });
});

describe('findStepRow', () => {
  it('finds the step row of a step, newest first, reading further pages until it matches', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [], LastEvaluatedKey: { pk: PK, sk: 'TR#0000000009' } })
      .resolvesOnce({ Items: [storedRow(5)], LastEvaluatedKey: { pk: PK, sk: 'TR#0000000005' } });

    const row = await repository.findStepRow(TENANT, ID, 2);

    expect(row).toMatchObject({ seq: 5, type: 'step', step: { index: 2, name: 'step-2' } });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(queryInput(0)).toEqual({
      TableName: 't',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: '#type = :step AND #step.#index = :index AND attribute_not_exists(#scope)',
      ExpressionAttributeNames: { '#type': 'type', '#step': 'step', '#index': 'index', '#scope': 'scope' },
      ExpressionAttributeValues: { ':pk': PK, ':prefix': 'TR#', ':step': 'step', ':index': 2 },
      ScanIndexForward: false,
      ConsistentRead: true,
    });
    expect(queryInput(1).ExclusiveStartKey).toEqual({ pk: PK, sk: 'TR#0000000009' });
  });

  it('returns undefined when no step row recorded that step', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    expect(await repository.findStepRow(TENANT, ID, 2)).toBeUndefined();
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
  });

  it('maps throttling to a 503', async () => {
    ddb.on(QueryCommand).rejects(throttled());

    await expect(repository.findStepRow(TENANT, ID, 2)).rejects.toThrow(ServiceUnavailableError);
  });
});

describe('by-open shards', () => {
  it('puts every id in one of the shards, always the same one', () => {
    const id = newExecutionId();

    expect(activeShard(id)).toBe(activeShard(id));
    expect(activeKey(activeShard(id))).toMatch(/^A#[0-7]$/);
    expect(ACTIVE_SHARDS).toBe(8);
  });

  it('spreads ids evenly over the shards', () => {
    const counts = new Array<number>(ACTIVE_SHARDS).fill(0);
    const base = Date.parse(CREATED);

    for (let i = 0; i < 8000; i++) counts[activeShard(newExecutionId(base + i))]!++;

    for (const count of counts) expect(count).toBeGreaterThan(850);
    for (const count of counts) expect(count).toBeLessThan(1150);
  });

  it('puts a new record in its tenant\'s shard of the by-open index, sorted by <tenant>#<id>, and not in by-ended', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    await creator.create(record());

    const item = transactItems()[0]?.Put?.Item;
    expect(item).toMatchObject({ open_key: `A#${activeShard(TENANT)}`, open_sort: `${TENANT}#${ID}` });
    expect(item?.status_key).toBeUndefined();
  });
});

describe('activeExecutions', () => {
  const cutoff = Date.parse(NOW);
  const projectedItem = (r: ExecutionRecord, sk = 'META'): Item => ({
    pk: `EXEC#${r.tenant}#${r.id}`,
    sk,
    open_key: `A#${activeShard(r.tenant)}`,
    open_sort: `${r.tenant}#${r.id}`,
    tenant: r.tenant,
    task_id: r.taskId,
    execution_arn: r.executionArn,
  });

  async function collect(iterable: AsyncIterable<unknown>, limit = Number.POSITIVE_INFINITY): Promise<unknown[]> {
    const items: unknown[] = [];
    for await (const item of iterable) {
      items.push(item);
      if (items.length >= limit) break;
    }
    return items;
  }

  it('queries one shard of by-open in key order and maps the projected attributes (the id from the sort key)', async () => {
    const [first, second] = records(2, { status: 'running' });
    ddb.on(QueryCommand).resolves({ Items: [projectedItem(first!), projectedItem(second!, 'FOLLOW_UP')] });

    const items = await collect(repository.activeExecutions({ shard: 3, createdBefore: cutoff, pageSize: 50 }));

    expect(queryInput()).toEqual({
      TableName: 't',
      IndexName: 'by-open',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'open_key' },
      ExpressionAttributeValues: { ':pk': 'A#3' },
      ScanIndexForward: true,
      Limit: 50,
    });
    expect(items).toEqual([
      { tenant: TENANT, id: first!.id, taskId: TASK, executionArn: first!.executionArn, followUp: false, position: `${TENANT}#${first!.id}` },
      { tenant: TENANT, id: second!.id, taskId: TASK, executionArn: second!.executionArn, followUp: true, position: `${TENANT}#${second!.id}` },
    ]);
  });

  it('skips executions created after the bound (the shard is sorted by tenant first)', async () => {
    const old = record({ id: newExecutionId(cutoff - 60_000) });
    const young = record({ id: newExecutionId(cutoff + 60_000) });
    ddb.on(QueryCommand).resolves({ Items: [projectedItem(young), projectedItem(old)] });

    const items = (await collect(repository.activeExecutions({ shard: 0, createdBefore: cutoff, pageSize: 10 }))) as { id: string }[];

    expect(items.map((item) => item.id)).toEqual([old.id]);
  });

  it('starts at a given position, inclusive', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await collect(repository.activeExecutions({ shard: 0, createdBefore: cutoff, from: `${TENANT}#${ID}`, pageSize: 10 }));

    expect(queryInput()).toMatchObject({
      KeyConditionExpression: '#pk = :pk AND #sort >= :from',
      ExpressionAttributeNames: { '#pk': 'open_key', '#sort': 'open_sort' },
      ExpressionAttributeValues: { ':pk': 'A#0', ':from': `${TENANT}#${ID}` },
    });
  });

  it('reads further pages only as far as the caller iterates', async () => {
    const [first, second, third] = records(3);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [projectedItem(first!)], LastEvaluatedKey: { pk: 'a', sk: 'META', open_key: 'A#1', open_sort: `${TENANT}#${first!.id}` } })
      .resolvesOnce({ Items: [projectedItem(second!)], LastEvaluatedKey: { pk: 'b', sk: 'META', open_key: 'A#1', open_sort: `${TENANT}#${second!.id}` } })
      .resolvesOnce({ Items: [projectedItem(third!)] });

    const two = await collect(repository.activeExecutions({ shard: 1, createdBefore: cutoff, pageSize: 1 }), 2);

    expect(two).toHaveLength(2);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(queryInput(1).ExclusiveStartKey).toEqual({ pk: 'a', sk: 'META', open_key: 'A#1', open_sort: `${TENANT}#${first!.id}` });
  });

  it('reads every page to the end when iterated fully', async () => {
    const [first, second] = records(2);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [projectedItem(first!)], LastEvaluatedKey: { pk: 'a', sk: 'META', open_key: 'A#1', open_sort: `${TENANT}#${first!.id}` } })
      .resolvesOnce({ Items: [projectedItem(second!)] });

    expect(await collect(repository.activeExecutions({ shard: 1, createdBefore: cutoff, pageSize: 1 }))).toHaveLength(2);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  });

  it('maps throttling to a 503', async () => {
    ddb.on(QueryCommand).rejects(throttled());

    await expect(collect(repository.activeExecutions({ shard: 0, createdBefore: cutoff, pageSize: 10 }))).rejects.toThrow(ServiceUnavailableError);
  });
});

describe('reconcile positions', () => {
  it('reads the positions item consistently', async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: 'RECONCILER', sk: 'POSITIONS', positions: { '2': ID } } });

    expect(await repository.reconcilePositions()).toEqual({ '2': ID });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 't', Key: { pk: 'RECONCILER', sk: 'POSITIONS' }, ConsistentRead: true });
  });

  it('has no positions before the first save', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await repository.reconcilePositions()).toEqual({});
  });

  it('saves the positions in one item of the service, outside every tenant and index', async () => {
    ddb.on(PutCommand).resolves({});

    await repository.saveReconcilePositions({ '5': ID }, NOW);

    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 't',
      Item: { pk: 'RECONCILER', sk: 'POSITIONS', positions: { '5': ID }, updated_at: NOW },
    });
  });
});
