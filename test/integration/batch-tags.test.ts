import { afterAll, describe, expect, it } from 'vitest';
import type { BatchItemResult, BatchResult } from '../../lambdas/domain/views.js';
import { api, start, waitFor, waitForStatus, type Execution, type Reply } from './client.js';

interface Page {
  items: Array<Execution & { tags: string[] | null; batch_id: string | null }>;
  next_cursor: string | null;
}

/** Every id a list gives, following next_cursor; and how many pages it took. */
async function readAll(path: string, limit = 100): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const reply: Reply<Page> = await api<Page>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...reply.body.items.map((item) => item.id));
    cursor = reply.body.next_cursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

/** Executions the tests leave waiting: cancelled at the end through the cancel route. */
const waiting: string[] = [];

afterAll(async () => {
  const pending = [...waiting];
  const worker = async () => {
    for (let id = pending.shift(); id !== undefined; id = pending.shift()) {
      const reply = await api('POST', `/executions/${id}/cancel`, { reason: 'test cleanup' });
      // 409: it had ended already.
      expect([200, 409]).toContain(reply.status);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}, 120_000);

describe('POST /executions/batch', () => {
  it('creates a batch of 1,000 executions, listable page by page with ?batch_id=; a batch cut short by time is finished by sending it again with its key', async () => {
    // A task that waits for input: the 1,000 executions start and stay, rather than all running at once on the local stack.
    const items = Array.from({ length: 1000 }, (_, index) => ({ task_id: 'test-child-holder', input: {}, metadata: { n: index } }));
    const key = `batch-1000-${Date.now()}`;
    const started = Date.now();
    const requests: Array<{ status: number; ms: number; created: number; notAttempted: number }> = [];
    let reply: Reply<BatchResult>;
    const ids = new Map<number, string>();
    do {
      const sent = Date.now();
      reply = await api<BatchResult>('POST', '/executions/batch', { items }, { 'idempotency-key': key });
      const results = (reply.body.items ?? []) as BatchItemResult[];
      expect(results.map((item) => item.index)).toEqual(items.map((_, index) => index));
      for (const item of results) {
        if (!item.execution) continue;
        // Never a second execution for an item: a resent batch answers the one it created.
        if (ids.has(item.index)) expect(item.execution.id).toBe(ids.get(item.index));
        ids.set(item.index, item.execution.id);
      }
      requests.push({
        status: reply.status,
        ms: Date.now() - sent,
        created: results.filter((item) => item.status === 201).length,
        notAttempted: results.filter((item) => item.status === 503).length,
      });
      // Only items the batch had no time for fail: the rest is created or replayed.
      expect(results.every((item) => item.status < 300 || item.status === 503), JSON.stringify(results.find((item) => item.status >= 300 && item.status !== 503))).toBe(true);
    } while (reply.status !== 200 && Date.now() - started < 75_000);
    waiting.push(...ids.values());
    console.log(`batch of 1,000: ${Date.now() - started} ms in ${requests.length} request(s): ${JSON.stringify(requests)}`);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ succeeded: 1000, failed: 0 });
    // Each request answered within API Gateway's 30 s, its unfinished items as 503s.
    for (const request of requests) expect(request.ms).toBeLessThan(30_000);
    expect(new Set(ids.values()).size).toBe(1000);

    const listed = await readAll(`/executions?batch_id=${reply.body.batch_id}&direction=asc`);
    // Ten full pages, and an empty eleventh when the tenth ended exactly at the last item (a Query
    // that fills its Limit cannot tell whether more follow).
    expect(listed.pages).toBeGreaterThanOrEqual(10);
    expect(listed.pages).toBeLessThanOrEqual(11);
    expect(listed.ids).toEqual([...ids.values()].sort());
    // Each execution holds its own item's metadata (the results name executions; GET shows them whole).
    const sample = await api<Execution>('GET', `/executions/${ids.get(617)!}`);
    expect(sample.body.metadata).toEqual({ n: 617 });
  }, 90_000);

  it('reports invalid items one by one (207) and creates the valid ones; a retry with the same key creates nothing twice', async () => {
    const items = [
      { task_id: 'test-noop', input: { n: 1 } },
      { task_id: 'test-noop', input: { n: 'one' } },
      { task_id: 'no-such-task', input: {} },
      { task_id: 'test-noop', input: { n: 3 }, tags: ['bad tag'] },
      { task_id: 'test-noop', input: { n: 4 }, tags: ['ok'] },
    ];
    const key = `partial-${Date.now()}`;

    const first = await api<BatchResult>('POST', '/executions/batch', { items }, { 'idempotency-key': key });
    const retry = await api<BatchResult>('POST', '/executions/batch', { items }, { 'idempotency-key': key });

    expect(first.status).toBe(207);
    expect(first.body.items.map((item) => item.status)).toEqual([201, 400, 404, 400, 201]);
    expect(first.body.items[1]!.error).toMatchObject({ status: 400, errors: [expect.objectContaining({ path: expect.stringMatching(/^\/items\/1\/input/) })] });
    expect(retry.body.batch_id).toBe(first.body.batch_id);
    expect(retry.body.items.map((item) => item.status)).toEqual([200, 400, 404, 400, 200]);
    expect(retry.body.items[4]!.execution!.id).toBe(first.body.items[4]!.execution!.id);
    const listed = await readAll(`/executions?batch_id=${first.body.batch_id}`);
    expect(listed.ids.sort()).toEqual([first.body.items[0]!.execution!.id, first.body.items[4]!.execution!.id].sort());
  });

  it('answers a batch of only invalid items with a 422 problem listing each', async () => {
    const reply = await api<{ status: number; items: BatchItemResult[] }>('POST', '/executions/batch', { items: [{ task_id: 'test-noop', input: {} }] });

    expect(reply.status).toBe(422);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.body.items.map((item) => item.status)).toEqual([400]);
  });
});

