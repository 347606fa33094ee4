import type * as z from 'zod/mini';
import { ValidationError, type FieldError } from '../domain/errors.js';

type Issue = z.core.$ZodIssue;

/**
 * The message {@link parseWith} has zod give an issue whose schema brings none of its own, so a
 * task author's message (`z.regex(pattern, 'must be an http(s) URL')`) can be told from zod's.
 */
const NO_MESSAGE = '\u0000';

/** How a value must be, by zod's name of its type. */
const TYPES: Readonly<Record<string, string>> = {
  int: 'an integer',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  boolean: 'true or false',
  null: 'null',
};

/** What string formats must be, by zod's name of the format; a regex without a message is described apart. */
const FORMATS: Readonly<Record<string, string>> = {
  email: 'an email address',
  url: 'a URL',
  datetime: 'an ISO 8601 date-time',
  date: 'an ISO 8601 date',
};

/** How much of a name the caller chose a 400 repeats, so it stays small whatever the request held. */
export const ECHO_LENGTH = 64;

/** How many unknown names (body fields, query parameters) a 400 quotes; it counts the rest. */
export const ECHO_NAMES = 10;

/** At most {@link ECHO_LENGTH} characters of a text the caller chose. */
export function cut(text: string): string {
  return text.length > ECHO_LENGTH ? `${text.slice(0, ECHO_LENGTH)}…` : text;
}

/** A bound in words: "must be at least 1 character", "must have exactly 2 items", "must be less than 10". */
function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, limit: number | bigint, small: boolean): string {
  const unit = issue.origin === 'string' ? 'character' : issue.origin === 'array' || issue.origin === 'set' ? 'item' : '';
  const how = issue.exact ? 'exactly' : issue.inclusive || unit ? (small ? 'at least' : 'at most') : small ? 'more than' : 'less than';
  return `must ${unit === 'item' ? 'have' : 'be'} ${how} ${limit}${unit && ` ${unit}${Number(limit) === 1 ? '' : 's'}`}`;
}

/** What is wrong, completing a sentence whose subject is the failing path ("/input/title must …"). */
function describe(issue: Issue): string {
  // The task author's own words for a rule win: they know what it means (e.g. "must be an http(s) URL").
  if (issue.message !== NO_MESSAGE) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      // A missing field (zod says "nonoptional" when its schema accepts anything, e.g. `z.unknown()`).
      if (issue.input === undefined) return 'is required';
      return `must be ${TYPES[issue.expected] ?? `a ${issue.expected}`}`;
    case 'too_small':
      return bound(issue, issue.minimum, true);
    case 'too_big':
      return bound(issue, issue.maximum, false);
    case 'invalid_format': {
      // zod's issue type leaves out the text starts_with, ends_with and includes look for.
      const { prefix, suffix, includes } = issue as { prefix?: string; suffix?: string; includes?: string };
      const part = prefix ?? suffix ?? includes;
      if (part !== undefined) return `must ${prefix ? 'start with' : suffix ? 'end with' : 'contain'} ${JSON.stringify(part)}`;
      if (issue.format === 'regex') return 'does not match the required pattern';
      return `must be ${FORMATS[issue.format] ?? `a valid ${issue.format}`}`;
    }
    case 'unrecognized_keys':
      return unknownFields(issue.keys);
    case 'invalid_value':
      return `must be ${issue.values.length > 1 ? 'one of ' : ''}${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    default:
      return 'is not valid';
  }
}

/**
 * The message for fields an object should not have: `has an unknown field "x"`, quoting at most
 * {@link ECHO_NAMES} names, each {@link cut}.
 */
export function unknownFields(names: readonly string[]): string {
  const shown = names.slice(0, ECHO_NAMES).map((name) => JSON.stringify(cut(name)));
  const more = names.length - ECHO_NAMES;
  return `has ${names.length > 1 ? 'unknown fields' : 'an unknown field'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * One JSON-pointer segment (RFC 6901): `~` and `/` escaped, and cut to 64 characters, as it
 * may be a key the caller chose (a record's).
 */
export function pointerSegment(part: PropertyKey): string {
  return `/${cut(String(part)).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/**
 * The `detail` of a 400: "The <what> is not valid: " and each failing path with what is wrong.
 * The root's pointer is "" (RFC 6901), so a whole-body failure reads "it …".
 */
export function invalid(what: string, errors: readonly FieldError[]): ValidationError {
  return new ValidationError(`The ${what} is not valid: ${errors.map((e) => `${e.path || 'it'} ${e.message}`).join('; ')}.`, errors);
}

/**
 * Parses `value` with `schema`.
 * @throws ValidationError (400) listing every failing path, prefixed by `prefix`.
 */
export function parseWith<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  prefix: string,
  what: string,
): z.output<S> {
  // The input is reported only to tell a missing field from a wrong one; it is never shown.
  const result = schema.safeParse(value, { error: () => NO_MESSAGE, reportInput: true });
  if (result.success) return result.data;
  throw invalid(
    what,
    result.error.issues.slice(0, 20).map((issue) => ({ path: prefix + issue.path.map(pointerSegment).join(''), message: describe(issue) })),
  );
}
