import { describe, expect, it } from 'vitest';
import { METADATA_LIMITS, bodyOf, cancelBody, changeStatusBody, createBody, createWithTaskBody } from '../../../lambdas/api/bodies.js';
import {
  LIMIT,
  MAX_OFFSET,
  UNKNOWN_ECHO,
  executionIdOf,
  executionListParams,
  transitionListParams,
  transitionSeqOf,
} from '../../../lambdas/api/queries.js';
import { idempotencyKeyOf } from '../../../lambdas/api/headers.js';
import { ValidationError, type FieldError } from '../../../lambdas/domain/errors.js';
import { newExecutionId, newTransitionId } from '../../../lambdas/domain/ids.js';

/** The field errors `act` throws as a ValidationError. */
function fieldErrors(act: () => unknown): readonly FieldError[] {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return ((error as ValidationError).extensions.errors as FieldError[] | undefined) ?? [];
  }
  throw new Error('expected a ValidationError');
}

describe('executionListParams', () => {
  it('defaults to 20 items, newest first, with no filters', () => {
    expect(executionListParams(undefined)).toEqual({ limit: LIMIT.default, direction: 'desc' });
  });

  it("defaults to Julep's 100 items on Julep's route, whose task comes from the path", () => {
    expect(executionListParams(undefined, 'sample-pipeline')).toEqual({ limit: LIMIT.julepDefault, direction: 'desc', taskId: 'sample-pipeline' });
    expect(executionListParams({ limit: '7' }, 'sample-pipeline').limit).toBe(7);
  });

  it('reads every filter and paging parameter', () => {
    const params = executionListParams({
      limit: '100',
      cursor: 'abc.def',
      sort_by: 'created_at',
      direction: 'asc',
      status: 'completed',
      task_id: 'sample-approval',
      created_after: '2026-01-01',
      created_before: '2026-01-02T00:00:00Z',
    });

    expect(params).toEqual({
      limit: 100,
      cursor: 'abc.def',
      direction: 'asc',
      status: 'succeeded',
      taskId: 'sample-approval',
      createdAfter: Date.parse('2026-01-01'),
      createdBefore: Date.parse('2026-01-02T00:00:00Z'),
    });
  });

  it('sorts by completed_at with the status, task and creation filters, on both list routes', () => {
    expect(executionListParams({ sort_by: 'completed_at', status: 'failed', task_id: 'sample-approval' })).toEqual({
      limit: LIMIT.default,
      direction: 'desc',
      sortBy: 'completed_at',
      status: 'failed',
      taskId: 'sample-approval',
    });
    expect(executionListParams({ sort_by: 'completed_at', direction: 'asc' }, 'sample-pipeline')).toMatchObject({ sortBy: 'completed_at', direction: 'asc', taskId: 'sample-pipeline' });
    // The default order is creation, said or not.
    expect(executionListParams({ sort_by: 'created_at' })).not.toHaveProperty('sortBy');
  });

  it('sorts by started_at too, on both list routes', () => {
    expect(executionListParams({ sort_by: 'started_at', status: 'running' })).toEqual({ limit: LIMIT.default, direction: 'desc', sortBy: 'started_at', status: 'running' });
    expect(executionListParams({ sort_by: 'started_at', direction: 'asc' }, 'sample-pipeline')).toMatchObject({ sortBy: 'started_at', direction: 'asc', taskId: 'sample-pipeline' });
  });

  it('refuses sort_by=completed_at or started_at with a tag, batch, schedule or parent list', () => {
    for (const order of ['completed_at', 'started_at']) {
      for (const query of [{ tag: 'a' }, { batch_id: '0b7c5a4e-7f4e-4f5e-8f4e-3c2d1b0a9f8e' }, { schedule_id: `sch_${'a'.repeat(32)}` }, { parent_id: '01900000-0000-7000-8000-000000000000' }]) {
        expect(() => executionListParams({ sort_by: order, ...query }), JSON.stringify(query)).toThrow(ValidationError);
      }
    }
  });

  it('refuses sort_by=updated_at saying why: every update would move the execution in such an index', () => {
    const errors = fieldErrors(() => executionListParams({ sort_by: 'updated_at' }));
    expect(errors).toEqual([{ path: 'query.sort_by', message: expect.stringContaining('every status change and progress report would move the execution') }]);
    expect(errors[0]!.message).toContain('sort by created_at, started_at or completed_at');
    expect(fieldErrors(() => executionListParams({ sort_by: 'name' }))).toEqual([{ path: 'query.sort_by', message: 'must be one of "created_at", "started_at", "completed_at"' }]);
  });

  it('takes the task from the path and rejects it as a query parameter then', () => {
    expect(executionListParams({}, 'sample-pipeline')).toMatchObject({ taskId: 'sample-pipeline' });
    expect(fieldErrors(() => executionListParams({ task_id: 'x' }, 'sample-pipeline'))).toEqual([
      { path: 'query.task_id', message: 'is not a parameter of this route' },
    ]);
  });

  it.each(['0', '101', '-1', '1.5', '1e2', ''])('rejects limit=%j', (limit) => {
    expect(fieldErrors(() => executionListParams({ limit })).map((error) => error.path)).toEqual(['query.limit']);
  });

  it('accepts the limit bounds 1 and 100', () => {
    expect(executionListParams({ limit: '1' }).limit).toBe(1);
    expect(executionListParams({ limit: '100' }).limit).toBe(100);
  });

  it('collects every problem of the query at once', () => {
    const errors = fieldErrors(() =>
      executionListParams({ limit: '0', sort_by: 'name', status: 'paused', foo: '1', created_after: '2026-02-01', created_before: '2026-01-01' }),
    );

    expect(errors.map((error) => error.path).sort()).toEqual(
      ['query.created_after', 'query.foo', 'query.limit', 'query.sort_by', 'query.status'].sort(),
    );
  });

  it('names at most 10 unknown parameters, each cut to 64 characters, and counts the rest (it echoed every name)', () => {
    const names = Array.from({ length: 1500 }, (_, index) => `p${index}`);
    const long = 'x'.repeat(11 * 1024);

    const many = fieldErrors(() => executionListParams(Object.fromEntries(names.map((name) => [name, '1']))));
    const one = fieldErrors(() => executionListParams({ [long]: '1' }));

    expect(many).toEqual([
      ...names.slice(0, UNKNOWN_ECHO.names).map((name) => ({ path: `query.${name}`, message: 'is not a parameter of this route' })),
      { path: 'query', message: `has ${names.length - UNKNOWN_ECHO.names} more unknown parameters` },
    ]);
    expect(one).toEqual([{ path: `query.${long.slice(0, UNKNOWN_ECHO.length)}…`, message: 'is not a parameter of this route' }]);
  });

  it('lists the accepted values quoted, in the same words as body errors (it wrote "must be one of: asc, desc")', () => {
    const errors = fieldErrors(() => executionListParams({ direction: 'up', status: 'paused' }));

    expect(errors).toEqual([
      { path: 'query.direction', message: 'must be one of "asc", "desc"' },
      { path: 'query.status', message: 'must be one of "queued", "running", "awaiting_input", "succeeded", "failed", "cancelled"' },
    ]);
  });

  it('bounds offset and refuses it together with a cursor', () => {
    expect(executionListParams({ offset: String(MAX_OFFSET) }).offset).toBe(MAX_OFFSET);
    expect(fieldErrors(() => executionListParams({ offset: String(MAX_OFFSET + 1) }))[0]?.path).toBe('query.offset');
    expect(fieldErrors(() => executionListParams({ offset: '3', cursor: 'abc' }))[0]).toEqual({
      path: 'query.offset',
      message: 'cannot be combined with cursor',
    });
  });

  it('treats offset=0 as no offset', () => {
    expect(executionListParams({ offset: '0' })).toEqual({ limit: 20, direction: 'desc' });
  });
});

