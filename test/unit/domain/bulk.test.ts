import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BULK_JOB_ID_PATTERN,
  BULK_LIMITS,
  NO_PROGRESS,
  bulkJobTime,
  isActiveJob,
  newBulkJobId,
  outcomeOfError,
  pageLimit,
  planCommit,
  snapshotBound,
  toBulkJobView,
  type BulkItemOutcome,
} from '../../../lambdas/domain/bulk.js';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../../../lambdas/domain/errors.js';

describe('bulk job ids', () => {
  it('carry their creation time and sort by it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 10 ** 6 }), (ms, later) => {
        const first = newBulkJobId(ms);
        const second = newBulkJobId(ms + later);
        expect(first).toMatch(BULK_JOB_ID_PATTERN);
        expect(bulkJobTime(first)).toBe(ms);
        expect(first < second).toBe(true);
      }),
    );
  });

  it('are not execution ids, nor anything with a path or a key in it', () => {
    for (const value of ['0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70', 'bulk_../x', `bulk_${'0'.repeat(32)}`, '__proto__', `BULK_${newBulkJobId().slice(5)}`]) {
      expect(BULK_JOB_ID_PATTERN.test(value), value).toBe(false);
    }
  });
});

describe('the job status machine', () => {
  it('is active while queued or running, and final once succeeded, failed or cancelled', () => {
    expect(['queued', 'running'].every((status) => isActiveJob(status as 'queued'))).toBe(true);
    expect(['succeeded', 'failed', 'cancelled'].some((status) => isActiveJob(status as 'failed'))).toBe(false);
  });

  it('finishes when the index has nothing more, counting each outcome', () => {
    const outcomes: BulkItemOutcome[] = ['succeeded', 'skipped', 'failed', 'succeeded'];
    const commit = planCommit({ maxItems: 100, progress: NO_PROGRESS }, outcomes, { lastId: 'b', more: false });
    expect(commit).toEqual({ delta: { matched: 4, succeeded: 2, failed: 1, skipped: 1 }, cursor: 'b', finished: true, limitReached: false });
  });

  it('goes on while the index has more and max_items is not reached', () => {
    const commit = planCommit({ maxItems: 100, progress: { ...NO_PROGRESS, matched: 50 } }, ['succeeded'], { lastId: 'c', more: true });
    expect(commit.finished).toBe(false);
    expect(commit.cursor).toBe('c');
  });

  it('stops at max_items, saying the limit was reached only when the index may hold more', () => {
    const progress = { ...NO_PROGRESS, matched: 9 };
    expect(planCommit({ maxItems: 10, progress }, ['succeeded'], { lastId: 'x', more: true })).toMatchObject({ finished: true, limitReached: true });
    expect(planCommit({ maxItems: 10, progress }, ['succeeded'], { lastId: 'x', more: false })).toMatchObject({ finished: true, limitReached: false });
  });

  it('keeps the old cursor when a page read nothing', () => {
    expect(planCommit({ maxItems: 10, progress: NO_PROGRESS, cursor: 'old' }, [], { more: false }).cursor).toBe('old');
  });

  it('never reads more than what is left of max_items', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: BULK_LIMITS.maxItems }), fc.integer({ min: 0, max: BULK_LIMITS.maxItems }), (maxItems, matched) => {
        const limit = pageLimit({ maxItems, progress: { ...NO_PROGRESS, matched } });
        expect(limit).toBeGreaterThanOrEqual(0);
        expect(limit).toBeLessThanOrEqual(BULK_LIMITS.pageSize);
        expect(matched + limit <= Math.max(maxItems, matched)).toBe(true);
      }),
    );
  });

  it('matches executions created up to the job\'s own creation (a snapshot), or created_before if earlier', () => {
    const id = newBulkJobId(5_000);
    expect(snapshotBound({ id, filter: {} })).toBe(5_000);
    expect(snapshotBound({ id, filter: { createdBefore: 4_000 } })).toBe(4_000);
    expect(snapshotBound({ id, filter: { createdBefore: 9_000 } })).toBe(5_000);
  });
});

describe('item outcomes', () => {
  it('a 409 (already terminal, a concurrent change won) is skipped with its problem, not a failure', () => {
    const { outcome, problem } = outcomeOfError(new ConflictError('Only a running execution can be cancelled; this one is succeeded.'));
    expect(outcome).toBe('skipped');
    expect(problem).toMatchObject({ status: 409, type: '/problems/conflict' });
  });

  it('another refusal is failed with its problem; an unknown error is failed with a 503 that shows nothing of it', () => {
    expect(outcomeOfError(new NotFoundError('No execution x exists.'))).toMatchObject({ outcome: 'failed', problem: { status: 404 } });
    expect(outcomeOfError(new ServiceUnavailableError('later'))).toMatchObject({ outcome: 'failed', problem: { status: 503 } });
    const unknown = outcomeOfError(new Error('secret internals'));
    expect(unknown).toMatchObject({ outcome: 'failed', problem: { status: 503 } });
    expect(JSON.stringify(unknown)).not.toContain('secret internals');
  });
});

describe('the job view', () => {
  it('shows every field, nulls for what is absent, and links on the API', () => {
    const id = newBulkJobId(Date.parse('2026-03-01T00:00:00Z'));
    const view = toBulkJobView(
      {
        tenant: 't',
        id,
        action: 'cancel',
        filter: { taskId: 'sample-pipeline', createdAfter: Date.parse('2026-02-01T00:00:00Z') },
        maxItems: 10,
        status: 'queued',
        progress: NO_PROGRESS,
        limitReached: false,
        version: 0,
        pageAttempts: 0,
        createdAt: '2026-03-01T00:00:00.000Z',
        updatedAt: '2026-03-01T00:00:00.000Z',
      },
      'https://api.example.com',
    );
    expect(view).toEqual({
      id,
      status: 'queued',
      action: 'cancel',
      filter: { task_id: 'sample-pipeline', status: null, created_after: '2026-02-01T00:00:00.000Z', created_before: null, tag: null },
      reason: null,
      max_items: 10,
      progress: NO_PROGRESS,
      limit_reached: false,
      error: null,
      created_at: '2026-03-01T00:00:00.000Z',
      updated_at: '2026-03-01T00:00:00.000Z',
      finished_at: null,
      url: `https://api.example.com/bulk-actions/${id}`,
      items_url: `https://api.example.com/bulk-actions/${id}/items`,
      cancel_url: `https://api.example.com/bulk-actions/${id}/cancel`,
    });
  });
});
