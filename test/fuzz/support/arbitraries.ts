import fc from 'fast-check';
import type { RouteKey } from '../../../lambdas/api/routes.js';
import { BULK_ACTIONS } from '../../../lambdas/domain/bulk.js';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../../../lambdas/domain/status.js';

/**
 * Requests of the fuzz suites, as data: what to send to which route. Anything that depends on the
 * state of the service (which executions exist, which cursors were handed out) is a reference,
 * resolved by the layer that runs the request, so one generator serves the in-process and the HTTP
 * layer and every case stays reproducible from its seed.
 */

/** Which execution a path `{id}` names. */
export type IdRef =
  /** One of the caller's executions (created or seeded), by index modulo how many exist. */
  | { readonly kind: 'known'; readonly index: number }
  /** An execution in this status (seeded right before the request, or taken from a pool). */
  | { readonly kind: 'fresh'; readonly status: ExecutionStatus; readonly task: number }
  /** An execution of another tenant. */
  | { readonly kind: 'foreign'; readonly index: number }
  /** A well-formed id nobody was given. */
  | { readonly kind: 'unknown'; readonly id: string }
  /** Any text. */
  | { readonly kind: 'malformed'; readonly text: string }
  /** A known id, damaged. */
  | { readonly kind: 'mangled'; readonly index: number; readonly how: Mangling };

/** Ways to damage a valid id or name. */
export type Mangling = 'upper' | 'percent' | 'trailing-space' | 'truncate' | 'braces' | 'urn' | 'double' | 'nul';

/** Which transition a path `{transition_id}` names. */
export type TransitionRef =
  /** A row of the execution in the path, by index modulo its row count. */
  | { readonly kind: 'row'; readonly index: number }
  /** A row of another execution of the caller. */
  | { readonly kind: 'foreign-row'; readonly index: number }
  | { readonly kind: 'unknown'; readonly id: string }
  | { readonly kind: 'malformed'; readonly text: string };

/** Which resume link a path `{token}` names. */
export type TokenRef =
  /** The link of a waiting execution: a new one, or (by index) one handed out before, maybe spent. */
  | { readonly kind: 'live'; readonly index: number; readonly fresh: boolean }
  /** A well-formed token nobody was given. */
  | { readonly kind: 'unknown'; readonly token: string }
  /** Any text. */
  | { readonly kind: 'malformed'; readonly text: string };

/** Which task a path `{task_id}` names. */
export type TaskRef =
  | { readonly kind: 'known'; readonly index: number }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'mangled'; readonly index: number; readonly how: Mangling };

/** A query value: text, or a cursor the service handed out earlier (possibly tampered with). */
export type QueryValue = string | { readonly cursor: number; readonly tamper: CursorTamper };
/** Ways to damage a cursor. */
export type CursorTamper = 'none' | 'flip' | 'drop-signature' | 'swap-signature' | 'extra-part' | 'truncate';

/** The body of a request. */
export type BodyChoice =
  | { readonly kind: 'none' }
  /** Sent as this exact text. */
  | { readonly kind: 'text'; readonly text: string; readonly label: string }
  /** Sent as its JSON text; `task` is the index of the task whose input it carries, when valid. */
  | { readonly kind: 'value'; readonly value: unknown; readonly label: string; readonly task?: number };

/** The credentials of a request. */
export type AuthChoice =
  | { readonly kind: 'valid' }
  | { readonly kind: 'other-tenant' }
  | { readonly kind: 'revoked' }
  | { readonly kind: 'unknown-key' }
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly header: string };

/** A dependency failure to inject (in-process only). */
export type Fault = 'none' | 'start-throttled' | 'send-timed-out' | 'send-failed' | 'stop-failed';

/** The Idempotency-Key header: from a small shared pool (so keys repeat), or any text. */
export type IdempotencyChoice = { readonly pool: number } | { readonly text: string } | null;

/** One generated request. */
export interface FuzzRequest {
  readonly route: RouteKey;
  /** Method and path of a `$default` request. */
  readonly method: string;
  readonly rawPath: string;
  readonly id: IdRef;
  readonly transitionId: TransitionRef;
  readonly taskId: TaskRef;
  readonly token: TokenRef;
  readonly query: ReadonlyArray<readonly [string, QueryValue]>;
  readonly body: BodyChoice;
  /** null: no content-type header at all. */
  readonly contentType: string | null;
  /** Send the body base64-encoded, as API Gateway does for binary media types. */
  readonly base64: boolean;
  readonly auth: AuthChoice;
  readonly idempotencyKey: IdempotencyChoice;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly fault: Fault;
}

/** How a layer's tasks are fuzzed: their ids, valid inputs, and near misses. */
export interface TaskProfile {
  readonly id: string;
  /** Inputs the task's schema accepts. */
  readonly valid: fc.Arbitrary<unknown>;
  /** Inputs that are almost right (wrong types, bounds, formats). */
  readonly input: fc.Arbitrary<unknown>;
}

/** What a layer can send. */
export interface LayerProfile {
  readonly tasks: readonly TaskProfile[];
  /** Inject dependency faults (only where the dependencies are mocks). */
  readonly faults: boolean;
  /**
   * Restrict everything that travels in an HTTP header to what `fetch` and Node's HTTP server accept
   * (visible ASCII, bounded size); everything else still goes in paths, queries and bodies.
   */
  readonly httpSafe: boolean;
}

