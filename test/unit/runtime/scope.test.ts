import { describe, expect, it } from 'vitest';
import { scopeLevels, type ScopeChain } from '../../../lambdas/runtime/scope.js';

describe('scopeLevels', () => {
  it('has no levels at the top level', () => {
    expect(scopeLevels(null)).toEqual([]);
    expect(scopeLevels(undefined, [])).toEqual([]);
  });

  it('makes a map item one level of items, its path the map\'s name and the item\'s index', () => {
    expect(scopeLevels({ parent: null, name: 'summarize', index: 3, total: 10 })).toEqual([
      { path: 'summarize[3]', name: 'summarize', index: 3, total: 10, unit: 'items' },
    ]);
  });

  it('lists a chain of map items outermost first, each path extending its parent\'s', () => {
    const outer: ScopeChain = { parent: null, name: 'batches', index: 1, total: 2 };
    const inner: ScopeChain = { parent: outer, name: 'pages', index: 0, total: 5 };

    expect(scopeLevels(inner).map((level) => level.path)).toEqual(['batches[1]', 'batches[1]/pages[0]']);
  });

  it('puts the static segments below the chain: a branch with a total, a case without one', () => {
    const levels = scopeLevels({ parent: null, name: 'summarize', index: 3, total: 4 }, [
      { name: 'both', index: 1, total: 2 },
      { name: 'route', index: 0 },
    ]);

    expect(levels).toEqual([
      { path: 'summarize[3]', name: 'summarize', index: 3, total: 4, unit: 'items' },
      { path: 'summarize[3]/both[1]', name: 'both', index: 1, total: 2, unit: 'branches' },
      { path: 'summarize[3]/both[1]/route[0]', name: 'route', index: 0, unit: 'cases' },
    ]);
    expect(levels[2]).not.toHaveProperty('total');
  });

  it('keeps the unit of a chain link a branch or case was folded into (a map inside a parallel or a choice)', () => {
    const branch: ScopeChain = { parent: null, name: 'both', index: 2, total: 3, unit: 'branches' };
    const item: ScopeChain = { parent: { parent: branch, name: 'route', index: 1, unit: 'cases' }, name: 'parts', index: 4, total: 9 };

    expect(scopeLevels(item)).toEqual([
      { path: 'both[2]', name: 'both', index: 2, total: 3, unit: 'branches' },
      { path: 'both[2]/route[1]', name: 'route', index: 1, unit: 'cases' },
      { path: 'both[2]/route[1]/parts[4]', name: 'parts', index: 4, total: 9, unit: 'items' },
    ]);
  });

  it('treats a link without a parent (the compiled state data leaves nulls out) as the outermost', () => {
    const item: ScopeChain = { parent: { name: 'both', index: 1, total: 2, unit: 'branches' }, name: 'parts', index: 0, total: 3 };

    expect(scopeLevels(item).map((level) => level.path)).toEqual(['both[1]', 'both[1]/parts[0]']);
    expect(scopeLevels({ name: 'docs', index: 2, total: 3 })).toEqual([{ path: 'docs[2]', name: 'docs', index: 2, total: 3, unit: 'items' }]);
  });

  it('places static segments alone when there is no map item above them', () => {
    expect(scopeLevels(null, [{ name: 'both', index: 0, total: 2 }]).map((level) => [level.path, level.unit])).toEqual([['both[0]', 'branches']]);
  });

  it('does not change the chain it reads', () => {
    const chain: ScopeChain = { parent: { parent: null, name: 'a', index: 0, total: 1 }, name: 'b', index: 1, total: 2 };
    const snapshot = structuredClone(chain);

    scopeLevels(chain, [{ name: 'c', index: 0 }]);

    expect(chain).toEqual(snapshot);
  });
});
