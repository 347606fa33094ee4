import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { planForm, readForm, type Field, type FormPlan } from '../../../lambdas/dashboard/schema-form.js';
import { jsonSchema } from '../../../lambdas/tasks/catalogue.js';

/** The fields of a plan that must have fields. */
function fieldsOf(plan: FormPlan): readonly Field[] {
  if (plan.kind !== 'fields') throw new Error(`expected fields, got raw ${plan.initial}`);
  return plan.fields;
}

// Schemas as the catalogue publishes them (zod → JSON Schema), so the generator meets what the API serves.
const approval = jsonSchema(
  z.strictObject({
    title: z.string().check(z.minLength(1)),
    pages: z.int(),
    ratio: z.optional(z.number()),
    approved: z.boolean(),
    urgent: z.optional(z.boolean()),
    language: z.optional(z.enum(['en', 'de'])),
    tags: z.optional(z.array(z.string())),
  }),
  [{ title: 'Launch', pages: 3, approved: true, language: 'de', tags: ['a', 'b'] }],
);

describe('planForm', () => {
  it('gives each property of an object schema the control its type needs, required ones marked', () => {
    const fields = fieldsOf(planForm(approval));

    expect(fields.map((field) => [field.name, field.kind, field.required])).toEqual([
      ['title', 'string', true],
      ['pages', 'integer', true],
      ['ratio', 'number', false],
      ['approved', 'boolean', true],
      // An optional boolean needs "absent" too, which a checkbox cannot say.
      ['urgent', 'enum', false],
      ['language', 'enum', false],
      ['tags', 'string-list', false],
    ]);
    expect(fields.find((field) => field.name === 'language')?.options).toEqual(['"en"', '"de"']);
    expect(fields.find((field) => field.name === 'urgent')?.options).toEqual(['true', 'false']);
  });

  it('fills the fields from the schema\'s first example', () => {
    const initial = Object.fromEntries(fieldsOf(planForm(approval)).map((field) => [field.name, field.initial]));

    expect(initial).toEqual({ title: 'Launch', pages: '3', ratio: '', approved: true, urgent: '', language: '"de"', tags: 'a\nb' });
  });

  it('falls back to raw JSON, showing the example, when a property is a nested object', () => {
    const schema = jsonSchema(z.strictObject({ documents: z.array(z.strictObject({ url: z.string() })) }), [{ documents: [{ url: 'u' }] }]);

    expect(planForm(schema)).toEqual({ kind: 'raw', initial: JSON.stringify({ documents: [{ url: 'u' }] }, null, 2) });
  });

  it('falls back to raw JSON for a schema that is not an object, and for any-JSON ({})', () => {
    expect(planForm({ type: 'array', items: { type: 'string' } })).toEqual({ kind: 'raw', initial: 'null' });
    expect(planForm({})).toEqual({ kind: 'raw', initial: 'null' });
  });

  it('plans no fields for an object without properties, which reads as {}', () => {
    const plan = planForm(jsonSchema(z.strictObject({})));

    expect(plan).toEqual({ kind: 'fields', fields: [] });
    expect(readForm(plan, {})).toEqual({ value: {} });
  });
});

describe('readForm', () => {
  const plan = planForm(approval);

  it('types what was entered: integers and numbers as numbers, enums as their JSON value, lists by line', () => {
    const result = readForm(plan, { title: 'T', pages: '12', ratio: '0.5', approved: false, urgent: 'true', language: '"en"', tags: ' x \n\n y ' });

    expect(result).toEqual({ value: { title: 'T', pages: 12, ratio: 0.5, approved: false, urgent: true, language: 'en', tags: ['x', 'y'] } });
  });

  it('leaves out the optional properties left empty', () => {
    expect(readForm(plan, { title: 'T', pages: '1', ratio: '', approved: true, urgent: '', language: '', tags: '' })).toEqual({
      value: { title: 'T', pages: 1, approved: true },
    });
  });

  it('names each field that cannot be read: a missing required number, a fraction for an integer, text for a number', () => {
    expect(readForm(plan, { title: 'T', pages: '', approved: true })).toEqual({ errors: [{ name: 'pages', message: 'is required' }] });
    expect(readForm(plan, { title: 'T', pages: '1.5', ratio: 'abc', approved: true })).toEqual({
      errors: [
        { name: 'pages', message: 'must be a whole number' },
        { name: 'ratio', message: 'must be a number' },
      ],
    });
  });

  it('refuses an enum value the schema does not list', () => {
    expect(readForm(plan, { title: 'T', pages: '1', approved: true, language: '"fr"' })).toEqual({
      errors: [{ name: 'language', message: 'must be one of the listed values' }],
    });
  });

  it('parses the raw fallback, and says when it is not JSON', () => {
    const raw = planForm({});

    expect(readForm(raw, { json: '{"a": [1, 2]}' })).toEqual({ value: { a: [1, 2] } });
    expect(readForm(raw, { json: '{a' })).toEqual({ errors: [{ name: 'json', message: 'is not valid JSON' }] });
  });
});
