import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/executions-read.js';
import { LIMIT, UNKNOWN_ECHO } from '../../../lambdas/api/queries.js';
import { ROUTES } from '../../../lambdas/api/routes.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { callbackToken } from '../../../lambdas/domain/callbacks.js';
import { newExecutionId, newTransitionId } from '../../../lambdas/domain/ids.js';
import type { ExecutionView, TransitionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, dataCalls, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { CALLBACK_KEY, TENANT, executionRecord, seed, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
});

interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/** Stores an execution created `minute` minutes after 03:00 (ids, and so list order, follow creation time). */
function storeExecution(minute: number, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const createdAt = new Date(Date.UTC(2026, 0, 2, 3, minute)).toISOString();
  const record = executionRecord({ id: newExecutionId(Date.parse(createdAt)), createdAt, updatedAt: createdAt, ...overrides });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

/** A running pipeline whose first step is recorded: init, start and step rows. */
function storeWithHistory(): { record: ExecutionRecord; rows: TransitionRecord[] } {
  const record = executionRecord({ status: 'running', transitionCount: 3, stepIndex: 1, stepName: 'analyze', stepsCompleted: 1 });
  const step0 = { index: 0, name: 'extract' };
  const rows = [
    transitionRecord(record),
    transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: step0, currentStep: 0, nextStep: 0, output: null }),
    transitionRecord(record, { seq: 3, type: 'step', from: 'running', to: 'running', step: step0, currentStep: 0, nextStep: 1, output: { pages: 3 } }),
  ];
  seed(table, record, rows);
  return { record, rows };
}

async function get<T>(routeKey: (typeof ROUTES.read)[number], options: RequestOptions = {}) {
  return handler(apiEvent(routeKey, options), lambdaContext()).then((response) => ({ response, ...parse<T>(response) }));
}

describe('GET /executions/{id}', () => {
  it('returns the Execution view with progress and links, and never the wait token', async () => {
    const record = storeExecution(0, {
      status: 'awaiting_input',
      taskId: 'sample-approval',
      stepIndex: 1,
      stepName: 'review',
      stepsCompleted: 1,
      transitionCount: 4,
      waitToken: 'secret-task-token',
      metadata: { team: 'a' },
    });

    const { status, body, raw } = await get<ExecutionView>('GET /executions/{id}', { pathParameters: { id: record.id } });

    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: record.id,
      task_id: 'sample-approval',
      status: 'awaiting_input',
      input: record.input,
      metadata: { team: 'a' },
      transition_count: 4,
      progress: { current_step: 1, step_name: 'review', completed_steps: 1, total_steps: 3, percentage: 33.3 },
      created_at: record.createdAt,
      status_url: `${API_BASE_URL}/executions/${record.id}`,
    });
    expect(body.console_url).toContain(encodeURI(record.executionArn));
    expect(raw).not.toContain('secret-task-token');
  });

  it('answers 400 for an id that is not an execution id', async () => {
    const { response } = await get('GET /executions/{id}', { pathParameters: { id: 'not-an-id' } });

    const problem = expectProblem(response, 400);
    expect(problem.errors).toEqual([{ path: 'path.id', message: expect.any(String) }]);
    // Nothing but the rate counter: a refused request still counts against the limit.
    expect(dataCalls(ddb)).toEqual([]);
  });

  it('answers 404 for a well-formed id that does not exist', async () => {
    const { response } = await get('GET /executions/{id}', { pathParameters: { id: newExecutionId() } });

    expectProblem(response, 404);
  });

  it("answers 404 for another tenant's execution", async () => {
    const record = storeExecution(0, { tenant: 'someone-else' });

    const { response } = await get('GET /executions/{id}', { pathParameters: { id: record.id } });

    expectProblem(response, 404);
  });
});

