import type * as z from 'zod/mini';
import { ValidationError, type FieldError } from '../domain/errors.js';

type Issue = z.core.$ZodIssue;

function describe(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod reports a missing key whose schema accepts anything (e.g. `input: z.unknown()`) as "nonoptional".
      if (issue.expected === 'nonoptional') return 'is required';
      return `must be ${issue.expected === 'object' ? 'an object' : `of type ${issue.expected}`}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `must be at least ${issue.minimum} characters`
        : issue.origin === 'array'
          ? `must have at least ${issue.minimum} items`
          : `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${issue.maximum} characters`
        : issue.origin === 'array'
          ? `must have at most ${issue.maximum} items`
          : `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${quoteNames(issue.keys)}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'custom':
      // A refinement's own message (e.g. metadata's "at most 16 keys"); written by us, safe to show.
      return issue.message || 'is not valid';
    default:
      return 'is not valid';
  }
}

/**
 * Names a caller sent (unknown fields), quoted for a message: at most 10, each cut to 64
 * characters, so a 400 stays small whatever the request held.
 */
export function quoteNames(names: readonly string[]): string {
  const shown = names.slice(0, 10).map((name) => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name));
  return `${shown.join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`;
}

/** One JSON-pointer segment (RFC 6901): `~` and `/` escaped. */
export function pointerSegment(part: PropertyKey): string {
  return `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** JSON-pointer path of an issue under `prefix` (e.g. `/input`). */
function pointer(prefix: string, path: readonly PropertyKey[]): string {
  return prefix + path.map(pointerSegment).join('');
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
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues
    .slice(0, 20)
    .map((issue) => ({ path: pointer(prefix, issue.path), message: describe(issue) }));
  throw new ValidationError(`The ${what} is not valid: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}.`, errors);
}
