import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { bodyOf, createBody } from '../../../lambdas/api/bodies.js';
import { validateWith } from '../../../lambdas/api/validation.js';
import { ValidationError, type FieldError } from '../../../lambdas/domain/errors.js';
import { jsonSchema } from '../../../lambdas/tasks/catalogue.js';
import { checkedSchemaOf } from '../../../lambdas/tasks/checked-schema.js';
import { samplePipeline } from '../../support/sample-tasks.js';

/** The ValidationError `act` throws. */
function refusal(act: () => unknown): ValidationError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

function errorsOf(act: () => unknown): readonly FieldError[] {
  return (refusal(act).extensions.errors as FieldError[] | undefined) ?? [];
}

/**
 * Checks `value` as the API does (`validateWith`) against the catalogue's form of `schema`: its
 * JSON Schema and its author's words, computed at synth (`checkedSchemaOf`) as for a task.
 */
function parseWith(schema: z.ZodMiniType, value: unknown, prefix: string, what: string): void {
  validateWith(checkedSchemaOf(schema, jsonSchema(schema), 'the test schema'), value, prefix, what);
}

/** The message for `value` under `schema`, at `/input/value`. */
function messageFor(schema: z.ZodMiniType, value: unknown): string | undefined {
  return errorsOf(() => parseWith(z.object({ value: schema }), { value }, '/input', 'input'))[0]?.message;
}

