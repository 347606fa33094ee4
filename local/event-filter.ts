/**
 * Lambda event filtering (an event source mapping's `FilterCriteria`), for the local event source
 * mappings: the subset of the EventBridge pattern language Lambda accepts, checked when the
 * template loads so a pattern the local stack cannot evaluate is refused at startup, not silently
 * mismatched at run time.
 *
 * Supported: nested objects (every key must match: AND), lists of rules (any may match: OR),
 * literal strings, numbers, booleans and null (equality), `prefix`, `suffix`, `equals-ignore-case`,
 * `anything-but` (a value, a list of values, or a `prefix`/`suffix`), `exists` and `numeric`
 * (`=`, `<`, `<=`, `>`, `>=`, at most two comparisons). As in EventBridge, rules look at leaf
 * values only: an object where a pattern expects a leaf counts as missing, a missing field matches
 * nothing but `{"exists": false}` (`anything-but` included), and a list in the event matches when
 * any of its elements does.
 */

/** JSON as events and patterns hold it. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Tells whether one value of the event (undefined: missing) satisfies a compiled pattern node. */
type Test = (value: Json | undefined) => boolean;

/** A compiled event pattern: does this event (a Lambda record) match? */
export type EventMatcher = (event: unknown) => boolean;

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

const isObject = (value: unknown): value is { [key: string]: Json } => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The leaf values of an event value: itself, or the leaves of a list; objects are no leaves. */
function leaves(value: Json | undefined): Array<string | number | boolean | null> {
  if (value === undefined || isObject(value)) return [];
  if (Array.isArray(value)) return value.flatMap((item) => (Array.isArray(item) ? leaves(item) : isObject(item) ? [] : [item]));
  return [value];
}

/**
 * Compiles a Lambda filter pattern (the parsed `Pattern` JSON of one filter).
 * @param where names the filter in errors, e.g. `EventSourceMapping X, filter 1`.
 * @throws Error naming `where` and the path for anything outside the supported subset.
 */
export function compileEventPattern(pattern: unknown, where: string): EventMatcher {
  if (!isObject(pattern)) throw new Error(`${where}: a filter pattern must be a JSON object`);
  const test = compileObject(pattern, where, '');
  return (event) => test(event as Json);
}

/** Compiles every filter of a mapping: a record is kept when any filter matches (none: all are kept). */
export function compileFilters(patterns: readonly unknown[], where: string): EventMatcher {
  const matchers = patterns.map((pattern, index) => compileEventPattern(pattern, `${where}, filter ${index + 1}`));
  if (matchers.length === 0) return () => true;
  return (event) => matchers.some((matches) => matches(event));
}

function compileObject(pattern: { [key: string]: Json }, where: string, path: string): Test {
  const fields = Object.entries(pattern).map(([key, node]): [string, Test] => {
    const at = path ? `${path}.${key}` : key;
    if (key.startsWith('$')) throw new Error(`${where}: "${key}" at ${at} is not emulated locally`);
    if (Array.isArray(node)) return [key, compileRules(node, where, at)];
    if (isObject(node)) return [key, compileObject(node, where, at)];
    throw new Error(`${where}: ${at} must be an object or a list of rules, got ${JSON.stringify(node)}`);
  });
  const test: Test = (value) => {
    // A list of objects matches when one of its elements does.
    if (Array.isArray(value)) return value.some((item) => isObject(item) && test(item));
    const object = isObject(value) ? value : undefined;
    return fields.every(([key, field]) => field(object?.[key]));
  };
  return test;
}

function compileRules(rules: readonly Json[], where: string, path: string): Test {
  if (rules.length === 0) throw new Error(`${where}: ${path} has an empty list of rules, which matches nothing (Lambda refuses it)`);
  const tests = rules.map((rule) => compileRule(rule, where, path));
  return (value) => tests.some((test) => test(value));
}

