import { lookup } from 'node:dns/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/api/executions-create.js';
import { handler as read } from '../../../lambdas/api/executions-read.js';
import { createHash } from 'node:crypto';
import { MAX_CREATE_INPUT_BYTES, OFFLOAD_THRESHOLD_BYTES, jsonBytes, payloadKey } from '../../../lambdas/domain/payload-limits.js';
import { idTimestamp } from '../../../lambdas/domain/ids.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { API_BASE_URL, apiEvent, dataCalls, expectProblem, lambdaContext, parse, type RequestOptions } from '../support/api-events.js';
import { STATE_MACHINE_ARN_PREFIX, TENANT, executionArnFor, storedRecord, storedRows } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);

/** An input of `unit-echo` (test/support/unit-tasks.ts: it takes any text) whose JSON is exactly `bytes` long. */
function textInputOf(bytes: number): { text: string } {
  return { text: 'x'.repeat(bytes - jsonBytes({ text: '' })) };
}

let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  s3.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
});

const INPUT = { document_url: 'https://example.com/reports/q3.pdf', language: 'en' };

function createForTask(taskId: string, options: RequestOptions) {
  return handler(apiEvent('POST /tasks/{task_id}/executions', { pathParameters: { task_id: taskId }, ...options }), lambdaContext());
}

function createWithTaskInBody(options: RequestOptions) {
  return handler(apiEvent('POST /executions', options), lambdaContext());
}

