import Julep from '@julep/sdk';
import { describe, expect, it } from 'vitest';
import { api, apiKey, baseUrl, start, transitions, waitForStatus, type Execution } from './client.js';

describe('sample-pipeline through the local stack', () => {
  it('runs to succeeded with progress 100 and transitions init, start, step ×3, finish numbered 1..6', async () => {
    const created = await start('sample-pipeline', { document_url: 'https://example.com/reports/q3.pdf' });
    expect(created.status).toBe('queued');

    const done = await waitForStatus(created.id, 'succeeded');

    expect(done.progress).toMatchObject({ percentage: 100, completed_steps: 3, total_steps: 3 });
    expect(done.output).toMatchObject({ keywords: expect.arrayContaining(['quarterly']) });
    const rows = await transitions(created.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'step', 'step', 'finish']);
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(done.transition_count).toBe(6);
    expect(rows.at(-1)).toMatchObject({ from: 'running', to: 'succeeded', output: done.output });
  });

  it('keeps metadata of any JSON, prototype-named keys included, exactly as sent through DynamoDB Local', async () => {
    // Text, so `__proto__` is an own key of what the service parses (a literal here would set a prototype).
    const metadata = '{"__proto__":{"a":1},"constructor":"c","toString":[1,2],"key with space":null,"valueOf":{"constructor":{"name":"x"}}}';

    const created = await api<Execution>('POST', '/tasks/sample-pipeline/executions', `{"input":{"document_url":"https://example.com/m.pdf"},"metadata":${metadata}}`);
    const fetched = await api<Execution>('GET', `/executions/${created.body.id}`);
    const init = await api<{ metadata: object }>('GET', `/executions/${created.body.id}/transitions/${(await transitions(created.body.id))[0]!.id}`);

    const given = Object.entries(JSON.parse(metadata) as object);
    expect(created.status).toBe(201);
    expect(Object.entries(created.body.metadata)).toEqual(given);
    expect(Object.entries(fetched.body.metadata)).toEqual(given);
    expect(Object.entries(init.body.metadata)).toEqual(given);
  });

  it('serves the same execution through the Julep SDK, unchanged', async () => {
    const client = new Julep({ apiKey: apiKey(), baseURL: baseUrl(), maxRetries: 0 });
    const created = await client.executions.create('sample-pipeline', {
      input: { document_url: 'https://example.com/a.pdf' },
    });
    const done = await waitForStatus(created.id, 'succeeded');

    const fetched = await client.executions.get(created.id);
    const listed = await client.executions.list('sample-pipeline', { limit: 100 });
    const julepTransitions = await client.executions.transitions.list(created.id);
    const first = julepTransitions.items[0]!;
    const one = await client.executions.transitions.retrieve(created.id, first.id);

    expect(fetched).toMatchObject({ id: created.id, status: 'succeeded', output: done.output, task_id: 'sample-pipeline' });
    expect(listed.items.map((item) => item.id)).toContain(created.id);
    expect(julepTransitions.items.map((item) => item.type)).toEqual(['init', 'start', 'step', 'step', 'step', 'finish']);
    expect(first.current).toEqual({ workflow: 'sample-pipeline', step: 0, scope_id: created.id });
    expect(one).toEqual(first);
  });
});

describe('sample-approval through the local stack', () => {
  it('waits for input, resumes with it, and succeeds with an output built from the resume input', async () => {
    const created = await start('sample-approval', { title: 'Launch', body: 'We launch next week.' });
    const waiting = await waitForStatus(created.id, 'awaiting_input');
    expect(waiting.progress).toMatchObject({ completed_steps: 1 });

    const resumed = await api<Execution>('PUT', `/executions/${created.id}`, {
      status: 'running',
      input: { approved: true, comment: 'ship it', reviewer: 'ana' },
    });

    expect(resumed.status).toBe(200);
    const done = await waitForStatus(created.id, 'succeeded');
    expect(done.output).toMatchObject({ decision: 'approved', comment: 'ship it', reviewed_by: 'ana' });
    const rows = await transitions(created.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'wait', 'resume', 'step', 'finish']);
    expect(rows[4]!.output).toEqual({ approved: true, comment: 'ship it', reviewer: 'ana' });
  });

  it('answers 409 to a resume of an execution that is not awaiting input', async () => {
    const created = await start('sample-pipeline', { document_url: 'https://example.com/b.pdf' });
    await waitForStatus(created.id, 'succeeded');

    const reply = await api('POST', `/executions/${created.id}/resume`, { input: { approved: true } });

    expect(reply.status).toBe(409);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers 400 with the failing path when the resume input breaks the wait step schema', async () => {
    const created = await start('sample-approval', { title: 'T', body: 'B' });
    await waitForStatus(created.id, 'awaiting_input');

    const reply = await api<{ detail: string; errors: Array<{ path: string }> }>('POST', `/executions/${created.id}/resume`, {
      input: { approved: 'yes' },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.errors).toEqual([{ path: '/input/approved', message: 'must be true or false' }]);
    expect(reply.body.detail).toBe('The resume input of step review is not valid: /input/approved must be true or false.');
    expect((await api<Execution>('GET', `/executions/${created.id}`)).body.status).toBe('awaiting_input');
  });
});

describe('Lambda steps as functions of their own', () => {
  it('gives each step its own environment variables: the step that declares one sees it, the next does not', async () => {
    const created = await start('test-step-environment', {});

    const done = await waitForStatus(created.id, 'succeeded');

    expect(done.output).toEqual({ declares: 'declares', inherits: null });
  });
});

describe('failures', () => {
  it('retries a throwing step as configured, then fails naming the step', async () => {
    const created = await start('test-failing', {});

    const failed = await waitForStatus(created.id, 'failed', 20_000);

    // maxAttempts 2 → three attempts; the last one reports RetryCount 2.
    expect(failed.error).toBe('boom on attempt 2');
    expect(failed.error_details).toEqual({ name: 'Error', message: 'boom on attempt 2', step: { index: 1, name: 'explode' } });
    const rows = await transitions(created.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'error']);
  });

  it('completes a task whose step returns more than the 256 KB state limit: the output is offloaded and linked, not refused', async () => {
    const created = await start('test-large-output', { kb: 300 });

    const done = await waitForStatus(created.id, 'succeeded', 30_000);

    expect(done.output).toBeNull();
    expect(done.output_url).not.toBeNull();
    expect((await transitions(created.id)).map((row) => row.type)).toEqual(['init', 'start', 'step', 'step', 'step', 'finish']);
  });

  it('fails a wait that times out with a clear error', async () => {
    const created = await start('test-short-wait', {});
    await waitForStatus(created.id, 'awaiting_input');

    const failed = await waitForStatus(created.id, 'failed', 15_000);

    expect(failed.error_details).toMatchObject({ name: 'States.Timeout', step: { index: 0, name: 'approval' } });
    expect(failed.error).toMatch(/No input arrived before the wait "approval" timed out/);
    expect(failed.error_details?.message).toBe(failed.error);
    const late = await api('POST', `/executions/${created.id}/resume`, { input: {} });
    expect(late.status).toBe(409);
  });
});
