import type { FieldError } from './errors.js';
import type { Metadata } from './execution.js';

// Recurring schedules (`POST /schedules`): the rules of their expressions, time zones and dates,
// checked here, without AWS, so the API answers a clear 400 before EventBridge Scheduler is asked.

/** A schedule's id: `sch_` and 32 hex digits (any other id is unknown, a 404, without a read). */
export const SCHEDULE_ID_PATTERN = /^sch_[0-9a-f]{32}$/;

/**
 * Schedules a tenant may have. EventBridge Scheduler's own quota is 1,000,000 schedules per account
 * and region; this bound keeps one tenant from taking a noticeable share of it and keeps a tenant's
 * list one small partition.
 */
export const MAX_SCHEDULES = 100;

/** The longest schedule description, in characters (EventBridge Scheduler allows 512). */
export const MAX_SCHEDULE_DESCRIPTION = 512;

/** The longest expression EventBridge Scheduler takes (`ScheduleExpression`, 256 characters). */
export const MAX_EXPRESSION_LENGTH = 256;

/** Where a schedule stands: its wanted state (`deleting` while a delete is under way). */
export type ScheduleState = 'active' | 'paused' | 'deleting';

/** A recurring schedule of a tenant: the source of truth the API serves and runs check. */
export interface ScheduleRecord {
  readonly id: string;
  readonly tenant: string;
  readonly taskId: string;
  /** `cron(…)` or `rate(…)`, normalized. */
  readonly expression: string;
  /** IANA time zone the cron expression is read in (rates ignore it). */
  readonly timezone: string;
  readonly input: unknown;
  readonly metadata: Metadata;
  readonly description?: string;
  /** ISO 8601: no run before it. */
  readonly startDate?: string;
  /** ISO 8601: no run after it. */
  readonly endDate?: string;
  readonly state: ScheduleState;
  /**
   * False while EventBridge Scheduler may not have the state of this record yet (between the item's
   * write and the Scheduler call, or after a crash between them): the next pause, resume or delete
   * of the schedule pushes it again.
   */
  readonly synced: boolean;
  /** Increases with every change: a change marks itself synced only if nothing changed since. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A schedule as the API shows it. */
export interface ScheduleView {
  readonly id: string;
  readonly task_id: string;
  readonly expression: string;
  readonly timezone: string;
  readonly input: unknown;
  readonly metadata: Metadata;
  readonly description: string | null;
  readonly start_date: string | null;
  readonly end_date: string | null;
  readonly status: ScheduleState;
  readonly synced: boolean;
  readonly created_at: string;
  readonly updated_at: string;
  /** `GET /executions?schedule_id=<id>`: the runs of this schedule. */
  readonly executions_url: string;
}

/** The view of a schedule; `apiBaseUrl` has no trailing slash. */
export function toScheduleView(schedule: ScheduleRecord, apiBaseUrl: string): ScheduleView {
  return {
    id: schedule.id,
    task_id: schedule.taskId,
    expression: schedule.expression,
    timezone: schedule.timezone,
    input: schedule.input,
    metadata: schedule.metadata,
    description: schedule.description ?? null,
    start_date: schedule.startDate ?? null,
    end_date: schedule.endDate ?? null,
    status: schedule.state,
    synced: schedule.synced,
    created_at: schedule.createdAt,
    updated_at: schedule.updatedAt,
    executions_url: `${apiBaseUrl}/executions?schedule_id=${schedule.id}`,
  };
}

/** The Idempotency-Key of the run of `scheduleId` at `scheduledTime`: a duplicated invocation replays, never starts twice. */
export function runIdempotencyKey(scheduleId: string, scheduledTime: string): string {
  return `schedule:${scheduleId}:${scheduledTime}`;
}

// ---- expressions ----

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** One field of EventBridge's cron: its range, names, and the special characters it allows. */
interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** `?` (any, for day-of-month and day-of-week: one of the two must be `?`). */
  readonly question?: boolean;
  /** Day-of-month: `L` (last day), `<n>W` (nearest weekday). */
  readonly dayOfMonth?: boolean;
  /** Day-of-week: `<d>L` (last such day of the month), `<d>#<n>` (n-th such day). */
  readonly dayOfWeek?: boolean;
}

/** EventBridge's six fields, in order: `cron(minutes hours day-of-month month day-of-week year)`. */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, question: true, dayOfMonth: true },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, question: true, dayOfWeek: true },
  { name: 'year', min: 1970, max: 2199 },
];