describe('POST /tasks/{task_id}/executions', () => {
  it('creates a queued execution: 201, Location = status_url, the Execution view, and starts the state machine', async () => {
    const response = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, metadata: { team: 'research' } } }));

    expect(response.status).toBe(201);
    const view = response.body;
    expect(view).toMatchObject({
      task_id: 'sample-pipeline',
      status: 'queued',
      input: INPUT,
      output: null,
      error: null,
      error_details: null,
      metadata: { team: 'research' },
      transition_count: 1,
      progress: { current_step: 0, step_name: 'extract', completed_steps: 0, total_steps: 3, percentage: 0 },
      started_at: null,
      completed_at: null,
    });
    expect(view.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(view.status_url).toBe(`${API_BASE_URL}/executions/${view.id}`);
    expect(response.headers.location).toBe(view.status_url);
    expect(view.console_url).toContain(executionArnFor('sample-pipeline', view.id));
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}sample-pipeline`,
      name: view.id,
      input: JSON.stringify({ tenant: TENANT, input: INPUT }),
    });
    expect(storedRecord(table, { tenant: TENANT, id: view.id })).toMatchObject({ status: 'queued', task_id: 'sample-pipeline' });
    expect(storedRows(table, { tenant: TENANT, id: view.id }).map((row) => row.type)).toEqual(['init']);
  });

  it('accepts a JSON content type with parameters', async () => {
    const response = await createForTask('sample-pipeline', {
      body: { input: INPUT },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    expect(parse<ExecutionView>(response).status).toBe(201);
  });

  it('replays an Idempotency-Key used with the same body: 200 and the same execution, never a second one', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT }, headers }));

    const second = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: { ...INPUT } }, headers }));

    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.location).toBe(first.body.status_url);
    // Still queued here (nothing runs), so the replay starts it again: the same name, the same execution.
    const names = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(new Set(names)).toEqual(new Set([first.body.id]));
  });

  it('answers 422 with x-should-retry: false when an Idempotency-Key is reused with another body', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    await createForTask('sample-pipeline', { body: { input: INPUT }, headers });

    const response = await createForTask('sample-pipeline', { body: { input: { ...INPUT, language: 'de' } }, headers });

    const problem = expectProblem(response, 422);
    expect(problem.type).toBe('/problems/idempotency-key-reused');
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('answers 400 listing every failing path under /input when the input does not match the task schema', async () => {
    const response = await createForTask('sample-pipeline', {
      body: { input: { document_url: 'ftp://example.com/x', language: 'xx', extra: true } },
    });

    const problem = expectProblem(response, 400);
    expect(problem.type).toBe('/problems/validation-error');
    const paths = (problem.errors ?? []).map((error) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/input/document_url', '/input/language']));
    expect(paths.every((path) => path.startsWith('/input'))).toBe(true);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 400, never 500, to an input with fields named like Object.prototype members, naming them as unknown', async () => {
    // As text: JSON.parse makes `__proto__` an own key, as it does for every request body.
    const input = `{"document_url":"https://example.com/a.pdf","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`;

    const problem = expectProblem(await createForTask('sample-pipeline', { body: `{"input":${input}}` }), 400);

    expect(problem.errors).toEqual([{ path: '/input', message: 'has unknown fields "__proto__", "constructor"' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 400, never 500, to a field nested 97 levels deep or a 100,000-item array where a string belongs', async () => {
    let deep: unknown = 'x';
    for (let level = 0; level < 97; level++) deep = [deep];

    const nested = expectProblem(await createForTask('sample-pipeline', { body: { input: { document_url: deep } } }), 400);
    const huge = expectProblem(await createForTask('unit-echo', { body: { input: { text: Array.from({ length: 100_000 }, () => 0) } } }), 400);

    expect(nested.errors).toEqual([{ path: '/input/document_url', message: 'must be a string' }]);
    expect(huge.errors).toEqual([{ path: '/input/text', message: 'must be a string' }]);
  });

  it('passes a valid input on exactly as sent: no field is added, dropped or rewritten', async () => {
    const input = { document_url: 'https://example.com/a.pdf', max_summary_words: 10 };

    const created = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input } }));

    expect(created.body.input).toEqual(input);
    expect(JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input))).toEqual({ tenant: TENANT, input });
  });

  it('answers a 200 KB unknown input field with a problem of at most 2 KB (it echoed the name twice: 400 KB)', async () => {
    const response = await createForTask('sample-pipeline', { body: { input: { ...INPUT, ['x'.repeat(200_000)]: 1 } } });

    expectProblem(response, 400);
    expect(Buffer.byteLength(response.body ?? '')).toBeLessThanOrEqual(2048);
  });

  it('answers 400 when the body has no input', async () => {
    const problem = expectProblem(await createForTask('sample-pipeline', { body: { metadata: {} } }), 400);

    expect(problem.errors).toEqual([{ path: '/input', message: 'is required' }]);
  });

  it('answers 400 for unknown body fields and malformed metadata', async () => {
    const unknown = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, urgency: 1 } }), 400);
    const metadata = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, metadata: ['team'] } }), 400);

    expect(unknown.errors?.[0]?.message).toContain('urgency');
    expect(metadata.errors?.[0]?.path).toBe('/metadata');
  });

  it('stores metadata keys named like Object.prototype members and reads them back as given (they answered 500)', async () => {
    // As text: JSON.parse makes `__proto__` an own key, as it does for every request body.
    const metadataText = '{"constructor":"c","__proto__":"p","prototype":"x","toString":"t","hasOwnProperty":"h","valueOf":"v"}';

    const created = parse<ExecutionView>(await createForTask('sample-pipeline', { body: `{"input":${JSON.stringify(INPUT)},"metadata":${metadataText}}` }));
    const readBack = parse<ExecutionView>(
      await read(apiEvent('GET /executions/{id}', { pathParameters: { id: created.body.id } }), lambdaContext()),
    );

    const given = Object.entries(JSON.parse(metadataText) as object);
    expect(created.status).toBe(201);
    expect(Object.entries(created.body.metadata)).toEqual(given);
    expect(readBack.status).toBe(200);
    expect(Object.entries(readBack.body.metadata)).toEqual(given);
  });

  it("stores Julep's metadata (any JSON values, any keys) and reads it back as given; null is none (they answered 400)", async () => {
    const metadata = { jobs: [1, 2], count: 3, 'key with a space': { deep: { er: [null, true, 1.5] } }, '\u202eRTL': '\u0000' };

    const created = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, metadata } }));
    const none = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, metadata: null } }));
    const readBack = parse<ExecutionView>(
      await read(apiEvent('GET /executions/{id}', { pathParameters: { id: created.body.id } }), lambdaContext()),
    );

    expect(created.status).toBe(201);
    expect(created.body.metadata).toEqual(metadata);
    expect(readBack.body.metadata).toEqual(metadata);
    expect(none.status).toBe(201);
    expect(none.body.metadata).toEqual({});
  });

  it('answers 400 when there is no body at all', async () => {
    expectProblem(await createForTask('sample-pipeline', {}), 400);
  });

  it('answers 400 when the body is not valid JSON', async () => {
    const problem = expectProblem(await createForTask('sample-pipeline', { body: '{"input": ' }), 400);

    expect(problem.detail).toBe('The body is not valid JSON.');
  });

  it('answers 400 for an Idempotency-Key with characters outside visible ASCII', async () => {
    const problem = expectProblem(
      await createForTask('sample-pipeline', { body: { input: INPUT }, headers: { 'idempotency-key': 'has space' } }),
      400,
    );

    expect(problem.errors?.[0]?.path).toBe('header.idempotency-key');
  });

  it('answers 404 for a task that does not exist', async () => {
    const problem = expectProblem(await createForTask('no-such-task', { body: { input: {} } }), 404);

    expect(problem.detail).toContain('no-such-task');
    // Nothing but the rate counter: a refused request still counts against the limit.
    expect(dataCalls(ddb)).toEqual([]);
  });

  it('answers 413 for a body over the 5 MiB input and its 64 KiB of room', async () => {
    const body = JSON.stringify({ input: { ...INPUT, padding: 'x'.repeat(MAX_CREATE_INPUT_BYTES + 64 * 1024) } });

    const problem = expectProblem(await createForTask('sample-pipeline', { body }), 413);

    expect(problem.type).toBe('/problems/payload-too-large');
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('answers 413 naming both sizes for an input over 5 MiB, though its body is under the body limit', async () => {
    const input = textInputOf(MAX_CREATE_INPUT_BYTES + 1);

    const problem = expectProblem(await createForTask('unit-echo', { body: { input } }), 413);

    expect(problem.detail).toBe(`The input is ${MAX_CREATE_INPUT_BYTES + 1} bytes of JSON; an execution takes at most ${MAX_CREATE_INPUT_BYTES}.`);
    // Nothing but the rate counter: a refused request still counts against the limit.
    expect(dataCalls(ddb)).toEqual([]);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('writes a 5 MiB input to the payload bucket under its hash; the record and the state machine get only the reference', async () => {
    const input = textInputOf(MAX_CREATE_INPUT_BYTES);
    const text = JSON.stringify(input);
    const key = payloadKey(TENANT, 'inputs', createHash('sha256').update(text).digest('hex'));

    const response = parse<ExecutionView>(await createForTask('unit-echo', { body: { input } }));

    expect(response.status).toBe(201);
    // The caller has just sent it: the answer shows neither the bytes nor a link.
    expect(response.body).toMatchObject({ input: null, input_url: null, output: null, output_url: null });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'payloads-test', Key: key, Body: text });
    const reference = { $payload: { key, bytes: text.length } };
    const started = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(JSON.parse(started.input!)).toMatchObject({ input: reference });
    expect(started.input!.length).toBeLessThan(1_000);
    expect(JSON.parse(String(storedRecord(table, { tenant: TENANT, id: response.body.id })?.input))).toEqual(reference);
  });

  it('keeps an input of exactly the offload threshold inline, calling no S3', async () => {
    const input = textInputOf(OFFLOAD_THRESHOLD_BYTES);

    const response = parse<ExecutionView>(await createForTask('unit-echo', { body: { input } }));

    expect(response.status).toBe(201);
    expect(response.body.input).toEqual(input);
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('replays a large input\'s create with the same Idempotency-Key as the same execution (the reference is the same)', async () => {
    const input = textInputOf(OFFLOAD_THRESHOLD_BYTES * 2);
    const headers = { 'idempotency-key': 'big-1' };

    const first = parse<ExecutionView>(await createForTask('unit-echo', { body: { input }, headers }));
    const second = parse<ExecutionView>(await createForTask('unit-echo', { body: { input }, headers }));

    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.id).toBe(first.body.id);
    // A replay of a still-queued execution starts it again: with the same input text, so Step Functions takes it as the same start.
    const inputs = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.input);
    expect(new Set(inputs).size).toBe(1);
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    const response = await createForTask('sample-pipeline', {
      body: JSON.stringify({ input: INPUT }),
      headers: { 'content-type': 'text/plain' },
    });

    const problem = expectProblem(response, 415);
    expect(problem.detail).toContain('text/plain');
  });

  it('answers 503 naming the execution, recorded as failed, when Step Functions refuses to start it', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('limit'), { name: 'ExecutionLimitExceeded' }));
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    const problem = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT } }), 503);

    const id = problem.execution_id as string;
    expect(storedRecord(table, { tenant: TENANT, id })).toMatchObject({ status: 'failed' });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('StartExecution failed'));
    log.mockRestore();
  });

  it('answers an unexpected fault with a bare 500 that reveals nothing of it', async () => {
    const fault = new Error('socket hang up at 10.0.0.7');
    ddb.on(TransactWriteCommand).rejects(fault);
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    const response = await createForTask('sample-pipeline', { body: { input: INPUT } });

    const problem = expectProblem(response, 500);
    expect(problem.type).toBe('/problems/internal-error');
    expect(response.body).not.toContain('socket hang up');
    expect(response.body).not.toContain('10.0.0.7');
    expect(log).toHaveBeenCalledWith(expect.stringContaining('socket hang up'));
    log.mockRestore();
  });
});

