// A JSON Schema (draft 2020-12) validator for exactly the keywords zod's `toJSONSchema` emits for
// task inputs. It interprets the schema as it walks the value: no code generation (no `eval`, no
// `new Function`), so it needs no `unsafe-eval`-like allowance and costs a few KB of bundle where
// a general validator costs tens. The synth refuses a schema holding a keyword this does not know
// (`unsupportedKeywords`), so no rule of a published schema is ever skipped silently.

/** A JSON Schema: `true` (anything), `false` (nothing) or an object of keywords. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** One way a value fails a schema. */
export interface SchemaIssue {
  /** Where in the value: the keys and indexes from its root (for `required`, the missing key last). */
  readonly path: readonly (string | number)[];
  /**
   * The failing keyword (`type`, `required`, `pattern`…); `false` for a `false` schema, `budget`
   * when the value took more work to check than {@link MAX_STEPS}.
   */
  readonly keyword: string;
  /** JSON pointer (RFC 6901) of the subschema holding the keyword, from the root schema ("" the root). */
  readonly at: string;
  /** That subschema. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The keys an `additionalProperties: false` object does not allow. */
  readonly names?: readonly string[];
}

/** Keywords that constrain a value: every one is checked. */
const ASSERTIONS = new Set([
  '$ref', 'type', 'enum', 'const', 'not', 'anyOf', 'oneOf', 'allOf',
  'properties', 'required', 'additionalProperties', 'patternProperties', 'propertyNames',
  'items', 'prefixItems', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'pattern', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
]);

/** Keywords that only describe (draft 2020-12 annotations): nothing to check. */
const ANNOTATIONS = new Set([
  '$schema', '$id', '$defs', '$comment', 'title', 'description', 'examples', 'default',
  'readOnly', 'writeOnly', 'deprecated', 'contentEncoding', 'contentMediaType',
]);

/**
 * The only `format` checked by itself: zod's other formats come with the `pattern` that checks
 * them (`format` is an annotation in draft 2020-12), while `z.url()` has none, so "uri" is checked
 * as a URL the WHATWG parser accepts, as zod does.
 */
const CHECKED_FORMAT = 'uri';

/** Issues collected at most: a 400 lists this many, and a hostile value cannot make it list more. */
export const MAX_ISSUES = 20;

/**
 * Subschema checks one value may cost. A 256 KB body holds at most ~128k JSON values (`0,`), so
 * this leaves every value a few checks (a union, an allOf); only schemas whose unions multiply the
 * work per level of nesting reach it, and the value is then refused rather than checked for minutes.
 */
export const MAX_STEPS = 500_000;

/** Values nested deeper than this are refused (the API already refuses bodies over 100 levels). */
const MAX_DEPTH = 200;

type Node = Readonly<Record<string, unknown>>;
type Path = readonly (string | number)[];

class TooMuchWork extends Error {}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One JSON-pointer segment (RFC 6901). */
const segment = (key: string | number): string => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

const PATTERNS = new Map<string, RegExp>();

/**
 * A pattern as JSON Schema reads it (ECMA-262 with the `u` flag); one that is no valid Unicode
 * pattern (zod's generator copies a JS regex's source as it is) falls back to the source's own
 * reading, which is what zod ran.
 */
