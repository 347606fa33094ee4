import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, start, waitForStatus, type Execution } from './client.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** Runs the keys CLI (npm run keys) against the test stack's DynamoDB Local. */
async function keysCli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/keys.ts', ...args, '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName')],
    { cwd: ROOT },
  );
  return stdout;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('authentication', () => {
  it('answers 401 to a request without a key and serves health without one', async () => {
    const none = await api('GET', '/executions', undefined, { authorization: null });
    const health = await api('GET', '/health', undefined, { authorization: null });

    expect(none.status).toBe(401);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('answers 401 problem+json to an unknown key', async () => {
    const reply = await api('GET', '/executions', undefined, bearer('ak_0000000000_not-a-real-key-not-a-real-key-not-a-real-'));

    expect(reply.status).toBe(401);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('tenant isolation with keys made by the keys CLI', () => {
  let tenantB: string;
  let ofA: Execution;

  beforeAll(async () => {
    const created = await keysCli('create', '--tenant', 'tenant-b', '--name', 'integration');
    tenantB = created.trim().split('\n').at(-1)!;
    ofA = await start('sample-approval', { title: 'A only', body: 'Private to tenant default.' });
    await waitForStatus(ofA.id, 'awaiting_input');
  }, 60_000);

  it('prints a new key once and lists it without the secret', async () => {
    const listed = await keysCli('list', '--tenant', 'tenant-b');

    expect(tenantB).toMatch(/^ak_[a-z0-9]{10}_/);
    expect(listed).toContain('tenant-b');
    expect(listed).toContain('active');
    expect(listed).not.toContain(tenantB);
  });

  it('answers 404 when tenant B reads, resumes or cancels an execution of tenant A', async () => {
    const get = await api('GET', `/executions/${ofA.id}`, undefined, bearer(tenantB));
    const history = await api('GET', `/executions/${ofA.id}/transitions`, undefined, bearer(tenantB));
    const resume = await api('POST', `/executions/${ofA.id}/resume`, { input: { approved: true } }, bearer(tenantB));
    const cancel = await api('PUT', `/executions/${ofA.id}`, { status: 'cancelled' }, bearer(tenantB));

    expect([get.status, history.status, resume.status, cancel.status]).toEqual([404, 404, 404, 404]);
    expect((await api<Execution>('GET', `/executions/${ofA.id}`)).body.status).toBe('awaiting_input');
  });

  it('shows tenant B none of tenant A executions in any list', async () => {
    const own = await api<Execution>('POST', '/tasks/sample-pipeline/executions', { input: { document_url: 'https://b.example/x.pdf' } }, bearer(tenantB));

    const lists = await Promise.all(
      ['/executions?limit=100', '/tasks/sample-approval/executions?limit=100', '/executions?status=awaiting_input&limit=100', '/tasks/sample-pipeline/executions?limit=100'].map(
        (path) => api<{ items: Execution[] }>('GET', path, undefined, bearer(tenantB)),
      ),
    );

    const seen = lists.flatMap((list) => list.body.items.map((item) => item.id));
    expect(own.status).toBe(201);
    expect(seen).toContain(own.body.id);
    expect(seen).not.toContain(ofA.id);
  });

  it('answers 401 to a valid key spelled with a tab or two spaces after the scheme, and 200 to "bearer" in any case', async () => {
    const spellings = [`Bearer  ${tenantB}`, `Bearer\t${tenantB}`, `BEARER ${tenantB}`, `bearer ${tenantB}`];

    const replies = await Promise.all(spellings.map((authorization) => api('GET', '/executions?limit=1', undefined, { authorization })));

    expect(replies.map((reply) => reply.status)).toEqual([401, 401, 200, 200]);
    expect(replies[0]!.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a revoked key', async () => {
    const created = await keysCli('create', '--tenant', 'tenant-c');
    const key = created.trim().split('\n').at(-1)!;
    const keyId = key.split('_')[1]!;
    expect((await api('GET', '/executions', undefined, bearer(key))).status).toBe(200);

    await keysCli('revoke', keyId);
    // The gateway caches verdicts per key for the authorizer's TTL; a fresh Authorization value misses the cache.
    const reply = await api('GET', '/executions', undefined, { authorization: `bearer ${key}` });

    expect(reply.status).toBe(401);
  });
});