describe('the clock of a new execution', () => {
  it("gives its id and created_at the same millisecond, so a list bounded by its created_at finds it", async () => {
    // Every reading of the clock a millisecond later than the one before.
    let clock = Date.parse('2026-05-01T00:00:00.000Z');
    const now = vi.spyOn(Date, 'now').mockImplementation(() => clock++);
    try {
      const created = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT } }));

      expect(created.status).toBe(201);
      expect(idTimestamp(created.body.id)).toBe(Date.parse(created.body.created_at));
    } finally {
      now.mockRestore();
    }
  });
});

describe('POST /executions', () => {
  it('creates an execution of the task named in the body: 201 with status_url', async () => {
    const response = parse<ExecutionView>(
      await createWithTaskInBody({ body: { task_id: 'sample-approval', input: { title: 'T', body: 'B' } } }),
    );

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ task_id: 'sample-approval', status: 'queued', progress: { step_name: 'draft', total_steps: 3 } });
    expect(response.headers.location).toBe(`${API_BASE_URL}/executions/${response.body.id}`);
  });

  it('answers 404 for an unknown task id in the body and 400 without one', async () => {
    expectProblem(await createWithTaskInBody({ body: { task_id: 'no-such-task', input: {} } }), 404);
    const problem = expectProblem(await createWithTaskInBody({ body: { input: {} } }), 400);

    expect(problem.errors?.[0]?.path).toBe('/task_id');
  });
});