describe('GET /executions', () => {
  it('lists the tenant\'s executions newest first, 20 per page by default', async () => {
    const [a, b, c] = [storeExecution(1), storeExecution(2), storeExecution(3)];
    storeExecution(4, { tenant: 'someone-else' });

    const { status, body } = await get<Page<ExecutionView>>('GET /executions');

    expect(status).toBe(200);
    expect(body.items.map((item) => item.id)).toEqual([c!.id, b!.id, a!.id]);
    expect(body.next_cursor).toBeNull();
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'by-tenant-keys', Limit: 20, ScanIndexForward: false });
  });

  it('lists oldest first with direction=asc', async () => {
    const [a, b] = [storeExecution(1), storeExecution(2)];

    const { body } = await get<Page<ExecutionView>>('GET /executions', { query: { direction: 'asc', sort_by: 'created_at' } });

    expect(body.items.map((item) => item.id)).toEqual([a!.id, b!.id]);
  });

  it('pages with limit and an opaque next_cursor until the last page', async () => {
    const ids = [1, 2, 3, 4, 5].map((minute) => storeExecution(minute).id).reverse();

    const first = await get<Page<ExecutionView>>('GET /executions', { query: { limit: '2' } });
    const second = await get<Page<ExecutionView>>('GET /executions', { query: { limit: '2', cursor: first.body.next_cursor ?? '' } });
    const third = await get<Page<ExecutionView>>('GET /executions', { query: { limit: '2', cursor: second.body.next_cursor ?? '' } });

    expect(first.body.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    expect(second.body.items.map((item) => item.id)).toEqual(ids.slice(2, 4));
    expect(third.body.items.map((item) => item.id)).toEqual(ids.slice(4));
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(third.body.next_cursor).toBeNull();
  });

  it('filters by status (accepting the alias pending for queued) and by task', async () => {
    const queued = storeExecution(1);
    const running = storeExecution(2, { status: 'running' });
    const approval = storeExecution(3, { taskId: 'sample-approval', stepName: 'draft' });

    const byStatus = await get<Page<ExecutionView>>('GET /executions', { query: { status: 'running' } });
    const byAlias = await get<Page<ExecutionView>>('GET /executions', { query: { status: 'pending' } });
    const byTask = await get<Page<ExecutionView>>('GET /executions', { query: { task_id: 'sample-approval' } });

    expect(byStatus.body.items.map((item) => item.id)).toEqual([running.id]);
    expect(byAlias.body.items.map((item) => item.id)).toEqual([approval.id, queued.id]);
    expect(byTask.body.items.map((item) => item.id)).toEqual([approval.id]);
  });

  it('filters by creation time with created_after and created_before', async () => {
    storeExecution(1);
    const middle = storeExecution(5);
    storeExecution(9);

    const { body } = await get<Page<ExecutionView>>('GET /executions', {
      query: { created_after: '2026-01-02T03:03:00Z', created_before: '2026-01-02T03:07:00Z' },
    });

    expect(body.items.map((item) => item.id)).toEqual([middle.id]);
  });

  it('lists the children of an execution with parent_id, combinable with the other filters; an unknown parent has none', async () => {
    const parent = storeExecution(1, { status: 'running' });
    const other = storeExecution(2);
    const child = (minute: number, of: ExecutionRecord, overrides: Partial<ExecutionRecord> = {}) => {
      const record = storeExecution(minute, { parentExecutionId: of.id, ...overrides });
      // The child start writes the by-parent key with the record.
      table.put({ ...table.item(`EXEC#${record.tenant}#${record.id}`, 'META'), parent_execution_id: of.id, parent_key: `T#${record.tenant}#PARENT#${of.id}` });
      return record;
    };
    const first = child(3, parent);
    const second = child(4, parent, { status: 'running' });
    child(5, other);

    const all = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: parent.id } });
    const running = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: parent.id, status: 'running', direction: 'asc' } });
    const early = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: parent.id, created_before: '2026-01-02T03:03:30Z' } });
    const none = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: newExecutionId() } });
    const paged = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: parent.id, limit: '1' } });
    const next = await get<Page<ExecutionView>>('GET /executions', { query: { parent_id: parent.id, limit: '1', cursor: paged.body.next_cursor! } });

    expect(all.response.statusCode).toBe(200);
    expect(all.body.items.map((item) => [item.id, item.parent_execution_id])).toEqual([
      [second.id, parent.id],
      [first.id, parent.id],
    ]);
    expect(running.body.items.map((item) => item.id)).toEqual([second.id]);
    expect(early.body.items.map((item) => item.id)).toEqual([first.id]);
    expect(none.body).toEqual({ items: [], next_cursor: null });
    expect([...paged.body.items, ...next.body.items].map((item) => item.id)).toEqual([second.id, first.id]);
    expect(next.body.next_cursor).toBeNull();
  });

  it.each([
    ['limit=0', { limit: '0' }, 'query.limit'],
    ['a parent_id that is not an execution id', { parent_id: 'not-an-id' }, 'query.parent_id'],
    ['limit=101', { limit: '101' }, 'query.limit'],
    ['limit=ten', { limit: 'ten' }, 'query.limit'],
    ['an unknown parameter', { colour: 'blue' }, 'query.colour'],
    ['an unknown status', { status: 'paused' }, 'query.status'],
    ['an unknown direction', { direction: 'sideways' }, 'query.direction'],
    ['a malformed date', { created_after: 'yesterday' }, 'query.created_after'],
    ['offset with cursor', { offset: '5', cursor: 'abc.def' }, 'query.offset'],
  ])('answers 400 naming the parameter for %s', async (_name, query, path) => {
    const { response } = await get('GET /executions', { query });

    const problem = expectProblem(response, 400);
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    // Nothing but the rate counter: a refused request still counts against the limit.
    expect(dataCalls(ddb)).toEqual([]);
  });

  it('answers an 11 KB query of unknown parameters with a problem of at most 2 KB (it echoed every name: 174 KB)', async () => {
    const parts: string[] = [];
    for (let index = 0; parts.join('&').length < 11 * 1024; index++) parts.push(`p${index}=1`);

    const { response } = await get('GET /executions', { query: Object.fromEntries(new URLSearchParams(parts.join('&'))) });

    const problem = expectProblem(response, 400);
    expect(Buffer.byteLength(response.body ?? '')).toBeLessThanOrEqual(2048);
    expect(problem.errors?.at(-1)).toEqual({ path: 'query', message: `has ${parts.length - UNKNOWN_ECHO.names} more unknown parameters` });
  });

  it('answers 400, never 500, for a cursor that was altered or belongs to another query', async () => {
    [1, 2, 3].forEach((minute) => storeExecution(minute));
    const { body } = await get<Page<ExecutionView>>('GET /executions', { query: { limit: '1' } });
    const cursor = body.next_cursor ?? '';
    const [payload, signature] = cursor.split('.');
    const altered = `${payload}x.${signature}`;

    const tampered = await get('GET /executions', { query: { limit: '1', cursor: altered } });
    const foreign = await get('GET /executions', { query: { limit: '1', cursor, status: 'running' } });
    const garbage = await get('GET /executions', { query: { cursor: 'not-a-cursor' } });

    expectProblem(tampered.response, 400);
    expectProblem(foreign.response, 400);
    const problem = expectProblem(garbage.response, 400);
    expect(problem.errors).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
  });
});

