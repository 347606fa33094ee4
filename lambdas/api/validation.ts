import { ValidationError, type FieldError } from '../domain/errors.js';
import { validateSchema, type SchemaIssue } from '../domain/json-schema.js';
import type { CheckedSchema, SchemaMessages } from '../tasks/task-catalogue.js';

/** How a value must be, by JSON Schema type. */
const TYPES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  object: 'an object',
  array: 'an array',
  boolean: 'true or false',
  null: 'null',
};

/** What strings of a JSON Schema `format` must be; the format's pattern does the checking. */
const FORMATS: Readonly<Record<string, string>> = {
  email: 'an email address',
  uri: 'a URL',
  'date-time': 'an ISO 8601 date-time',
  date: 'an ISO 8601 date',
  duration: 'an ISO 8601 duration',
  uuid: 'a UUID',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  lowercase: 'lowercase',
  uppercase: 'uppercase',
};

/** How much of a name the caller chose a 400 repeats, so it stays small whatever the request held. */
export const ECHO_LENGTH = 64;

/** How many unknown names (body fields, query parameters) a 400 quotes; it counts the rest. */
export const ECHO_NAMES = 10;

/** At most {@link ECHO_LENGTH} characters of a text the caller chose. */
export function cut(text: string): string {
  return text.length > ECHO_LENGTH ? `${text.slice(0, ECHO_LENGTH)}…` : text;
}

/**
 * How many characters `text` has, as JSON Schema's `minLength`/`maxLength` count them: Unicode
 * code points, so an emoji is one character (two UTF-16 units), and a bound in a published schema
 * means what the check means.
 */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** A bound in words: "must be at least 1 character", "must have exactly 2 items", "must be less than 10". */
function bound(schema: SchemaIssue['schema'], keyword: string): string {
  const limit = Number(schema[keyword]);
  const counted = /Length$/.test(keyword) ? 'character' : /Items$/.test(keyword) ? 'item' : '';
  const small = keyword.startsWith('min') || keyword === 'exclusiveMinimum';
  // zod's exact length is a minimum and a maximum of one value.
  const other = counted && schema[small ? keyword.replace('min', 'max') : keyword.replace('max', 'min')];
  const how = other === limit ? 'exactly' : keyword.startsWith('exclusive') ? (small ? 'more than' : 'less than') : small ? 'at least' : 'at most';
  return `must ${counted === 'item' ? 'have' : 'be'} ${how} ${limit}${counted && ` ${counted}${limit === 1 ? '' : 's'}`}`;
}

/** The author's words at a pointer, if any (own keys only: pointers come from the caller's field names). */
function wordsAt(words: Readonly<Record<string, string>> | undefined, pointer: string): string | undefined {
  return words && Object.hasOwn(words, pointer) ? words[pointer] : undefined;
}

/** What is wrong, completing a sentence whose subject is the failing path ("/input/title must …"). */
function describe(issue: SchemaIssue, messages: SchemaMessages | undefined): string {
  const { keyword, schema, at } = issue;
  if (keyword === 'budget') return 'is too large or too deeply nested to be checked against its schema';
  // A missing field gets the words of the field's own schema, as zod gives them.
  if (keyword === 'required') {
    const field = String(issue.path[issue.path.length - 1]).replaceAll('~', '~0').replaceAll('/', '~1');
    return wordsAt(messages?.nodes, `${at}/properties/${field}`) ?? 'is required';
  }
  // The task author's own words for a rule win: they know what it means (e.g. "must be an http(s) URL").
  const own = wordsAt(messages?.keywords, `${at}/${keyword}`) ?? wordsAt(messages?.nodes, at);
  if (own !== undefined) return own;
  switch (keyword) {
    case 'type': {
      const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
      return `must be ${types.map((type) => TYPES[String(type)] ?? `a ${String(type)}`).join(' or ')}`;
    }
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return bound(schema, keyword);
    case 'multipleOf':
      return `must be a multiple of ${String(schema.multipleOf)}`;
    case 'pattern':
    case 'format': {
      const format = typeof schema.format === 'string' ? schema.format : undefined;
      if (format === undefined) return 'does not match the required pattern';
      return `must be ${FORMATS[format] ?? `a valid ${format}`}`;
    }
    case 'const':
      return `must be ${JSON.stringify(schema.const)}`;
    case 'enum': {
      const values = Array.isArray(schema.enum) ? (schema.enum as unknown[]) : [];
      return `must be ${values.length > 1 ? 'one of ' : ''}${values.map((value) => JSON.stringify(value)).join(', ')}`;
    }
    case 'additionalProperties':
      return unknownFields(issue.names ?? []);
    case 'items':
      return `must have at most ${Array.isArray(schema.prefixItems) ? schema.prefixItems.length : 0} items`;
    case 'propertyNames':
      return 'is not an accepted field name';
    case 'anyOf':
    case 'oneOf':
      return 'matches none of the accepted forms';
    case 'oneOfMany':
      return 'matches more than one of the accepted forms';
    case 'not':
    case 'false':
      return 'is not allowed';
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
 * Checks `value` against a schema of the task catalogue (an execution input, a resume input).
 * @throws ValidationError (400) listing every failing path (at most 20), prefixed by `prefix`,
 * each with the task author's words for the rule or the API's.
 */
export function validateWith(checked: CheckedSchema, value: unknown, prefix: string, what: string): void {
  // A missing value (a resume without input) goes on as null: it is checked as null, and if null
  // is refused, it is missing.
  const errors = schemaErrors(checked, value === undefined ? null : value, prefix);
  if (errors.length === 0) return;
  if (value === undefined) throw invalid(what, [{ path: prefix, message: 'is required' }]);
  throw invalid(what, errors);
}

/**
 * Every way `value` fails `checked.schema` (at most 20), as the failing paths (prefixed by `prefix`)
 * with what is wrong in words: the task author's for the rule, or the API's.
 */
export function schemaErrors(checked: CheckedSchema, value: unknown, prefix = ''): FieldError[] {
  return validateSchema(checked.schema, value).map((issue) => ({
    path: prefix + issue.path.map(pointerSegment).join(''),
    message: describe(issue, checked.messages),
  }));
}
