import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compactRate,
  contextRate,
  DEFAULT_RATE_LIMITS,
  formatRate,
  MAX_QUOTA,
  MAX_WINDOW_SECONDS,
  parseRate,
  rateLimitHeaders,
  windowAt,
} from '../../../lambdas/domain/rate-limits.js';

describe('parseRate', () => {
  it.each([
    ['10/s', { quota: 10, window: 1 }],
    ['600/min', { quota: 600, window: 60 }],
    ['600/m', { quota: 600, window: 60 }],
    ['5000/h', { quota: 5000, window: 3600 }],
    ['100/d', { quota: 100, window: 86_400 }],
    ['50/10s', { quota: 50, window: 10 }],
    ['3/2min', { quota: 3, window: 120 }],
    ['600/60', { quota: 600, window: 60 }],
    [' 7/second ', { quota: 7, window: 1 }],
  ])('reads %s', (text, limit) => {
    expect(parseRate(text)).toEqual(limit);
  });

  it.each([
    ['an empty string', ''],
    ['a zero quota', '0/s'],
    ['a zero window', '10/0s'],
    ['a negative quota', '-1/s'],
    ['a fraction', '1.5/s'],
    ['a quota over the maximum', `${MAX_QUOTA + 1}/d`],
    ['a window over a day', '10/2d'],
    ['an unknown unit', '10/week'],
    ['no unit nor count', '10/'],
    ['words', 'ten per second'],
    ['a structured-field injection', '10/s;q=1'],
    ['a prototype key', '__proto__'],
    ['a constructor unit', '10/constructor'],
    ['full-width digits', '１０/s'],
    ['a huge string', `${'9'.repeat(10_000)}/s`],
  ])('refuses %s', (_what, text) => {
    expect(parseRate(text)).toBeUndefined();
  });

  it('reads back what formatRate and compactRate write, for any valid limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_QUOTA }), fc.integer({ min: 1, max: MAX_WINDOW_SECONDS }), (quota, window) => {
        expect(parseRate(formatRate({ quota, window }))).toEqual({ quota, window });
        expect(contextRate(compactRate({ quota, window }))).toEqual({ quota, window });
      }),
    );
  });
});

describe('formatRate', () => {
  it.each([
    [{ quota: 10, window: 1 }, '10/s'],
    [{ quota: 1000, window: 60 }, '1000/min'],
    [{ quota: 5, window: 3600 }, '5/h'],
    [{ quota: 5, window: 86_400 }, '5/d'],
    [{ quota: 50, window: 10 }, '50/10s'],
  ])('writes %o as %s', (limit, text) => {
    expect(formatRate(limit)).toBe(text);
  });
});

describe('contextRate (the authorizer context and the environment)', () => {
  it('reads the compact form', () => {
    expect(contextRate('5/1')).toEqual({ quota: 5, window: 1 });
    expect(contextRate('1000/60')).toEqual({ quota: 1000, window: 60 });
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 5],
    ['an object', { quota: 5, window: 1 }],
    ['an empty string', ''],
    ['the human form', '5/s'],
    ['leading zeros', '05/1'],
    ['a zero quota', '0/1'],
    ['a zero window', '5/0'],
    ['a window over a day', '5/86401'],
    ['a quota over the maximum', '1000001/1'],
    ['spaces', ' 5/1'],
    ['a trailing newline', '5/1\n'],
    ['header injection', '5/1\r\nx-evil: 1'],
    ['a prototype key', '__proto__'],
  ])('drops %s, so the default applies', (_what, value) => {
    expect(contextRate(value)).toBeUndefined();
  });
});

describe('windowAt (fixed windows aligned to the epoch)', () => {
  it('puts the first millisecond of a window in it, with the whole window to go', () => {
    expect(windowAt(60_000, 60)).toEqual({ start: 60, reset: 60 });
  });

  it('puts the last millisecond of a window in it, resetting in 1 s (never 0)', () => {
    expect(windowAt(119_999, 60)).toEqual({ start: 60, reset: 1 });
  });

  it('moves to the next window on its first millisecond', () => {
    expect(windowAt(120_000, 60)).toEqual({ start: 120, reset: 60 });
  });

  it('makes one-second windows of every second', () => {
    expect(windowAt(1_767_323_045_999, 1)).toEqual({ start: 1_767_323_045, reset: 1 });
  });

  it('holds for any time and window: the start is aligned, now is inside, the reset is 1 to window seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 1, max: MAX_WINDOW_SECONDS }), (nowMs, window) => {
        const { start, reset } = windowAt(nowMs, window);
        const now = Math.floor(nowMs / 1000);
        expect(start % window).toBe(0);
        expect(start).toBeLessThanOrEqual(now);
        expect(now).toBeLessThan(start + window);
        expect(reset).toBeGreaterThanOrEqual(1);
        expect(reset).toBeLessThanOrEqual(window);
        expect(now + reset).toBe(start + window);
      }),
    );
  });
});

describe('rateLimitHeaders', () => {
  it('writes the structured-field form of draft-ietf-httpapi-ratelimit-headers', () => {
    expect(rateLimitHeaders('create', { quota: 10, window: 1 }, 0, 1)).toEqual({
      'ratelimit-policy': '"create";q=10;w=1',
      ratelimit: '"create";r=0;t=1',
    });
    expect(rateLimitHeaders('read', DEFAULT_RATE_LIMITS.read, 99, 1)).toEqual({
      'ratelimit-policy': '"read";q=100;w=1',
      ratelimit: '"read";r=99;t=1',
    });
  });
});
