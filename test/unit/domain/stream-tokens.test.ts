import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackKey, callbackToken, tokenMatches } from '../../../lambdas/domain/callbacks.js';
import { STREAM_TOKEN_TTL_SECONDS, streamToken, streamTokenKey, verifyStreamToken, type StreamTokenClaims } from '../../../lambdas/domain/stream-tokens.js';

const SECRET = 'deployment-secret';
const KEY = streamTokenKey(SECRET);
const NOW = 1_767_323_045;
const EXECUTION = '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5d';
const OTHER_EXECUTION = '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e';
const CLAIMS: StreamTokenClaims = { tenant: 'acme', executionId: EXECUTION, expiresAt: NOW + 900 };

/** The token with its claims part replaced by `claims`, its signature kept. */
function withClaims(token: string, claims: unknown): string {
  return `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${token.split('.')[1]}`;
}

describe('stream tokens', () => {
  it('grant their tenant the execution they were made for until they expire', () => {
    const token = streamToken(KEY, CLAIMS);

    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyStreamToken(KEY, token, EXECUTION, NOW)).toEqual({ valid: true, claims: CLAIMS });
    expect(verifyStreamToken(KEY, token, EXECUTION, CLAIMS.expiresAt - 1)).toMatchObject({ valid: true });
  });

  it('live 15 minutes by default, and may be asked for from one minute to one hour', () => {
    expect(STREAM_TOKEN_TTL_SECONDS).toEqual({ default: 900, min: 60, max: 3600 });
  });

  it('are refused from the second they expire, saying when that was', () => {
    const token = streamToken(KEY, CLAIMS);

    expect(verifyStreamToken(KEY, token, EXECUTION, CLAIMS.expiresAt)).toEqual({ valid: false, reason: 'expired', expiresAt: CLAIMS.expiresAt });
    expect(verifyStreamToken(KEY, token, EXECUTION, CLAIMS.expiresAt + 3600)).toMatchObject({ valid: false, reason: 'expired' });
  });

  it('are valid for their own execution only', () => {
    const token = streamToken(KEY, CLAIMS);

    expect(verifyStreamToken(KEY, token, OTHER_EXECUTION, NOW)).toEqual({ valid: false, reason: 'another execution' });
  });

  it.each([
    ['another tenant', { ...CLAIMS, tenant: 'other' }],
    ['another execution', { ...CLAIMS, executionId: OTHER_EXECUTION }],
    ['a later expiry', { ...CLAIMS, expiresAt: CLAIMS.expiresAt + 86_400 }],
  ])('are refused once their claims are altered to %s: the signature no longer matches', (_what, claims) => {
    const tampered = withClaims(streamToken(KEY, CLAIMS), [claims.tenant, claims.executionId, claims.expiresAt]);

    expect(verifyStreamToken(KEY, tampered, claims.executionId, NOW)).toEqual({ valid: false, reason: 'bad signature' });
  });

  it('are refused when their signature is altered, even in a bit base64url decoding would ignore', () => {
    const token = streamToken(KEY, CLAIMS);
    const [body, signature] = token.split('.') as [string, string];
    const flipped = `${body}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    // The last of 43 characters carries 2 unused bits: these spellings decode to the same bytes.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelled = `${body}.${signature.slice(0, -1)}${sibling}`;

    expect(Buffer.from(respelled.split('.')[1]!, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(verifyStreamToken(KEY, flipped, EXECUTION, NOW)).toMatchObject({ valid: false });
    expect(verifyStreamToken(KEY, respelled, EXECUTION, NOW)).toEqual({ valid: false, reason: 'bad signature' });
  });

  it('cannot be made without the key: another deployment secret signs tokens this one refuses', () => {
    const foreign = streamToken(streamTokenKey('another-secret'), CLAIMS);

    expect(verifyStreamToken(KEY, foreign, EXECUTION, NOW)).toEqual({ valid: false, reason: 'bad signature' });
  });

  it('are signed with a key of their own purpose: never the secret itself, never the resume link key', () => {
    const body = streamToken(KEY, CLAIMS).split('.')[0]!;
    const signedWith = (key: Uint8Array | string) => `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;

    // The very same claims, signed with the secret (which signs cursors) or the resume link key: refused.
    expect(verifyStreamToken(KEY, signedWith(SECRET), EXECUTION, NOW)).toEqual({ valid: false, reason: 'bad signature' });
    expect(verifyStreamToken(KEY, signedWith(callbackKey(SECRET)), EXECUTION, NOW)).toEqual({ valid: false, reason: 'bad signature' });
    expect(KEY.equals(callbackKey(SECRET))).toBe(false);
  });

  it('and a resume link token is no stream token, nor a stream token a resume link', () => {
    const wait = { tenant: 'acme', executionId: EXECUTION, stepIndex: 1, nonce: 'n0nce-n0nce-n0nce-n0nc' };
    const link = callbackToken(callbackKey(SECRET), wait);
    const token = streamToken(KEY, CLAIMS);

    expect(verifyStreamToken(KEY, link, EXECUTION, NOW)).toEqual({ valid: false, reason: 'malformed' });
    expect(verifyStreamToken(KEY, `${link.slice(0, 20)}.${link}`, EXECUTION, NOW)).toMatchObject({ valid: false });
    expect(tokenMatches(callbackKey(SECRET), token, wait)).toBe(false);
    // Nor its signature part alone, which has a link's shape.
    expect(tokenMatches(callbackKey(SECRET), token.split('.')[1]!, wait)).toBe(false);
  });

  it.each([
    '',
    'no-dot-at-all',
    `.${'a'.repeat(43)}`,
    `abc.${'a'.repeat(42)}`,
    `abc.${'a'.repeat(44)}`,
    `abc.${'a'.repeat(42)}=`,
    `abc.def.${'a'.repeat(43)}`,
    `${'a'.repeat(401)}.${'a'.repeat(43)}`,
    `ab c.${'a'.repeat(43)}`,
    `abc.${'a'.repeat(42)}\u0000`,
  ])('refuses %j by its shape', (text) => {
    expect(verifyStreamToken(KEY, text, EXECUTION, NOW)).toEqual({ valid: false, reason: 'malformed' });
  });

  it.each([
    ['not JSON', 'not json'],
    ['an object', { tenant: 'acme' }],
    ['two fields', ['acme', EXECUTION]],
    ['an empty tenant', ['', EXECUTION, NOW + 900]],
    ['a fractional expiry', ['acme', EXECUTION, NOW + 0.5]],
    ['a text expiry', ['acme', EXECUTION, String(NOW + 900)]],
  ])('refuses correctly signed claims that are %s', (_what, claims) => {
    const body = Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)).toString('base64url');
    const signed = `${body}.${createHmac('sha256', KEY).update(body).digest('base64url')}`;

    expect(verifyStreamToken(KEY, signed, EXECUTION, NOW)).toEqual({ valid: false, reason: 'malformed' });
  });

  it('are not ambiguous across field boundaries', () => {
    const token = streamToken(KEY, CLAIMS);
    const shifted = streamToken(KEY, { ...CLAIMS, tenant: 'ac', executionId: `me${EXECUTION}` });

    expect(shifted).not.toBe(token);
    expect(verifyStreamToken(KEY, shifted, EXECUTION, NOW)).toEqual({ valid: false, reason: 'another execution' });
  });
});