function regex(pattern: string): RegExp {
  let compiled = PATTERNS.get(pattern);
  if (!compiled) {
    try {
      compiled = new RegExp(pattern, 'u');
    } catch {
      compiled = new RegExp(pattern);
    }
    PATTERNS.set(pattern, compiled);
  }
  return compiled;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function typeMatches(type: unknown, value: unknown): boolean {
  if (Array.isArray(type)) return type.some((one) => typeMatches(one, value));
  if (type === 'integer') return Number.isInteger(value);
  return jsonType(value) === type;
}

/** Deep equality of JSON values (`enum`, `const`). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, index) => equal(item, b[index]));
  if (!isNode(a) || !isNode(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
}

/** Unicode code points in `text` (JSON Schema's string length), counting only as far as `limit`. */
function codePoints(text: string, limit: number): number {
  let count = 0;
  for (const _ of text) if (++count > limit) break;
  return count;
}

/** `value` is a multiple of `divisor`, up to the rounding of decimal fractions (0.3 of 0.1). */
function isMultiple(value: number, divisor: number): boolean {
  const quotient = value / divisor;
  return Math.abs(quotient - Math.round(quotient)) <= 1e-9 * Math.max(1, Math.abs(quotient));
}

/** Whether a union branch could be meant for `value`: its type admits it and its constant fields match. */
function aimsAt(branch: JsonSchema, value: unknown): boolean {
  if (!isNode(branch) || branch.$ref !== undefined) return true;
  if (branch.type !== undefined && !typeMatches(branch.type, value)) return false;
  if (!isNode(value) || !isNode(branch.properties)) return true;
  const properties = branch.properties;
  return Object.keys(properties).every((key) => {
    const property = properties[key];
    return !isNode(property) || !Object.hasOwn(property, 'const') || !Object.hasOwn(value, key) || equal(property.const, value[key]);
  });
}

class Validation {
  steps = 0;
  private readonly refs = new Map<string, readonly [JsonSchema, string]>();

  constructor(private readonly root: JsonSchema) {}

  /** The subschema a local `$ref` ("#", "#/$defs/x") points at, and its pointer. */
  private resolve(ref: string): readonly [JsonSchema, string] {
    let found = this.refs.get(ref);
    if (!found) {
      if (!ref.startsWith('#')) throw new Error(`Only local $refs are supported, not ${ref}`);
      let node: unknown = this.root;
      const pointer = ref.slice(1);
      for (const part of pointer.split('/').slice(1)) {
        const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
        if (!isNode(node) || !Object.hasOwn(node, key)) throw new Error(`$ref ${ref} points at nothing`);
        node = node[key];
      }
      if (typeof node !== 'boolean' && !isNode(node)) throw new Error(`$ref ${ref} points at no schema`);
      found = [node, pointer];
      this.refs.set(ref, found);
    }
    return found;
  }

  /** Checks `value` against `schema` (found at pointer `at`), adding what fails to `out`. */
  check(schema: JsonSchema, at: string, value: unknown, path: Path, out: SchemaIssue[]): void {
    if (out.length >= MAX_ISSUES) return;
    if (++this.steps > MAX_STEPS || path.length > MAX_DEPTH) throw new TooMuchWork();
    if (schema === true) return;
    if (schema === false) {
      out.push({ path, keyword: 'false', at, schema: {} });
      return;
    }
    const fail = (keyword: string, names?: readonly string[]) => {
      if (out.length < MAX_ISSUES) out.push({ path, keyword, at, schema, ...(names ? { names } : {}) });
    };
    if (typeof schema.$ref === 'string') {
      const [target, pointer] = this.resolve(schema.$ref);
      this.check(target, pointer, value, path, out);
    }
    // A value of the wrong type fails only that: the rest of the node is about another type.
    if (schema.type !== undefined && !typeMatches(schema.type, value)) return fail('type');
    if (Object.hasOwn(schema, 'const') && !equal(schema.const, value)) fail('const');
    if (Array.isArray(schema.enum) && !schema.enum.some((option) => equal(option, value))) fail('enum');
    if (typeof value === 'string') this.string(schema, value, fail);
    else if (typeof value === 'number') this.number(schema, value, fail);
    else if (Array.isArray(value)) this.array(schema, at, value, path, out, fail);
    else if (isNode(value)) this.object(schema, at, value, path, out, fail);
    if (Array.isArray(schema.allOf)) {
      schema.allOf.forEach((branch: JsonSchema, index) => this.check(branch, `${at}/allOf/${index}`, value, path, out));
    }
    for (const keyword of ['anyOf', 'oneOf'] as const) {
      const branches = schema[keyword];
      if (Array.isArray(branches)) this.union(keyword, branches as JsonSchema[], at, value, path, out, fail);
    }
    if (schema.not !== undefined) {
      const inner: SchemaIssue[] = [];
      this.check(schema.not as JsonSchema, `${at}/not`, value, path, inner);
      if (inner.length === 0) fail('not');
    }
  }

  private string(schema: Node, value: string, fail: (keyword: string) => void): void {
    // A string has at most as many code points as UTF-16 units: count them only when that can matter.
    if (typeof schema.minLength === 'number' && value.length < schema.minLength * 2 && codePoints(value, schema.minLength) < schema.minLength) {
      fail('minLength');
    }
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength && codePoints(value, schema.maxLength) > schema.maxLength) {
      fail('maxLength');
    }
    if (typeof schema.pattern === 'string' && !regex(schema.pattern).test(value)) fail('pattern');
    if (schema.format === CHECKED_FORMAT && !URL.canParse(value)) fail('format');
  }

  private number(schema: Node, value: number, fail: (keyword: string) => void): void {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail('minimum');
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) fail('exclusiveMinimum');
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail('maximum');
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) fail('exclusiveMaximum');
    if (typeof schema.multipleOf === 'number' && !isMultiple(value, schema.multipleOf)) fail('multipleOf');
  }

  private array(schema: Node, at: string, value: readonly unknown[], path: Path, out: SchemaIssue[], fail: (keyword: string) => void): void {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('minItems');
    const tooMany = typeof schema.maxItems === 'number' && value.length > schema.maxItems;
    if (tooMany) fail('maxItems');
    const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as JsonSchema[]) : [];
    prefix.slice(0, value.length).forEach((item, index) => this.check(item, `${at}/prefixItems/${index}`, value[index], [...path, index], out));
    const items = schema.items as JsonSchema | undefined;
    if (items === undefined || value.length <= prefix.length) return;
    // A closed tuple says "too many" once, through maxItems, rather than once per extra item.
    if (items === false) {
      if (!tooMany) fail('items');
      return;
    }
    for (let index = prefix.length; index < value.length && out.length < MAX_ISSUES; index++) {
      this.check(items, `${at}/items`, value[index], [...path, index], out);
    }
  }

  private object(schema: Node, at: string, value: Node, path: Path, out: SchemaIssue[], fail: (keyword: string, names?: readonly string[]) => void): void {
    const properties = isNode(schema.properties) ? schema.properties : {};
    const patterns = isNode(schema.patternProperties) ? Object.keys(schema.patternProperties) : [];
    if (Array.isArray(schema.required)) {
      for (const key of schema.required as string[]) {
        if (!Object.hasOwn(value, key) && out.length < MAX_ISSUES) out.push({ path: [...path, key], keyword: 'required', at, schema });
      }
    }
    const unknown: string[] = [];
    // Own keys only, and looked up with hasOwn: a key such as `__proto__` or `constructor` is a
    // field like any other, never a way into Object.prototype.
    for (const key of Object.keys(value)) {
      if (out.length >= MAX_ISSUES) return;
      const where = [...path, key];
      let declared = false;
      if (Object.hasOwn(properties, key)) {
        declared = true;
        this.check(properties[key] as JsonSchema, `${at}/properties${segment(key)}`, value[key], where, out);
      }
      for (const pattern of patterns) {
        if (!regex(pattern).test(key)) continue;
        declared = true;
        this.check((schema.patternProperties as Node)[pattern] as JsonSchema, `${at}/patternProperties${segment(pattern)}`, value[key], where, out);
      }
      if (schema.propertyNames !== undefined) {
        const inner: SchemaIssue[] = [];
        this.check(schema.propertyNames as JsonSchema, `${at}/propertyNames`, key, where, inner);
        if (inner.length > 0 && out.length < MAX_ISSUES) out.push({ path: where, keyword: 'propertyNames', at, schema });
      }
      if (declared || schema.additionalProperties === undefined) continue;
      if (schema.additionalProperties === false) unknown.push(key);
      else this.check(schema.additionalProperties as JsonSchema, `${at}/additionalProperties`, value[key], where, out);
    }
    if (unknown.length > 0) fail('additionalProperties', unknown);
  }

  private union(
    keyword: 'anyOf' | 'oneOf',
    branches: readonly JsonSchema[],
    at: string,
    value: unknown,
    path: Path,
    out: SchemaIssue[],
    fail: (keyword: string) => void,
  ): void {
    const failures: SchemaIssue[][] = [];
    let passed = 0;
    for (const [index, branch] of branches.entries()) {
      const inner: SchemaIssue[] = [];
      this.check(branch, `${at}/${keyword}/${index}`, value, path, inner);
      failures[index] = inner;
      // anyOf needs one match; oneOf needs to know whether there is a second.
      if (inner.length === 0 && (++passed > 1 || keyword === 'anyOf')) break;
    }
    if (keyword === 'oneOf' && passed > 1) return fail('oneOfMany');
    if (passed > 0) return;
    // A value meant for one branch (the only one of its type, or of its constant tag) is told what
    // is wrong with it there: `null | string` says "must be at least 3 characters", not "matches none".
    const meant = failures.filter((_, index) => aimsAt(branches[index]!, value));
    if (meant.length === 1) {
      for (const issue of meant[0]!) if (out.length < MAX_ISSUES) out.push(issue);
      return;
    }
    fail(keyword);
  }
}

