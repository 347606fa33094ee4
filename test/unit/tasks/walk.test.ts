import { describe, expect, it } from 'vitest';
import { step, waitForInput } from '../../../lambdas/tasks/dsl.js';
import { lambdaStepsOf } from '../../../lambdas/tasks/walk.js';

describe('lambdaStepsOf', () => {
  it('returns the Lambda steps of a task, in order, as the very step objects, leaving wait steps out', () => {
    const first = step('first', () => 1);
    const last = step('last', () => 2);

    const found = lambdaStepsOf({ steps: [first, waitForInput('gate'), last] });

    expect(found).toHaveLength(2);
    expect(found[0]).toBe(first);
    expect(found[1]).toBe(last);
    expect(lambdaStepsOf({ steps: [waitForInput('only')] })).toEqual([]);
  });
});
