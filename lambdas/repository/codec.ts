import { gunzipSync, gzipSync } from 'node:zlib';
import type { Metadata } from '../domain/execution.js';

/** Payloads at least this large (bytes of JSON) are stored gzipped. */
export const COMPRESS_FROM_BYTES = 8 * 1024;

/**
 * Stores a JSON payload as text (or gzipped binary when large). Payloads are stored as JSON
 * text, not as DynamoDB maps: maps cap nesting at 32 levels and would turn a caller's deep
 * input into a write failure.
 */
export function encodePayload(value: unknown): string | Uint8Array | undefined {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) < COMPRESS_FROM_BYTES) return json;
  return new Uint8Array(gzipSync(json));
}

/** Reads back what {@link encodePayload} stored. */
export function decodePayload(stored: unknown): unknown {
  if (stored === undefined || stored === null) return undefined;
  if (typeof stored === 'string') return JSON.parse(stored);
  if (stored instanceof Uint8Array) return JSON.parse(gunzipSync(stored).toString('utf8'));
  throw new TypeError('Stored payload has an unexpected type');
}

/**
 * Reads back metadata. It is stored like a payload (JSON text): as a DynamoDB map, a `constructor`
 * key made the marshaller throw and an own `__proto__` key was dropped. Items written before that
 * still hold a map of strings, which reads as it is.
 */
export function decodeMetadata(stored: unknown): Metadata {
  const value = typeof stored === 'string' || stored instanceof Uint8Array ? decodePayload(stored) : stored;
  return (value ?? {}) as Metadata;
}
