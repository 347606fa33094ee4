import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { bodyOf, createBody } from '../../../lambdas/api/bodies.js';
import { parseWith } from '../../../lambdas/api/validation.js';
import { ValidationError, type FieldError } from '../../../lambdas/domain/errors.js';
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

  it("prefers the author's message for any rule", () => {
    expect(messageFor(z.string().check(z.minLength(3, 'needs three letters')), 'ab')).toBe('needs three letters');
    expect(messageFor(z.string().check(z.refine((text) => text === 'ok', 'must say ok')), 'no')).toBe('must say ok');
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
    ['a union', z.union([z.string(), z.number()]), true, 'matches none of the accepted forms'],
  ])('says what the value must be: %s', (_what, schema, value, message) => {
    expect(messageFor(schema, value)).toBe(message);
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
    const error = refusal(() => bodyOf(createBody, { input: {}, priority: 1 }));

    expect(error.extensions.errors).toEqual([{ path: '', message: 'has an unknown field "priority"' }]);
    expect(error.message).toBe('The request body is not valid: it has an unknown field "priority".');
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
