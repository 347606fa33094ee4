import { describe, expect, it } from 'vitest';
import { MAX_ISSUES, unsupportedKeywords, validateSchema, type JsonSchema, type SchemaIssue } from '../../../lambdas/domain/json-schema.js';

/** Where and why `value` fails `schema`, in short: `path keyword`. */
function failures(schema: JsonSchema, value: unknown): string[] {
  return validateSchema(schema, value).map((issue: SchemaIssue) => `${issue.path.join('.')} ${issue.keyword}`.trim());
}

/** A value parsed from JSON text, as every request body is (`__proto__` becomes an own key). */
const parsed = (text: string): unknown => JSON.parse(text);

const strict: JsonSchema = {
  type: 'object',
  properties: { title: { type: 'string', minLength: 1 }, count: { type: 'integer', minimum: 0 } },
  required: ['title'],
  additionalProperties: false,
};

describe('validateSchema', () => {
  it('passes a valid value and reports nothing', () => {
    expect(failures(strict, { title: 'a', count: 2 })).toEqual([]);
  });

  it('reports each failing field with its keyword, a missing one under its own name, unknown ones together', () => {
    expect(failures(strict, { count: -1.5, extra: 1, other: 2 })).toEqual(['title required', 'count type', 'additionalProperties']);
    expect(validateSchema(strict, { title: 'a', extra: 1, other: 2 })[0]?.names).toEqual(['extra', 'other']);
  });

  it('reports only the type of a value of the wrong type, not the rules of the type it is not', () => {
    expect(failures({ type: 'string', minLength: 3, pattern: '^a' }, 5)).toEqual(['type']);
  });

  it.each([
    ['__proto__', '{"title":"a","__proto__":{"polluted":true}}'],
    ['constructor', '{"title":"a","constructor":{"prototype":{"polluted":true}}}'],
    ['toString', '{"title":"a","toString":1,"hasOwnProperty":2}'],
  ])('treats a %s key as an unknown field like any other, and leaves Object.prototype alone', (_key, text) => {
    const issues = validateSchema(strict, parsed(text));

    expect(issues.map((issue) => issue.keyword)).toEqual(['additionalProperties']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never reads a prototype member as a declared field or its schema', () => {
    // `properties` is a plain object: "constructor" must not find Object.prototype.constructor there.
    expect(failures({ type: 'object', properties: { a: { type: 'string' } } }, parsed('{"constructor":5,"__proto__":5,"valueOf":5}'))).toEqual([]);
    expect(failures({ type: 'object', properties: {}, required: ['constructor', '__proto__'] }, {})).toEqual(['constructor required', '__proto__ required']);
  });

  it('checks a field declared with a prototype name by its own schema', () => {
    const schema: JsonSchema = parsed('{"type":"object","properties":{"__proto__":{"type":"number"},"constructor":{"type":"number"}},"additionalProperties":false}') as JsonSchema;

    expect(failures(schema, parsed('{"__proto__":1,"constructor":2}'))).toEqual([]);
    expect(failures(schema, parsed('{"__proto__":"x","constructor":"y"}'))).toEqual(['__proto__ type', 'constructor type']);
  });

  it(`lists at most ${MAX_ISSUES} issues however many fields fail`, () => {
    const schema: JsonSchema = { type: 'array', items: { type: 'string' } };

    expect(validateSchema(schema, Array.from({ length: 50_000 }, () => 1))).toHaveLength(MAX_ISSUES);
  });

  it('checks a 250 KB string against its length and pattern without trouble, counting characters as code points', () => {
    const long = 'a'.repeat(256_000);

    expect(failures({ type: 'string', maxLength: 10, pattern: '^a+$' }, long)).toEqual(['maxLength']);
    expect(failures({ type: 'string', maxLength: 2 }, '😀😀')).toEqual([]);
    expect(failures({ type: 'string', minLength: 3 }, '😀😀')).toEqual(['minLength']);
  });

  it('follows a recursive schema ($ref "#") as deep as a body may nest, and refuses a deeper value without overflowing', () => {
    const tree: JsonSchema = { type: 'object', properties: { child: { $ref: '#' }, leaf: { type: 'number' } } };
    const nest = (depth: number): unknown => (depth === 0 ? { leaf: 'x' } : { child: nest(depth - 1) });

    const [issue] = validateSchema(tree, nest(99));
    expect(issue?.keyword).toBe('type');
    expect(issue?.path).toHaveLength(100);
    expect(failures(tree, nest(5_000))).toEqual(['budget']);
  });

  it('gives up on a value whose union branches multiply the work, with one issue instead of hanging', () => {
    // Every level tries both branches of the union: 2^depth checks without a budget.
    const explosive: JsonSchema = { anyOf: [{ type: 'array', items: { $ref: '#' }, minItems: 2 }, { type: 'array', items: { $ref: '#' } }] };
    const nest = (depth: number): unknown => (depth === 0 ? ['leaf'] : [nest(depth - 1)]);

    const started = Date.now();
    expect(failures(explosive, nest(60))).toEqual(['budget']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('resolves $refs into $defs and reports issues at the pointer of the definition', () => {
    const schema: JsonSchema = { $defs: { name: { type: 'string', minLength: 2 } }, type: 'object', properties: { a: { $ref: '#/$defs/name' } } };

    expect(validateSchema(schema, { a: 'x' })).toMatchObject([{ path: ['a'], keyword: 'minLength', at: '/$defs/name' }]);
  });

  it('tells the branch a value is meant for: the only one of its type, or of its constant tag', () => {
    const nullable: JsonSchema = { anyOf: [{ type: 'string', minLength: 3 }, { type: 'null' }] };
    const tagged: JsonSchema = {
      oneOf: [
        { type: 'object', properties: { kind: { const: 'a' }, x: { type: 'number' } }, required: ['kind', 'x'] },
        { type: 'object', properties: { kind: { const: 'b' } }, required: ['kind'] },
      ],
    };

    expect(failures(nullable, 'ab')).toEqual(['minLength']);
    expect(failures(nullable, 5)).toEqual(['anyOf']);
    expect(failures(tagged, { kind: 'a' })).toEqual(['x required']);
    expect(failures(tagged, { kind: 'c' })).toEqual(['oneOf']);
  });

  it('refuses a value that matches more than one branch of a oneOf', () => {
    expect(failures({ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 1)).toEqual(['oneOfMany']);
    expect(failures({ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 1.5)).toEqual([]);
  });

  it.each([
    [{ type: 'number', multipleOf: 0.1 }, 0.3, []],
    [{ type: 'number', multipleOf: 0.01 }, 19.99, []],
    [{ type: 'number', multipleOf: 3 }, 10, ['multipleOf']],
    [{ type: 'number', exclusiveMinimum: 1, maximum: 5 }, 1, ['exclusiveMinimum']],
    [{ type: 'integer' }, 1.5, ['type']],
    [{ enum: ['a', 1, null, { b: [1] }] }, { b: [1] }, []],
    [{ const: { b: [1] } }, { b: [2] }, ['const']],
    [{ not: {} }, 'anything', ['not']],
    [false, 'anything', ['false']],
    [{ type: ['string', 'null'] }, null, []],
    [{ type: 'string', format: 'uri' }, 'not a url', ['format']],
    [{ type: 'string', format: 'uri' }, 'https://example.com/a?b=c', []],
    // An annotation-only format (zod pairs it with the pattern that checks it).
    [{ type: 'string', format: 'email' }, 'not an email', []],
    [{ type: 'array', prefixItems: [{ type: 'string' }], items: false, maxItems: 1 }, ['a', 'b'], ['maxItems']],
    [{ type: 'object', propertyNames: { pattern: '^[a-z]+$' }, additionalProperties: { type: 'number' } }, { ok: 1, NO: 2 }, ['NO propertyNames']],
    [{ type: 'object', patternProperties: { '^x_': { type: 'number' } } }, { x_a: 'no', y: 'free' }, ['x_a type']],
    [{ allOf: [{ pattern: 'a' }, { pattern: 'b' }] }, 'a', ['pattern']],
  ] as const)('checks %j against %j', (schema, value, expected) => {
    expect(failures(schema as JsonSchema, value)).toEqual(expected);
  });

  it('reads a pattern as JSON Schema does (Unicode), and one only valid without the u flag as its source reads', () => {
    expect(failures({ type: 'string', pattern: '^\\p{Lu}' }, 'Ärger')).toEqual([]);
    expect(failures({ type: 'string', pattern: "^[\\w\\'-]+$" }, "it's")).toEqual([]);
  });
});

describe('unsupportedKeywords', () => {
  it('finds nothing in the keywords zod emits', () => {
    expect(unsupportedKeywords(strict)).toEqual([]);
  });

  it('names every keyword the validator would skip, and non-local $refs, where they are', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { tags: { type: 'array', uniqueItems: true }, other: { $ref: 'https://example.com/schema' } },
      anyOf: [{ if: {} }],
      dependentRequired: {},
    };

    expect(unsupportedKeywords(schema).sort()).toEqual(['/anyOf/0/if', '/dependentRequired', '/properties/other/$ref', '/properties/tags/uniqueItems']);
  });

  it('names a pattern that does not compile', () => {
    expect(unsupportedKeywords({ type: 'string', pattern: '(' })).toEqual(['/pattern']);
  });
});
