import { describe, expect, it } from 'vitest';
import { nextFireTime, parseScheduleExpression, type FireRule } from '../../../local/schedule-expressions.js';

/** The next `count` fire times of `expression` after `from`, as ISO text. */
function fires(expression: string, timezone: string, from: string, count: number, extra: Partial<FireRule> = {}): string[] {
  const rule: FireRule = { expression: parseScheduleExpression(expression), timezone, createdMs: Date.parse(from), ...extra };
  const out: string[] = [];
  let at: number | undefined = Date.parse(from);
  while (out.length < count) {
    at = nextFireTime(rule, at);
    if (at === undefined) break;
    out.push(new Date(at).toISOString());
  }
  return out;
}

describe('nextFireTime: cron in a time zone', () => {
  it('runs at the wall-clock time of its zone, in winter and in summer', () => {
    expect(fires('cron(0 9 ? * MON-FRI *)', 'Europe/Paris', '2026-03-26T00:00:00Z', 4)).toEqual([
      '2026-03-26T08:00:00.000Z', // Thu, UTC+1
      '2026-03-27T08:00:00.000Z', // Fri
      '2026-03-30T07:00:00.000Z', // Mon, UTC+2 after the change of 29 March
      '2026-03-31T07:00:00.000Z',
    ]);
  });

  it('skips a time that does not exist in spring (02:30 on the night clocks jump from 02:00 to 03:00), as Scheduler does', () => {
    expect(fires('cron(30 2 * * ? *)', 'Europe/Paris', '2026-03-27T00:00:00Z', 3)).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      // 29 March has no 02:30.
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('runs a time that happens twice in autumn (01:30 in New York on 1 November) once', () => {
    expect(fires('cron(30 1 * * ? *)', 'America/New_York', '2026-10-31T00:00:00Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // the first 01:30 (EDT), not the second (EST, 06:30Z)
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it.each([
    ['cron(0 12 L * ? *)', ['2026-11-30T12:00:00.000Z', '2026-12-31T12:00:00.000Z', '2027-01-31T12:00:00.000Z']],
    ['cron(0 12 ? * 6L *)', ['2026-12-25T12:00:00.000Z', '2027-01-29T12:00:00.000Z', '2027-02-26T12:00:00.000Z']],
    ['cron(0 12 ? * 2#1 *)', ['2026-12-07T12:00:00.000Z', '2027-01-04T12:00:00.000Z', '2027-02-01T12:00:00.000Z']],
    ['cron(0 12 15W * ? *)', ['2026-12-15T12:00:00.000Z', '2027-01-15T12:00:00.000Z', '2027-02-15T12:00:00.000Z']],
    ['cron(0 12 ? * 1 *)', ['2026-12-06T12:00:00.000Z', '2026-12-13T12:00:00.000Z', '2026-12-20T12:00:00.000Z']],
    ['cron(0 12 ? * SAT *)', ['2026-12-05T12:00:00.000Z', '2026-12-12T12:00:00.000Z', '2026-12-19T12:00:00.000Z']],
    ['cron(10/20 * * * ? *)', ['2026-11-30T00:10:00.000Z', '2026-11-30T00:30:00.000Z', '2026-11-30T00:50:00.000Z']],
    ['cron(0 12 1 * ? 2028-2199/2)', ['2028-01-01T12:00:00.000Z', '2028-02-01T12:00:00.000Z', '2028-03-01T12:00:00.000Z']],
  ])('reads EventBridge\'s L, #, W, Sunday-first weekdays, a/step and years: %s', (expression, expected) => {
    expect(fires(expression, 'UTC', '2026-11-30T00:00:00Z', 3)).toEqual(expected);
  });

  it('keeps to the start and end dates', () => {
    expect(fires('cron(0 12 * * ? *)', 'UTC', '2026-11-30T00:00:00Z', 5, { endMs: Date.parse('2026-12-01T12:00:00Z') })).toEqual([
      '2026-11-30T12:00:00.000Z',
      '2026-12-01T12:00:00.000Z',
    ]);
    expect(fires('cron(0 12 * * ? *)', 'UTC', '2026-11-30T00:00:00Z', 1, { startMs: Date.parse('2027-01-10T00:00:00Z') })).toEqual(['2027-01-10T12:00:00.000Z']);
  });
});

describe('nextFireTime: rate and at', () => {
  it('fires a rate at its creation and every period after, a day being 24 hours across a change of time', () => {
    const rule: FireRule = { expression: parseScheduleExpression('rate(1 day)'), timezone: 'Europe/Paris', createdMs: Date.parse('2026-03-28T12:00:00Z') };
    expect(nextFireTime(rule, rule.createdMs - 1)).toBe(rule.createdMs);
    expect(fires('rate(1 day)', 'Europe/Paris', '2026-03-28T12:00:00Z', 2)).toEqual(['2026-03-29T12:00:00.000Z', '2026-03-30T12:00:00.000Z']);
  });

  it('counts a rate from its start date when it has one', () => {
    expect(fires('rate(5 minutes)', 'UTC', '2026-11-30T00:00:00Z', 2, { startMs: Date.parse('2026-11-30T01:00:00Z') })).toEqual([
      '2026-11-30T01:00:00.000Z',
      '2026-11-30T01:05:00.000Z',
    ]);
  });

  it('fires at() once, at that wall-clock time of its zone', () => {
    expect(fires('at(2027-07-01T10:00:00)', 'Europe/Paris', '2026-11-30T00:00:00Z', 3)).toEqual(['2027-07-01T08:00:00.000Z']);
  });

  it.each(['rate(0 minutes)', 'rate(5 seconds)', 'cron(0 12 * * ?)', 'cron(61 12 * * ? *)', 'at(2027-13-01T00:00:00)', 'every day', ''])('refuses %j', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(/Invalid Schedule Expression/);
  });
});
