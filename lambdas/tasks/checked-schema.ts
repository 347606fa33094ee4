import * as z from 'zod/mini';
import { canonicalJson } from '../domain/canonical-json.js';
import { unsupportedKeywords, type JsonSchema } from '../domain/json-schema.js';
import type { CheckedSchema, SchemaMessages } from './task-catalogue.js';

// Runs at synth (and in tests), never in a deployed API function: it needs zod and the task's
// schemas. The API checks inputs against the JSON Schema zod generates from a task's schema, so
// whatever that JSON Schema cannot say would go unchecked: such a schema is refused here, naming
// the rule, instead of being half-enforced in production.

/** The zod internals this reads (zod's own `_zod` fields, as its JSON Schema generator reads them). */
interface ZodCheckDef {
  readonly check: string;
  readonly error?: unknown;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly includes?: string;
  readonly hostname?: RegExp;
  readonly protocol?: RegExp;
}

interface ZodNode {
  readonly _zod: {
    readonly def: ZodCheckDef & { readonly type: string; readonly coerce?: boolean; readonly checks?: readonly ZodNode[] };
    readonly traits: ReadonlySet<string>;
  };
}

type Json = Record<string, unknown>;

/** Words a schema node carries through generation (an own key: it survives zod's final JSON copy). */
const MARK = '\u0000async-executions:words';

interface Mark {
  readonly node?: string;
  readonly keywords?: Readonly<Record<string, string>>;
}

/** Zod schema types whose rules no JSON Schema carries, and why they cannot be deployed. */
const REFUSED_TYPES: Readonly<Record<string, string>> = {
  default: 'has a default (z._default): the API passes inputs on as sent, so it would never be filled in; make the field optional and default it in the step',
  prefault: 'has a default (z.prefault): the API passes inputs on as sent, so it would never be filled in; make the field optional and default it in the step',
  catch: 'has a catch value (z.catch), which the API could not apply',
  pipe: 'is a pipe (z.pipe, a transform or a codec): its JSON Schema describes only one side of it, so the other would never be checked',
  promise: 'is a z.promise, which no JSON value can be checked against',
  success: 'is a z.success, which no JSON value can be checked against',
  file: 'is a z.file, which no JSON value can be',
};

/** Check kinds zod's JSON Schema generator turns into keywords (any other kind would be lost). */
const REPRESENTED_CHECKS = new Set(['greater_than', 'less_than', 'multiple_of', 'number_format', 'min_length', 'max_length', 'length_equals', 'string_format']);

const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One JSON-pointer segment (RFC 6901). */
const segment = (key: string | number): string => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

const pointerOf = (path: readonly (string | number)[]): string => path.map(segment).join('');

/** The text an author's `error` (a string or a function, as zod normalizes both) gives, if any. */
function ownWords(error: unknown): string | undefined {
  if (typeof error !== 'function') return undefined;
  try {
    const words: unknown = error({ code: 'custom', input: undefined, path: [] });
    const text = typeof words === 'string' ? words : isJson(words) && typeof words.message === 'string' ? words.message : undefined;
    return text || undefined;
  } catch {
    // A function of the failing value has no words before there is one: the API's own words apply.
    return undefined;
  }
}

/** Why a check cannot be deployed, or undefined when its JSON Schema says all of it. */
function refusalOf(check: ZodCheckDef): string | undefined {
  if (check.check === 'custom') return 'has a refinement (z.refine, z.superRefine or a custom check), which JSON Schema cannot express: check it in the step instead';
  if (check.check === 'overwrite') return 'rewrites its value (z.trim, z.toLowerCase, z.overwrite…): the API passes inputs on as sent, so the rewrite would never happen';
  if (!REPRESENTED_CHECKS.has(check.check)) return `has a ${check.check} check, which JSON Schema cannot express`;
  if (check.check !== 'string_format') return undefined;
  if (check.format === 'regex' && check.pattern && /[ims]/.test(check.pattern.flags)) {
    return `has the pattern ${String(check.pattern)}, whose flags JSON Schema patterns cannot carry: write it without them`;
  }
  if (check.format === 'url' && (check.hostname || check.protocol)) {
    return 'restricts URL protocols or hostnames (z.httpUrl, or z.url with options), which JSON Schema\'s format "uri" cannot carry: use z.url() or a z.regex';
  }
  if (!check.pattern && check.format !== 'url') return `has the ${check.format ?? 'unnamed'} format, which JSON Schema names but cannot check: use a z.regex`;
  return undefined;
}