/** Strings that have broken parsers, validators, loggers and key builders before. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\r\n',
  '\u0000',
  'nul\u0000inside',
  '\ud800',
  'lone \udc00 low surrogate',
  'pair \ud83d\ude00 emoji',
  '\ud83d\udc69\u200d\ud83d\udcbb zwj emoji',
  '\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66',
  '\ud83c\udff3\ufe0f\u200d\ud83c\udf08',
  'é',
  'e\u0301',
  '\u202eright-to-left',
  '\u200fright-to-left mark',
  '\u2066isolate\u2069',
  'line\u2028separator\u2029',
  '\uffff\ufffe',
  '\ufeffbom',
  '日本語',
  '../../etc/passwd',
  '..%2f..%2fetc',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'null',
  'undefined',
  'true',
  '{}',
  '[]',
  '#',
  'EXEC#default#',
  'T#default#STATUS#running',
  'APIKEY',
  'TypeError: x is not a function',
];

/** A lone surrogate or any code point. */
const codeUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\u001f', '\u007f', '"', '\\', '/', '%', '#', '?', '&', '=', ',', ';') },
);

/** Any text: short random (incl. control characters, lone surrogates), hostile constants, and huge. */
export function text(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: codeUnit, maxLength }) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 1, arbitrary: huge(1000, 20_000) },
  );
}

/** A long repetition of one short unit (cheap to generate at any size). */
export function huge(min: number, max: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('a', 'é', '😀', '\u0000', '\\', '"', ' ', '\ud800', 'ab%'), fc.integer({ min, max }))
    .map(([unit, count]) => unit.repeat(Math.max(1, Math.floor(count / unit.length))));
}

/** Keys named like members of Object.prototype: copying an object with `obj[key] = value` loses or misreads them. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const;

/** Object keys that have broken object handling before. */
const hostileKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '\u0000', 'a.b', 'a/b', '~0', '$where', 'input', 'status', 'metadata', 'reason', 'task_id', '\u202ekey', '\ud800', '\ud83d\udc69\u200d\ud83d\udcbb') },
  { weight: 3, arbitrary: text(12) },
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  text(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, 5e-324, -1, 0, 1.5),
);

/** Random JSON values with hostile keys and strings (shallow; deep ones travel as text). */
export const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries)),
})).value;

/**
 * `base` with one to three prototype-named keys added as OWN data keys, as JSON.parse makes them
 * (an object literal or `obj[key] = value` would set a prototype instead).
 */
export function withPrototypeKeys(base: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(base, fc.uniqueArray(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), jsonish), { minLength: 1, maxLength: 3, selector: ([key]) => key }))
    .map(([object, extra]) => Object.fromEntries([...(object !== null && typeof object === 'object' && !Array.isArray(object) ? Object.entries(object) : []), ...extra]));
}

/**
 * A value nested `depth` levels, objects (under prototype-named keys) and arrays in turn, around
 * the body's 100-level limit: inside a body it is one level deeper still. (Deeper ones travel as
 * text, {@link deepJsonText}: the harness's own JSON.stringify overflows a few thousand levels down.)
 */
export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 98 }), fc.constantFrom(97, 98, 99, 100, 101, 150)), fc.constantFrom(...PROTOTYPE_KEYS, 'a'), scalar)
  .map(([depth, key, leaf]) => {
    let value: unknown = leaf;
    for (let level = 0; level < depth; level++) value = level % 2 === 1 ? [value] : Object.fromEntries([[key, value]]);
    return value;
  });

/**
 * An object of many keys (hundreds to thousands), prototype-named ones among them. Its one value
 * is small, as it is repeated: under API Gateway's 10 MB cap, which answers with its own body.
 */
export const wideObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.integer({ min: 60, max: 5000 }), fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constantFrom(null, true, '\u0000', '\ud800', '\u202e')))
  .map(([count, value]) => Object.fromEntries([...PROTOTYPE_KEYS.map((key) => [key, value] as const), ...Array.from({ length: count }, (_, index) => [`k${index}`, value] as const)]));

/**
 * What a caller may send as any JSON value (task input, metadata value, resume input): hostile
 * scalars and small structures, objects with prototype-named keys, deep, wide and huge values.
 */
export const callerValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: jsonish },
  { weight: 4, arbitrary: withPrototypeKeys(jsonish) },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: wideObject },
  { weight: 1, arbitrary: huge(10_000, 300_000) },
);

/** An object with `__proto__` (and friends) as OWN keys, as JSON.parse produces them. */
export const pollutingObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), jsonish, jsonish)
  .map(([key, value, polluted]) => Object.fromEntries([[key, { polluted, status: 'running', isAdmin: true, toString: value }]]));

/** JSON text nested `depth` levels deep (arrays, objects or a mix). */
export function deepJson(depth: number, kind: 'array' | 'object' | 'mixed'): string {
  if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const half = Math.floor(depth / 2);
  return `${'[{"a":'.repeat(half)}null${'}]'.repeat(half)}`;
}

/** Deep JSON text: from harmless to far beyond what a recursive serializer survives. */
export const deepJsonText: fc.Arbitrary<{ text: string; depth: number }> = fc
  .tuple(
    fc.oneof(fc.constantFrom(10, 100, 1000, 5000, 10_000, 100_000), fc.integer({ min: 1, max: 20_000 })),
    fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
  )
  .map(([depth, kind]) => ({ text: deepJson(depth, kind), depth }));

