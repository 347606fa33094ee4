import { Cron } from 'croner';

// When an EventBridge Scheduler schedule fires, computed as Scheduler does, for the local stack:
// rate(...) from its start, cron(...) (EventBridge's six fields) in its time zone with
// Scheduler's daylight saving rules, and at(...) once. Cron fields are evaluated by croner
// (Quartz-style weekdays, year field, L, W and #), after translating EventBridge's spellings.

const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** A parsed schedule expression. */
export type ScheduleExpression =
  | { readonly kind: 'rate'; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly fields: readonly string[] }
  | { readonly kind: 'at'; readonly local: string };

/** The largest value of each EventBridge cron field (minutes hours day-of-month month day-of-week year). */
const FIELD_MAX = [59, 23, 31, 12, 7, 2199];

/**
 * Parses `rate(<n> <unit>)`, `cron(<6 fields>)` or `at(yyyy-mm-ddThh:mm:ss)`.
 * @throws Error in Scheduler's words when it is none of them.
 */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    if (value < 1) throw new Error('Invalid Schedule Expression: the rate value must be at least 1');
    return { kind: 'rate', periodMs: value * UNIT_MS[rate[2]!]! };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) {
    const fields = cron[1]!.trim().split(/ +/);
    if (fields.length !== 6) throw new Error('Invalid Schedule Expression: cron needs 6 fields');
    const parsed: ScheduleExpression = { kind: 'cron', fields };
    // Croner refuses what it cannot evaluate: refuse it at create, as Scheduler does.
    try {
      cronOf(parsed, 'UTC');
    } catch (error) {
      throw new Error(`Invalid Schedule Expression: ${error instanceof Error ? error.message : String(error)}`);
    }
    return parsed;
  }
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (at && !Number.isNaN(Date.parse(`${at[1]}Z`))) return { kind: 'at', local: at[1]! };
  throw new Error(`Invalid Schedule Expression ${expression.slice(0, 100)}`);
}

/** One EventBridge cron element in croner's spelling: `<d>L` → `<d>#L`, `<a>/<step>` → `<a>-<max>/<step>`. */
function croner(element: string, index: number): string {
  if (index === 4 && /^[A-Za-z0-9]+L$/.test(element)) return `${element.slice(0, -1)}#L`;
  const step = /^([A-Za-z0-9]+)\/(\d+)$/.exec(element);
  if (step) return `${step[1]}-${FIELD_MAX[index]}/${step[2]}`;
  return element;
}

/** A croner job (never started: only evaluated) of a cron expression in `timezone`. */
function cronOf(expression: Extract<ScheduleExpression, { kind: 'cron' }>, timezone: string): Cron {
  const fields = expression.fields.map((field, index) => field.split(',').map((element) => croner(element, index)).join(','));
  // Croner's 7 fields start with seconds: EventBridge runs at second 0.
  return new Cron(`0 ${fields.join(' ')}`, { timezone, mode: '7-part', alternativeWeekdays: true });
}

/** The wall-clock time of `instant` in `timezone`, as a UTC instant with the same fields (to match a pattern against). */
function wallClock(instant: Date, timezone: string): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(instant)
      .map((part) => [part.type, Number(part.value)]),
  );
  return new Date(Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!));
}

/** What {@link nextFireTime} needs of a schedule. */
export interface FireRule {
  readonly expression: ScheduleExpression;
  readonly timezone: string;
  /** Epoch ms: no run before. */
  readonly startMs?: number;
  /** Epoch ms: no run after. */
  readonly endMs?: number;
  /** When the schedule was created (epoch ms): a rate without a start counts from here. */
  readonly createdMs: number;
}

/**
 * The first time after `afterMs` (exclusive) that the schedule fires, or undefined when it never
 * will again. As EventBridge Scheduler: a rate fires at its start (or creation) and every period
 * after (a day is 24 hours, whatever daylight saving does); a cron time that does not exist in its
 * zone (the hour skipped in spring) is skipped, and one that happens twice (the hour repeated in
 * autumn) fires once; `at` fires once at that wall-clock time in its zone.
 */
export function nextFireTime(rule: FireRule, afterMs: number): number | undefined {
  const from = Math.max(afterMs, (rule.startMs ?? Number.NEGATIVE_INFINITY) - 1);
  let next: number | undefined;
  switch (rule.expression.kind) {
    case 'rate': {
      const anchor = rule.startMs ?? rule.createdMs;
      const { periodMs } = rule.expression;
      next = from < anchor ? anchor : anchor + (Math.floor((from - anchor) / periodMs) + 1) * periodMs;
      break;
    }
    case 'at': {
      const at = new Cron(rule.expression.local, { timezone: rule.timezone }).nextRun(new Date(from));
      next = at?.getTime();
      break;
    }
    case 'cron': {
      const job = cronOf(rule.expression, rule.timezone);
      const wall = cronOf(rule.expression, 'UTC');
      let cursor = new Date(from);
      // A run croner moved out of the spring gap (02:30 → 03:00) is no match of its wall clock: skip it.
      for (let tries = 0; tries < 1000; tries++) {
        const candidate = job.nextRun(cursor);
        if (!candidate) break;
        if (wall.match(wallClock(candidate, rule.timezone))) {
          next = candidate.getTime();
          break;
        }
        cursor = candidate;
      }
      break;
    }
  }
  if (next === undefined || (rule.endMs !== undefined && next > rule.endMs)) return undefined;
  return next;
}
