import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  METADATA_LIMITS,
  batchItemBody,
  bodyOf,
  bulkActionBody,
  cancelBody,
  changeStatusBody,
  createBody,
  createWithTaskBody,
  replayBody,
  resumeBody,
  streamTokenBody,
  scheduleBody,
  subscriptionBody,
  tagsBody,
  type BodyJsonSchema,
  type BodySchema,
} from '../../../lambdas/api/bodies.js';
import { IDEMPOTENCY_KEY, idempotencyKeyOf } from '../../../lambdas/api/headers.js';
import {
  BULK_LIST_QUERY,
  DELIVERY_LIST_QUERY,
  EVENT_ID,
  EXECUTION_LIST_QUERY,
  SCHEDULE_LIST_QUERY,
  TASK_EXECUTION_LIST_QUERY,
  TRANSITION_LIST_QUERY,
  bulkListParams,
  deliveryListParams,
  scheduleListParams,
  executionListParams,
  streamPositionOf,
  streamQuery,
  transitionListParams,
  type ParamSchema,
  type QuerySchema,
} from '../../../lambdas/api/queries.js';
import { ValidationError } from '../../../lambdas/domain/errors.js';
import { METADATA_FILTER_LIMITS, parseMetadataFilter } from '../../../lambdas/domain/metadata-filter.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { WEBHOOK_EVENT_TYPES } from '../../../lambdas/domain/webhooks.js';
import { strictAjv } from '../../support/strict-json-schema.js';

// The request bodies and queries are checked by hand (for their words and their bundle size) and
// published as JSON Schema (the OpenAPI document): these tests hold the two to one meaning, judged
// by an independent validator (ajv), so a rule added to a check without its schema, or to a schema
// without its check, fails here.

const ajv = strictAjv();

/** True when `act` passes, false when it throws a 400; anything else is a fault of the test. */
function passes(act: () => unknown): boolean {
  try {
    act();
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

const astral = (count: number): string => '😀'.repeat(count);
const keys = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, index]));

/** Values of every JSON type, at and around each bound the bodies have (lengths counted in code points, as JSON Schema counts them). */
const VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  59,
  60,
  900,
  3600,
  3601,
  '',
  'x',
  'x'.repeat(64),
  'x'.repeat(65),
  astral(64),
  astral(65),
  'd'.repeat(500),
  'd'.repeat(501),
  astral(500),
  'r'.repeat(2000),
  'r'.repeat(2001),
  astral(2000),
  'running',
  'cancelled',
  'succeeded',
  'sample-pipeline',
  'no-such-task',
  'https://hooks.example.com/in',
  [],
  [1],
  ['execution.failed'],
  ['execution.failed', 'execution.failed'],
  [...WEBHOOK_EVENT_TYPES],
  ['execution.failed', 'execution.exploded'],
  ['webhook.test'],
  {},
  { a: 1, nested: { b: [true, null] } },
  keys(METADATA_LIMITS.keys),
  keys(METADATA_LIMITS.keys + 1),
  { '': 1 },
  { ['k'.repeat(METADATA_LIMITS.keyLength)]: 1 },
  { ['k'.repeat(METADATA_LIMITS.keyLength + 1)]: 1 },
  { [astral(METADATA_LIMITS.keyLength)]: 1 },
  { [astral(METADATA_LIMITS.keyLength + 1)]: 1 },
  { v: 'x'.repeat(METADATA_LIMITS.bytes) },
];

/** Strings at the edges of the patterns the bodies use (tags and concurrency keys, RFC 3339 date-times), and beside them. */
const PATTERN_SAMPLES: readonly string[] = [
  'a',
  'customer:acme/eu=1+x@y_z.-',
  't'.repeat(64),
  't'.repeat(65),
  'with space',
  'ünïcode',
  '__proto__',
  '2026-01-02T03:04:05Z',
  '2026-01-02T03:04:05.123456789+02:00',
  '2026-01-02T03:04:05.1234567890Z',
  '2026-01-02',
  '2026-01-02 03:04:05Z',
  '2026-02-30T00:00:00Z',
];