describe('transitionListParams', () => {
  it('defaults to seq order, oldest first', () => {
    expect(transitionListParams(undefined)).toEqual({ limit: 20, direction: 'asc' });
  });

  it("accepts Julep's sort_by values and scope_id, and desc", () => {
    expect(transitionListParams({ sort_by: 'updated_at', scope_id: 'x', direction: 'desc' })).toEqual({ limit: 20, direction: 'desc' });
  });

  it('rejects filters that belong to the executions list', () => {
    expect(fieldErrors(() => transitionListParams({ status: 'running' }))[0]?.path).toBe('query.status');
  });
});

describe('ids in paths', () => {
  it('accepts execution ids the service issues and rejects anything else with a 400', () => {
    const id = newExecutionId();

    expect(executionIdOf(id)).toBe(id);
    for (const bad of ['abc', id.toUpperCase(), '00000000-0000-4000-8000-000000000000', `${id}x`]) {
      expect(() => executionIdOf(bad)).toThrow(ValidationError);
    }
  });

  it('reads the seq a transition id carries and rejects malformed ids', () => {
    expect(transitionSeqOf(newTransitionId(7))).toBe(7);
    expect(fieldErrors(() => transitionSeqOf('seven'))).toEqual([{ path: 'path.transition_id', message: 'must be a transition id' }]);
  });
});