function compileRule(rule: Json, where: string, path: string): Test {
  if (!isObject(rule)) {
    if (Array.isArray(rule)) throw new Error(`${where}: ${path} holds a nested list, which is not a rule`);
    return (value) => leaves(value).some((leaf) => leaf === rule);
  }
  const entries = Object.entries(rule);
  if (entries.length !== 1) throw new Error(`${where}: ${path} has a rule with ${entries.length} operators; give one per rule`);
  const [operator, argument] = entries[0]!;
  const fail = (why: string): never => {
    throw new Error(`${where}: ${path}: ${JSON.stringify(rule)} ${why}`);
  };
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      if (typeof argument !== 'string') return fail(`needs a string (${operator} of another kind is not emulated locally)`);
      const affix = operator === 'prefix' ? (text: string) => text.startsWith(argument) : (text: string) => text.endsWith(argument);
      return (value) => leaves(value).some((leaf) => typeof leaf === 'string' && affix(leaf));
    }
    case 'equals-ignore-case': {
      if (typeof argument !== 'string') return fail('needs a string');
      const lower = argument.toLowerCase();
      return (value) => leaves(value).some((leaf) => typeof leaf === 'string' && leaf.toLowerCase() === lower);
    }
    case 'exists': {
      if (typeof argument !== 'boolean') return fail('needs true or false');
      return (value) => (leaves(value).length > 0) === argument;
    }
    case 'numeric':
      return compileNumeric(argument, fail);
    case 'anything-but':
      return compileAnythingBut(argument, fail);
    default:
      return fail(`uses "${operator}", which is not emulated locally (supported: literals, prefix, suffix, equals-ignore-case, anything-but, exists, numeric)`);
  }
}

function compileNumeric(argument: Json, fail: (why: string) => never): Test {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0 || argument.length > 4) {
    return fail('needs one or two comparisons, e.g. [">", 0, "<=", 5]');
  }
  const comparisons: Array<(n: number) => boolean> = [];
  for (let index = 0; index < argument.length; index += 2) {
    const operator = argument[index];
    const bound = argument[index + 1];
    if (typeof operator !== 'string' || !NUMERIC_OPERATORS.has(operator) || typeof bound !== 'number' || !Number.isFinite(bound)) {
      return fail('needs operators among =, <, <=, >, >= each followed by a number');
    }
    comparisons.push(
      {
        '=': (n: number) => n === bound,
        '<': (n: number) => n < bound,
        '<=': (n: number) => n <= bound,
        '>': (n: number) => n > bound,
        '>=': (n: number) => n >= bound,
      }[operator as '=' | '<' | '<=' | '>' | '>=']!,
    );
  }
  // JSON numbers only, as in EventBridge: a DynamoDB `N` value is a string and never matches.
  return (value) => leaves(value).some((leaf) => typeof leaf === 'number' && comparisons.every((compare) => compare(leaf)));
}

function compileAnythingBut(argument: Json, fail: (why: string) => never): Test {
  let excluded: (leaf: string | number | boolean | null) => boolean;
  if (isObject(argument)) {
    const [[operator, affix] = ['', null], ...more] = Object.entries(argument);
    if (more.length > 0 || (operator !== 'prefix' && operator !== 'suffix') || typeof affix !== 'string') {
      return fail('needs a value, a list of values, or {"prefix": …} / {"suffix": …}');
    }
    excluded = (leaf) => typeof leaf === 'string' && (operator === 'prefix' ? leaf.startsWith(affix) : leaf.endsWith(affix));
  } else {
    const values = Array.isArray(argument) ? argument : [argument];
    if (values.length === 0 || values.some((value) => typeof value !== 'string' && typeof value !== 'number')) {
      return fail('needs strings or numbers');
    }
    excluded = (leaf) => values.includes(leaf as string | number);
  }
  // A missing field is not "anything but": it matches nothing, as in EventBridge.
  return (value) => leaves(value).some((leaf) => !excluded(leaf));
}