describe('validation messages', () => {
  it('says an invalid document_url must be an http(s) URL, the task\'s own words (it said "must be a valid regex")', () => {
    const error = refusal(() => parseWith(samplePipeline.input, { document_url: 'ftp://example.com/x' }, '/input', 'input of task sample-pipeline'));

    expect(error.extensions.errors).toEqual([{ path: '/input/document_url', message: 'must be an http(s) URL' }]);
    expect(error.message).toBe('The input of task sample-pipeline is not valid: /input/document_url must be an http(s) URL.');
  });

  it('says a pattern without a message of its own is not matched, without naming zod\'s format', () => {
    expect(messageFor(z.string().check(z.regex(/^a+$/)), 'b')).toBe('does not match the required pattern');
  });

  it("prefers the author's message for any rule JSON Schema carries", () => {
    expect(messageFor(z.string().check(z.minLength(3, 'needs three letters')), 'ab')).toBe('needs three letters');
    expect(messageFor(z.int().check(z.maximum(9, 'one digit only')), 10)).toBe('one digit only');
    expect(messageFor(z.array(z.string()).check(z.minLength(1, 'name someone')), [])).toBe('name someone');
    expect(messageFor(z.enum(['en', 'de'], 'pick a language we speak'), 'fr')).toBe('pick a language we speak');
  });

  it("gives a schema's own message to each of its rules without one, and to a missing field", () => {
    const title = z.string('must be a title').check(z.maxLength(3));

    expect(messageFor(title, 5)).toBe('must be a title');
    expect(messageFor(title, 'long')).toBe('must be a title');
    expect(errorsOf(() => parseWith(z.strictObject({ title }), {}, '/input', 'input'))).toEqual([{ path: '/input/title', message: 'must be a title' }]);
  });

  it('keeps each message on its own pattern when a string has two', () => {
    const code = z.string().check(z.regex(/^[A-Z]/, 'must start with a capital'), z.regex(/\d$/, 'must end with a digit'));

    expect(messageFor(code, 'a1')).toBe('must start with a capital');
    expect(messageFor(code, 'Ab')).toBe('must end with a digit');
  });

  it.each([
    ['a string of at least 1', z.string().check(z.minLength(1)), '', 'must be at least 1 character'],
    ['a string of at least 2', z.string().check(z.minLength(2)), 'a', 'must be at least 2 characters'],
    ['a string of at most 1', z.string().check(z.maxLength(1)), 'ab', 'must be at most 1 character'],
    ['a string of exactly 3', z.string().check(z.length(3)), 'ab', 'must be exactly 3 characters'],
    ['an array of at least 1', z.array(z.string()).check(z.minLength(1)), [], 'must have at least 1 item'],
    ['an array of at most 2', z.array(z.string()).check(z.maxLength(2)), ['a', 'b', 'c'], 'must have at most 2 items'],
    ['a number of at least 10', z.number().check(z.minimum(10)), 9, 'must be at least 10'],
    ['a number above 10', z.number().check(z.gt(10)), 10, 'must be more than 10'],
    ['a number below 10', z.number().check(z.lt(10)), 10, 'must be less than 10'],
  ])('names the limit of %s in plain words, singular or plural', (_what, schema, value, message) => {
    expect(messageFor(schema, value)).toBe(message);
  });

  it.each([
    ['a string', z.string(), 1, 'must be a string'],
    ['a number', z.number(), 'x', 'must be a number'],
    ['an integer', z.int(), 1.5, 'must be an integer'],
    ['a boolean', z.boolean(), 'yes', 'must be true or false'],
    ['an object', z.object({}), [], 'must be an object'],
    ['an object of any keys', z.record(z.string(), z.number()), 1, 'must be an object'],
    ['an array', z.array(z.number()), {}, 'must be an array'],
    ['an email address', z.email(), 'x', 'must be an email address'],
    ['a URL', z.url(), 'x', 'must be a URL'],
    ['a prefix', z.string().check(z.startsWith('ab')), 'x', 'must start with "ab"'],
    ['one value', z.literal('x'), 'y', 'must be "x"'],
    ['one of several values', z.enum(['en', 'de']), 'fr', 'must be one of "en", "de"'],
    ['a multiple', z.number().check(z.multipleOf(5)), 7, 'must be a multiple of 5'],
    ['a union', z.union([z.string().check(z.minLength(2)), z.number()]), true, 'matches none of the accepted forms'],
    ['a union of plain types', z.union([z.string(), z.number()]), true, 'must be a string or a number'],
    ['a string or null', z.nullable(z.string()), 1, 'must be a string or null'],
    ['a suffix', z.string().check(z.endsWith('.pdf')), 'x.doc', 'must end with ".pdf"'],
    ['an ISO date', z.iso.date(), '2024-13-01', 'must be an ISO 8601 date'],
  ])('says what the value must be: %s', (_what, schema, value, message) => {
    expect(messageFor(schema, value)).toBe(message);
  });

  it('names the failing rule of the one branch a value is meant for: a nullable string that is too short', () => {
    expect(messageFor(z.nullable(z.string().check(z.minLength(3))), 'ab')).toBe('must be at least 3 characters');
  });

  it('names the failing field of the branch a tagged union value is meant for', () => {
    const shape = z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('circle'), r: z.number() }), z.strictObject({ kind: z.literal('square'), side: z.number() })]);

    expect(errorsOf(() => parseWith(shape, { kind: 'square' }, '/input', 'input'))).toEqual([{ path: '/input/side', message: 'is required' }]);
    expect(errorsOf(() => parseWith(shape, { kind: 'oval' }, '/input', 'input'))).toEqual([{ path: '/input', message: 'matches none of the accepted forms' }]);
  });

  it('says a missing field is required, rather than of the wrong type', () => {
    const errors = errorsOf(() => parseWith(z.strictObject({ title: z.string(), body: z.unknown() }), {}, '/input', 'input'));

    expect(errors).toEqual([
      { path: '/input/title', message: 'is required' },
      { path: '/input/body', message: 'is required' },
    ]);
  });

  it('names unknown input fields quoted, in a sentence about their object', () => {
    const errors = errorsOf(() => parseWith(z.strictObject({}), { extra: 1, other: 2 }, '/input', 'input'));

    expect(errors).toEqual([{ path: '/input', message: 'has unknown fields "extra", "other"' }]);
  });

  it('puts unknown body fields at the root pointer "" and says so in words (it said "/ unknown field: x" while bad JSON was at "/")', () => {
    const error = refusal(() => bodyOf(createBody, { input: {}, urgency: 1 }));

    expect(error.extensions.errors).toEqual([{ path: '', message: 'has an unknown field "urgency"' }]);
    expect(error.message).toBe('The request body is not valid: it has an unknown field "urgency".');
  });

  it('uses the root pointer "" for a body that is missing or not an object too', () => {
    expect(errorsOf(() => bodyOf(createBody, undefined))).toEqual([{ path: '', message: 'is required' }]);
    expect(errorsOf(() => bodyOf(createBody, [1]))).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it('cuts a long key the caller chose in a path to 64 characters', () => {
    const key = 'k'.repeat(10_000);

    const [error] = errorsOf(() => parseWith(z.record(z.string(), z.number()), { [key]: 'x' }, '/input', 'input'));

    expect(error?.path).toBe(`/input/${'k'.repeat(64)}…`);
  });
});