/** A well-formed lower-case UUIDv7 (the execution id format) nobody was given. */
export const uuidV7: fc.Arbitrary<string> = fc
  .tuple(fc.stringMatching(/^[0-9a-f]{12}$/), fc.stringMatching(/^[0-9a-f]{3}$/), fc.constantFrom('8', '9', 'a', 'b'), fc.stringMatching(/^[0-9a-f]{15}$/))
  .map(([time, a, variant, rest]) => `${time.slice(0, 8)}-${time.slice(8)}-7${a}-${variant}${rest.slice(0, 3)}-${rest.slice(3)}`);

/** Broken percent-escapes, which a URL path can carry as they are. */
export const brokenEscapes = fc.constantFrom('%', '%%', '%zz', '%2', '%E0%A4%A', '%C0%AF', '%u0041', 'abc%', '%ED%A0%80', '%FF%FE');

/** Id-shaped garbage: other UUID versions, upper case, near misses. */
const idLike = fc.oneof(
  brokenEscapes,
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.ulid(),
  uuidV7.map((id) => id.replaceAll('-', '')),
  uuidV7.map((id) => `${id}0`),
  uuidV7.map((id) => id.slice(1)),
  fc.stringMatching(/^[0-9a-f-]{30,40}$/),
);

const mangling = fc.constantFrom<Mangling>('upper', 'percent', 'trailing-space', 'truncate', 'braces', 'urn', 'double', 'nul');

/** Damages an id or name. */
export function mangle(value: string, how: Mangling): string {
  switch (how) {
    case 'upper':
      return value.toUpperCase();
    case 'percent':
      return [...value].map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    case 'trailing-space':
      return `${value} `;
    case 'truncate':
      return value.slice(0, -1);
    case 'braces':
      return `{${value}}`;
    case 'urn':
      return `urn:uuid:${value}`;
    case 'double':
      return `${value}${value}`;
    case 'nul':
      return `${value}\u0000`;
  }
}

const idRef = (changes: boolean): fc.Arbitrary<IdRef> => fc.oneof(
  { weight: 30, arbitrary: fc.nat().map((index): IdRef => ({ kind: 'known', index })) },
  {
    // Changes need executions in every status, waiting ones above all.
    weight: changes ? 60 : 25,
    arbitrary: fc
      .record({ status: fc.constantFrom(...EXECUTION_STATUSES, 'awaiting_input', 'awaiting_input', 'running'), task: fc.nat() })
      .map((fresh): IdRef => ({ kind: 'fresh', ...fresh })),
  },
  { weight: 8, arbitrary: fc.nat().map((index): IdRef => ({ kind: 'foreign', index })) },
  { weight: 8, arbitrary: uuidV7.map((id): IdRef => ({ kind: 'unknown', id })) },
  { weight: 14, arbitrary: fc.oneof(text(80), idLike).map((value): IdRef => ({ kind: 'malformed', text: value })) },
  { weight: 10, arbitrary: fc.record({ index: fc.nat(), how: mangling }).map((ref): IdRef => ({ kind: 'mangled', ...ref })) },
);

const transitionRef: fc.Arbitrary<TransitionRef> = fc.oneof(
  { weight: 50, arbitrary: fc.nat().map((index): TransitionRef => ({ kind: 'row', index })) },
  { weight: 15, arbitrary: fc.nat().map((index): TransitionRef => ({ kind: 'foreign-row', index })) },
  { weight: 15, arbitrary: uuidV7.map((id): TransitionRef => ({ kind: 'unknown', id })) },
  { weight: 20, arbitrary: fc.oneof(text(80), idLike).map((value): TransitionRef => ({ kind: 'malformed', text: value })) },
);

const tokenRef: fc.Arbitrary<TokenRef> = fc.oneof(
  { weight: 40, arbitrary: fc.record({ index: fc.nat(), fresh: fc.boolean() }).map((ref): TokenRef => ({ kind: 'live', ...ref })) },
  {
    weight: 20,
    arbitrary: fc
      .string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 43, maxLength: 43 })
      .map((token): TokenRef => ({ kind: 'unknown', token })),
  },
  {
    weight: 40,
    arbitrary: fc
      .oneof(text(80), brokenEscapes, idLike, fc.constantFrom('', '..', '__proto__', 'A'.repeat(42), `${'A'.repeat(42)}=`, `${'A'.repeat(41)}+/`, `${'A'.repeat(43)}A`), huge(2000, 4000))
      .map((value): TokenRef => ({ kind: 'malformed', text: value })),
  },
);

const taskRef: fc.Arbitrary<TaskRef> = fc.oneof(
  { weight: 60, arbitrary: fc.nat().map((index): TaskRef => ({ kind: 'known', index })) },
  { weight: 25, arbitrary: fc.oneof(text(80), brokenEscapes).map((value): TaskRef => ({ kind: 'text', text: value })) },
  { weight: 15, arbitrary: fc.record({ index: fc.nat(), how: mangling }).map((ref): TaskRef => ({ kind: 'mangled', ...ref })) },
);

/** Numbers as query text: valid, out of range, and everything `Number()` is lenient about. */
const numberText = fc.oneof(
  fc.integer({ min: -5, max: 150 }).map(String),
  fc.constantFrom('', ' 5', '5 ', '+5', '05', '1e2', '0x10', '0b1', '5.0', '5.5', '١', '９', 'NaN', 'Infinity', '-0', '99999999999999999999', '1,2', '10001', '10000', '0'),
  text(16),
);

