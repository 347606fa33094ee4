import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { entityTag, ifNoneMatchOf, matchesCurrent } from '../../../lambdas/api/conditional.js';
import { MAX_WAIT_SECONDS, POLL_GRACE_MS, holdUntilChanged, preferredWait } from '../../../lambdas/api/long-poll.js';

describe('Prefer: wait (RFC 7240)', () => {
  it.each([
    ['wait=10', 10],
    ['wait=1', 1],
    ['WAIT=7', 7],
    ['wait = 4', 4],
    ['wait="12"', 12],
    ['wait=007', 7],
    ['respond-async, wait=5', 5],
    ['respond-async; foo="a,b", wait=6', 6],
    ['wait=8; x=y', 8],
    ['return=minimal,wait=3', 3],
  ])('%s holds for %i seconds', (header, seconds) => {
    expect(preferredWait({ prefer: header })).toEqual({ seconds });
  });

  it.each(['wait=26', 'wait=100', `wait=${'9'.repeat(400)}`])(`%s is capped at ${MAX_WAIT_SECONDS} seconds`, (header) => {
    expect(preferredWait({ prefer: header })).toEqual({ seconds: MAX_WAIT_SECONDS });
  });

  it.each(['wait=0', 'wait=-1', 'wait=2.5', 'wait=', 'wait', 'wait=abc', 'wait=1e3', 'wait=" 5"', 'waiting=5', 'respond-async', '', ',,,', 'wait="5'])(
    '%j is ignored (no wait)',
    (header) => {
      expect(preferredWait({ prefer: header })).toBeUndefined();
    },
  );

  it('is absent without a Prefer header', () => {
    expect(preferredWait({})).toBeUndefined();
  });

  it('counts only the first wait preference, as RFC 7240 says of a repeated preference', () => {
    expect(preferredWait({ prefer: 'wait=3, wait=9' })).toEqual({ seconds: 3 });
    expect(preferredWait({ prefer: 'wait=x, wait=9' })).toBeUndefined();
  });
});

describe('If-None-Match (RFC 9110)', () => {
  const etag = entityTag('{"a":1}', 4);

  it('matches the current tag, weak or strong, alone or in a list', () => {
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, `"x",W/${etag} , "y"`, `"a,b", ${etag}`]) {
      expect(matchesCurrent(ifNoneMatchOf({ 'if-none-match': header })!, etag), header).toBe(true);
    }
  });

  it('matches anything with *', () => {
    expect(ifNoneMatchOf({ 'if-none-match': '*' })).toEqual({ any: true });
    expect(matchesCurrent({ any: true }, etag)).toBe(true);
  });

  it('does not match another tag, the tag unquoted, or a malformed header', () => {
    for (const header of ['"other"', etag.slice(1, -1), `W/${etag.slice(1, -1)}`, '', `${etag.slice(0, -1)}`, 'W/']) {
      expect(matchesCurrent(ifNoneMatchOf({ 'if-none-match': header })!, etag), header).toBe(false);
    }
  });

  it('is absent without an If-None-Match header', () => {
    expect(ifNoneMatchOf({})).toBeUndefined();
  });
});

describe('entity tags', () => {
  it('are strong, quoted, and the same for the same text only', () => {
    const tag = entityTag('{"status":"running"}', 3);

    expect(tag).toMatch(/^"3-[A-Za-z0-9_-]{16}"$/);
    expect(entityTag('{"status":"running"}', 3)).toBe(tag);
    expect(entityTag('{"status":"succeeded"}', 3)).not.toBe(tag);
    expect(entityTag('{"status":"running"}')).toMatch(/^"[A-Za-z0-9_-]{16}"$/);
  });
});

describe('holding a request', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 2, 3, 4, 5) });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** Holds for `seconds` over reads of a counter that `changeAt` (if given) bumps at that time. */
  function holdOver(seconds: number, changeAt?: number) {
    const start = Date.now();
    const readAt: number[] = [];
    const read = vi.fn(async () => {
      readAt.push(Date.now() - start);
      return changeAt !== undefined && Date.now() - start >= changeAt ? 2 : 1;
    });
    const held = holdUntilChanged(1, { read, changed: (value) => value !== 1, deadline: start + seconds * 1000 });
    return { held, read, readAt, start };
  }

  it('polls after 250 ms, 500 ms, then every second, and once more at the deadline: 27 polls in 25 s', async () => {
    const { held, readAt } = holdOver(25);

    await vi.advanceTimersByTimeAsync(25_000);

    await expect(held).resolves.toBe(1);
    expect(readAt.slice(0, 5)).toEqual([250, 750, 1750, 2750, 3750]);
    expect(readAt.at(-1)).toBe(25_000);
    expect(readAt).toHaveLength(27);
  });

  it('answers with the first read that changed, without waiting out the deadline', async () => {
    const { held, readAt, start } = holdOver(25, 3_000);
    let answeredAt: number | undefined;
    void held.then(() => (answeredAt = Date.now() - start));

    await vi.advanceTimersByTimeAsync(5_000);

    await expect(held).resolves.toBe(2);
    expect(answeredAt).toBe(3_750);
    expect(readAt).toEqual([250, 750, 1750, 2750, 3750]);
  });

  it('answers from the previous read when the poll at the deadline does not answer within its grace', async () => {
    const start = Date.now();
    let aborted = false;
    const read = vi.fn(async (signal: AbortSignal) => {
      if (Date.now() - start < 2_000) return 1;
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise<number>(() => undefined);
    });
    let answeredAt: number | undefined;
    const held = holdUntilChanged(0, { read, changed: (value) => value === 2, deadline: start + 2_000 });
    void held.then(() => (answeredAt = Date.now() - start));

    await vi.advanceTimersByTimeAsync(2_000 + POLL_GRACE_MS);

    await expect(held).resolves.toBe(1);
    expect(answeredAt).toBe(2_000 + POLL_GRACE_MS);
    expect(aborted).toBe(true);
  });

  it('fails when a poll fails (a dependency that does not answer is a 503, as for any read)', async () => {
    const failure = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    const read = vi.fn().mockResolvedValueOnce(1).mockRejectedValueOnce(failure);
    const held = holdUntilChanged(1, { read, changed: (value) => value !== 1, deadline: Date.now() + 10_000 });
    const settled = held.catch((error: unknown) => error);

    await vi.advanceTimersByTimeAsync(1_000);

    expect(await settled).toBe(failure);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('does not poll at all when the deadline has passed', async () => {
    const read = vi.fn(async () => 2);

    await expect(holdUntilChanged(1, { read, changed: () => true, deadline: Date.now() })).resolves.toBe(1);
    expect(read).not.toHaveBeenCalled();
  });
});