describe('idempotencyKeyOf', () => {
  it('returns the header when present and undefined when absent', () => {
    expect(idempotencyKeyOf({ 'idempotency-key': 'order-42' })).toBe('order-42');
    expect(idempotencyKeyOf({})).toBeUndefined();
  });

  it.each(['', 'has space', 'é', 'x'.repeat(256)])('rejects %j', (key) => {
    expect(() => idempotencyKeyOf({ 'idempotency-key': key })).toThrow(ValidationError);
  });
});

describe('bodies', () => {
  it('requires a body where one is needed', () => {
    expect(fieldErrors(() => bodyOf(createBody, undefined))).toEqual([{ path: '', message: 'is required' }]);
  });

  it('reports a missing input as required', () => {
    expect(fieldErrors(() => bodyOf(createBody, {}))).toEqual([{ path: '/input', message: 'is required' }]);
  });

  it('accepts only running and cancelled as PUT statuses', () => {
    expect(bodyOf(changeStatusBody, { status: 'running', input: { a: 1 } })).toEqual({ status: 'running', input: { a: 1 } });
    expect(bodyOf(changeStatusBody, { status: 'cancelled', reason: null })).toEqual({ status: 'cancelled', reason: null });
    expect(() => bodyOf(changeStatusBody, { status: 'succeeded' })).toThrow(ValidationError);
  });

  it("accepts Julep's metadata: JSON values and keys of every kind, and null as none", () => {
    const metadata = { jobs: [1, 2], count: 3, 'a key with spaces': { nested: [true, null] }, 'émoji 😀': 'x' };

    expect(bodyOf(createBody, { input: {}, metadata }).metadata).toEqual(metadata);
    expect(bodyOf(createWithTaskBody, { task_id: 't', input: {}, metadata }).metadata).toEqual(metadata);
    expect(bodyOf(createBody, { input: {}, metadata: null }).metadata).toBeUndefined();
  });

  it('accepts metadata at its bounds: the most keys, the longest key, the most bytes', () => {
    const keys = Object.fromEntries(Array.from({ length: METADATA_LIMITS.keys }, (_, index) => [`k${index}`, index]));
    const longKey = { ['k'.repeat(METADATA_LIMITS.keyLength)]: 1 };
    const big = { v: 'x'.repeat(METADATA_LIMITS.bytes - '{"v":""}'.length) };

    for (const metadata of [keys, longKey, big]) expect(bodyOf(createBody, { input: {}, metadata }).metadata).toBe(metadata);
  });

  it.each([
    ['an array', ['a'], 'must be an object'],
    ['a string', 'team', 'must be an object'],
    ['one key too many', Object.fromEntries(Array.from({ length: METADATA_LIMITS.keys + 1 }, (_, index) => [`k${index}`, 1])), `must have at most ${METADATA_LIMITS.keys} keys`],
    ['an empty key', { '': 1 }, 'has a key of 0 characters'],
    ['a key one character too long', { ['k'.repeat(METADATA_LIMITS.keyLength + 1)]: 1 }, `has a key of ${METADATA_LIMITS.keyLength + 1} characters`],
    ['one byte too many as JSON', { v: 'x'.repeat(METADATA_LIMITS.bytes - '{"v":""}'.length + 1) }, `must be at most ${METADATA_LIMITS.bytes} bytes as JSON`],
  ])('rejects metadata that is %s, naming the rule and the limit', (_what, metadata, message) => {
    const errors = fieldErrors(() => bodyOf(createBody, { input: {}, metadata }));

    expect(errors).toEqual([{ path: '/metadata', message: expect.stringContaining(message) }]);
  });

  it('never echoes a metadata key in an error, however long', () => {
    const key = 'k'.repeat(100_000);

    const errors = fieldErrors(() => bodyOf(createBody, { input: {}, metadata: { [key]: 1 } }));

    expect(JSON.stringify(errors).length).toBeLessThan(200);
  });

  it('quotes at most 10 unknown body fields, each cut to 64 characters (a 200 KB field name made a 400 KB answer)', () => {
    const long = 'f'.repeat(200_000);
    const fields = Object.fromEntries(Array.from({ length: 25 }, (_, index) => [`f${index}`, 1]));

    const [longError] = fieldErrors(() => bodyOf(createBody, { input: {}, [long]: 1 }));
    const [manyError] = fieldErrors(() => bodyOf(createBody, { input: {}, ...fields }));

    expect(longError?.message).toContain(`"${long.slice(0, 64)}…"`);
    expect(longError?.message.length).toBeLessThan(100);
    expect(manyError?.message).toContain('"f9"');
    expect(manyError?.message).not.toContain('"f10"');
    expect(manyError?.message).toContain('and 15 more');
  });

  it('accepts an empty cancel body object', () => {
    expect(bodyOf(cancelBody, {})).toEqual({});
  });
});
