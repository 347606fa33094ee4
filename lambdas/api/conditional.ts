import { createHash } from 'node:crypto';

// Conditional GETs (RFC 9110 §8.8.3 ETag, §13.1.2 If-None-Match). The read function is the only
// user; parsing is by hand, as for every header and query of that function (no library in its bundle).

/** Characters of the hash part of an entity tag: 96 bits, plenty to tell versions of one resource apart. */
const HASH_CHARS = 16;

/**
 * A strong entity tag for the JSON text of a response body: `"<prefix>-<hash>"` (or `"<hash>"`),
 * the hash a truncated SHA-256 of exactly the bytes a 200 sends. So it changes whenever the
 * representation does (a transition, a progress report, a new field after a deploy, another
 * host in `status_url`) and never otherwise; `prefix` is only for people reading it (the
 * execution's `transition_count`): callers must treat the tag as opaque.
 */
export function entityTag(text: string, prefix?: string | number): string {
  const hash = createHash('sha256').update(text).digest('base64url').slice(0, HASH_CHARS);
  return `"${prefix === undefined ? '' : `${prefix}-`}${hash}"`;
}

/** What an `If-None-Match` header asks: `*` (any current representation), or a list of entity tags. */
export type NoneMatchCondition = { readonly any: true } | { readonly any: false; readonly tags: readonly string[] };

/**
 * Parses `If-None-Match` (`"*" / #entity-tag`; several headers arrive joined with commas, as API
 * Gateway joins them). Tags are kept as their opaque part with its quotes and without `W/`: the
 * header is evaluated with the weak comparison (RFC 9110 §8.8.3.2). A list element that is no
 * entity tag (an unquoted value, say) matches nothing and is skipped; a tag may hold commas, so the
 * list is scanned, not split. Undefined when the header is absent.
 */
export function ifNoneMatchOf(headers: Readonly<Record<string, string | undefined>>): NoneMatchCondition | undefined {
  const header = headers['if-none-match'];
  if (header === undefined) return undefined;
  const tags: string[] = [];
  let any = false;
  let at = 0;
  while (at < header.length) {
    const char = header[at]!;
    if (char === ',' || char === ' ' || char === '\t') {
      at++;
      continue;
    }
    const weak = header.startsWith('W/"', at);
    if (char === '"' || weak) {
      const open = weak ? at + 2 : at;
      const close = header.indexOf('"', open + 1);
      if (close === -1) break;
      tags.push(header.slice(open, close + 1));
      at = close + 1;
      continue;
    }
    // `*` alone as an element; anything else up to the next comma is not an entity tag.
    const end = header.indexOf(',', at);
    const element = header.slice(at, end === -1 ? header.length : end).trim();
    if (element === '*') any = true;
    at = end === -1 ? header.length : end + 1;
  }
  return any ? { any: true } : { any: false, tags };
}

/**
 * True when `condition` matches the current `etag` (weak comparison): the caller already has the
 * current representation, and a GET answers 304 Not Modified. `*` matches any current representation.
 */
export function matchesCurrent(condition: NoneMatchCondition, etag: string): boolean {
  return condition.any || condition.tags.includes(etag.startsWith('W/') ? etag.slice(2) : etag);
}