const isoText = fc.oneof(
  fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    '2026-01-01',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00+02:00',
    '2026-01-01T00:00:00',
    '2026-02-30',
    '2026-13-01',
    '0000-01-01',
    '9999-12-31T23:59:59.999Z',
    '2026-01-01T25:61:61Z',
    '2026-01-01T::::Z',
    '1767323045000',
    '2026-01-01T00:00:00.000000000000000000000Z',
    'yesterday',
  ),
  text(24),
);

function queryValue(name: string, taskIds: readonly string[]): fc.Arbitrary<QueryValue> {
  switch (name) {
    case 'limit':
    case 'offset':
      return numberText;
    case 'cursor':
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .record({ cursor: fc.nat(), tamper: fc.constantFrom<CursorTamper>('none', 'none', 'flip', 'drop-signature', 'swap-signature', 'extra-part', 'truncate') })
            .map((value): QueryValue => value),
        },
        { weight: 2, arbitrary: fc.oneof(text(60), fc.base64String({ maxLength: 80 }), fc.constantFrom('a.b', 'a.b.c', '.', 'W10.AAAAAAAAAAAAAAAAAAAAAA'), huge(2000, 4000)) },
      );
    case 'sort_by':
      return fc.oneof(fc.constantFrom('created_at', 'completed_at', 'started_at', 'seq', 'updated_at', 'id', '', 'CREATED_AT', 'created_at,seq', 'completed_at,created_at'), text(16));
    case 'direction':
      return fc.oneof(fc.constantFrom('asc', 'desc', 'ASC', '', 'up', 'asc,desc'), text(8));
    case 'status':
      return fc.oneof(
        fc.constantFrom(...EXECUTION_STATUSES, 'pending', 'completed', 'starting', 'RUNNING', 'running,failed', '', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'),
        text(16),
      );
    case 'task_id':
      return fc.oneof(fc.constantFrom(...taskIds, '__proto__', 'no-such-task', ''), text(80));
    case 'created_after':
    case 'created_before':
      return isoText;
    case 'tag':
      return fc.oneof(
        fc.constantFrom('nightly', 'team:ops', 'nightly,team:ops', 'a#b', 'a,,b', ',', '', '__proto__', 'constructor', 'x'.repeat(64), 'x'.repeat(65), Array.from({ length: 11 }, (_, i) => `t${i}`).join(',')),
        text(30),
      );
    case 'metadata_filter':
      return fc.oneof(
        fc.constantFrom('{}', '{"team":"ops"}', '{"n":1}', '[1]', 'null', '{', '"x"', '{"__proto__":{"admin":true}}', '{"constructor":"x","toString":1}'),
        jsonish.map((value) => JSON.stringify({ team: value })),
        deepJsonText.map(({ text: body }) => `{"deep":${body}}`),
        huge(4000, 5000).map((value) => JSON.stringify({ value })),
        text(40),
      );
    case 'batch_id':
      return fc.oneof(fc.constantFrom('3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d', '3F2B1C4D-5E6F-8A7B-9C0D-1E2F3A4B5C6D', '', 'x'), text(40));
    default:
      return text(30);
  }
}

// `token`: a stream token, read by the events route's authorizer; on every other route an unknown parameter.
const QUERY_NAMES = ['limit', 'offset', 'cursor', 'sort_by', 'direction', 'status', 'task_id', 'created_after', 'created_before', 'scope_id', 'token', 'tag', 'metadata_filter', 'batch_id'];
const UNKNOWN_QUERY_NAMES = [
  ...PROTOTYPE_KEYS,
  'LIMIT',
  'Limit',
  'limit ',
  'page',
  'per_page',
  '',
  'status[]',
  'filter[status]',
  'x'.repeat(300),
  '\u202elimit',
  'li\u0000mit',
  '\ud800',
  '\ud83d\udc69\u200d\ud83d\udcbb',
];

function queryArb(taskIds: readonly string[]): fc.Arbitrary<ReadonlyArray<readonly [string, QueryValue]>> {
  const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...QUERY_NAMES) }, { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN_QUERY_NAMES) }, { weight: 1, arbitrary: text(12) });
  const entry = name.chain((chosen) => queryValue(chosen, taskIds).map((value) => [chosen, value] as const));
  return fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(entry, { maxLength: 5 }) });
}

/** Short strings any schema without a format accepts, NUL and lone surrogates included (they reach storage). */
const storedText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: codeUnit, maxLength: 20 }), fc.constantFrom(...HOSTILE_STRINGS));

/** Metadata keys: prototype-named, hostile and odd Unicode ones, and any text of 1 to 256 characters. */
const metadataKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 3, arbitrary: hostileKey.filter((key) => key.length >= 1 && key.length <= 256) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 256 }) },
  { weight: 1, arbitrary: fc.constantFrom('k'.repeat(256), 'a key with spaces', 'jobs') },
);

/** Metadata a create accepts: every JSON object within the bounds (64 keys of 1 to 256 characters, 16 KB). */
const validMetadata: fc.Arbitrary<Record<string, unknown>> = fc
  .array(fc.tuple(metadataKey, fc.oneof(storedText, fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), withPrototypeKeys(fc.constant({})), jsonish)), { maxLength: 12 })
  .map((entries) => Object.fromEntries(entries))
  .filter((metadata) => Buffer.byteLength(JSON.stringify(metadata)) <= 16 * 1024);

