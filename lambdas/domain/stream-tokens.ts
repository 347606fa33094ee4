import { createHmac, timingSafeEqual } from 'node:crypto';

// Stream tokens: a browser's `EventSource` cannot send an `Authorization` header, so a tenant asks
// the API for a short-lived token (`POST /executions/{id}/stream-token`) and puts it in the events
// URL (`?token=`). The token is not stored anywhere: it carries its claims (tenant, execution,
// expiry) in the clear, signed with a key derived from the deployment's secret under a label of its
// own, so only the service can make one, and a resume link, a cursor or any future token of another
// purpose can never pass for one. It grants one thing: reading the events of one execution until it
// expires. See docs/security.md.

/** Text the stream token key is derived with: its own purpose, so it never signs what another key signs. */
const KEY_LABEL = 'async-executions/events-read-token/v1';

/** How long a token lives, in seconds: the default, and the bounds a caller may ask for. */
export const STREAM_TOKEN_TTL_SECONDS = { default: 900, min: 60, max: 3600 } as const;

/** `<claims, base64url>.<HMAC-SHA256, base64url>`; claims of the longest tenant and an id take about 150 characters. */
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/;

/** What a token grants: reading the events of `executionId` of `tenant` until `expiresAt`. */
export interface StreamTokenClaims {
  readonly tenant: string;
  readonly executionId: string;
  /** When the token stops working (epoch seconds). */
  readonly expiresAt: number;
}

/** Why a token was refused, or what it grants. */
export type StreamTokenVerdict =
  | { readonly valid: true; readonly claims: StreamTokenClaims }
  | { readonly valid: false; readonly reason: 'malformed' | 'bad signature' | 'another execution' | 'expired'; readonly expiresAt?: number };

/**
 * The key that signs stream tokens, derived from the deployment's secret (`CURSOR_SECRET`) under
 * its own label, as the resume link key is under another: no token of one kind is ever valid as
 * the other.
 */
export function streamTokenKey(secret: string): Buffer {
  return createHmac('sha256', secret).update(KEY_LABEL).digest();
}

function signatureOf(key: Uint8Array, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

/** A token granting what `claims` say, signed with `key`. */
export function streamToken(key: Uint8Array, claims: StreamTokenClaims): string {
  // JSON: unambiguous field boundaries whatever the fields hold.
  const body = Buffer.from(JSON.stringify([claims.tenant, claims.executionId, claims.expiresAt])).toString('base64url');
  return `${body}.${signatureOf(key, body)}`;
}

function claimsOf(body: string): StreamTokenClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
  const [tenant, executionId, expiresAt] = parsed as unknown[];
  if (typeof tenant !== 'string' || tenant === '' || typeof executionId !== 'string' || !Number.isSafeInteger(expiresAt)) return undefined;
  return { tenant, executionId, expiresAt: expiresAt as number };
}

/**
 * Checks `token` for a request to the events of `executionId` at `nowSeconds`: its shape, then its
 * signature (the exact text the service issues, compared in constant time), and only then what it
 * claims: the execution must be the one asked for, and the token must not have expired. The tenant
 * comes from the token, never from the request.
 */
export function verifyStreamToken(key: Uint8Array, token: string, executionId: string, nowSeconds: number): StreamTokenVerdict {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return { valid: false, reason: 'malformed' };
  const [, body, signature] = match as unknown as [string, string, string];
  const expected = Buffer.from(signatureOf(key, body));
  // The text, not its decoding: base64url decoding ignores the unused bits of the last character,
  // so several spellings would decode to one signature; only the one issued is accepted.
  if (!timingSafeEqual(Buffer.from(signature), expected)) return { valid: false, reason: 'bad signature' };
  const claims = claimsOf(body);
  if (!claims) return { valid: false, reason: 'malformed' };
  if (claims.executionId !== executionId) return { valid: false, reason: 'another execution' };
  if (claims.expiresAt <= nowSeconds) return { valid: false, reason: 'expired', expiresAt: claims.expiresAt };
  return { valid: true, claims };
}