/** The API's words for a check whose meaning its JSON Schema keeps only as a pattern. */
function patternWords(check: ZodCheckDef): string | undefined {
  if (check.format === 'starts_with') return `must start with ${JSON.stringify(check.prefix)}`;
  if (check.format === 'ends_with') return `must end with ${JSON.stringify(check.suffix)}`;
  if (check.format === 'includes') return `must contain ${JSON.stringify(check.includes)}`;
  return undefined;
}

/** Where among a node's keywords a check landed (relative pointers, e.g. `pattern` or `allOf/1/pattern`). */
function keywordsOf(check: ZodCheckDef, json: Json): string[] {
  const where = (keyword: string, value: unknown): string[] => {
    if (json[keyword] === value) return [keyword];
    // zod puts a second pattern (or divisor) of one string (or number) into allOf members.
    const members = Array.isArray(json.allOf) ? (json.allOf as unknown[]) : [];
    return members.flatMap((member, index) => (isJson(member) && member[keyword] === value ? [`allOf/${index}/${keyword}`] : []));
  };
  switch (check.check) {
    case 'min_length':
      return [...where('minLength', check.minimum), ...where('minItems', check.minimum)];
    case 'max_length':
      return [...where('maxLength', check.maximum), ...where('maxItems', check.maximum)];
    case 'length_equals':
      return ['minLength', 'maxLength', 'minItems', 'maxItems'].flatMap((keyword) => where(keyword, check.length));
    case 'greater_than':
      return where(check.inclusive ? 'minimum' : 'exclusiveMinimum', check.value);
    case 'less_than':
      return where(check.inclusive ? 'maximum' : 'exclusiveMaximum', check.value);
    case 'multiple_of':
      return where('multipleOf', Math.abs(check.value ?? 0));
    case 'number_format':
      return ['type', 'minimum', 'maximum'].filter((keyword) => keyword in json);
    case 'string_format':
      return check.format === 'url' ? ['format'] : check.pattern ? where('pattern', check.pattern.source) : [];
    default:
      return [];
  }
}

/**
 * zod's `override` hook, called once per schema node as the JSON Schema is finalized: records why
 * a node cannot be deployed, and marks it with its author's words (and the API's, where the
 * keyword alone cannot say what a pattern wants).
 */
function inspect(node: ZodNode, json: Json, path: readonly (string | number)[], problems: string[], bareWords: boolean): void {
  const { def } = node._zod;
  const refuse = (why: string) => problems.push(`${pointerOf(path) || 'the root'} ${why}`);
  const refused = REFUSED_TYPES[def.type];
  if (refused) refuse(refused);
  if (def.coerce) refuse('coerces its value (z.coerce): the API checks the JSON as sent, so it would refuse what the coercion accepts');
  // A string format (z.email()) is its own first check, as zod's generator reads it.
  const checks = [...(node._zod.traits.has('$ZodCheck') ? [node] : []), ...(def.checks ?? [])];
  const keywords: Record<string, string> = {};
  for (const check of checks) {
    const checkDef = check._zod.def;
    const refusal = refusalOf(checkDef);
    if (refusal) {
      refuse(refusal);
      continue;
    }
    const words = ownWords(checkDef.error) ?? patternWords(checkDef);
    if (words) for (const keyword of keywordsOf(checkDef, json)) keywords[keyword] = words;
  }
  // A direct member of a union or intersection keeps no words of its own: a mark would stop zod
  // from merging `anyOf: [{type: "string"}, {type: "null"}]` into one `type`, or from folding
  // the members of an intersection into one object, and the schema would differ from the view.
  // A nullable's member has its parent's path, so a bare `{type}` node may go without words too.
  const parent = path[path.length - 2];
  const member = parent === 'anyOf' || parent === 'oneOf' || parent === 'allOf';
  const bare = Object.keys(json).every((key) => key === 'type' || key === MARK);
  const nodeWords = member || (bare && !bareWords) ? undefined : ownWords(def.error);
  if (nodeWords === undefined && Object.keys(keywords).length === 0) return;
  // Wrappers (optional, nullable…) share their inner node's mark object: replace it, never change it.
  const previous = json[MARK] as Mark | undefined;
  json[MARK] = { node: nodeWords ?? previous?.node, keywords: { ...previous?.keywords, ...keywords } } satisfies Mark;
}

