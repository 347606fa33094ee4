import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EXPRESSION_LENGTH, canonicalTimezone, checkScheduleSpec, parseCron, parseRate, runIdempotencyKey } from '../../../lambdas/domain/schedules.js';

const cronOf = (text: string) => {
  const parsed = parseCron(text);
  return 'expression' in parsed ? parsed.expression : undefined;
};
const cronErrors = (text: string) => {
  const parsed = parseCron(text);
  return 'errors' in parsed ? parsed.errors.map((error) => error.message).join(' | ') : '';
};

describe('parseCron (EventBridge six fields)', () => {
  it.each([
    ['0 9 ? * MON-FRI *', 'cron(0 9 ? * MON-FRI *)'],
    ['cron(0/15 * * * ? *)', 'cron(0/15 * * * ? *)'],
    ['  cron(0   12  L * ? *)  ', 'cron(0 12 L * ? *)'],
    ['0 12 15W * ? *', 'cron(0 12 15W * ? *)'],
    ['0 12 ? * 6L *', 'cron(0 12 ? * 6L *)'],
    ['0 12 ? * FRIL *', 'cron(0 12 ? * FRIL *)'],
    ['0 12 ? * 2#1 *', 'cron(0 12 ? * 2#1 *)'],
    ['0 12 ? * mon#3 *', 'cron(0 12 ? * MON#3 *)'],
    ['0 8,12,18 1 jan-mar ? 2027-2030', 'cron(0 8,12,18 1 JAN-MAR ? 2027-2030)'],
    ['5-55/10 0-23/2 ? * * *', 'cron(5-55/10 0-23/2 ? * * *)'],
  ])('accepts %s as %s', (text, expression) => {
    expect(cronOf(text)).toBe(expression);
  });

  it.each([
    ['0 12 * * ? ', /6 fields/],
    ['0 12 * * *', /6 fields/],
    ['0 12 * * ? * *', /6 fields/],
    ['cron(0 12 * * ? *', /6 fields/],
    ['0 12 * * * *', /exactly one of day-of-month and day-of-week must be \?/],
    ['0 12 ? * ? *', /exactly one of day-of-month and day-of-week must be \?/],
    ['60 12 * * ? *', /minutes: "60" is not in 0-59/],
    ['0 24 * * ? *', /hours: "24" is not in 0-23/],
    ['0 12 0 * ? *', /day-of-month: "0" is not in 1-31/],
    ['0 12 * 13 ? *', /month: "13" is not in 1-12/],
    ['0 12 ? * 0 *', /day-of-week: "0" is not in 1-7/],
    ['0 12 ? * FRI-MON *', /a range must run from low to high/],
    ['0 12 * * ? 1969', /year: "1969" is not in 1970-2199/],
    ['? 12 * * ? *', /\? is only allowed in day-of-month and day-of-week/],
    ['0/0 12 * * ? *', /the step after \/ must be/],
    ['0 12 ? * 2#6 *', /the week after # must be 1 to 5/],
    ['0 12 L* * ? *', /is not in 1-31/],
    ['0 12 32W * ? *', /W needs a day of the month/],
    ['0 12 ? * 8L *', /L needs a day of the week/],
    ['0 12 * * ? *; rm -rf /', /6 fields/],
    ['0 12 * * ? \u0000', /6 fields/],
    ['٠ 12 * * ? *', /6 fields/],
  ])('refuses %j: %s', (text, message) => {
    expect(cronErrors(text)).toMatch(message);
  });

  it('refuses an expression longer than Scheduler takes without looking further', () => {
    expect(cronErrors(`0 12 * * ? ${'1,'.repeat(200)}2027`)).toMatch(new RegExp(`at most ${MAX_EXPRESSION_LENGTH} characters`));
  });

  it('never throws and only ever returns a normalized cron(...) or field errors, whatever the text (hostile shapes included)', () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'cron()', 'cron(((', '\u202e0 12 * * ? *', '0\t12\t*\t*\t?\t*'),
      fc.array(fc.constantFrom('*', '?', 'L', 'W', '#', '/', '-', ',', '0', '7', '59', 'MON', 'JAN', '2199'), { maxLength: 8 }).map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(hostile, (text) => {
        const parsed = parseCron(text);
        if ('expression' in parsed) {
          expect(parsed.expression).toMatch(/^cron\([0-9A-Z*?,\-/#]+( [0-9A-Z*?,\-/#]+){5}\)$/);
          // Normalized text parses to itself.
          expect(cronOf(parsed.expression)).toBe(parsed.expression);
        } else {
          expect(parsed.errors.length).toBeGreaterThan(0);
          expect(parsed.errors.length).toBeLessThanOrEqual(6);
          for (const error of parsed.errors) expect(error.message.length).toBeLessThan(300);
        }
      }),
      { seed: 20_261_130, numRuns: 2000 },
    );
  });
});

describe('parseRate', () => {
  it.each([
    ['rate(1 minute)', 'rate(1 minute)'],
    ['rate(5 minutes)', 'rate(5 minutes)'],
    ['5 minutes', 'rate(5 minutes)'],
    ['rate(1 hour)', 'rate(1 hour)'],
    ['rate(366 days)', 'rate(366 days)'],
  ])('accepts %s', (text, expression) => {
    expect(parseRate(text)).toEqual({ expression });
  });

  it.each([
    ['rate(0 minutes)', /at least 1/],
    ['rate(1 minutes)', /singular for 1/],
    ['rate(2 minute)', /plural/],
    ['rate(30 seconds)', /minute/],
    ['rate(-1 minutes)', /at least 1/],
    ['rate(1.5 hours)', /whole n/],
    ['rate(367 days)', /at most 366 days/],
    ['rate(9999999 minutes)', /whole n/],
    ['rate(５ minutes)', /whole n/],
  ])('refuses %s', (text, message) => {
    const parsed = parseRate(text);
    expect('errors' in parsed && parsed.errors[0]!.message).toMatch(message);
  });
});

describe('canonicalTimezone', () => {
  it.each([
    ['Europe/Paris', 'Europe/Paris'],
    ['europe/paris', 'Europe/Paris'],
    ['UTC', 'UTC'],
    ['utc', 'UTC'],
    ['America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ['Etc/GMT+5', 'Etc/GMT+5'],
    ['US/Eastern', 'US/Eastern'],
  ])('accepts %s as %s', (name, canonical) => {
    expect(canonicalTimezone(name)).toBe(canonical);
  });

  it.each(['', '+01:00', 'UTC+1', 'Mars/Olympus_Mons', 'Europe/Paris/', '../etc/passwd', '__proto__', 'constructor', 'Europe/Paris\u0000', 'Europe/Pαris', 'x'.repeat(65), 'us/eastern'])(
    'refuses %j',
    (name) => {
      expect(canonicalTimezone(name)).toBeUndefined();
    },
  );
});

describe('checkScheduleSpec', () => {
  const now = new Date('2026-11-30T12:00:00Z');

  it('takes exactly one of cron and rate, UTC by default', () => {
    expect(checkScheduleSpec({ rate: 'rate(5 minutes)' }, now)).toEqual({ spec: { expression: 'rate(5 minutes)', timezone: 'UTC' } });
    expect(checkScheduleSpec({}, now)).toEqual({ errors: [{ path: '', message: 'must have exactly one of "cron" and "rate"' }] });
    expect(checkScheduleSpec({ cron: '0 9 ? * MON-FRI *', rate: 'rate(5 minutes)' }, now)).toMatchObject({ errors: [{ path: '' }] });
  });

  it('normalizes the dates to UTC ISO and refuses an end before the start or in the past', () => {
    expect(
      checkScheduleSpec({ cron: '0 9 ? * MON-FRI *', timezone: 'europe/paris', start_date: '2027-01-01T00:00:00+01:00', end_date: '2027-02-01T00:00:00Z' }, now),
    ).toEqual({ spec: { expression: 'cron(0 9 ? * MON-FRI *)', timezone: 'Europe/Paris', startDate: '2026-12-31T23:00:00.000Z', endDate: '2027-02-01T00:00:00.000Z' } });
    const errors = checkScheduleSpec({ rate: 'rate(1 hour)', start_date: '2027-01-02T00:00:00Z', end_date: '2027-01-01T00:00:00Z' }, now);
    expect(errors).toEqual({ errors: [{ path: '/end_date', message: 'must be later than start_date' }] });
    expect(checkScheduleSpec({ rate: 'rate(1 hour)', end_date: '2026-11-30T11:59:59Z' }, now)).toEqual({
      errors: [{ path: '/end_date', message: 'must be in the future' }],
    });
  });

  it('reports every bad field at once', () => {
    const result = checkScheduleSpec({ cron: '0 0 * * * *', timezone: 'Nowhere/Land', start_date: '2027-13-01T00:00:00Z', end_date: 'tomorrow' }, now);
    expect('errors' in result && result.errors.map((error) => error.path)).toEqual(['/cron', '/timezone', '/start_date', '/end_date']);
  });
});

describe('runIdempotencyKey', () => {
  it('is one key per schedule and scheduled time', () => {
    expect(runIdempotencyKey('sch_1', '2026-11-30T12:00:00Z')).toBe(runIdempotencyKey('sch_1', '2026-11-30T12:00:00Z'));
    expect(runIdempotencyKey('sch_1', '2026-11-30T12:00:00Z')).not.toBe(runIdempotencyKey('sch_1', '2026-11-30T12:01:00Z'));
    expect(runIdempotencyKey('sch_1', '2026-11-30T12:00:00Z')).not.toBe(runIdempotencyKey('sch_2', '2026-11-30T12:00:00Z'));
  });
});