/** A value of a field (a number or, where the field has names, a name), or undefined when it is none. */
function valueOf(text: string, field: CronField): number | undefined {
  if (/^\d{1,4}$/.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return index >= 0 ? index + field.min : undefined;
}

/** Why one comma-separated element of a cron field is not valid, or undefined when it is. */
function elementError(element: string, field: CronField): string | undefined {
  const range = `${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : ''}`;
  if (field.dayOfMonth && element === 'L') return undefined;
  if (field.dayOfMonth && /W$/.test(element)) {
    return valueOf(element.slice(0, -1), field) === undefined ? `"${element}": W needs a day of the month (1-31) before it` : undefined;
  }
  if (field.dayOfWeek && /^[^#]+#/.test(element)) {
    const [day, nth] = element.split('#') as [string, string];
    if (valueOf(day, field) === undefined) return `"${element}": # needs a day of the week (${range}) before it`;
    return /^[1-5]$/.test(nth) ? undefined : `"${element}": the week after # must be 1 to 5`;
  }
  if (field.dayOfWeek && /^.+L$/.test(element)) {
    return valueOf(element.slice(0, -1), field) === undefined ? `"${element}": L needs a day of the week (${range}) before it` : undefined;
  }
  const [base, step, ...extra] = element.split('/');
  if (extra.length > 0 || base === undefined || base === '') return `"${element}" is not a value, a range or a step`;
  if (step !== undefined && !(/^\d{1,4}$/.test(step) && Number(step) >= 1 && Number(step) <= field.max)) {
    return `"${element}": the step after / must be a whole number from 1 to ${field.max}`;
  }
  if (base === '*') return undefined;
  const [from, to, ...more] = base.split('-');
  if (more.length > 0 || from === undefined) return `"${element}" is not a value, a range or a step`;
  const low = valueOf(from, field);
  if (low === undefined) return `"${from}" is not in ${range}`;
  if (to === undefined) return undefined;
  const high = valueOf(to, field);
  if (high === undefined) return `"${to}" is not in ${range}`;
  return low <= high ? undefined : `"${base}": a range must run from low to high`;
}

/** Allowed in an expression at all: what a field may hold (anything else, e.g. control characters or odd Unicode, is refused up front). */
const CRON_TEXT = /^[0-9A-Za-z*?,\-/#]+$/;

/**
 * Parses a cron expression in EventBridge's six-field form, either `cron(m h dom mon dow y)` or the
 * six fields bare, into its normalized form `cron(…)` (single spaces). Exactly one of
 * day-of-month and day-of-week is `?`, as EventBridge requires.
 * @returns the normalized expression, or the errors (path `path`) when it is not valid.
 */
export function parseCron(text: string, path = '/cron'): { expression: string } | { errors: FieldError[] } {
  const fail = (message: string) => ({ errors: [{ path, message }] });
  if (text.length > MAX_EXPRESSION_LENGTH) return fail(`must be at most ${MAX_EXPRESSION_LENGTH} characters`);
  const inner = /^\s*cron\((.*)\)\s*$/s.exec(text)?.[1] ?? text;
  const fields = inner.trim().split(/ +/);
  if (fields.length !== 6 || fields.some((field) => !CRON_TEXT.test(field))) {
    return fail('must be 6 fields "minutes hours day-of-month month day-of-week year" (EventBridge cron), bare or as cron(...), e.g. "0 9 ? * MON-FRI *"');
  }
  const errors: string[] = [];
  fields.forEach((value, index) => {
    const field = CRON_FIELDS[index]!;
    if (value === '?') {
      if (!field.question) errors.push(`${field.name}: ? is only allowed in day-of-month and day-of-week`);
      return;
    }
    const elements = value.split(',');
    if (elements.length > 60) {
      errors.push(`${field.name}: at most 60 values`);
      return;
    }
    for (const element of elements) {
      const error = elementError(element, field);
      if (error) errors.push(`${field.name}: ${error}`);
    }
  });
  const [, , dom, , dow] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    errors.push('exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)');
  }
  if (errors.length > 0) return { errors: errors.slice(0, 6).map((message) => ({ path, message })) };
  return { expression: `cron(${fields.map((field) => field.toUpperCase()).join(' ')})` };
}

/** The longest rate: a year of days (the value has at most 6 digits either way). */
const MAX_RATE_DAYS = 366;
const RATE_UNIT_MINUTES: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 1440 };

/**
 * Parses a rate, `rate(<n> minute[s]|hour[s]|day[s])` or the same without `rate(...)`: singular for 1,
 * plural otherwise (as EventBridge requires), at least 1 minute, at most 366 days.
 * @returns the normalized expression `rate(…)`, or the errors.
 */
export function parseRate(text: string, path = '/rate'): { expression: string } | { errors: FieldError[] } {
  const inner = /^\s*rate\((.*)\)\s*$/s.exec(text)?.[1] ?? text;
  const match = /^\s*(\d{1,6}) (minute|hour|day)(s?)\s*$/.exec(inner);
  const value = Number(match?.[1]);
  if (!match || value < 1) return { errors: [{ path, message: 'must be "rate(<n> minute[s]|hour[s]|day[s])" with a whole n of at least 1, e.g. "rate(5 minutes)"' }] };
  if ((match[3] === 's') !== value > 1) return { errors: [{ path, message: `the unit must be ${value === 1 ? 'singular for 1' : 'plural for more than 1'} (e.g. "rate(1 hour)", "rate(2 hours)")` }] };
  if (value * RATE_UNIT_MINUTES[match[2]!]! > MAX_RATE_DAYS * 1440) return { errors: [{ path, message: `must be at most ${MAX_RATE_DAYS} days` }] };
  return { expression: `rate(${value} ${match[2]}${match[3]})` };
}

/** The longest time zone name accepted (the longest IANA name is 32 characters). */
const MAX_TIMEZONE_LENGTH = 64;

/**
 * The canonical spelling of an IANA time zone name (`europe/paris` → `Europe/Paris`), or undefined
 * when `name` is none. Offsets (`+01:00`) and anything with other characters are refused by their
 * shape; the rest must be known to the runtime's time zone data (ICU, the same IANA database
 * EventBridge Scheduler uses). A link such as `US/Eastern` is accepted as spelled, in its own case
 * only (Scheduler's names are case-sensitive).
 */
export function canonicalTimezone(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_TIMEZONE_LENGTH || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(name)) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    return undefined;
  }
  const lower = name.toLowerCase();
  if (lower === 'utc') return 'UTC';
  return Intl.supportedValuesOf('timeZone').find((zone) => zone === name || zone.toLowerCase() === lower) ?? (/^[A-Z]/.test(name) ? name : undefined);
}

