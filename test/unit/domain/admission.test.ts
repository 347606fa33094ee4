import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_DELAY_SECONDS,
  fromQueueSort,
  limitOf,
  planAdmission,
  queueSort,
  scopesOf,
  startTimeOf,
  type ConcurrencyLimits,
  type QueueEntry,
  type Scope,
} from '../../../lambdas/domain/admission.js';
import { ValidationError } from '../../../lambdas/domain/errors.js';

const NOW = Date.parse('2026-03-04T05:06:07.000Z');

describe('startTimeOf', () => {
  it('is undefined without a start, for a time that has passed, and for a delay of 0', () => {
    expect(startTimeOf(undefined, undefined, NOW)).toBeUndefined();
    expect(startTimeOf('2020-01-01T00:00:00Z', undefined, NOW)).toBeUndefined();
    expect(startTimeOf(undefined, 0, NOW)).toBeUndefined();
  });

  it('normalizes start_at to UTC and adds delay_seconds to now', () => {
    expect(startTimeOf('2026-03-04T07:06:07.5+02:00', undefined, NOW)).toBe('2026-03-04T05:06:07.500Z');
    expect(startTimeOf(undefined, 90, NOW)).toBe('2026-03-04T05:07:37.000Z');
    expect(startTimeOf(undefined, MAX_DELAY_SECONDS, NOW)).toBe(new Date(NOW + MAX_DELAY_SECONDS * 1000).toISOString());
  });

  it.each([
    ['more than 365 days ahead', '2027-03-05T05:06:07Z', undefined],
    ['a date that does not exist', '2026-02-30T00:00:00Z', undefined],
    ['both fields', '2026-03-05T00:00:00Z', 5],
  ])('refuses %s with a 400', (_case, startAt, delay) => {
    expect(() => startTimeOf(startAt, delay, NOW)).toThrow(ValidationError);
  });

  it('states the rule for a lone start_at it refuses, rather than reading as if delay_seconds came with it', () => {
    for (const startAt of ['2027-03-05T05:06:07Z', '2026-02-30T00:00:00Z']) {
      expect(() => startTimeOf(startAt, undefined, NOW)).toThrow(/^start_at must be a real date-time at most 365 days ahead/);
    }
  });
});

describe('queue order keys', () => {
  it('sort highest priority first, then by id, and read back', () => {
    const ids = ['01a0-a', '01a0-b'];
    const sorted = [queueSort(1, ids[0]!), queueSort(5, ids[1]!), queueSort(5, ids[0]!), queueSort(3, ids[1]!)].sort();
    expect(sorted.map(fromQueueSort)).toEqual([
      { priority: 5, id: ids[0] },
      { priority: 5, id: ids[1] },
      { priority: 3, id: ids[1] },
      { priority: 1, id: ids[0] },
    ]);
  });
});

describe('limitOf', () => {
  it('reads the tenant, per-task and per-key limits, never a limit of the keyless group or of Object.prototype names', () => {
    const limits: ConcurrencyLimits = { tenant: 4, perKey: 2, tasks: { a: 1 } };
    expect(limitOf(limits, 'TENANT')).toBe(4);
    expect(limitOf(limits, 'TASK#a')).toBe(1);
    expect(limitOf(limits, 'TASK#b')).toBeUndefined();
    expect(limitOf(limits, 'TASK#constructor')).toBeUndefined();
    expect(limitOf(limits, 'KEY#k')).toBe(2);
    expect(limitOf(limits, 'KEY#')).toBeUndefined();
  });
});

const entryArbitrary = fc.record({
  priority: fc.integer({ min: 1, max: 5 }),
  taskId: fc.constantFrom('a', 'b', '__proto__'),
  key: fc.constantFrom('', 'k1', 'k2', 'constructor'),
});

describe('planAdmission (property)', () => {
  it('never admits past a limit, admits while every scope has room, and keeps priority order', () => {
    fc.assert(
      fc.property(
        fc.array(entryArbitrary, { maxLength: 30 }),
        fc.record({ tenant: fc.integer({ min: 1, max: 6 }), perKey: fc.integer({ min: 1, max: 3 }), tasks: fc.constantFrom<Record<string, number>>({}, { a: 1 }, { b: 2 }) }, { requiredKeys: [] }),
        fc.array(fc.tuple(fc.constantFrom<Scope>('TENANT', 'TASK#a', 'KEY#k1'), fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
        (raw, limits, runningPairs) => {
          const waiting: QueueEntry[] = raw
            .map((entry, index) => ({ ...entry, id: `id-${String(index).padStart(3, '0')}` }))
            .sort((x, y) => y.priority - x.priority || (x.id < y.id ? -1 : 1));
          const running = new Map<Scope, number>(runningPairs);
          const plan = planAdmission(waiting, limits, running);

          // Within every limit, counting what already runs.
          const counts = new Map(running);
          for (const entry of plan.admit) for (const scope of scopesOf(entry.taskId, entry.key)) counts.set(scope, (counts.get(scope) ?? 0) + 1);
          for (const [scope, count] of counts) {
            const limit = limitOf(limits, scope);
            if (limit !== undefined && plan.admit.some((entry) => scopesOf(entry.taskId, entry.key).includes(scope))) {
              expect(count, scope).toBeLessThanOrEqual(Math.max(limit, running.get(scope) ?? 0));
            }
          }
          // Nothing left waiting could still have been admitted (work conserving).
          for (const entry of waiting.filter((candidate) => !plan.admit.includes(candidate))) {
            const room = scopesOf(entry.taskId, entry.key).every((scope) => {
              const limit = limitOf(limits, scope);
              return limit === undefined || (counts.get(scope) ?? 0) < limit;
            });
            expect(room, entry.id).toBe(false);
            expect(plan.blocked.has(entry.id)).toBe(true);
          }
          // Priorities never go up along the plan.
          for (let i = 1; i < plan.admit.length; i++) expect(plan.admit[i]!.priority).toBeLessThanOrEqual(plan.admit[i - 1]!.priority);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('shares slots of one priority between keys: the key running the fewest goes next, first in first out among equals', () => {
    const waiting: QueueEntry[] = [
      { id: '1', taskId: 'a', priority: 3, key: 'busy' },
      { id: '2', taskId: 'a', priority: 3, key: 'busy' },
      { id: '3', taskId: 'a', priority: 3, key: 'busy' },
      { id: '4', taskId: 'a', priority: 3, key: 'quiet' },
    ];
    const plan = planAdmission(waiting, { tenant: 3 }, new Map<Scope, number>([['TENANT', 1], ['KEY#busy', 1]]));

    expect(plan.admit.map((entry) => entry.id)).toEqual(['4', '1']);
    expect(plan.blocked.get('2')).toBe('TENANT');
  });

  it('passes over work of a task at its limit and names the scope that holds it back', () => {
    const waiting: QueueEntry[] = [
      { id: '1', taskId: 'slow', priority: 5, key: '' },
      { id: '2', taskId: 'fast', priority: 1, key: '' },
    ];
    const plan = planAdmission(waiting, { tenant: 5, tasks: { slow: 1 } }, new Map([['TASK#slow', 1]]));

    expect(plan.admit.map((entry) => entry.id)).toEqual(['2']);
    expect(plan.blocked.get('1')).toBe('TASK#slow');
  });
});