/** Metadata: valid objects (null too), and every way one can break the bounds. */
const metadataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: validMetadata },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 4,
    arbitrary: fc.oneof(
      wideObject,
      fc.constant({ ['k'.repeat(257)]: 'v' }),
      fc.constant({ '': 'v' }),
      huge(16_000, 40_000).map((value) => ({ value })),
      deepValue.map((value) => ({ deep: value })),
      fc.dictionary(hostileKey, callerValue, { maxKeys: 4 }),
      pollutingObject,
      callerValue,
    ),
  },
);

/** Resume decisions (sample-approval's wait input) and near misses. */
const decisionArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ approved: fc.boolean(), comment: fc.string({ maxLength: 60 }), reviewer: fc.string({ maxLength: 20 }) }, { requiredKeys: ['approved'] }),
  fc.record({ approved: scalar, comment: fc.oneof(text(), huge(1990, 2010)) }, { requiredKeys: [] }),
  withPrototypeKeys(fc.record({ approved: fc.boolean() })),
  callerValue,
);

/** A leaf whose JSON text replaces the placeholder: deep, huge or plain hostile. */
const SLOT = '\u0001SLOT\u0001';
const SLOT_JSON = JSON.stringify(SLOT);

function withSlot(envelope: unknown, fragment: string): string {
  return JSON.stringify(envelope).replace(SLOT_JSON, fragment);
}

const fragment: fc.Arbitrary<{ text: string; label: string }> = fc.oneof(
  { weight: 3, arbitrary: deepJsonText.map(({ text: body, depth }) => ({ text: body, label: `deep(${depth})` })) },
  { weight: 1, arbitrary: huge(100_000, 300_000).map((value) => ({ text: JSON.stringify(value), label: `huge-string(${value.length})` })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1000, max: 60_000 }).map((length) => ({ text: `[${new Array<string>(length).fill('0').join(',')}]`, label: `long-array(${length})` })),
  },
);


/**
 * The flow control fields of a create that starts at once (no start time): tags with prototype
 * names and repeats (folded), a priority, a concurrency key.
 */
const flowFields = fc.record(
  {
    tags: fc.array(fc.constantFrom('__proto__', 'constructor', 'toString', 'a', 'customer:acme/eu=1+x@y_z.-', 't'.repeat(64)), { maxLength: 10 }),
    priority: fc.integer({ min: 1, max: 5 }),
    concurrency_key: fc.constantFrom('__proto__', 'hasOwnProperty', 'k-1'),
  },
  { requiredKeys: [] },
);

/** Bodies a route accepts (given an execution in the right status), with the task they are for. */
function validBodies(route: RouteKey, profile: LayerProfile): fc.Arbitrary<{ value: unknown; task?: number }> {
  const forTask = (build: (task: TaskProfile, input: unknown, metadata: Record<string, unknown> | undefined) => unknown) =>
    fc.nat({ max: profile.tasks.length - 1 }).chain((index) =>
      fc
        .tuple(profile.tasks[index]!.valid, fc.option(validMetadata, { nil: undefined }), flowFields)
        .map(([input, metadata, flow]) => ({ value: { ...(build(profile.tasks[index]!, input, metadata) as object), ...flow }, task: index })),
    );
  const decision = fc.oneof(fc.record({ approved: fc.boolean(), comment: storedText }, { requiredKeys: ['approved'] }), withPrototypeKeys(fc.record({ approved: fc.boolean() })));
  switch (route) {
    case 'POST /tasks/{task_id}/executions':
      return forTask((_task, input, metadata) => ({ input, ...(metadata ? { metadata } : {}) }));
    case 'POST /executions':
      return forTask((task, input, metadata) => ({ task_id: task.id, input, ...(metadata ? { metadata } : {}) }));
    case 'PUT /executions/{id}':
      return fc.oneof(
        decision.map((input) => ({ value: { status: 'running', input } })),
        fc.option(storedText, { nil: undefined }).map((reason) => ({ value: { status: 'cancelled', ...(reason === undefined ? {} : { reason }) } })),
      );
    case 'POST /executions/{id}/resume':
      return decision.map((input) => ({ value: { input } }));
    case 'POST /callbacks/{token}':
      // A link's body is the resume input itself.
      return decision.map((input) => ({ value: input }));
    case 'POST /executions/{id}/cancel':
      return fc.option(storedText, { nil: undefined }).map((reason) => ({ value: reason === undefined ? {} : { reason } }));
    case 'POST /executions/{id}/stream-token':
      return fc.option(fc.integer({ min: 60, max: 3600 }), { nil: undefined }).map((ttl) => ({ value: ttl === undefined ? {} : { ttl_seconds: ttl } }));
    case 'PUT /executions/{id}/tags':
      return fc.array(fc.stringMatching(/^[A-Za-z0-9_.:/=+@-]{1,64}$/), { maxLength: 10 }).map((tags) => ({ value: { tags } }));
    case 'POST /bulk-actions':
      return fc
        .record(
          {
            filter: fc.record(
              { task_id: fc.constantFrom(...profile.tasks.map((task) => task.id)), status: fc.constantFrom(...EXECUTION_STATUSES), created_after: fc.constant('2026-01-01T00:00:00Z') },
              { requiredKeys: [] },
            ),
            reason: storedText,
            max_items: fc.integer({ min: 1, max: 100_000 }),
            action: fc.constantFrom(...BULK_ACTIONS),
          },
          { requiredKeys: ['filter', 'action'] },
        )
        .map((fields) => ({ value: fields }));
    default:
      return fc.constant({ value: {} });
  }
}

