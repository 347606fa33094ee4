import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, inject, it } from 'vitest';
import { api, start, transitions, waitFor, waitForStatus, type Execution } from './client.js';

/** Time for the reconciler to finish an execution whose status event was dropped: a few runs past its minimum age. */
const HEAL_WITHIN_MS = inject('reconcileMinAgeMs') + 5 * inject('reconcileEveryMs') + 5_000;

const sfn = new SFNClient({
  endpoint: inject('sfnEndpoint'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

async function sfnStatus(execution: Execution): Promise<string | undefined> {
  const arn = decodeURIComponent(execution.console_url.split('/details/')[1]!);
  return (await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

describe('cancel', () => {
  it('cancels an execution awaiting input, keeps the reason, aborts the state machine and writes nothing after', async () => {
    const created = await start('sample-approval', { title: 'T', body: 'B' });
    await waitForStatus(created.id, 'awaiting_input');

    const reply = await api<Execution>('PUT', `/executions/${created.id}`, { status: 'cancelled', reason: 'no longer needed' });

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'cancelled', cancel_reason: 'no longer needed' });
    await settle();
    expect(await sfnStatus(reply.body)).toBe('ABORTED');
    const rows = await transitions(created.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'wait', 'cancel']);
    expect((await api<Execution>('GET', `/executions/${created.id}`)).body.status).toBe('cancelled');
  });

  it('cancels a running execution: the running step does not record, nothing follows the cancel row', async () => {
    const created = await start('test-slow', { ms: 1500 });
    await waitFor(created.id, (execution) => execution.status === 'running');

    const reply = await api<Execution>('POST', `/executions/${created.id}/cancel`, { reason: 'stop now' });

    expect(reply.status).toBe(200);
    expect(reply.body.cancel_reason).toBe('stop now');
    await settle();
    expect(await sfnStatus(reply.body)).toBe('ABORTED');
    const rows = await transitions(created.id);
    expect(rows.at(-1)!.type).toBe('cancel');
    expect(rows.filter((row) => row.type === 'cancel')).toHaveLength(1);
    expect(rows.map((row) => row.type)).not.toContain('step');
  });

  it('answers 409 once every step has recorded its output, and the execution ends succeeded with that output', async () => {
    // The status events of test-lost-event are dropped: its record stays running, every step
    // recorded, until the reconciler finishes it. That is the window a late cancel used to land in.
    const created = await start('test-lost-event', { n: 11 });
    await waitFor(created.id, (execution) => execution.progress.completed_steps === execution.progress.total_steps);

    const reply = await api<{ detail: string }>('POST', `/executions/${created.id}/cancel`, { reason: 'too late' });

    expect(reply.status).toBe(409);
    expect(reply.headers.get('x-should-retry')).toBe('false');
    expect(reply.body.detail).toContain('finishing');
    const done = await waitForStatus(created.id, 'succeeded', HEAL_WITHIN_MS);
    expect(done.output).toEqual({ n: 11 });
    expect((await transitions(created.id)).map((row) => row.type)).toEqual(['init', 'start', 'step', 'finish']);
  });

  it('answers 409 to cancelling a finished execution', async () => {
    const created = await start('test-noop', { n: 1 });
    await waitForStatus(created.id, 'succeeded');

    const reply = await api('POST', `/executions/${created.id}/cancel`);

    expect(reply.status).toBe(409);
    expect(reply.headers.get('x-should-retry')).toBe('false');
  });
});

describe('concurrent resumes', () => {
  it('lets exactly one of 20 concurrent resumes win; the rest get 409 and the execution finishes once', async () => {
    const created = await start('sample-approval', { title: 'T', body: 'B' });
    await waitForStatus(created.id, 'awaiting_input');

    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api('PUT', `/executions/${created.id}`, { status: 'running', input: { approved: true, comment: `resume ${i}` } }),
      ),
    );

    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);
    await waitForStatus(created.id, 'succeeded');
    await settle();
    const rows = await transitions(created.id);
    expect(rows.filter((row) => row.type === 'resume')).toHaveLength(1);
    expect(rows.filter((row) => row.type === 'finish')).toHaveLength(1);
    expect(rows.map((row) => row.seq)).toEqual(rows.map((_, i) => i + 1));
  });
});

describe('idempotent create', () => {
  it('returns the same execution for the same key and body, and 422 for the same key with another body', async () => {
    const key = `key-${Date.now()}-${Math.random()}`;
    const body = { input: { n: 7 }, metadata: { source: 'it' } };

    const first = await api<Execution>('POST', '/tasks/test-noop/executions', body, { 'idempotency-key': key });
    const again = await api<Execution>('POST', '/tasks/test-noop/executions', body, { 'idempotency-key': key });
    const other = await api('POST', '/tasks/test-noop/executions', { input: { n: 8 } }, { 'idempotency-key': key });

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
  });
});
