import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { checkHistoryEvents, checkMaxItems, historyEstimate, HISTORY_EVENT_LIMIT, stepEvents } from '../../../infra/constructs/history-events.js';
import { choice, defineTask, invoke, map, parallel, runTask, sleep, step, waitForInput, type Step } from '../../../lambdas/tasks/dsl.js';

const noop = (input: unknown) => input;
/** A Lambda step without a retry policy of its own: 1 attempt + 8 retries of Lambda's refusals. */
const bare = (name: string) => step(name, noop, { retry: false });
const task = (steps: Step[]) => defineTask({ id: 'history', description: 'history check', kind: 'test', input: z.object({}), examples: [{}], steps });

// Hand counts. A Task state: entered + exited (2), then 3 events per attempt (scheduled, started,
// succeeded/failed/timed out), 4 for a .waitForTaskToken task (+ submitted). The service's own
// Tasks (recorder, wait, child start): 1 + 8 (Lambda's refusals) + 3 (States.TaskFailed) attempts.
const RECORD = 2 + 3 * 12; // 38
const BARE = 2 + 3 * 9; // 29

describe('worst-case history events per step', () => {
  it('counts a Lambda step by its attempts: its own retries add to the 8 of Lambda refusals', () => {
    expect(stepEvents(bare('a'))).toBe(29);
    expect(stepEvents(step('a', noop))).toBe(2 + 3 * (1 + 8 + 2)); // default policy: 2 retries → 35
    expect(stepEvents(step('a', noop, { retry: { maxAttempts: 5 } }))).toBe(2 + 3 * 14); // 44
  });

  it('counts callbacks with their submitted event, and the record after work done elsewhere', () => {
    expect(stepEvents(waitForInput('w'))).toBe(2 + 4 * 12); // 50
    expect(stepEvents(runTask('r', 'child-task'))).toBe(50 + RECORD); // 88: the child's own history is not the parent's
    expect(stepEvents(invoke('i', 'scorer', { retry: false }))).toBe(BARE + RECORD); // 67
    expect(stepEvents(sleep('s', 5))).toBe(RECORD + 2); // the recorder's Begin, then a Wait state: 40
  });

  it('adds up every branch of a parallel and takes the costliest case of a choice', () => {
    expect(stepEvents(parallel('p', [[bare('a')], [bare('b'), bare('c')]]))).toBe(4 + 3 * BARE + RECORD); // 129
    expect(stepEvents(choice('c', [{ when: { path: 'x', equals: 1 }, steps: [bare('a'), bare('b')] }], [bare('d')]))).toBe(2 + 2 * BARE + RECORD); // 98
    // No otherwise: the unmatched input ends in a Fail state (1 event), fewer than the case.
    expect(stepEvents(choice('c', [{ when: { path: 'x', equals: 1 }, steps: [bare('a')] }]))).toBe(2 + BARE + RECORD); // 69
  });

  it('multiplies an inline map by its declared items (2 iteration events each), and keeps a distributed map\'s items out', () => {
    expect(stepEvents(map('m', { maxItems: 10 }, [bare('a')]))).toBe(4 + 10 * (2 + BARE) + RECORD); // 352
    expect(stepEvents(map('m', {}, [bare('a')]))).toBe(4 + 1 * (2 + BARE) + RECORD); // undeclared: one item, 73
    expect(stepEvents(map('m', { maxItems: 10_000, distributed: true }, [bare('a')]))).toBe(6 + RECORD); // 44
    // Nested inline maps multiply.
    expect(stepEvents(map('outer', { maxItems: 3 }, [map('inner', { maxItems: 4 }, [bare('a')])]))).toBe(4 + 3 * (2 + 4 + 4 * (2 + BARE) + RECORD) + RECORD);
  });
});

describe('the history check of a task', () => {
  it('adds the execution\'s own two events and reports each step\'s share', () => {
    const estimate = historyEstimate(task([bare('a'), step('b', noop)]));
    expect(estimate).toMatchObject({ events: 2 + 29 + 35, limit: 25_000, steps: [{ step: 'a', events: 29 }, { step: 'b', events: 35 }], undeclaredMaps: [], childExecutions: [] });
  });

  it('says how many items an undeclared inline map fits, and what a distributed map\'s child execution costs', () => {
    // 2 + (4 + n × 31 + 38) + the distributed map in the parent (6 + 38) ≤ 25,000 → n ≤ 803.
    const estimate = historyEstimate(task([map('each', {}, [bare('a')]), map('spread', { distributed: true }, [bare('b'), bare('c')])]));
    expect(estimate.undeclaredMaps).toEqual([{ step: 'each', itemsThatFit: 803 }]);
    expect(estimate.childExecutions).toEqual([{ step: 'spread', events: 2 + 2 * BARE }]);
  });

  it('accepts a task exactly at the limit and refuses one event more, naming the numbers, the step and the way out', () => {
    // 2 + 4 + 805 × 31 + 38 = 24,999; 806 items: 25,030.
    expect(checkHistoryEvents(task([map('each', { maxItems: 805 }, [bare('a')])])).events).toBe(24_999);
    expect(() => checkHistoryEvents(task([bare('first'), map('each', { maxItems: 806 }, [bare('a')])]))).toThrow(
      'Task history: an execution could record 25059 Step Functions history events in the worst case (every retry taken), over the limit of 25000 per execution; step "each" accounts for 25028 (806 items × 31 events each). Run the items as a Distributed Map',
    );
    expect(() => checkHistoryEvents(task([map('each', { maxItems: 806 }, [bare('a')])]))).toThrow(/distributed: true.*runTask/);
  });

  it('accepts the same work as a distributed map, and refuses one whose single item passes the limit', () => {
    expect(checkHistoryEvents(task([map('each', { maxItems: 100_000, distributed: true }, [bare('a')])])).events).toBe(2 + 6 + RECORD);
    const huge = map('huge', { maxItems: 1000 }, [bare('a')]);
    expect(() => checkHistoryEvents(task([map('spread', { distributed: true }, [huge])]))).toThrow(
      `Task history: each item of distributed map "spread" could record ${2 + 4 + 1000 * 31 + RECORD} history events in its child execution, over the limit of ${HISTORY_EVENT_LIMIT}`,
    );
  });

  it('refuses a long chain of steps without any map', () => {
    // 2 + n × 35 > 25,000 from n = 715.
    const steps = Array.from({ length: 715 }, (_, i) => step(`s${i}`, noop));
    expect(() => checkHistoryEvents(task(steps))).toThrow('could record 25027 Step Functions history events');
    expect(checkHistoryEvents(task(steps.slice(1))).events).toBe(24_992);
  });

  it('refuses a declared maxItems that is not a whole number of at least 1', () => {
    expect(() => checkMaxItems(task([map('each', { maxItems: 0 }, [bare('a')])]))).toThrow('map "each": maxItems must be a whole number of at least 1, got 0');
    expect(() => checkMaxItems(task([map('each', { maxItems: 2.5 }, [bare('a')])]))).toThrow('got 2.5');
  });
});