/** Route-specific envelopes: where a valid request carries what. */
function envelopes(route: RouteKey, profile: LayerProfile): fc.Arbitrary<unknown> {
  const taskInput = fc.oneof(...profile.tasks.map((task) => task.input), callerValue);
  const taskIds = profile.tasks.map((task) => task.id);
  switch (route) {
    case 'POST /tasks/{task_id}/executions':
      return fc.record({ input: taskInput, metadata: metadataArb }, { requiredKeys: ['input'] });
    case 'POST /executions':
      return fc.record(
        { task_id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...taskIds) }, { weight: 1, arbitrary: text(70) }), input: taskInput, metadata: metadataArb },
        { requiredKeys: ['task_id', 'input'] },
      );
    case 'PUT /executions/{id}':
      return fc.oneof(
        fc.record({ status: fc.constant('running'), input: fc.oneof(decisionArb, taskInput) }, { requiredKeys: ['status'] }),
        fc.record({ status: fc.constant('cancelled'), reason: fc.oneof(text(), fc.constant(null), huge(1990, 2010)) }, { requiredKeys: ['status'] }),
        fc.record({ status: fc.oneof(fc.constantFrom('succeeded', 'queued', 'paused', 'RUNNING', 'completed', 'pending'), scalar), input: jsonish, reason: jsonish }, { requiredKeys: ['status'] }),
      );
    case 'POST /executions/{id}/resume':
      return fc.record({ input: fc.oneof(decisionArb, taskInput) }, { requiredKeys: [] });
    case 'POST /callbacks/{token}':
      return fc.oneof(decisionArb, taskInput);
    case 'POST /executions/{id}/cancel':
      return fc.record({ reason: fc.oneof(text(), fc.constant(null), huge(1990, 2010), scalar) }, { requiredKeys: [] });
    case 'POST /executions/{id}/stream-token':
      return fc.record({ ttl_seconds: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.constantFrom(59, 60, 3600, 3601, 90.5, 1e308, -0), scalar) }, { requiredKeys: [] });
    case 'PUT /executions/{id}/tags':
      return fc.record({ tags: fc.oneof(fc.array(fc.oneof(text(70), fc.constantFrom('a#b', '', '__proto__', 'x'.repeat(65)), scalar), { maxLength: 12 }), jsonish) }, { requiredKeys: [] });
    case 'POST /bulk-actions':
      return fc.record(
        {
          action: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...BULK_ACTIONS) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('Retry', 'REPLAY', 'CANCEL', 'delete', '__proto__', 'constructor'), scalar) }),
          filter: fc.oneof(
            fc.record(
              {
                task_id: fc.oneof(fc.constantFrom(...taskIds), text(70), scalar),
                status: fc.oneof(fc.constantFrom('running', 'pending', 'awaiting_input'), scalar),
                created_after: fc.oneof(fc.constantFrom('2026-01-01', '2026-13-45', '2026-01-01T00:00:00+99:99', '9'.repeat(40)), text(50)),
                created_before: fc.oneof(fc.constantFrom('2025-01-01', '2026-02-30T00:00:00Z'), text(50)),
                tag: text(20),
              },
              { requiredKeys: [] },
            ),
            jsonish,
          ),
          reason: fc.oneof(text(), fc.constant(null), huge(1990, 2010), scalar),
          max_items: fc.oneof(fc.integer({ min: -5, max: 200_000 }), fc.constantFrom(0, 1, 100_000, 100_001, 1.5, 1e308), scalar),
        },
        { requiredKeys: [] },
      );
    default:
      return fc.oneof(fc.constant({}), jsonish);
  }
}

/** A field of an envelope replaced by something hostile, or an extra field, or a field dropped. */
function mutate(envelope: unknown, how: number, replacement: unknown, key: string): unknown {
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) return replacement;
  const entries = Object.entries(envelope);
  if (entries.length === 0 || how === 0) return Object.fromEntries([...entries, [key, replacement]]);
  const target = entries[how % entries.length]![0];
  return how % 3 === 1
    ? Object.fromEntries(entries.filter(([name]) => name !== target))
    : Object.fromEntries(entries.map(([name, value]) => [name, name === target ? replacement : value]));
}