/** Every field a body schema names, in any of its forms. */
function fieldsOf(schema: BodyJsonSchema): string[] {
  const forms = 'oneOf' in schema ? schema.oneOf : [schema];
  return [...new Set(forms.flatMap((form) => Object.keys(form.properties)))];
}

/** Values at and around every bound a property's schema states, of its own and of other types: what a check most likely disagrees on. */
function edgesOf(schema: unknown): unknown[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const rule = schema as Readonly<Record<string, unknown>>;
  const edges: unknown[] = [];
  const number = (key: string): number | undefined => (typeof rule[key] === 'number' ? (rule[key] as number) : undefined);
  for (const length of [number('minLength'), number('maxLength')]) {
    if (length !== undefined) edges.push(...[length - 1, length, length + 1].filter((n) => n >= 0).flatMap((n) => ['x'.repeat(n), astral(n)]));
  }
  for (const bound of [number('minimum'), number('maximum')]) if (bound !== undefined) edges.push(bound - 1, bound, bound + 1, bound + 0.5);
  const properties = number('maxProperties');
  if (properties !== undefined) edges.push(keys(properties), keys(properties + 1));
  const names = rule.propertyNames as Readonly<Record<string, number>> | undefined;
  for (const length of [names?.minLength, names?.maxLength]) {
    if (length !== undefined) edges.push(...[length - 1, length, length + 1].filter((n) => n >= 0).flatMap((n) => [{ ['k'.repeat(n)]: 1 }, { [astral(n)]: 1 }]));
  }
  const named = [...(Object.hasOwn(rule, 'const') ? [rule.const] : []), ...(Array.isArray(rule.enum) ? rule.enum : [])];
  edges.push(...named);
  // A nested object (a filter): empty, and with one property at each of that property's edges.
  if (rule.type === 'object' && typeof rule.properties === 'object' && rule.properties !== null) {
    edges.push({});
    for (const [name, property] of Object.entries(rule.properties)) edges.push(...edgesOf(property).map((edge) => ({ [name]: edge })));
  }
  if (typeof rule.pattern === 'string') edges.push(...PATTERN_SAMPLES);
  const items = rule.items as Readonly<Record<string, unknown>> | undefined;
  if (typeof items?.pattern === 'string') {
    edges.push(...PATTERN_SAMPLES.map((sample) => [sample]), ['a', 'a'], Array.from({ length: 10 }, (_, i) => `t${i}`), Array.from({ length: 11 }, (_, i) => `t${i}`));
  }
  if (Array.isArray(items?.enum)) edges.push(...items.enum.map((item) => [item]), [...items.enum], [items.enum[0], 'nonesuch'], ['nonesuch']);
  return edges;
}

/** Bodies of the schema's fields and one it does not know, each absent or holding a value at the edge of its schema (in any form) or any of {@link VALUES}. */
function bodiesOf(schema: BodyJsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const forms = 'oneOf' in schema ? schema.oneOf : [schema];
  const valueOf = (field: string): fc.Arbitrary<unknown> => {
    const edges = forms.flatMap((form) => edgesOf(form.properties[field]));
    const anything = fc.constantFrom(...VALUES);
    return edges.length === 0 ? anything : fc.oneof({ arbitrary: fc.constantFrom(...edges), weight: 2 }, { arbitrary: anything, weight: 1 });
  };
  const fields = fieldsOf(schema);
  return fc.record({ ...Object.fromEntries(fields.map((field) => [field, valueOf(field)])), unknown_field: fc.constant(1) }, { requiredKeys: [] });
}

