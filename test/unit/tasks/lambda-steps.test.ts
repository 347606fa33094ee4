import { describe, expect, it } from 'vitest';
import { choice, lambdaStepsOf, map, parallel, step, waitForInput } from '../../../lambdas/tasks/dsl.js';

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

  it('finds Lambda steps nested in parallel branches, map steps and choice cases, depth first', () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((name) => step(name, () => name));

    const found = lambdaStepsOf({
      steps: [a!, parallel('p', [[b!], [map('m', {}, [c!])]]), choice('c', [{ when: { path: 'x', present: true }, steps: [d!] }], [e!])],
    });

    expect(found.map((entry) => entry.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