describe('GET /executions with an inherited object member as status', () => {
  it.each(['valueOf', 'constructor', '__proto__'])('answers 400 for status=%s (found by fuzzing: it answered 200)', async (status) => {
    storeExecution(0, { status: 'running' });

    const problem = expectProblem((await get('GET /executions', { query: { status } })).response, 400);

    expect(problem.errors).toEqual([expect.objectContaining({ path: 'query.status' })]);
  });
});

describe('GET /tasks/{task_id}/executions', () => {
  it("lists only that task's executions", async () => {
    storeExecution(1);
    const approval = storeExecution(2, { taskId: 'sample-approval', stepName: 'draft' });

    const { status, body } = await get<Page<ExecutionView>>('GET /tasks/{task_id}/executions', {
      pathParameters: { task_id: 'sample-approval' },
    });

    expect(status).toBe(200);
    expect(body.items.map((item) => item.id)).toEqual([approval.id]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'by-task-keys' });
  });

  it("returns up to 100 by default, as Julep's SDK does not page on its own (it returned 20 of 27), while GET /executions keeps 20", async () => {
    const stored = Array.from({ length: 27 }, (_, minute) => storeExecution(minute));

    const julep = await get<Page<ExecutionView>>('GET /tasks/{task_id}/executions', { pathParameters: { task_id: 'sample-pipeline' } });
    const convenience = await get<Page<ExecutionView>>('GET /executions');

    expect(julep.body.items).toHaveLength(stored.length);
    expect(julep.body.next_cursor).toBeNull();
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'by-task-keys', Limit: LIMIT.julepDefault });
    expect(convenience.body.items).toHaveLength(LIMIT.default);
    expect(convenience.body.next_cursor).toEqual(expect.any(String));
  });

  it('answers 404 for an unknown task and 400 for a task_id query parameter on this route', async () => {
    const unknown = await get('GET /tasks/{task_id}/executions', { pathParameters: { task_id: 'no-such-task' } });
    const duplicate = await get('GET /tasks/{task_id}/executions', {
      pathParameters: { task_id: 'sample-approval' },
      query: { task_id: 'sample-pipeline' },
    });

    expectProblem(unknown.response, 404);
    expectProblem(duplicate.response, 400);
  });
});

