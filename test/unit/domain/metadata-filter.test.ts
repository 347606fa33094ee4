import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/domain/errors.js';
import { METADATA_FILTER_LIMITS, matchesMetadata, parseMetadataFilter } from '../../../lambdas/domain/metadata-filter.js';

function refusal(text: string): string {
  try {
    parseMetadataFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const { errors } = (error as ValidationError).extensions as { errors: Array<{ path: string; message: string }> };
    expect(errors[0]!.path).toBe('query.metadata_filter');
    return errors[0]!.message;
  }
  throw new Error(`${text.slice(0, 40)} was accepted`);
}

describe('metadata_filter', () => {
  it('matches top-level keys exactly, with object values equal whatever their key order', () => {
    const filter = parseMetadataFilter('{"team":"ops","limits":{"b":2,"a":1}}');

    expect(matchesMetadata({ team: 'ops', limits: { a: 1, b: 2 }, other: true }, filter)).toBe(true);
    expect(matchesMetadata({ team: 'ops' }, filter)).toBe(false);
    expect(matchesMetadata({ team: 'OPS', limits: { a: 1, b: 2 } }, filter)).toBe(false);
    expect(matchesMetadata({ team: 'ops', limits: { a: 1, b: 2, c: 3 } }, filter)).toBe(false);
    // "1" is not 1, null is a value of its own.
    expect(matchesMetadata({ n: '1' }, parseMetadataFilter('{"n":1}'))).toBe(false);
    expect(matchesMetadata({}, parseMetadataFilter('{"n":null}'))).toBe(false);
    expect(matchesMetadata({ n: null }, parseMetadataFilter('{"n":null}'))).toBe(true);
  });

  it('takes {} (Julep\'s default) as no filter', () => {
    expect(parseMetadataFilter('{}')).toEqual([]);
    expect(matchesMetadata({}, parseMetadataFilter('{}'))).toBe(true);
  });

  it('treats __proto__ and constructor as ordinary keys, never as a prototype', () => {
    const filter = parseMetadataFilter('{"__proto__":{"admin":true},"constructor":"x"}');

    expect(filter.map(([key]) => key)).toEqual(['__proto__', 'constructor']);
    // A record without such own keys does not match through its prototype.
    expect(matchesMetadata({}, filter)).toBe(false);
    expect(matchesMetadata(JSON.parse('{"__proto__":{"admin":true},"constructor":"x"}') as Record<string, unknown>, filter)).toBe(true);
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
  });

  it('refuses what is not a JSON object, too many keys, too deep or too long, with a 400 naming the parameter', () => {
    expect(refusal('team=ops')).toMatch(/JSON object/);
    expect(refusal('[1,2]')).toMatch(/JSON object/);
    expect(refusal('null')).toMatch(/JSON object/);
    expect(refusal('"x"')).toMatch(/JSON object/);
    expect(refusal(JSON.stringify(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))))).toMatch(/at most 16 keys/);
    expect(refusal(`{"a":${'['.repeat(9)}${']'.repeat(9)}}`)).toMatch(/levels deep/);
    // Deep enough to overflow a recursive walk: refused, not a crash.
    expect(refusal(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`)).toMatch(/characters|levels deep/);
    expect(refusal(`{"a":"${'x'.repeat(METADATA_FILTER_LIMITS.length)}"}`)).toMatch(/at most 4096 characters/);
    expect(parseMetadataFilter(`{"a":${'['.repeat(8)}${']'.repeat(8)}}`)).toHaveLength(1);
  });

  it('either parses or answers a 400 for any text (property, hostile shapes included)', () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 12 }),
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify({ __proto__: value, constructor: value, '\u202e': value })),
      fc.string({ unit: 'binary', maxLength: 50 }).map((key) => JSON.stringify({ [key]: key })),
    );
    fc.assert(
      fc.property(hostile, (text) => {
        try {
          const filter = parseMetadataFilter(text);
          expect(matchesMetadata(JSON.parse(text) as Record<string, unknown>, filter)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 200 },
    );
    // Deep generated JSON takes a while on a loaded machine.
  }, 30_000);
});
