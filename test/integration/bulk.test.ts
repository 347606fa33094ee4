import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, start, waitForStatus, type Execution } from './client.js';

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
  readonly result_execution_id: string | null;
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

  it('a cancel by tag cancels only the executions created with that tag (read from the tag index), leaving the others alone', async () => {
    const since = new Date().toISOString();
    const tag = `bulk-${Date.now()}`;
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        api<Execution>('POST', '/executions', { task_id: TASK, input: { n: index }, ...(index % 2 === 0 ? { tags: [tag, 'other'] } : {}) }),
      ),
    );
    for (const reply of replies) expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const ids = replies.map((reply) => reply.body.id);
    const tagged = ids.filter((_, index) => index % 2 === 0);
    const untagged = ids.filter((_, index) => index % 2 === 1);
    await waitUntilAll(ids, 'awaiting_input', since);
    // The stream consumer writes the tag index asynchronously: wait until it lists the three.
    for (const deadline = Date.now() + 15_000; (await listAll(`tag=${tag}`)).length < tagged.length && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const done = await settled((await accept({ action: 'cancel', filter: { tag, status: 'awaiting_input' } })).id);
    expect(done).toMatchObject({ status: 'succeeded', progress: { matched: 3, succeeded: 3, failed: 0, skipped: 0 } });
    expect(new Set((await allItems(done.id)).items.map((item) => item.execution_id))).toEqual(new Set(tagged));
    for (const id of tagged) expect((await api<Execution>('GET', `/executions/${id}`)).body.status).toBe('cancelled');
    for (const id of untagged) expect((await api<Execution>('GET', `/executions/${id}`)).body.status).toBe('awaiting_input');

    // Clean up: the untagged ones.
    await settled((await accept({ action: 'cancel', filter: { task_id: TASK, status: 'awaiting_input', created_after: since } })).id);
  }, 120_000);

  it('refuses a bad filter with a 400 and another tenant\'s or an unknown job with a 404', async () => {
    expect((await api('POST', '/bulk-actions', { action: 'cancel', filter: { tag: 'a#b' } })).status).toBe(400);
    expect((await api('POST', '/bulk-actions', { action: 'rerun', filter: {} })).status).toBe(400);
    expect((await api('GET', '/bulk-actions/bulk_0190d7a45b3c7d2e8f1a2b3c4d5e6f70')).status).toBe(404);
    expect((await api('GET', '/bulk-actions/nope/items')).status).toBe(404);
  });
});

describe('bulk retry and replay on the local stack', () => {
  const RETRY_TASK = 'test-bulk-retry';
  const scratch = mkdtempSync(join(tmpdir(), 'bulk-retry-it-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  interface Recovered extends Execution {
    readonly retry_count: number | null;
    readonly replayed_from: string | null;
    readonly output: unknown;
  }

  it('retries several failed executions as one job: each resumes and succeeds with retry_count 1; a second job over the task skips them all (409)', async () => {
    const dir = mkdtempSync(join(scratch, 'retry-'));
    const since = new Date().toISOString();
    const created = await Promise.all([1, 2, 3, 4].map((n) => start(RETRY_TASK, { dir, n })));
    for (const execution of created) await waitForStatus(execution.id, 'failed');

    writeFileSync(join(dir, 'ready'), '');
    const retried = await settled((await accept({ action: 'retry', filter: { task_id: RETRY_TASK, status: 'failed', created_after: since } })).id);
    expect(retried).toMatchObject({ status: 'succeeded', progress: { matched: 4, succeeded: 4, failed: 0, skipped: 0 } });
    const { items } = await allItems(retried.id);
    expect(new Set(items.map((item) => item.execution_id))).toEqual(new Set(created.map((execution) => execution.id)));
    expect(items.every((item) => item.result_execution_id === null)).toBe(true);
    for (const [index, execution] of created.entries()) {
      expect(await waitForStatus(execution.id, 'succeeded')).toMatchObject({ retry_count: 1, output: { n: (index + 1) * 10 } });
    }

    const again = await settled((await accept({ action: 'retry', filter: { task_id: RETRY_TASK, created_after: since } })).id);
    expect(again).toMatchObject({ status: 'succeeded', progress: { matched: 4, succeeded: 0, skipped: 4 } });
    expect((await allItems(again.id)).items.every((item) => item.outcome === 'skipped' && item.problem?.status === 409)).toBe(true);
  }, 180_000);

  it('replays executions as one job: one new execution each, replayed_from its original and named by its item; the same request again replays nothing more', async () => {
    const dir = mkdtempSync(join(scratch, 'replay-'));
    writeFileSync(join(dir, 'ready'), '');
    const since = new Date().toISOString();
    const created = await Promise.all([1, 2, 3].map((n) => start(RETRY_TASK, { dir, n })));
    for (const execution of created) await waitForStatus(execution.id, 'succeeded');

    const body = { action: 'replay', filter: { task_id: RETRY_TASK, created_after: since } };
    const key = { 'idempotency-key': `bulk-replay-it-${since}` };
    const accepted = await accept(body, key);
    const done = await settled(accepted.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: { matched: 3, succeeded: 3, failed: 0, skipped: 0 } });
    // The same request with its key is the same job: nothing is replayed again.
    const repeated = await api<BulkAction>('POST', '/bulk-actions', body, key);
    expect(repeated).toMatchObject({ status: 200, body: { id: accepted.id, status: 'succeeded' } });

    const { items } = await allItems(accepted.id);
    const originals = new Set(created.map((execution) => execution.id));
    expect(new Set(items.map((item) => item.execution_id))).toEqual(originals);
    for (const item of items) {
      expect(item.outcome).toBe('succeeded');
      const replay = await waitForStatus(item.result_execution_id!, 'succeeded');
      expect(replay).toMatchObject({ replayed_from: item.execution_id, task_id: RETRY_TASK });
      expect((replay as Recovered).replayed_from).toBe(item.execution_id);
    }
    // Exactly one replay each: the originals and their three replays, nothing more.
    const all = await listAll(`task_id=${RETRY_TASK}&created_after=${encodeURIComponent(since)}`);
    const replays = (all as Recovered[]).filter((execution) => execution.replayed_from !== null && originals.has(execution.replayed_from));
    expect(replays).toHaveLength(3);
    expect(new Set(replays.map((execution) => execution.id))).toEqual(new Set(items.map((item) => item.result_execution_id)));
  }, 180_000);
});