describe('GET /executions/{id}/transitions', () => {
  it('lists the transitions in seq order with the Julep fields current, next and step_label', async () => {
    const { record, rows } = storeWithHistory();

    const { status, body } = await get<Page<TransitionView>>('GET /executions/{id}/transitions', {
      pathParameters: { id: record.id },
    });

    expect(status).toBe(200);
    expect(body.items.map((item) => [item.seq, item.type, item.from, item.to])).toEqual([
      [1, 'init', null, 'queued'],
      [2, 'start', 'queued', 'running'],
      [3, 'step', 'running', 'running'],
    ]);
    expect(body.items[2]).toEqual({
      id: rows[2]!.id,
      execution_id: record.id,
      seq: 3,
      type: 'step',
      from: 'running',
      to: 'running',
      step: { index: 0, name: 'extract' },
      scope: null,
      output: { pages: 3 },
      output_url: null,
      metadata: {},
      current: { workflow: 'sample-pipeline', step: 0, scope_id: record.id },
      next: { workflow: 'sample-pipeline', step: 1, scope_id: record.id },
      step_label: 'extract',
      callback_url: null,
      created_at: record.createdAt,
      updated_at: record.createdAt,
    });
    expect(body.items[0]).toMatchObject({ current: { step: 0 }, step_label: null });
    expect(body.next_cursor).toBeNull();
  });

  it('lists newest first with direction=desc and pages with limit and cursor', async () => {
    const { record } = storeWithHistory();

    const first = await get<Page<TransitionView>>('GET /executions/{id}/transitions', {
      pathParameters: { id: record.id },
      query: { direction: 'desc', limit: '2' },
    });
    const second = await get<Page<TransitionView>>('GET /executions/{id}/transitions', {
      pathParameters: { id: record.id },
      query: { direction: 'desc', limit: '2', cursor: first.body.next_cursor ?? '' },
    });

    expect(first.body.items.map((item) => item.seq)).toEqual([3, 2]);
    expect(second.body.items.map((item) => item.seq)).toEqual([1]);
    expect(second.body.next_cursor).toBeNull();
  });

  it("skips Julep's offset items", async () => {
    const { record } = storeWithHistory();

    const { body } = await get<Page<TransitionView>>('GET /executions/{id}/transitions', {
      pathParameters: { id: record.id },
      query: { offset: '1', scope_id: record.id },
    });

    expect(body.items.map((item) => item.seq)).toEqual([2, 3]);
  });

  it('answers 404 for an execution that does not exist and 400 for a malformed id or limit', async () => {
    const unknown = await get('GET /executions/{id}/transitions', { pathParameters: { id: newExecutionId() } });
    const malformed = await get('GET /executions/{id}/transitions', { pathParameters: { id: 'abc' } });
    const badLimit = await get('GET /executions/{id}/transitions', { pathParameters: { id: newExecutionId() }, query: { limit: '101' } });

    expectProblem(unknown.response, 404);
    expectProblem(malformed.response, 400);
    expectProblem(badLimit.response, 400);
  });

  it('answers 404, not an empty page, for an unknown execution read with an offset (found by fuzzing)', async () => {
    const { record } = storeWithHistory();

    const unknown = await get('GET /executions/{id}/transitions', { pathParameters: { id: newExecutionId() }, query: { offset: '2' } });
    const pastTheEnd = await get<Page<TransitionView>>('GET /executions/{id}/transitions', { pathParameters: { id: record.id }, query: { offset: '50' } });

    expectProblem(unknown.response, 404);
    expect(pastTheEnd.status).toBe(200);
    expect(pastTheEnd.body).toEqual({ items: [], next_cursor: null });
  });
});

