import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Resume links ("callbacks"): every wait gets one, `POST /callbacks/<token>`, which resumes that wait
// without an API key. The token is not stored anywhere: it is an HMAC, under a key derived from the
// deployment's secret, of the wait it belongs to (tenant, execution, step) and a random nonce that
// the wait stores. The table holds the nonce and, to find a token's wait, an item keyed by the
// token's SHA-256; neither yields a usable link without the key. See docs/security.md.

/** Text the link key is derived with, so it can never sign anything a cursor key signs. */
const KEY_LABEL = 'async-executions/callback-link/v1';

/** A token: 32 bytes (HMAC-SHA256) in base64url without padding. */
export const CALLBACK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The wait a resume link belongs to. */
export interface CallbackTarget {
  readonly tenant: string;
  readonly executionId: string;
  /** Index of the wait step (waits are top-level steps only). */
  readonly stepIndex: number;
  /** The wait's random nonce, stored on its record and its `wait` row. */
  readonly nonce: string;
}

/**
 * The item that finds a token's wait (keyed by {@link callbackHash} of the token), as the repository
 * reads it back.
 */
export interface CallbackLookup extends CallbackTarget {
  /** When the link stops working (epoch seconds): the wait's timeout. Also the item's TTL. */
  readonly expiresAt: number;
}

/**
 * The key that mints resume links, derived from the deployment's secret (`CURSOR_SECRET`) under
 * its own label, so the two uses never share a key.
 */
export function callbackKey(secret: string): Buffer {
  return createHmac('sha256', secret).update(KEY_LABEL).digest();
}

/** A new wait's nonce: 16 random bytes, base64url. */
export function newCallbackNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The token of a wait's resume link: HMAC-SHA256 over the wait's tenant, execution, step and nonce,
 * so one token names exactly one wait, and nobody without the key can make one.
 */
export function callbackToken(key: Uint8Array, target: CallbackTarget): string {
  // JSON: unambiguous field boundaries whatever the fields hold.
  const message = JSON.stringify([target.tenant, target.executionId, target.stepIndex, target.nonce]);
  return createHmac('sha256', key).update(message).digest('base64url');
}

/** What the lookup item of a token is keyed by: its SHA-256 (hex). A fast hash suffices: the token has 256 random-looking bits. */
export function callbackHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when `text` has the shape of a token (anything else is answered 404 without a read). */
export function isCallbackToken(text: string): boolean {
  return CALLBACK_TOKEN_PATTERN.test(text);
}

/**
 * True when `token` is the very token of `target`, compared in constant time: the lookup found
 * the item by the token's hash; this proves the item describes the wait the token was minted for.
 */
export function tokenMatches(key: Uint8Array, token: string, target: CallbackTarget): boolean {
  const expected = Buffer.from(callbackToken(key, target));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The path of a resume link (relative to the API's base URL). */
export function callbackPath(token: string): string {
  return `/callbacks/${token}`;
}