/**
 * Every way `value` fails `schema` (at most {@link MAX_ISSUES}); none when it is valid. `value`
 * is JSON as parsed; the schema is trusted (the task catalogue, built at synth).
 * @throws Error when the schema holds a `$ref` that does not resolve inside it.
 */
export function validateSchema(schema: JsonSchema, value: unknown): readonly SchemaIssue[] {
  const validation = new Validation(schema);
  const issues: SchemaIssue[] = [];
  try {
    validation.check(schema, '', value, [], issues);
  } catch (error) {
    if (!(error instanceof TooMuchWork)) throw error;
    return [{ path: [], keyword: 'budget', at: '', schema: isNode(schema) ? schema : {} }];
  }
  return issues;
}

function compiles(pattern: unknown): boolean {
  try {
    return typeof pattern === 'string' && regex(pattern) instanceof RegExp;
  } catch {
    return false;
  }
}

/**
 * The keywords of `schema` and its subschemas that {@link validateSchema} neither checks nor
 * knows as annotations, with where they are (`/properties/x/uniqueItems`), and `$ref`s that are
 * not local. The synth refuses a schema with any, so no constraint is ever skipped.
 */
export function unsupportedKeywords(schema: JsonSchema, at = ''): string[] {
  if (!isNode(schema)) return [];
  const found: string[] = [];
  const sub = (value: unknown, pointer: string) => found.push(...unsupportedKeywords(value as JsonSchema, pointer));
  const each = (value: unknown, pointer: string) => {
    if (isNode(value)) for (const key of Object.keys(value)) sub(value[key], `${pointer}${segment(key)}`);
  };
  for (const keyword of Object.keys(schema)) {
    const value = schema[keyword];
    const pointer = `${at}${segment(keyword)}`;
    if (!ASSERTIONS.has(keyword) && !ANNOTATIONS.has(keyword)) found.push(pointer);
    else if (keyword === '$ref' && (typeof value !== 'string' || !value.startsWith('#'))) found.push(pointer);
    else if (keyword === 'pattern' && !compiles(value)) found.push(pointer);
    else if (keyword === 'patternProperties' && isNode(value) && !Object.keys(value).every(compiles)) found.push(pointer);
    if (keyword === 'properties' || keyword === 'patternProperties' || keyword === '$defs') each(value, pointer);
    else if (keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'allOf' || keyword === 'prefixItems') {
      if (Array.isArray(value)) value.forEach((branch, index) => sub(branch, `${pointer}/${index}`));
    } else if (keyword === 'not' || keyword === 'items' || keyword === 'additionalProperties' || keyword === 'propertyNames') sub(value, pointer);
  }
  return found;
}