/** Moves every mark out of `node` (generated JSON Schema) into `messages`, by JSON pointer. */
function collectMarks(node: unknown, pointer: string, messages: { keywords: Record<string, string>; nodes: Record<string, string> }): void {
  if (Array.isArray(node)) {
    node.forEach((item, index) => collectMarks(item, `${pointer}/${index}`, messages));
    return;
  }
  if (!isJson(node)) return;
  const mark = node[MARK] as Mark | undefined;
  if (mark) {
    delete node[MARK];
    if (mark.node) messages.nodes[pointer] = mark.node;
    for (const [keyword, words] of Object.entries(mark.keywords ?? {})) messages.keywords[`${pointer}/${keyword}`] = words;
  }
  for (const key of Object.keys(node)) collectMarks(node[key], `${pointer}${segment(key)}`, messages);
}

/** `schema` without its root `examples` (an annotation the catalogue view adds). */
function withoutExamples(schema: unknown): Json {
  const { examples: _examples, ...rest } = isJson(schema) ? schema : {};
  return rest;
}

/**
 * The JSON Schema the API checks values of `schema` against, with the author's words for its
 * rules: the JSON Schema `served` (what the catalogue publishes for it) without its examples.
 * @param what names the schema in errors, e.g. `Task invoice-review: its input`.
 * @throws Error naming every rule of `schema` that its JSON Schema would not enforce (a
 * refinement, a transform, a default…) or that the API's validator does not check.
 */
export function checkedSchemaOf(schema: z.ZodMiniType, served: unknown, what: string): CheckedSchema {
  const published = withoutExamples(served);
  // The words' pointers are those of the generated schema, which is the view's (same options)
  // unless a mark changed its shape: then again without the words of bare nodes, and should that
  // differ too, the published schema is checked as it is, with the API's words.
  let words = wordsOf(schema, what, true);
  if (canonicalJson(words.schema) !== canonicalJson(published)) words = wordsOf(schema, what, false);
  const same = canonicalJson(words.schema) === canonicalJson(published);
  const { keywords, nodes } = words.messages;
  const result: JsonSchema = same ? words.schema : published;
  const unsupported = unsupportedKeywords(result);
  if (unsupported.length > 0) {
    throw new Error(`${what}: its JSON Schema uses ${unsupported.join(', ')}, which the API cannot check`);
  }
  const messages: SchemaMessages = {
    ...(Object.keys(keywords).length > 0 ? { keywords } : {}),
    ...(Object.keys(nodes).length > 0 ? { nodes } : {}),
  };
  return same && Object.keys(messages).length > 0 ? { schema: result, messages } : { schema: result };
}

/**
 * `schema`'s JSON Schema generated with the options of the catalogue view (toTaskView), except
 * that unrepresentable types are refused, and the words marked on its nodes, by pointer.
 * @throws Error naming every rule the JSON Schema would not enforce.
 */
function wordsOf(schema: z.ZodMiniType, what: string, bareWords: boolean) {
  const problems: string[] = [];
  const generated = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: ({ path, message }) => {
      problems.push(`${pointerOf(path) || 'the root'}: ${message}`);
      return 'any';
    },
    override: ({ zodSchema, jsonSchema, path }) => inspect(zodSchema as unknown as ZodNode, jsonSchema as Json, path, problems, bareWords),
  }) as Json;
  if (problems.length > 0) {
    throw new Error(`${what} cannot be checked from its JSON Schema, which is what the API validates: ${problems.join('; ')}`);
  }
  const messages = { keywords: {} as Record<string, string>, nodes: {} as Record<string, string> };
  collectMarks(generated, '', messages);
  return { schema: withoutExamples(generated), messages };
}
