import { describe, expect, it } from 'vitest';
import {
  MAX_SEQ,
  idBoundAt,
  idTimestamp,
  isExecutionId,
  newExecutionId,
  newTransitionId,
  transitionSeq,
} from '../../../lambdas/domain/ids.js';

/** RFC 9562 UUIDv7, lower case, written out independently of the module under test. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const AT = Date.parse('2025-03-04T05:06:07.089Z');

describe('execution ids', () => {
  it('mints lower-case UUIDv7 ids that the service recognises as its own', () => {
    const ids = Array.from({ length: 50 }, () => newExecutionId(AT));

    for (const id of ids) {
      expect(id).toMatch(UUID_V7);
      expect(isExecutionId(id)).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the creation time, readable back to the millisecond', () => {
    const id = newExecutionId(AT);

    expect(idTimestamp(id)).toBe(AT);
    expect(id.startsWith(AT.toString(16).padStart(12, '0').slice(0, 8))).toBe(true);
  });

  it('uses the current time when no time is given', () => {
    const before = Date.now();
    const id = newExecutionId();
    const after = Date.now();

    expect(idTimestamp(id)).toBeGreaterThanOrEqual(before);
    expect(idTimestamp(id)).toBeLessThanOrEqual(after);
  });

  it('sorts ids as strings in the order of their creation time', () => {
    const times = [AT - 86_400_000, AT - 1, AT, AT + 1, AT + 1_000, AT + 86_400_000 * 365];
    const ids = times.map((ms) => newExecutionId(ms));

    const sorted = [...ids].reverse().sort();

    expect(sorted).toEqual(ids);
  });

  it('clamps a negative time to the epoch instead of producing a malformed id', () => {
    const id = newExecutionId(-5);

    expect(id.startsWith('00000000-0000-7')).toBe(true);
    expect(isExecutionId(id)).toBe(true);
  });

  it.each([
    ['an upper-case id', newExecutionId(AT).toUpperCase()],
    ['a UUIDv4', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['a UUID with the wrong variant', '01890a5d-ac96-774b-4cb6-1bd2c5f7c1a2'],
    ['an id without dashes', newExecutionId(AT).replaceAll('-', '')],
    ['garbage', 'not-an-id'],
    ['the empty string', ''],
  ])('does not recognise %s as an execution id', (_label, value) => {
    expect(isExecutionId(value)).toBe(false);
  });
});

describe('id bounds of a time range', () => {
  it('brackets every id minted at that millisecond between the min and max bound', () => {
    const min = idBoundAt(AT, 'min');
    const max = idBoundAt(AT, 'max');

    for (let i = 0; i < 200; i++) {
      const id = newExecutionId(AT);
      expect(id >= min && id <= max).toBe(true);
    }
  });

  it('excludes ids minted a millisecond before or after', () => {
    const min = idBoundAt(AT, 'min');
    const max = idBoundAt(AT, 'max');

    for (let i = 0; i < 50; i++) {
      expect(newExecutionId(AT - 1) < min).toBe(true);
      expect(newExecutionId(AT + 1) > max).toBe(true);
    }
  });

  it('fills the random part with zeros for min and with f for max, in id format', () => {
    expect(idBoundAt(0, 'min')).toBe('00000000-0000-0000-0000-000000000000');
    expect(idBoundAt(2 ** 48 - 1, 'max')).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(idTimestamp(idBoundAt(AT, 'max'))).toBe(AT);
  });
});

describe('transition ids', () => {
  it.each([1, 2, 7, 1_000, 123_456_789, MAX_SEQ])('carries sequence number %i and gives it back', (seq) => {
    const id = newTransitionId(seq, AT);

    expect(id).toMatch(UUID_V7);
    expect(transitionSeq(id)).toBe(seq);
    expect(idTimestamp(id)).toBe(AT);
  });

  it('gives different ids for the same seq at the same time', () => {
    expect(newTransitionId(3, AT)).not.toBe(newTransitionId(3, AT));
  });

  it('allows sequence numbers up to 2^30 - 1', () => {
    expect(MAX_SEQ).toBe(1_073_741_823);
  });

  it.each([0, -1, 1.5, MAX_SEQ + 1, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses sequence number %s with a RangeError',
    (seq) => {
      expect(() => newTransitionId(seq, AT)).toThrow(RangeError);
    },
  );

  it.each([
    ['garbage', 'garbage'],
    ['the empty string', ''],
    ['an upper-case transition id', newTransitionId(5, AT).toUpperCase()],
    ['a UUIDv4', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['a UUIDv7 whose sequence bits are zero', '0195a2c3-1f4e-7abc-8000-0000deadbeef'],
  ])('reads no sequence number from %s', (_label, value) => {
    expect(transitionSeq(value)).toBeUndefined();
  });
});
