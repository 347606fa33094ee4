import { describe, expect, it } from 'vitest';
import { compileEventPattern, compileFilters } from '../../../local/event-filter.js';

const matches = (pattern: unknown, event: unknown) => compileEventPattern(pattern, 'test')(event);

/** A DynamoDB stream record as Lambda filters it. */
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', sk: string, oldStatus?: string, newStatus?: string) {
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { pk: { S: 'EXEC#1' }, sk: { S: sk } },
      ...(newStatus === undefined ? {} : { NewImage: { pk: { S: 'EXEC#1' }, sk: { S: sk }, status: { S: newStatus } } }),
      ...(oldStatus === undefined ? {} : { OldImage: { pk: { S: 'EXEC#1' }, sk: { S: sk }, status: { S: oldStatus } } }),
    },
  };
}

/** The webhook dispatcher's two filters: a record whose new or old image is not running. */
const DISPATCH = compileFilters(
  [
    { dynamodb: { Keys: { sk: { S: ['META'] } }, NewImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
    { dynamodb: { Keys: { sk: { S: ['META'] } }, OldImage: { status: { S: [{ 'anything-but': ['running'] }] } } } },
  ],
  'dispatch',
);

describe("the webhook dispatcher's filters (any filter may match)", () => {
  it.each([
    ['an INSERT of a queued record', record('INSERT', 'META', undefined, 'queued'), true],
    ['an INSERT of a running record (no old image: anything-but does not match a missing field)', record('INSERT', 'META', undefined, 'running'), false],
    ['a change from queued to running (the old image is not running)', record('MODIFY', 'META', 'queued', 'running'), true],
    ['a change from running to succeeded', record('MODIFY', 'META', 'running', 'succeeded'), true],
    ['a change of a running record that stays running', record('MODIFY', 'META', 'running', 'running'), false],
    ['the REMOVE of a succeeded record', record('REMOVE', 'META', 'succeeded'), true],
    ['a transition row', record('INSERT', 'TR#0001', undefined, 'queued'), false],
  ])('%s → %s', (_what, event, expected) => {
    expect(DISPATCH(event)).toBe(expected);
  });
});

describe('compileFilters', () => {
  it('keeps every record when there is no filter', () => {
    expect(compileFilters([], 'none')({ anything: 1 })).toBe(true);
  });
});

describe('compileEventPattern', () => {
  it('needs every field of an object to match (AND), any rule of a list (OR)', () => {
    const pattern = { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: ['META'] } } } };

    expect(matches(pattern, record('MODIFY', 'META', 'a', 'b'))).toBe(true);
    expect(matches(pattern, record('REMOVE', 'META', 'a'))).toBe(false);
    expect(matches(pattern, record('INSERT', 'TR#1', undefined, 'b'))).toBe(false);
  });

  it('matches literals by type and value, null included', () => {
    expect(matches({ a: [5] }, { a: 5 })).toBe(true);
    expect(matches({ a: [5] }, { a: '5' })).toBe(false);
    expect(matches({ a: [true] }, { a: true })).toBe(true);
    expect(matches({ a: [null] }, { a: null })).toBe(true);
    expect(matches({ a: [null] }, {})).toBe(false);
    expect(matches({ a: [''] }, { a: '' })).toBe(true);
  });

  it('matches a list in the event when any element matches', () => {
    expect(matches({ tags: ['red'] }, { tags: ['blue', 'red'] })).toBe(true);
    expect(matches({ tags: ['red'] }, { tags: ['blue'] })).toBe(false);
    expect(matches({ items: { id: ['b'] } }, { items: [{ id: 'a' }, { id: 'b' }] })).toBe(true);
  });

  it('does not match an object where the pattern expects a leaf value', () => {
    expect(matches({ dynamodb: { NewImage: { status: [{ exists: true }] } } }, record('INSERT', 'META', undefined, 'queued'))).toBe(false);
    expect(matches({ dynamodb: { NewImage: { status: { S: [{ exists: true }] } } } }, record('INSERT', 'META', undefined, 'queued'))).toBe(true);
  });

  it('matches prefix, suffix and equals-ignore-case on strings only', () => {
    expect(matches({ sk: [{ prefix: 'TR#' }] }, { sk: 'TR#0001' })).toBe(true);
    expect(matches({ sk: [{ prefix: 'TR#' }] }, { sk: 'META' })).toBe(false);
    expect(matches({ file: [{ suffix: '.png' }] }, { file: 'a.png' })).toBe(true);
    expect(matches({ file: [{ suffix: '.png' }] }, { file: 5 })).toBe(false);
    expect(matches({ name: [{ 'equals-ignore-case': 'alice' }] }, { name: 'ALICE' })).toBe(true);
  });

  it('matches anything-but a value, a list of values or a prefix, never a missing field', () => {
    expect(matches({ s: [{ 'anything-but': 'running' }] }, { s: 'queued' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': ['running', 'queued'] }] }, { s: 'queued' })).toBe(false);
    expect(matches({ n: [{ 'anything-but': [1, 2] }] }, { n: 3 })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { prefix: 'run' } }] }, { s: 'running' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { suffix: 'ing' } }] }, { s: 'done' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': 'running' }] }, {})).toBe(false);
    expect(matches({ s: [{ 'anything-but': 'running' }] }, { s: { S: 'queued' } })).toBe(false);
  });

  it('matches exists true on a present leaf and exists false on a missing one', () => {
    const insert = record('INSERT', 'META', undefined, 'queued');
    const oldStatus = { dynamodb: { OldImage: { status: { S: [{ exists: false }] } } } };

    expect(matches(oldStatus, insert)).toBe(true);
    expect(matches(oldStatus, record('MODIFY', 'META', 'queued', 'running'))).toBe(false);
    expect(matches({ dynamodb: { NewImage: { status: { S: [{ exists: true }] } } } }, insert)).toBe(true);
    expect(matches({ a: [{ exists: false }] }, { a: null })).toBe(false);
  });

  it('matches numeric comparisons on JSON numbers, not on number strings', () => {
    const range = { n: [{ numeric: ['>', 0, '<=', 5] }] };

    expect(matches(range, { n: 5 })).toBe(true);
    expect(matches(range, { n: 0 })).toBe(false);
    expect(matches(range, { n: 6 })).toBe(false);
    expect(matches(range, { n: '3' })).toBe(false);
    expect(matches({ n: [{ numeric: ['=', 3] }] }, { n: 3.0 })).toBe(true);
    expect(matches({ n: [{ numeric: ['>=', 3] }] }, { n: 3 })).toBe(true);
    expect(matches({ n: [{ numeric: ['<', 3] }] }, { n: 2.5 })).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['a pattern that is not an object', ['META'], /must be a JSON object/],
    ['a leaf that is not a list', { eventName: 'INSERT' }, /eventName must be an object or a list of rules/],
    ['an empty list', { eventName: [] }, /eventName has an empty list of rules/],
    ['an unknown operator', { eventName: [{ wildcard: 'IN*' }] }, /"wildcard", which is not emulated locally/],
    ['a rule with two operators', { a: [{ prefix: 'a', suffix: 'b' }] }, /2 operators/],
    ['a numeric rule without a number', { a: [{ numeric: ['>', 'x'] }] }, /operators among =, <, <=, >, >=/],
    ['three numeric comparisons', { a: [{ numeric: ['>', 0, '<', 5, '<', 6] }] }, /one or two comparisons/],
    ['an $or', { $or: [{ a: ['x'] }] }, /"\$or" at \$or is not emulated locally/],
    ['anything-but of a boolean', { a: [{ 'anything-but': [true] }] }, /needs strings or numbers/],
    ['exists of a string', { a: [{ exists: 'yes' }] }, /needs true or false/],
    ['a nested list', { a: [['x']] }, /nested list/],
  ])('refuses %s, naming where', (_what, pattern, error) => {
    expect(() => compileEventPattern(pattern, 'EventSourceMapping M, filter 1')).toThrow(/^EventSourceMapping M, filter 1: /);
    expect(() => compileEventPattern(pattern, 'EventSourceMapping M, filter 1')).toThrow(error);
  });
});
