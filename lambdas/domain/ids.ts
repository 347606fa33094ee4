import { randomBytes } from 'node:crypto';

/** The ids this service issues (execution and transition ids): lower-case UUIDv7. */
export const EXECUTION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEQ_BITS = 30;
/** The largest transition sequence number a transition id can carry. */
export const MAX_SEQ = 2 ** SEQ_BITS - 1;

function format(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function timeHex(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
}

/**
 * A new execution id: a UUIDv7, so ids sort by creation time (as hex strings) and a
 * `created_after` bound becomes a key range.
 */
export function newExecutionId(nowMs: number = Date.now()): string {
  const random = randomBytes(10);
  random[0] = (random[0]! & 0x0f) | 0x70; // version 7 in the high nibble of rand_a
  random[2] = (random[2]! & 0x3f) | 0x80; // RFC 9562 variant
  return format(timeHex(nowMs) + random.toString('hex'));
}

/** True for ids this service issues (lower-case UUIDv7). */
export function isExecutionId(value: string): boolean {
  return EXECUTION_ID_PATTERN.test(value);
}

/** The creation time an id carries, in ms since the epoch. */
export function idTimestamp(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The smallest (`'min'`) or largest (`'max'`) id that can be minted at `ms`: the bounds of a time range. */
export function idBoundAt(ms: number, bound: 'min' | 'max'): string {
  const fill = bound === 'min' ? '0' : 'f';
  return format(timeHex(ms) + fill.repeat(20));
}

/**
 * A transition id: a UUIDv7 that also carries the transition's sequence number in the top
 * 30 bits of `rand_b`, so `GET …/transitions/{id}` is one key lookup, not a search.
 */
export function newTransitionId(seq: number, nowMs: number = Date.now()): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new RangeError(`seq out of range: ${seq}`);
  const random = randomBytes(10);
  random[0] = (random[0]! & 0x0f) | 0x70;
  // rand_b starts at byte 2: 2 variant bits, then 30 bits of seq, then 32 random bits.
  const high = (0b10 << 30) | seq;
  random.writeUInt32BE(high >>> 0, 2);
  return format(timeHex(nowMs) + random.toString('hex'));
}

/** The sequence number a transition id carries, or undefined when it is not one of ours. */
export function transitionSeq(id: string): number | undefined {
  if (!isExecutionId(id)) return undefined;
  const hex = id.replaceAll('-', '');
  const seq = Number.parseInt(hex.slice(16, 24), 16) & MAX_SEQ;
  return seq >= 1 ? seq : undefined;
}

/** What a batch id is (a lower-case UUID: random, or derived from the batch's Idempotency-Key). */
export const BATCH_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