/** Metadata larger as JSON than JSON Schema can bound: the one rule the check has beyond its schema. */
const metadataTooLarge = (body: Record<string, unknown>): boolean =>
  typeof body.metadata === 'object' && body.metadata !== null && Buffer.byteLength(JSON.stringify(body.metadata)) > METADATA_LIMITS.bytes;

const TASK_IDS: ReadonlySet<string> = new Set(['sample-pipeline', 'sample-approval']);

const BODIES: ReadonlyArray<readonly [string, BodySchema<unknown>]> = [
  ['POST /tasks/{task_id}/executions', createBody],
  ['POST /executions', createWithTaskBody],
  ['PUT /executions/{id}', changeStatusBody],
  ['POST /executions/{id}/resume', resumeBody],
  ['POST /executions/{id}/cancel', cancelBody],
  ['POST /executions/{id}/replay', replayBody],
  ['POST /executions/{id}/stream-token', streamTokenBody],
  ['POST /webhooks', subscriptionBody(TASK_IDS)],
  ['PUT /executions/{id}/tags', tagsBody],
  // Each item of POST /executions/batch is checked on its own, as a body of its own.
  ['an item of POST /executions/batch', batchItemBody],
  ['POST /bulk-actions', bulkActionBody(TASK_IDS)],
  // What its expression, zone and dates say is the domain's (checkScheduleSpec, tested in test/unit/domain/schedules.test.ts).
  ['POST /schedules', scheduleBody(TASK_IDS)],
];

describe('request bodies: each check accepts exactly what its JSON Schema accepts', () => {
  it.each(BODIES)('the body of %s (metadata over 16 KB as JSON aside, which no JSON Schema can bound)', (_route, body) => {
    const validate = ajv.compile(body.schema);

    fc.assert(
      fc.property(bodiesOf(body.schema), (value) => {
        const checked = passes(() => bodyOf(body, value));
        if (metadataTooLarge(value)) return !checked;
        return checked === validate(value);
      }),
      { numRuns: 5000 },
    );
  });

  it.each(BODIES)('the body of %s: a value that is no object fails both', (_route, body) => {
    const validate = ajv.compile(body.schema);
    for (const value of [null, [], 'x', 1, true]) {
      expect(passes(() => bodyOf(body, value)), JSON.stringify(value)).toBe(false);
      expect(validate(value), JSON.stringify(value)).toBe(false);
    }
  });

  it('the bodies the generator makes hit both answers for every route (the comparison is not vacuous)', () => {
    for (const [route, body] of BODIES) {
      const seen = new Set(fc.sample(bodiesOf(body.schema), { numRuns: 3000, seed: 7 }).map((value) => passes(() => bodyOf(body, value))));
      expect([...seen].sort(), route).toEqual([false, true]);
    }
  });
});

/** Values of a query parameter as sent (text), at and around its schema's bounds, and of other shapes. */
function candidates(schema: ParamSchema): string[] {
  const common = ['', 'x', '1.5', '1e2', ' 5', '+5', '-1'];
  if (schema.type === 'integer') {
    return [...common, schema.minimum - 1, schema.minimum, schema.maximum, schema.maximum + 1, '0'.repeat(13)].map(String).filter((value) => value !== '-2');
  }
  const id = newExecutionId();
  return [
    ...common,
    'x'.repeat(schema.maxLength),
    'x'.repeat(schema.maxLength + 1),
    astral(schema.maxLength),
    ...(schema.enum ?? []),
    'nonesuch',
    id,
    id.toUpperCase(),
    `sch_${'0a'.repeat(16)}`,
    `sch_${'0A'.repeat(16)}`,
    '2026-01-02',
    '2026-01-02T03:04:05Z',
    '2026-01-02T03:04:05.123+02:00',
    'yesterday',
    '{"team":"ops"}',
    '{team}',
    'nightly,team:ops',
    'a#b',
    '3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d',
  ];
}

