import Julep from '@julep/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIMIT } from '../../lambdas/api/queries.js';
import { api, apiKey, baseUrl, start, waitFor, type Execution } from './client.js';

const COUNT = 250;
let ids: string[] = [];

interface Page {
  items: Execution[];
  next_cursor: string | null;
}

async function readAll(path: string, limit: number, direction: 'asc' | 'desc'): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}&direction=${direction}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const reply = await api<Page>('GET', `${path}${path.includes('?') ? '&' : '?'}${query}`);
    expect(reply.status).toBe(200);
    expect(reply.body.items.length).toBeLessThanOrEqual(limit);
    seen.push(...reply.body.items.map((item) => item.id));
    cursor = reply.body.next_cursor;
  } while (cursor);
  return seen;
}

describe('listing executions', () => {
  beforeAll(async () => {
    const created: Execution[] = [];
    for (let batch = 0; batch < COUNT / 25; batch++) {
      created.push(...(await Promise.all(Array.from({ length: 25 }, (_, i) => start('test-list', { n: batch * 25 + i })))));
    }
    ids = created.map((execution) => execution.id).sort();
    await waitFor(ids.at(-1)!, (execution) => execution.status === 'succeeded');
  }, 120_000);

  it('pages through 250 executions with every page size from 1 to 100, both orders, without duplicates or gaps', async () => {
    const limits = Array.from({ length: 100 }, (_, i) => i + 1);
    const failures: string[] = [];
    // Eight page sizes at a time: the pages of one size still follow each other by cursor.
    const worker = async () => {
      for (let limit = limits.shift(); limit !== undefined; limit = limits.shift()) {
        const ascending = await readAll('/tasks/test-list/executions', limit, 'asc');
        const descending = await readAll('/tasks/test-list/executions', limit, 'desc');
        if (JSON.stringify(ascending) !== JSON.stringify(ids)) failures.push(`asc, limit ${limit}`);
        if (JSON.stringify(descending) !== JSON.stringify([...ids].reverse())) failures.push(`desc, limit ${limit}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    expect(failures).toEqual([]);
  }, 180_000);

  it('filters by status and task on the convenience route', async () => {
    await Promise.all(ids.map((id) => waitFor(id, (execution) => execution.status === 'succeeded')));

    const succeeded = await readAll('/executions?task_id=test-list&status=succeeded', 100, 'asc');
    const queued = await api<Page>('GET', '/executions?task_id=test-list&status=queued');
    const aliased = await api<Page>('GET', '/executions?task_id=test-list&status=completed&limit=5');

    expect(succeeded).toEqual(ids);
    expect(queued.body.items).toEqual([]);
    expect(aliased.body.items.every((item) => item.status === 'succeeded')).toBe(true);
    expect(aliased.body.items).toHaveLength(5);
  });

  it.each(['completed_at', 'started_at'] as const)('sorts by %s both ways, page by page, with the task and status filters on both routes', async (order) => {
    await Promise.all(ids.map((id) => waitFor(id, (execution) => execution.status === 'succeeded')));
    const sorted = async (path: string, direction: 'asc' | 'desc') => {
      const seen: Array<{ id: string; at: string | null }> = [];
      let cursor: string | null = null;
      do {
        const reply: { status: number; body: Page } = await api<Page>('GET', `${path}&limit=7&direction=${direction}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(reply.status).toBe(200);
        seen.push(...reply.body.items.map((item) => ({ id: item.id, at: item[order] })));
        cursor = reply.body.next_cursor;
      } while (cursor);
      return seen;
    };

    for (const path of [`/tasks/test-list/executions?sort_by=${order}`, `/executions?sort_by=${order}&task_id=test-list&status=succeeded`]) {
      const ascending = await sorted(path, 'asc');
      const descending = await sorted(path, 'desc');
      for (const [direction, list] of [['asc', ascending], ['desc', descending]] as const) {
        expect([...list.map((item) => item.id)].sort(), `${path} ${direction}`).toEqual(ids);
        const times = list.map((item) => item.at!);
        expect(times, `${path} ${direction}`).toEqual([...times].sort((a, b) => (direction === 'asc' ? a.localeCompare(b) : b.localeCompare(a))));
      }
    }
    const running = await api<Page>('GET', `/executions?sort_by=${order}&task_id=test-list&status=running`);
    expect(running.body.items).toEqual([]);
  }, 60_000);

  it('refuses sort_by=updated_at saying why, and completed_at or started_at with a tag list', async () => {
    for (const query of ['sort_by=updated_at', 'sort_by=completed_at&tag=x', 'sort_by=started_at&tag=x']) {
      const reply = await api<{ errors: Array<{ path: string }>; detail: string }>('GET', `/executions?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.errors.map((error) => error.path), query).toEqual(['query.sort_by']);
    }
    const refused = await api<{ detail: string }>('GET', '/executions?sort_by=updated_at');
    expect(refused.body.detail).toContain('every status change and progress report would move the execution');
  });

  it('lists by an active status (by-open) and by an ended one (by-ended), both ways, page by page, with and without the task', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const held = (await Promise.all(Array.from({ length: 23 }, (_, n) => start('test-list-hold', { n })))).map((execution) => execution.id).sort();
    await Promise.all(held.map((id) => waitFor(id, (execution) => execution.status === 'awaiting_input')));
    const mine = new Set(held);
    const window = `created_after=${encodeURIComponent(since)}`;

    for (const direction of ['asc', 'desc'] as const) {
      const expected = direction === 'asc' ? held : [...held].reverse();
      expect(await readAll(`/executions?status=awaiting_input&task_id=test-list-hold`, 5, direction), direction).toEqual(expected);
      expect(await readAll(`/tasks/test-list-hold/executions?status=awaiting_input&${window}`, 7, direction), direction).toEqual(expected);
      // Other tenants' and tasks' open executions share the index; the tenant's range holds only its own.
      expect((await readAll(`/executions?status=awaiting_input&${window}`, 100, direction)).filter((id) => mine.has(id)), direction).toEqual(expected);
    }
    expect((await api<Page>('GET', '/executions?status=running&task_id=test-list-hold')).body.items).toEqual([]);
    expect((await api<Page>('GET', '/executions?status=awaiting_input&task_id=test-list')).body.items).toEqual([]);

    // Cancelled: each leaves by-open and enters by-ended in the same write.
    for (const id of held.slice(0, 11)) expect((await api('POST', `/executions/${id}/cancel`, { reason: 'listing test' })).status).toBe(200);
    await Promise.all(held.slice(0, 11).map((id) => waitFor(id, (execution) => execution.status === 'cancelled')));
    for (const direction of ['asc', 'desc'] as const) {
      const cancelled = held.slice(0, 11);
      const waiting = held.slice(11);
      expect(await readAll('/executions?status=cancelled&task_id=test-list-hold', 4, direction)).toEqual(direction === 'asc' ? cancelled : [...cancelled].reverse());
      expect(await readAll('/executions?status=awaiting_input&task_id=test-list-hold', 4, direction)).toEqual(direction === 'asc' ? waiting : [...waiting].reverse());
    }
    for (const id of held.slice(11)) await api('POST', `/executions/${id}/cancel`, { reason: 'listing test' });
  }, 120_000);

  it('filters by creation time', async () => {
    const middle = (await api<Execution>('GET', `/executions/${ids[125]!}`)).body.created_at;

    const after = await readAll(`/tasks/test-list/executions?created_after=${encodeURIComponent(middle)}`, 100, 'asc');

    expect(after.length).toBeGreaterThan(0);
    expect(after).toContain(ids[125]);
    expect(after.every((id) => ids.indexOf(id) >= 100)).toBe(true);
  });

  it("gives the Julep SDK Julep's default of 100 executions of a task without a limit (it got 20); the convenience route keeps 20", async () => {
    const client = new Julep({ apiKey: apiKey(), baseURL: baseUrl(), maxRetries: 0 });

    const julep = await client.executions.list('test-list');
    const convenience = await api<Page>('GET', '/executions?task_id=test-list');

    expect(julep.items).toHaveLength(LIMIT.julepDefault);
    expect(convenience.body.items).toHaveLength(LIMIT.default);
  });

  it('supports Julep offset paging', async () => {
    const first = await api<Page>('GET', '/tasks/test-list/executions?limit=10&offset=0&direction=asc');
    const second = await api<Page>('GET', '/tasks/test-list/executions?limit=10&offset=10&direction=asc');

    expect(first.body.items.map((item) => item.id)).toEqual(ids.slice(0, 10));
    expect(second.body.items.map((item) => item.id)).toEqual(ids.slice(10, 20));
  });

  it('answers 400 to a bad or foreign cursor', async () => {
    const page = await api<Page>('GET', '/tasks/test-list/executions?limit=5');

    const tampered = await api('GET', `/tasks/test-list/executions?limit=5&cursor=${page.body.next_cursor!.slice(0, -2)}xx`);
    const foreign = await api('GET', `/executions?status=failed&limit=5&cursor=${page.body.next_cursor!}`);
    const garbage = await api('GET', '/executions?cursor=not-a-cursor');

    for (const reply of [tampered, foreign, garbage]) {
      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
