import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COMPRESS_FROM_BYTES, decodePayload, encodePayload } from '../../../lambdas/repository/codec.js';

/** A JSON string value whose serialised form is exactly `bytes` bytes long (ASCII). */
function stringOfJsonBytes(bytes: number): string {
  return 'x'.repeat(bytes - 2);
}

function nested(depth: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) value = { child: value };
  return value;
}

describe('payload codec', () => {
  it('compresses from 8 KiB of JSON', () => {
    expect(COMPRESS_FROM_BYTES).toBe(8192);
  });

  it('stores a small payload as its JSON text', () => {
    expect(encodePayload({ document: 'a.pdf', pages: [1, 2] })).toBe('{"document":"a.pdf","pages":[1,2]}');
  });

  it('stores a payload of 8191 bytes as text and one of 8192 bytes gzipped', () => {
    const below = encodePayload(stringOfJsonBytes(COMPRESS_FROM_BYTES - 1));
    const at = encodePayload(stringOfJsonBytes(COMPRESS_FROM_BYTES));

    expect(typeof below).toBe('string');
    expect(at).toBeInstanceOf(Uint8Array);
  });

  it('measures the size in bytes, not characters', () => {
    // 4095 two-byte characters + 2 quotes: 4097 characters but 8192 bytes.
    const encoded = encodePayload('é'.repeat(4095));

    expect(encoded).toBeInstanceOf(Uint8Array);
  });

  it('gzips a large payload into something smaller that gunzips to the JSON text', () => {
    const value = { rows: Array.from({ length: 2_000 }, (_, i) => ({ i, label: `row ${i}` })) };

    const encoded = encodePayload(value);

    expect(encoded).toBeInstanceOf(Uint8Array);
    const bytes = encoded as Uint8Array;
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(bytes.byteLength).toBeLessThan(JSON.stringify(value).length);
    expect(gunzipSync(bytes).toString('utf8')).toBe(JSON.stringify(value));
  });

  it.each([
    ['an object', { a: 1, b: [true, null, 'x'] }],
    ['an array', [1, 'two', { three: 3 }]],
    ['a string', 'hello'],
    ['a number', 0],
    ['false', false],
    ['null', null],
    ['a large object', { text: 'lorem ipsum '.repeat(2_000) }],
    ['an object nested deeper than DynamoDB maps allow', nested(100)],
  ])('round-trips %s', (_label, value) => {
    expect(decodePayload(encodePayload(value))).toEqual(value);
  });

  it('leaves an absent payload absent', () => {
    expect(encodePayload(undefined)).toBeUndefined();
    expect(decodePayload(undefined)).toBeUndefined();
    expect(decodePayload(null)).toBeUndefined();
  });

  it('decodes a Buffer as read back by the SDK', () => {
    const encoded = encodePayload({ text: 'y'.repeat(10_000) }) as Uint8Array;

    expect(decodePayload(Buffer.from(encoded))).toEqual({ text: 'y'.repeat(10_000) });
  });

  it.each([
    ['a number', 42],
    ['a map', { a: 1 }],
    ['a boolean', true],
  ])('refuses a stored value of an unexpected type (%s)', (_label, stored) => {
    expect(() => decodePayload(stored)).toThrow(TypeError);
  });
});