/** The value as JSON Schema sees it: the digits of an integer parameter are that integer; anything else stays text (and fails `type: integer`). */
const asJson = (schema: ParamSchema, value: string): unknown => (schema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value);

const QUERIES: ReadonlyArray<readonly [string, QuerySchema, (query: Record<string, string>) => unknown]> = [
  ['GET /executions', EXECUTION_LIST_QUERY, (query) => executionListParams(query)],
  ['GET /tasks/{task_id}/executions', TASK_EXECUTION_LIST_QUERY, (query) => executionListParams(query, 'sample-pipeline')],
  ['GET /executions/{id}/transitions', TRANSITION_LIST_QUERY, (query) => transitionListParams(query)],
  ['GET /webhooks/{id}/deliveries', DELIVERY_LIST_QUERY, (query) => deliveryListParams(query)],
  ['GET /bulk-actions', BULK_LIST_QUERY, (query) => bulkListParams(query)],
  ['GET /schedules', SCHEDULE_LIST_QUERY, (query) => scheduleListParams(query)],
  ['GET /executions/{id}/events', streamQuery('last_event_id'), (query) => streamPositionOf({}, query, 'last_event_id')],
  ['GET /executions/{id}/transitions.stream', streamQuery('next_page_token'), (query) => streamPositionOf({}, query, 'next_page_token')],
];

/** Where a check says more than its parameter's schema can: a date that matches the shape but names no day; an empty position, which is none. */
function beyondSchema(name: string, value: string): boolean | undefined {
  if (name.startsWith('created_') && value === '2026-13-01') return false;
  if ((name === 'last_event_id' || name === 'next_page_token') && value === '') return true;
  // A JSON object's text within its limits, which a pattern cannot say.
  if (name === 'metadata_filter') return value.length >= 2 && value.length <= METADATA_FILTER_LIMITS.length && passes(() => parseMetadataFilter(value));
  return undefined;
}

describe('query parameters: each route reads exactly the parameters its schema declares, by their schemas', () => {
  it.each(QUERIES)('%s: every value of every declared parameter is accepted exactly when its schema accepts it', (_route, schema, read) => {
    for (const [name, parameter] of Object.entries(schema)) {
      const validate = ajv.compile(parameter);
      let accepted = 0;
      for (const value of [...candidates(parameter), '2026-13-01']) {
        const expected = beyondSchema(name, value) ?? validate(asJson(parameter, value));
        const checked = passes(() => read({ [name]: value }));
        expect(checked, `${name}=${JSON.stringify(value.slice(0, 80))}`).toBe(expected);
        if (checked) accepted++;
      }
      // Not vacuous: some value of each parameter passes.
      expect(accepted, name).toBeGreaterThan(0);
    }
  });

  it.each(QUERIES)('%s: a parameter its schema does not declare is a 400', (_route, schema, read) => {
    expect(passes(() => read({ nonesuch: '1' }))).toBe(false);
    expect(Object.hasOwn(schema, 'nonesuch')).toBe(false);
  });

  it('Last-Event-ID is read by the same schema as the stream routes\' position parameters', () => {
    const validate = ajv.compile(EVENT_ID);
    for (const value of ['0', '7', String(EVENT_ID.maximum), String(EVENT_ID.maximum + 1), 'x', '1.5', '-1']) {
      expect(passes(() => streamPositionOf({ 'last-event-id': value }, {}, 'last_event_id')), value).toBe(validate(asJson(EVENT_ID, value)));
    }
  });
});

describe('headers', () => {
  it('Idempotency-Key is accepted exactly when its schema accepts it', () => {
    const validate = ajv.compile(IDEMPOTENCY_KEY);
    for (const value of ['', 'a', 'order-42', 'has space', 'é', '~'.repeat(255), '~'.repeat(256), '\t', 'x\u007f']) {
      expect(passes(() => idempotencyKeyOf({ 'idempotency-key': value })), JSON.stringify(value)).toBe(validate(value));
    }
  });
});
