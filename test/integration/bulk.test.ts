import { describe, expect, it } from 'vitest';
import { api, type Execution } from './client.js';

/** A bulk action as the API shows it. */
interface BulkAction {
  readonly id: string;
  readonly status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly progress: { matched: number; succeeded: number; failed: number; skipped: number };
  readonly limit_reached: boolean;
  readonly items_url: string;
  readonly finished_at: string | null;
}

interface BulkItem {
  readonly execution_id: string;
  readonly outcome: 'succeeded' | 'failed' | 'skipped';
  readonly problem: { status: number } | null;
}

const TASK = 'test-bulk';
const BATCH = 10;

/** Creates `count` executions of the bulk test task, `BATCH` at a time; returns their ids and the time it took. */
async function createMany(count: number): Promise<{ ids: string[]; ms: number }> {
  const started = performance.now();
  const ids: string[] = [];
  for (let offset = 0; offset < count; offset += BATCH) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - offset) }, (_, index) => api<Execution>('POST', `/tasks/${TASK}/executions`, { input: { n: offset + index } })),
    );
    for (const reply of replies) {
      expect(reply.status).toBe(201);
      ids.push(reply.body.id);
    }
  }
  return { ids, ms: Math.round(performance.now() - started) };
}

/** Every execution a list query finds, page by page. */
async function listAll(query: string): Promise<Execution[]> {
  const found: Execution[] = [];
  let cursor: string | null = null;
  do {
    const reply: { body: { items: Execution[]; next_cursor: string | null } } = await api('GET', `/executions?${query}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    found.push(...reply.body.items);
    cursor = reply.body.next_cursor;
  } while (cursor);
  return found;
}

/** Polls until every one of `ids` is in `status`. */
async function waitUntilAll(ids: readonly string[], status: string, after: string, timeoutMs = 60_000): Promise<void> {
  const wanted = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await listAll(`task_id=${TASK}&status=${status}&created_after=${encodeURIComponent(after)}`)).filter((execution) => wanted.has(execution.id));
    if (found.length === wanted.size) return;
    if (Date.now() > deadline) throw new Error(`${found.length} of ${wanted.size} executions are ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function job(id: string): Promise<BulkAction> {
  const reply = await api<BulkAction>('GET', `/bulk-actions/${id}`);
  expect(reply.status).toBe(200);
  return reply.body;
}

/** Polls a job until it has ended. */
async function settled(id: string, timeoutMs = 120_000): Promise<BulkAction> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await job(id);
    if (!['queued', 'running'].includes(current.status)) return current;
    if (Date.now() > deadline) throw new Error(`bulk action ${id} still ${current.status}: ${JSON.stringify(current.progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function allItems(id: string): Promise<{ items: BulkItem[]; pages: number }> {
  const items: BulkItem[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const reply: { status: number; body: { items: BulkItem[]; next_cursor: string | null } } = await api(
      'GET',
      `/bulk-actions/${id}/items?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(reply.status).toBe(200);
    items.push(...reply.body.items);
    cursor = reply.body.next_cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

async function accept(body: unknown, headers: Record<string, string> = {}): Promise<BulkAction> {
  const reply = await api<BulkAction>('POST', '/bulk-actions', body, headers);
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  return reply.body;
}

describe('bulk cancel on the local stack', () => {
  it('cancels 300 waiting executions as one job: 300 succeeded items, every execution cancelled; a second job over the same filter matches none, one over the task skips all 300', async () => {
    const since = new Date().toISOString();
    const created = await createMany(300);
    await waitUntilAll(created.ids, 'awaiting_input', since);

    const filter = { task_id: TASK, status: 'awaiting_input', created_after: since };
    const started = performance.now();
    const accepted = await accept({ action: 'cancel', filter, reason: 'bulk integration test' }, { 'idempotency-key': `bulk-it-${since}` });
    expect(accepted.status).toBe('queued');
    // A retried request with its key answers the same job.
    const retried = await api<BulkAction>('POST', '/bulk-actions', { action: 'cancel', filter, reason: 'bulk integration test' }, { 'idempotency-key': `bulk-it-${since}` });
    expect(retried).toMatchObject({ status: 200, body: { id: accepted.id } });

    const done = await settled(accepted.id);
    const cancelMs = Math.round(performance.now() - started);
    console.info(`bulk cancel: created 300 executions in ${created.ms} ms (${BATCH} at a time); cancelled them in ${cancelMs} ms`);
    expect(done).toMatchObject({ status: 'succeeded', progress: { matched: 300, succeeded: 300, failed: 0, skipped: 0 }, limit_reached: false });

    const cancelled = (await listAll(`task_id=${TASK}&status=cancelled&created_after=${encodeURIComponent(since)}`)).map((execution) => execution.id);
    expect(new Set(cancelled)).toEqual(new Set(created.ids));
    const one = await api<Execution & { cancel_reason: string }>('GET', `/executions/${created.ids[0]!}`);
    expect(one.body.cancel_reason).toBe('bulk integration test');

    const { items, pages } = await allItems(accepted.id);
    expect(pages).toBe(3);
    expect(items).toHaveLength(300);
    expect(new Set(items.map((item) => item.execution_id))).toEqual(new Set(created.ids));
    expect(items.every((item) => item.outcome === 'succeeded' && item.problem === null)).toBe(true);

    const again = await settled((await accept({ action: 'cancel', filter })).id);
    expect(again).toMatchObject({ status: 'succeeded', progress: { matched: 0, succeeded: 0, failed: 0, skipped: 0 } });

    const byTask = await settled((await accept({ action: 'cancel', filter: { task_id: TASK, created_after: since } })).id);
    expect(byTask).toMatchObject({ status: 'succeeded', progress: { matched: 300, succeeded: 0, failed: 0, skipped: 300 } });
    const skipped = await allItems(byTask.id);
    expect(skipped.items.every((item) => item.outcome === 'skipped' && item.problem?.status === 409)).toBe(true);

    const listed = await api<{ items: BulkAction[] }>('GET', '/bulk-actions?limit=3');
    expect(listed.body.items.map((item) => item.id)).toEqual([byTask.id, again.id, accepted.id].sort().reverse());
  }, 300_000);

  it('a job cancelled midway stops: what it did stays done and counted, the rest is left alone', async () => {
    const since = new Date().toISOString();
    const created = await createMany(250);
    await waitUntilAll(created.ids, 'awaiting_input', since);

    const accepted = await accept({ action: 'cancel', filter: { task_id: TASK, status: 'awaiting_input', created_after: since } });
    // Midway: once its first page is committed (50 of 250), while its next pages remain.
    for (const deadline = Date.now() + 30_000; (await job(accepted.id)).progress.matched === 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const cancel = await api<BulkAction>('POST', `/bulk-actions/${accepted.id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    expect((await api('POST', `/bulk-actions/${accepted.id}/cancel`)).status).toBe(409);

    // A page in progress when it was cancelled completes and is counted; then nothing moves.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stopped = await job(accepted.id);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await job(accepted.id)).toEqual(stopped);
    expect(stopped.status).toBe('cancelled');
    expect(stopped.progress.matched).toBeGreaterThan(0);
    expect(stopped.progress.matched).toBeLessThan(250);
    console.info(`bulk cancel stopped midway: ${stopped.progress.matched} of 250 handled before it stopped`);

    const mine = new Set(created.ids);
    const cancelled = (await listAll(`task_id=${TASK}&status=cancelled&created_after=${encodeURIComponent(since)}`)).filter((execution) => mine.has(execution.id));
    const waiting = (await listAll(`task_id=${TASK}&status=awaiting_input&created_after=${encodeURIComponent(since)}`)).filter((execution) => mine.has(execution.id));
    expect(cancelled).toHaveLength(stopped.progress.succeeded);
    expect(waiting).toHaveLength(250 - stopped.progress.succeeded);
    expect((await allItems(accepted.id)).items).toHaveLength(stopped.progress.matched);

    // Clean up: the rest, as one more job.
    const rest = await settled((await accept({ action: 'cancel', filter: { task_id: TASK, status: 'awaiting_input', created_after: since } })).id);
    expect(rest.progress.succeeded).toBe(250 - stopped.progress.succeeded);
  }, 300_000);

  it('refuses a bad filter with a 400 and another tenant\'s or an unknown job with a 404', async () => {
    expect((await api('POST', '/bulk-actions', { action: 'cancel', filter: { tag: 'x' } })).status).toBe(400);
    expect((await api('POST', '/bulk-actions', { action: 'retry', filter: {} })).status).toBe(400);
    expect((await api('GET', '/bulk-actions/bulk_0190d7a45b3c7d2e8f1a2b3c4d5e6f70')).status).toBe(404);
    expect((await api('GET', '/bulk-actions/nope/items')).status).toBe(404);
  });
});
