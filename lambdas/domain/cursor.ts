import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';

const SIGNATURE_BYTES = 16;
const MAX_CURSOR_LENGTH = 2048;

/** What a page cursor remembers: the query it belongs to and where the next page starts. */
export interface CursorState {
  /** Identifies the query (tenant, index, partition, order, filters); a cursor only continues its own query. */
  readonly scope: string;
  /** DynamoDB's LastEvaluatedKey, with string values only. */
  readonly key: Readonly<Record<string, string | number>>;
}

function sign(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest().subarray(0, SIGNATURE_BYTES);
}

/** An opaque, tamper-evident cursor: base64url JSON plus a truncated HMAC-SHA256 over it. */
export function encodeCursor(state: CursorState, secret: string): string {
  const body = Buffer.from(JSON.stringify([state.scope, state.key])).toString('base64url');
  return `${body}.${sign(secret, body).toString('base64url')}`;
}

/** The 400 for a cursor that cannot continue this query. */
export function invalidCursor(): ValidationError {
  return new ValidationError('The cursor is not valid for this query. Start again without a cursor.', [
    { path: 'query.cursor', message: 'must be a next_cursor this same query returned, unaltered' },
  ]);
}

/**
 * Reads a cursor back.
 * @throws ValidationError (400) when it is malformed, altered, or belongs to another query.
 */
export function decodeCursor(token: string, secret: string, scope: string): CursorState['key'] {
  if (token.length > MAX_CURSOR_LENGTH) throw invalidCursor();
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) throw invalidCursor();
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(secret, body);
  // Decoding ignores the unused low bits of the last character (and characters outside the
  // alphabet), so 16 spellings decoded to one signature: only the one we issue is accepted.
  if (given.toString('base64url') !== signature) throw invalidCursor();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parsed) || parsed[0] !== scope || typeof parsed[1] !== 'object' || parsed[1] === null) {
    throw invalidCursor();
  }
  return parsed[1] as CursorState['key'];
}
