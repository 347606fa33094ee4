import { canonicalJson } from './canonical-json.js';
import { ValidationError } from './errors.js';
import type { Metadata } from './execution.js';

/**
 * Bounds of Julep's `metadata_filter`: a JSON object (as query text) whose top-level keys and
 * values must all equal the execution's metadata. The text is at most `length` characters (the
 * query schema says so too), at most `keys` keys, values nested at most `depth` levels.
 */
export const METADATA_FILTER_LIMITS = { length: 4096, keys: 16, depth: 8 } as const;

/** A parsed `metadata_filter`: top-level keys and the canonical JSON of the value each must have. */
export type MetadataFilter = ReadonlyArray<readonly [key: string, canonicalValue: string]>;

function invalidFilter(message: string): ValidationError {
  return new ValidationError(`metadata_filter ${message}.`, [{ path: 'query.metadata_filter', message }]);
}

/** Nesting depth of a JSON value, iteratively (a hostile value cannot overflow the stack), stopping past `max`. */
function deeperThan(value: unknown, max: number): boolean {
  const pending: Array<readonly [unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Parses Julep's `metadata_filter` query parameter: the JSON text of an object. `{}` (Julep's
 * default) filters nothing and gives an empty filter. Keys are read as own properties of the parsed
 * text, so `__proto__` or `constructor` are keys like any other, never a prototype.
 * @throws ValidationError (400) when it is not such an object within {@link METADATA_FILTER_LIMITS}.
 */
export function parseMetadataFilter(text: string): MetadataFilter {
  if (text.length > METADATA_FILTER_LIMITS.length) throw invalidFilter(`must be at most ${METADATA_FILTER_LIMITS.length} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidFilter('must be a JSON object, e.g. {"customer":"acme"}');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidFilter('must be a JSON object, e.g. {"customer":"acme"}');
  const entries = Object.entries(parsed);
  if (entries.length > METADATA_FILTER_LIMITS.keys) throw invalidFilter(`must have at most ${METADATA_FILTER_LIMITS.keys} keys`);
  if (deeperThan(parsed, METADATA_FILTER_LIMITS.depth + 1)) throw invalidFilter(`must not nest values more than ${METADATA_FILTER_LIMITS.depth} levels deep`);
  return entries.map(([key, value]) => [key, canonicalJson(value)] as const);
}

/** True when `metadata` has every key of `filter`, each with an equal JSON value (object keys in any order). */
export function matchesMetadata(metadata: Metadata, filter: MetadataFilter): boolean {
  return filter.every(([key, value]) => Object.hasOwn(metadata, key) && canonicalJson(metadata[key]) === value);
}