describe('webhook_url', () => {
  const WEBHOOK_URL = 'https://hooks.example.com/executions';

  it("answers 201 with the webhook_url and the execution's own new signing secret, kept on the record for its deliveries", async () => {
    const response = parse<ExecutionView & { webhook_secret?: string }>(
      await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL } }),
    );

    expect(response.status).toBe(201);
    expect(response.body.webhook_url).toBe('https://hooks.example.com');
    expect(response.body.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const stored = storedRecord(table, { tenant: TENANT, id: response.body.id });
    expect(stored.webhook_url).toBe(WEBHOOK_URL);
    expect(stored.webhook_secret).toBe(response.body.webhook_secret);
    const other = parse<ExecutionView & { webhook_secret?: string }>(
      await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL } }),
    );
    expect(other.body.webhook_secret).not.toBe(response.body.webhook_secret);
  });

  it("shows the webhook_url's origin but never the secret when the execution is read", async () => {
    const created = parse<ExecutionView & { webhook_secret?: string }>(
      await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL } }),
    );

    const shown = parse<ExecutionView>(await read(apiEvent('GET /executions/{id}', { pathParameters: { id: created.body.id } }), lambdaContext()));

    expect(shown.body.webhook_url).toBe('https://hooks.example.com');
    expect(shown.body).not.toHaveProperty('webhook_secret');
    expect(shown.raw).not.toContain(created.body.webhook_secret!);
  });

  it('gives each execution its own secret, and the same one to a replay of the create', async () => {
    const headers = { 'idempotency-key': 'hooked-1' };
    const first = parse<{ id: string; webhook_secret: string }>(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL }, headers }));
    const replay = parse<{ id: string; webhook_secret: string }>(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL }, headers }));
    const other = parse<{ id: string; webhook_secret: string }>(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL } }));

    expect(replay.status).toBe(200);
    expect(replay.body.webhook_secret).toBe(first.body.webhook_secret);
    expect(other.body.webhook_secret).not.toBe(first.body.webhook_secret);
  });

  it('answers 422 when an Idempotency-Key is reused with another webhook_url', async () => {
    const headers = { 'idempotency-key': 'hooked-2' };
    await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: WEBHOOK_URL }, headers });

    expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: `${WEBHOOK_URL}/other` }, headers }), 422);
  });

  it('has no webhook_secret and a null webhook_url without one (null counts as none)', async () => {
    const none = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT } }));
    const nulled = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: null } }));

    for (const response of [none, nulled]) {
      expect(response.status).toBe(201);
      expect(response.body.webhook_url).toBeNull();
      expect(response.body).not.toHaveProperty('webhook_secret');
    }
  });

  it('takes webhook_url in the body of POST /executions too', async () => {
    const response = parse<ExecutionView & { webhook_secret?: string }>(
      await createWithTaskInBody({ body: { task_id: 'sample-pipeline', input: INPUT, webhook_url: WEBHOOK_URL } }),
    );

    expect(response.status).toBe(201);
    expect(response.body.webhook_url).toBe('https://hooks.example.com');
    expect(response.body.webhook_secret).toEqual(expect.any(String));
  });

  it.each([
    ['a private IP address', 'https://10.0.0.1/hook', 'must not point to a private, loopback or link-local address'],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/', 'must not point to a private, loopback or link-local address'],
    ['an http URL', 'http://hooks.example.com/hook', 'must be an https: URL'],
    ['localhost', 'https://localhost/hook', 'must not point to a local host name'],
    ['no URL', 'hooks.example.com', 'must be an absolute URL'],
  ])('answers 400 to %s, creating and starting nothing', async (_what, webhookUrl, message) => {
    const problem = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: webhookUrl } }), 400);

    expect(problem.errors).toEqual([{ path: '/webhook_url', message }]);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([42, true, ['https://hooks.example.com/a'], { url: 'https://hooks.example.com/a' }])('answers 400 to a webhook_url of %j', async (webhookUrl) => {
    const problem = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: webhookUrl } }), 400);

    expect(problem.errors).toEqual([{ path: '/webhook_url', message: 'must be a string or null' }]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 400 to a host that resolves to a private address', async () => {
    vi.mocked(lookup).mockResolvedValueOnce([{ address: '192.168.0.10', family: 4 }] as never);

    const problem = expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, webhook_url: 'https://lan.example.com/hook' } }), 400);

    expect(problem.errors).toEqual([{ path: '/webhook_url', message: 'The host lan.example.com resolves to an address that is not public' }]);
  });
});