/** What a schedule's create request asks for, checked. */
export interface ScheduleSpec {
  readonly expression: string;
  readonly timezone: string;
  readonly startDate?: string;
  readonly endDate?: string;
}

/** The raw fields of a schedule's create request that {@link checkScheduleSpec} reads. */
export interface ScheduleSpecFields {
  readonly cron?: string;
  readonly rate?: string;
  readonly timezone?: string;
  readonly start_date?: string;
  readonly end_date?: string;
}

/**
 * Checks a schedule's expression (exactly one of `cron` and `rate`), time zone (IANA, default
 * `UTC`) and dates (ISO 8601 with a zone; the end later than the start and than `now`).
 * @returns the spec, or every error found.
 */
export function checkScheduleSpec(fields: ScheduleSpecFields, now: Date = new Date()): { spec: ScheduleSpec } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  let expression = '';
  if ((fields.cron === undefined) === (fields.rate === undefined)) {
    errors.push({ path: '', message: 'must have exactly one of "cron" and "rate"' });
  } else {
    const parsed = fields.cron !== undefined ? parseCron(fields.cron) : parseRate(fields.rate!);
    if ('errors' in parsed) errors.push(...parsed.errors);
    else expression = parsed.expression;
  }
  const timezone = fields.timezone === undefined ? 'UTC' : canonicalTimezone(fields.timezone);
  if (timezone === undefined) errors.push({ path: '/timezone', message: 'must be an IANA time zone name, e.g. "Europe/Paris" or "UTC"' });
  const start = dateOf(fields.start_date, '/start_date', errors);
  const end = dateOf(fields.end_date, '/end_date', errors);
  if (start !== undefined && end !== undefined && end <= start) errors.push({ path: '/end_date', message: 'must be later than start_date' });
  if (end !== undefined && end <= now.getTime()) errors.push({ path: '/end_date', message: 'must be in the future' });
  if (errors.length > 0) return { errors };
  return {
    spec: {
      expression,
      timezone: timezone!,
      ...(start === undefined ? {} : { startDate: new Date(start).toISOString() }),
      ...(end === undefined ? {} : { endDate: new Date(end).toISOString() }),
    },
  };
}

/** The instant of an ISO 8601 date-time with a zone (`Z` or `±hh:mm`), or undefined (an error is recorded when it is given but invalid). */
function dateOf(text: string | undefined, path: string, errors: FieldError[]): number | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) {
    errors.push({ path, message: 'must be an ISO 8601 date-time with a zone, e.g. "2027-01-01T00:00:00Z"' });
    return undefined;
  }
  return at;
}