function bodyArb(route: RouteKey, profile: LayerProfile): fc.Arbitrary<BodyChoice> {
  const envelope = envelopes(route, profile);
  const valid = validBodies(route, profile);
  // Deep, huge and long values where they travel furthest: the input (or any other field).
  const slotted = fc
    .tuple(fc.oneof(valid.map(({ value }) => value), envelope), fc.nat(), fragment)
    .map(([value, how, leaf]): BodyChoice => {
      const target =
        how % 4 !== 0 && value !== null && typeof value === 'object' && !Array.isArray(value)
          ? { ...value, input: SLOT }
          : mutate(value, how === 0 ? 2 : how, SLOT, 'input');
      return { kind: 'text', text: withSlot(target, leaf.text), label: `slot:${leaf.label}` };
    });
  const rawText = fc.oneof(
    text(200).map((body) => ({ body, label: 'text' })),
    envelope.chain((value) => fc.nat({ max: 40 }).map((cut) => ({ body: JSON.stringify(value).slice(0, -1 - cut), label: 'truncated' }))),
    envelope.map((value) => ({ body: `\ufeff${JSON.stringify(value)}`, label: 'bom' })),
    fc
      .constantFrom('null', '123', '"text"', '[]', 'true', '{"input":1,"input":{}}', '{"input":{},}', "{'input':{}}", '{"input":NaN}', '{"input":{"a":1}}garbage', '\u0000{}', ' ')
      .map((body) => ({ body, label: 'odd-json' })),
    deepJsonText.map(({ text: body, depth }) => ({ body, label: `deep(${depth})` })),
    fc.integer({ min: 256 * 1024 - 64, max: 256 * 1024 + 64 }).map((size) => ({ body: `{"input":"${'a'.repeat(size - 13)}"}`, label: `around-limit(${size})` })),
    fc.integer({ min: 130_000, max: 140_000 }).map((count) => ({ body: `{"input":"${'é'.repeat(count)}"}`, label: `multibyte(${count})` })),
    huge(300_000, 400_000).map((body) => ({ body, label: 'over-limit' })),
  );
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<BodyChoice>({ kind: 'none' }) },
    { weight: 20, arbitrary: valid.map(({ value, task }): BodyChoice => ({ kind: 'value', value, label: 'valid', ...(task === undefined ? {} : { task }) })) },
    { weight: 20, arbitrary: envelope.map((value): BodyChoice => ({ kind: 'value', value, label: 'valid-ish' })) },
    {
      weight: 20,
      arbitrary: fc
        .tuple(envelope, fc.nat(), fc.oneof(callerValue, pollutingObject, text()), hostileKey)
        .map(([value, how, replacement, key]): BodyChoice => ({ kind: 'value', value: mutate(value, how, replacement, key), label: 'mutated' })),
    },
    { weight: 12, arbitrary: fc.oneof(jsonish, pollutingObject).map((value): BodyChoice => ({ kind: 'value', value, label: 'hostile-value' })) },
    { weight: 14, arbitrary: slotted },
    { weight: 18, arbitrary: rawText.map(({ body, label }): BodyChoice => ({ kind: 'text', text: body, label })) },
  );
}

const contentTypeArb = (httpSafe: boolean): fc.Arbitrary<string | null> =>
  fc.oneof(
    { weight: 24, arbitrary: fc.constant('application/json') },
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/vnd.api+json',
        'application/problem+json',
        'application/merge-patch+json',
        ' application/json ',
        'application/json;',
        'application/jsonx',
        'application/json, text/plain',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        '*/*',
        'json',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: httpSafe ? headerText : text(60) },
  );

/** Header values `fetch` can send: visible ASCII and spaces, bounded. */
const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 60 }).map((value) => value.trim() || 'x'),
  // Long, but all of a request's headers stay under the 16 KB Node's HTTP server accepts.
  fc.integer({ min: 256, max: 1500 }).map((count) => 'h'.repeat(count)),
);

function authArb(httpSafe: boolean): fc.Arbitrary<AuthChoice> {
  const raw = fc.oneof(
    fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer  ', 'Bearer a b', 'Token abc', 'Bearer\tak_x', 'ak_0000000000_nope'),
    headerText.map((value) => `Bearer ${value}`),
    httpSafe ? headerText : text(60).map((value) => `Bearer ${value}`),
    fc.integer({ min: 512, max: httpSafe ? 1500 : 12_000 }).map((count) => `Bearer ${'k'.repeat(count)}`),
  );
  return fc.oneof(
    { weight: 80, arbitrary: fc.constant<AuthChoice>({ kind: 'valid' }) },
    { weight: 4, arbitrary: fc.constant<AuthChoice>({ kind: 'other-tenant' }) },
    { weight: 3, arbitrary: fc.constant<AuthChoice>({ kind: 'revoked' }) },
    { weight: 3, arbitrary: fc.constant<AuthChoice>({ kind: 'unknown-key' }) },
    { weight: httpSafe ? 0 : 3, arbitrary: fc.constant<AuthChoice>({ kind: 'none' }) },
    { weight: 7, arbitrary: raw.map((header): AuthChoice => ({ kind: 'raw', header })) },
  );
}

function idempotencyArb(httpSafe: boolean): fc.Arbitrary<IdempotencyChoice> {
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(null) },
    { weight: 4, arbitrary: fc.nat({ max: 3 }).map((pool): IdempotencyChoice => ({ pool })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(httpSafe ? headerText : text(), fc.constantFrom(' ', 'a b', 'é', 'x'.repeat(255), 'x'.repeat(256)), fc.integer({ min: 256, max: httpSafe ? 1500 : 12_000 }).map((count) => 'i'.repeat(count)))
        .map((value): IdempotencyChoice => ({ text: value })),
    },
  );
}

function extraHeaders(httpSafe: boolean): fc.Arbitrary<ReadonlyArray<readonly [string, string]>> {
  const name = fc.constantFrom('x-fuzz', 'accept', 'accept-encoding', 'x-forwarded-proto', 'x-amz-date', 'user-agent', 'x-request-id', 'origin', '__proto__', 'constructor');
  const value = httpSafe ? headerText : fc.oneof(text(60), huge(8000, 12_000));
  return fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(name, value), { maxLength: httpSafe ? 1 : 3 }) });
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 85, arbitrary: fc.constant<Fault>('none') },
  { weight: 15, arbitrary: fc.constantFrom<Fault>('start-throttled', 'send-timed-out', 'send-failed', 'stop-failed') },
);

const defaultPath = fc.oneof(
  fc.constantFrom('/', '/executions/', '/tasks/x/y/z', '/EXECUTIONS', '/executions//transitions', '/%2e%2e/', '/health/', '/admin', '/.env'),
  text(80).map((value) => `/${value}`),
);