/** The 31st of the next month that has 30 days (within the year ahead): no such date. */
function nextThirtyFirst(): string {
  const now = new Date();
  for (let ahead = 1; ; ahead++) {
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
    if ([3, 5, 8, 10].includes(month.getUTCMonth())) return `${month.toISOString().slice(0, 8)}31T00:00:00Z`;
  }
}

describe('flow control fields on create (tags, priority, concurrency_key, start_at, delay_seconds)', () => {
  it('stores tags (a repeated one once, first order kept), priority and concurrency_key, shows them, and starts at once for a tenant without limits', async () => {
    const response = parse<ExecutionView>(
      await createForTask('sample-pipeline', { body: { input: INPUT, tags: ['b', 'customer:acme', 'b'], priority: 5, concurrency_key: 'user-7' } }),
    );

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ tags: ['b', 'customer:acme'], priority: 5, concurrency_key: 'user-7', start_at: null });
    expect(storedRecord(table, { tenant: TENANT, id: response.body.id })).toMatchObject({ tags: ['b', 'customer:acme'], priority: 5, concurrency_key: 'user-7' });
    expect(storedRecord(table, { tenant: TENANT, id: response.body.id })).not.toHaveProperty('held');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('holds a delayed execution queued with its start time and starts nothing (admission starts it when due)', async () => {
    const before = Date.now();
    const response = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, delay_seconds: 90 } }));

    expect(response.status).toBe(201);
    expect(response.body.status).toBe('queued');
    const startAt = Date.parse(response.body.start_at ?? '');
    expect(startAt).toBeGreaterThanOrEqual(before + 90_000);
    expect(startAt).toBeLessThanOrEqual(Date.now() + 90_000);
    expect(storedRecord(table, { tenant: TENANT, id: response.body.id })).toMatchObject({ held: true, start_at: response.body.start_at });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('takes start_at as the start time, normalized to UTC; a time that has passed starts now', async () => {
    const at = new Date(Date.now() + 3_600_000);
    const offset = `${at.toISOString().slice(0, 19)}+00:00`;
    const later = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, start_at: offset } }));
    const past = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, start_at: '2020-01-01T00:00:00Z' } }));

    expect(later.body.start_at).toBe(`${at.toISOString().slice(0, 19)}.000Z`);
    expect(past.body.start_at).toBeNull();
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('holds every execution of a tenant the authorizer says has concurrency limits, unstarted, for admission', async () => {
    const response = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, priority: 1 }, limited: true }));

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'queued', priority: 1, start_at: null });
    expect(storedRecord(table, { tenant: TENANT, id: response.body.id })).toMatchObject({ held: true });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('does not start a held execution on an Idempotency-Key replay either: it waits for admission', async () => {
    const options = { body: { input: INPUT }, headers: { 'idempotency-key': 'held-1' }, limited: true };
    const first = parse<ExecutionView>(await createForTask('sample-pipeline', options));
    const again = parse<ExecutionView>(await createForTask('sample-pipeline', options));

    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it.each([
    ['start_at and delay_seconds together', { start_at: '2030-01-01T00:00:00Z', delay_seconds: 5 }],
    ['a start more than 365 days ahead', { start_at: new Date(Date.now() + 366 * 86_400_000).toISOString() }],
    ['a date that does not exist (the 31st of the next 30-day month, which Date.parse would read as the 1st)', { start_at: nextThirtyFirst() }],
    ['a date without a time', { start_at: '2030-01-01' }],
    ['a delay over 365 days', { delay_seconds: 31_536_001 }],
    ['a negative delay', { delay_seconds: -1 }],
    ['priority 0', { priority: 0 }],
    ['priority 6', { priority: 6 }],
    ['eleven tags', { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }],
    ['a tag with a space', { tags: ['two words'] }],
    ['a tag of 65 characters', { tags: ['t'.repeat(65)] }],
    ['an empty tag', { tags: [''] }],
    ['a tag named __proto__ with odd Unicode', { tags: ['ünï'] }],
    ['a concurrency key with a slash-less odd character', { concurrency_key: 'a#b' }],
  ])('answers 400 and starts nothing for %s', async (_case, fields) => {
    expectProblem(await createForTask('sample-pipeline', { body: { input: INPUT, ...fields } }), 400);

    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
    // Nothing but the create's rate counter (a refused create still counts: docs/contract.md).
    expect(table.all().filter((item) => !String(item.pk).startsWith('RATE#'))).toEqual([]);
  });

  it('accepts a tag named __proto__ and keeps it as a plain value', async () => {
    const response = parse<ExecutionView>(await createForTask('sample-pipeline', { body: { input: INPUT, tags: ['__proto__', 'constructor'] } }));

    expect(response.status).toBe(201);
    expect(response.body.tags).toEqual(['__proto__', 'constructor']);
  });
});