describe('resume links on wait rows', () => {
  /** An approval waiting at `review` (step 1) since its wait row, seq 4, with the link nonce `nonce`. */
  function storeWaiting(tenant = 'default', nonce = 'waitnonce-waitnonce-00'): { record: ExecutionRecord; rows: TransitionRecord[] } {
    const record = executionRecord({
      tenant,
      taskId: 'sample-approval',
      status: 'awaiting_input',
      transitionCount: 4,
      stepIndex: 1,
      stepName: 'review',
      stepsCompleted: 1,
      waitToken: 'token-1',
      callbackNonce: nonce,
    });
    const rows = [
      transitionRecord(record),
      transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', step: { index: 0, name: 'draft' } }),
      transitionRecord(record, { seq: 3, type: 'step', from: 'running', to: 'running', step: { index: 0, name: 'draft' }, nextStep: 1 }),
      transitionRecord(record, {
        seq: 4,
        type: 'wait',
        from: 'running',
        to: 'awaiting_input',
        step: { index: 1, name: 'review' },
        currentStep: 1,
        nextStep: 1,
        callbackNonce: nonce,
      }),
    ];
    seed(table, record, rows);
    return { record, rows };
  }

  it('shows the wait row its callback_url: the link minted from its nonce, on the base URL the caller used; null on every other row', async () => {
    const { record } = storeWaiting();

    const { body, raw } = await get<Page<TransitionView>>('GET /executions/{id}/transitions', { pathParameters: { id: record.id } });

    const token = callbackToken(CALLBACK_KEY, { tenant: 'default', executionId: record.id, stepIndex: 1, nonce: 'waitnonce-waitnonce-00' });
    expect(body.items.map((item) => item.callback_url)).toEqual([null, null, null, `${API_BASE_URL}/callbacks/${token}`]);
    expect(raw).not.toContain('waitnonce-waitnonce-00');
  });

  it('shows the same link on the single transition route', async () => {
    const { record, rows } = storeWaiting();

    const { body } = await get<TransitionView>('GET /executions/{id}/transitions/{transition_id}', {
      pathParameters: { id: record.id, transition_id: rows[3]!.id },
    });

    const token = callbackToken(CALLBACK_KEY, { tenant: 'default', executionId: record.id, stepIndex: 1, nonce: 'waitnonce-waitnonce-00' });
    expect(body.callback_url).toBe(`${API_BASE_URL}/callbacks/${token}`);
  });

  it('mints a tenant\'s links for that tenant: the same nonce and id under another tenant give another link', async () => {
    const { record } = storeWaiting('acme');

    const { body } = await get<Page<TransitionView>>('GET /executions/{id}/transitions', { pathParameters: { id: record.id }, tenant: 'acme' });

    const url = body.items[3]!.callback_url!;
    const other = callbackToken(CALLBACK_KEY, { tenant: 'default', executionId: record.id, stepIndex: 1, nonce: 'waitnonce-waitnonce-00' });
    expect(url).toBe(`${API_BASE_URL}/callbacks/${callbackToken(CALLBACK_KEY, { tenant: 'acme', executionId: record.id, stepIndex: 1, nonce: 'waitnonce-waitnonce-00' })}`);
    expect(url).not.toContain(other);
  });

  it('shows no link on a wait row written before resume links existed', async () => {
    const { record, rows } = storeWaiting();
    seed(table, record, [{ ...rows[3]!, callbackNonce: undefined }]);

    const { body } = await get<TransitionView>('GET /executions/{id}/transitions/{transition_id}', {
      pathParameters: { id: record.id, transition_id: rows[3]!.id },
    });

    expect(body.callback_url).toBeNull();
  });
});