describe('tags', () => {
  const tag = `run-${Date.now()}`;

  it('sets tags at create (batch) and by edit, and lists by tag combined with status and task, page by page', async () => {
    const batch = await api<BatchResult>('POST', '/executions/batch', {
      items: [
        { task_id: 'test-noop', input: { n: 1 }, tags: [tag, 'fast'] },
        { task_id: 'test-child-holder', input: {}, tags: [tag] },
        { task_id: 'test-noop', input: { n: 2 } },
      ],
    });
    expect(batch.status).toBe(200);
    const [done, held, untagged] = batch.body.items.map((item) => item.execution!);
    waiting.push(held!.id);
    expect(done!).toMatchObject({ tags: [tag, 'fast'] });
    await waitForStatus(done!.id, 'succeeded');
    await waitForStatus(held!.id, 'awaiting_input');
    await waitForStatus(untagged!.id, 'succeeded');

    // Tag a finished execution by edit: the edit's transaction writes its index item.
    const edited = await api<Execution & { tags: string[] }>('PUT', `/executions/${untagged!.id}/tags`, { tags: [tag, 'edited'] });
    expect(edited.status).toBe(200);
    expect(edited.body.tags).toEqual([tag, 'edited']);

    // The stream consumer indexes the tags given at create (asynchronously).
    let tagged: string[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      tagged = (await readAll(`/executions?tag=${tag}`, 1)).ids;
      if (tagged.length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(tagged.sort()).toEqual([done!.id, held!.id, untagged!.id].sort());

    expect((await readAll(`/executions?tag=${tag}&status=succeeded`)).ids.sort()).toEqual([done!.id, untagged!.id].sort());
    expect((await readAll(`/executions?tag=${tag}&status=awaiting_input&task_id=test-child-holder`)).ids).toEqual([held!.id]);
    expect((await readAll(`/tasks/test-noop/executions?tag=${tag}`)).ids.sort()).toEqual([done!.id, untagged!.id].sort());
    // Several tags: all must match (repeated or comma-separated).
    expect((await readAll(`/executions?tag=${tag}&tag=fast`)).ids).toEqual([done!.id]);
    expect((await readAll(`/executions?tag=${tag},edited`)).ids).toEqual([untagged!.id]);

    // Removing a tag takes the execution out of the tag's list at once.
    await api('PUT', `/executions/${done!.id}/tags`, { tags: ['fast'] });
    expect((await readAll(`/executions?tag=${tag}`)).ids.sort()).toEqual([held!.id, untagged!.id].sort());
  });

  it('refuses bad tags, another tenant\'s execution and offset with tag', async () => {
    const created = await start('test-noop', { n: 9 });

    expect((await api('PUT', `/executions/${created.id}/tags`, { tags: ['a#b'] })).status).toBe(400);
    expect((await api('PUT', `/executions/${created.id}/tags`, { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) })).status).toBe(400);
    expect((await api('PUT', '/executions/01936c2e-0000-7000-8000-000000000000/tags', { tags: [] })).status).toBe(404);
    expect((await api('GET', '/executions?tag=a&offset=5')).status).toBe(400);
    expect((await api('GET', '/executions?tag=a%23b')).status).toBe(400);
  });
});

describe('metadata_filter (Julep)', () => {
  it('keeps the executions whose metadata has every key and value, page by page', async () => {
    const marker = `m-${Date.now()}`;
    const since = new Date(Date.now() - 1000).toISOString();
    const created = await Promise.all([0, 1, 2, 3].map((n) => start('test-noop', { n }, { marker, parity: n % 2 })));
    await waitFor(created[3]!.id, (execution) => execution.status === 'succeeded');
    const filter = encodeURIComponent(JSON.stringify({ marker, parity: 1 }));

    // Bounded to this test's executions by time: other tests start test-noop's too.
    const matched = await readAll(`/tasks/test-noop/executions?metadata_filter=${filter}&created_after=${since}`, 2);

    expect(matched.ids.sort()).toEqual([created[1]!.id, created[3]!.id].sort());
    expect((await api('GET', `/executions?metadata_filter=${encodeURIComponent('{"a":')}`)).status).toBe(400);
    expect((await api('GET', `/executions?metadata_filter=${encodeURIComponent('[1]')}`)).status).toBe(400);
  });
});