/** Requests to `route`: every part random, references resolved by the layer. */
export function requestArbitrary(route: RouteKey, profile: LayerProfile): fc.Arbitrary<FuzzRequest> {
  const changes = route.startsWith('PUT ') || route.endsWith('/resume') || route.endsWith('/cancel');
  return fc
    .record({
    route: fc.constant(route),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    rawPath: defaultPath,
    id: idRef(changes),
    transitionId: transitionRef,
    taskId: taskRef,
    token: tokenRef,
    query: queryArb(profile.tasks.map((task) => task.id)),
    body: bodyArb(route, profile),
    contentType: contentTypeArb(profile.httpSafe),
    base64: profile.httpSafe ? fc.constant(false) : fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    auth: authArb(profile.httpSafe),
    idempotencyKey: idempotencyArb(profile.httpSafe),
    headers: extraHeaders(profile.httpSafe),
    fault: profile.faults ? faultArb : fc.constant<Fault>('none'),
  })
    .map((request): FuzzRequest => {
      // A valid create body mostly goes to the task it was made for.
      const task = request.body.kind === 'value' ? request.body.task : undefined;
      return task !== undefined && request.taskId.kind !== 'mangled' ? { ...request, taskId: { kind: 'known', index: task } } : request;
    });
}

/** The JSON text of a body choice (undefined: no body). */
export function bodyText(body: BodyChoice): string | undefined {
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'text':
      return body.text;
    case 'value':
      return JSON.stringify(body.value);
  }
}

/** A cursor the service handed out, damaged as asked. */
export function tamperCursor(cursor: string, tamper: CursorTamper): string {
  const [body = '', signature = ''] = cursor.split('.');
  switch (tamper) {
    case 'none':
      return cursor;
    case 'flip': {
      const index = Math.floor(body.length / 2);
      const char = body[index] === 'A' ? 'B' : 'A';
      return `${body.slice(0, index)}${char}${body.slice(index + 1)}.${signature}`;
    }
    case 'drop-signature':
      return body;
    case 'swap-signature':
      return `${body}.${'A'.repeat(signature.length)}`;
    case 'extra-part':
      return `${cursor}.x`;
    case 'truncate':
      return cursor.slice(0, -3);
  }
}

/**
 * `value` made sendable in a URL: lone surrogates (which `encodeURIComponent` refuses) replaced
 * with U+FFFD, then cut until it encodes to at most `maxEncoded` characters (request line and
 * headers share Node's 16 KB limit, as they share API Gateway's own).
 */
export function urlSafe(value: string, maxEncoded: number): string {
  let safe = wellFormed(value);
  while (encodeURIComponent(safe).length > maxEncoded) safe = wellFormed(safe.slice(0, Math.floor(safe.length / 2)));
  return safe;
}

/** Replaces lone surrogates (which `encodeURIComponent` and `fetch` refuse) with U+FFFD. */
export function wellFormed(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Near misses of an input: as given, with prototype-named keys added, or made deep or wide. */
function nearMisses(input: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: input },
    { weight: 3, arbitrary: withPrototypeKeys(input) },
    { weight: 1, arbitrary: fc.oneof(deepValue, wideObject) },
  );
}

/** The product tasks (lambdas/tasks): valid inputs and near misses. */
export const PRODUCT_TASKS: readonly TaskProfile[] = [
  {
    id: 'sample-pipeline',
    valid: fc.record(
      {
        document_url: fc
          .tuple(fc.constantFrom('http', 'https'), fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/))
          .map(([scheme, host, file]) => `${scheme}://${host}.example.com/${file}.pdf`),
        language: fc.constantFrom('en', 'de', 'fr', 'es'),
        max_summary_words: fc.integer({ min: 10, max: 500 }),
      },
      { requiredKeys: ['document_url'] },
    ),
    input: nearMisses(
      fc.record(
        {
          document_url: fc.oneof(fc.webUrl(), fc.constantFrom('https://example.com/a.pdf', 'ftp://x/y', 'javascript:alert(1)', 'https://'), text()),
          language: fc.oneof(fc.constantFrom('en', 'de', 'fr', 'es', 'xx'), jsonish),
          max_summary_words: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constantFrom(10.5, '50', null)),
        },
        { requiredKeys: ['document_url'] },
      ),
    ),
  },
  {
    id: 'sample-approval',
    valid: fc.record(
      {
        title: fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme-composite' }),
        body: fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme-composite' }),
        reviewer: fc.stringMatching(/^[a-z]{1,12}$/).map((name) => `${name}@example.com`),
      },
      { requiredKeys: ['title', 'body'] },
    ),
    input: nearMisses(
      fc.record(
        {
          title: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), text(), huge(150, 250)),
          body: fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), text(), huge(19_990, 20_010)),
          reviewer: fc.oneof(fc.emailAddress(), text()),
        },
        { requiredKeys: ['title', 'body'] },
      ),
    ),
  },
];

/** The `index`-th of `values`, wrapping around; undefined when there are none. */
export function pick<T>(values: readonly T[], index: number): T | undefined {
  return values.length === 0 ? undefined : values[index % values.length];
}

/** The task id a fuzz request names, among `taskIds` (the ones the stack under test deploys). */
export function resolveTask(request: FuzzRequest, taskIds: readonly string[]): string {
  const ref = request.taskId;
  switch (ref.kind) {
    case 'known':
      return pick(taskIds, ref.index)!;
    case 'text':
      return ref.text;
    case 'mangled':
      return mangle(pick(taskIds, ref.index)!, ref.how);
  }
}
