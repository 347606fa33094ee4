import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../lambdas/domain/canonical-json.js';

describe('canonicalJson', () => {
  it('gives the same text for objects whose keys were inserted in a different order', () => {
    const first = { b: 1, a: 'x', c: { z: true, y: null } };
    const second = { c: { y: null, z: true }, a: 'x', b: 1 };

    expect(canonicalJson(first)).toBe(canonicalJson(second));
  });

  it('sorts keys at every level, including objects inside arrays', () => {
    const value = { z: [{ d: 1, c: 2 }], a: { y: { q: 1, p: 2 }, x: 0 } };

    expect(canonicalJson(value)).toBe('{"a":{"x":0,"y":{"p":2,"q":1}},"z":[{"c":2,"d":1}]}');
  });

  it('keeps the order of array elements, which is meaningful', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson({ list: ['b', 'a'] })).not.toBe(canonicalJson({ list: ['a', 'b'] }));
  });

  it('distinguishes values that differ', () => {
    expect(canonicalJson({ a: 1, b: 2 })).not.toBe(canonicalJson({ a: 1, b: 3 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 1, b: null }));
  });

  it('produces JSON that parses back to an equal value', () => {
    const value = { name: 'doc', pages: [1, 2, { n: 3 }], nested: { deep: { deeper: 'ok' } }, flag: false };

    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('serialises primitives and null like JSON.stringify', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('text')).toBe('"text"');
    expect(canonicalJson(42)).toBe('42');
    expect(canonicalJson(true)).toBe('true');
  });

  it('drops undefined members like JSON.stringify, so they do not change the hash', () => {
    expect(canonicalJson({ b: undefined, a: 1 })).toBe(canonicalJson({ a: 1 }));
  });
});