describe('GET /executions/{id}/transitions/{transition_id}', () => {
  it('returns one transition by its id', async () => {
    const { record, rows } = storeWithHistory();

    const { status, body } = await get<TransitionView>('GET /executions/{id}/transitions/{transition_id}', {
      pathParameters: { id: record.id, transition_id: rows[1]!.id },
    });

    expect(status).toBe(200);
    expect(body).toMatchObject({ id: rows[1]!.id, seq: 2, type: 'start', step_label: 'extract' });
  });

  it('answers 404 for a well-formed transition id the execution does not have', async () => {
    const { record } = storeWithHistory();
    const pathFor = (transitionId: string) => ({ pathParameters: { id: record.id, transition_id: transitionId } });

    const missingSeq = await get('GET /executions/{id}/transitions/{transition_id}', pathFor(newTransitionId(9)));
    const sameSeqOtherId = await get('GET /executions/{id}/transitions/{transition_id}', pathFor(newTransitionId(2)));

    expectProblem(missingSeq.response, 404);
    expectProblem(sameSeqOtherId.response, 404);
  });

  it('answers 400 for a malformed transition id', async () => {
    const { record } = storeWithHistory();

    const { response } = await get('GET /executions/{id}/transitions/{transition_id}', {
      pathParameters: { id: record.id, transition_id: 'first' },
    });

    const problem = expectProblem(response, 400);
    expect(problem.errors?.[0]?.path).toBe('path.transition_id');
  });
});

describe('offloaded payloads', () => {
  const TENANT_PREFIX = `${TENANT}/`;
  const inputRef = { $payload: { key: `${TENANT_PREFIX}inputs/abc.json`, bytes: 5_000_000 } };
  const outputRef = { $payload: { key: `${TENANT_PREFIX}e/finish.json`, bytes: 2_097_160 } };

  function storeOffloaded(): ExecutionRecord {
    const record = storeExecution(5, { status: 'succeeded', input: inputRef, output: outputRef, completedAt: '2026-01-02T03:06:00.000Z' });
    seed(table, record, [
      transitionRecord(record),
      transitionRecord(record, { seq: 2, type: 'step', from: 'running', to: 'running', step: { index: 0, name: 'extract' }, currentStep: 0, nextStep: 1, output: outputRef }),
    ]);
    return record;
  }

  it('shows an offloaded input and output as null with presigned 15-minute links, never the reference', async () => {
    const record = storeOffloaded();

    const { status, body, response } = await get<ExecutionView>('GET /executions/{id}', { pathParameters: { id: record.id } });

    expect(status).toBe(200);
    expect(body).toMatchObject({ input: null, output: null });
    const inputUrl = new URL(body.input_url!);
    const outputUrl = new URL(body.output_url!);
    expect(inputUrl.pathname).toContain('inputs/abc.json');
    expect(outputUrl.pathname).toContain('e/finish.json');
    expect(outputUrl.href).toContain('payloads-test');
    expect(outputUrl.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(String(response.body)).not.toContain('$payload');
  });

  it('keeps the ETag of an execution across reads though its links are minted anew', async () => {
    const record = storeOffloaded();

    const first = await get<ExecutionView>('GET /executions/{id}', { pathParameters: { id: record.id } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await get<ExecutionView>('GET /executions/{id}', { pathParameters: { id: record.id } });
    const conditional = await get('GET /executions/{id}', { pathParameters: { id: record.id }, headers: { 'if-none-match': String(first.response.headers?.etag) } });

    expect(second.body.output_url).not.toBe(first.body.output_url);
    expect(second.response.headers?.etag).toBe(first.response.headers?.etag);
    expect(conditional.status).toBe(304);
  });

  it('links to offloaded outputs in lists and transitions', async () => {
    const record = storeOffloaded();

    const list = await get<Page<ExecutionView>>('GET /executions');
    const rows = await get<Page<TransitionView>>('GET /executions/{id}/transitions', { pathParameters: { id: record.id } });

    expect(list.body.items.find((item) => item.id === record.id)).toMatchObject({ output: null, output_url: expect.stringContaining('finish.json') });
    expect(rows.body.items[1]).toMatchObject({ output: null, output_url: expect.stringContaining('finish.json') });
    // The init row holds the input: offloaded too.
    expect(rows.body.items[0]).toMatchObject({ type: 'init', output: null, output_url: expect.stringContaining('inputs/abc.json') });
  });
});
