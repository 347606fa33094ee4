import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  callbackHash,
  callbackKey,
  callbackPath,
  callbackToken,
  isCallbackToken,
  newCallbackNonce,
  tokenMatches,
  type CallbackTarget,
} from '../../../lambdas/domain/callbacks.js';

const KEY = callbackKey('deployment-secret');
const TARGET: CallbackTarget = { tenant: 'acme', executionId: '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5d', stepIndex: 1, nonce: 'n0nce-n0nce-n0nce-n0nc' };

describe('resume link tokens', () => {
  it('are 32 bytes of base64url, the same for the same wait, and accepted by their own shape check', () => {
    const token = callbackToken(KEY, TARGET);

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(callbackToken(KEY, { ...TARGET })).toBe(token);
    expect(isCallbackToken(token)).toBe(true);
    expect(callbackPath(token)).toBe(`/callbacks/${token}`);
  });

  it.each([
    ['another tenant', { tenant: 'other' }],
    ['another execution', { executionId: '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e' }],
    ['another step', { stepIndex: 2 }],
    ['another nonce', { nonce: 'n0nce-n0nce-n0nce-n0nd' }],
  ] as const)('differ for %s: one token names one wait', (_what, change) => {
    expect(callbackToken(KEY, { ...TARGET, ...change })).not.toBe(callbackToken(KEY, TARGET));
  });

  it('cannot be made without the key: another deployment secret gives other tokens', () => {
    expect(callbackToken(callbackKey('another-secret'), TARGET)).not.toBe(callbackToken(KEY, TARGET));
  });

  it('use a key of their own, not the secret itself (which also signs cursors)', () => {
    const withSecret = createHmac('sha256', 'deployment-secret')
      .update(JSON.stringify([TARGET.tenant, TARGET.executionId, TARGET.stepIndex, TARGET.nonce]))
      .digest('base64url');

    expect(callbackToken(KEY, TARGET)).not.toBe(withSecret);
    expect(KEY.equals(Buffer.from('deployment-secret'))).toBe(false);
  });

  it('are not ambiguous across field boundaries', () => {
    expect(callbackToken(KEY, { ...TARGET, tenant: 'ac', executionId: `me${TARGET.executionId}` })).not.toBe(callbackToken(KEY, TARGET));
  });

  it('are stored as their SHA-256 in hex, which does not contain them', () => {
    const token = callbackToken(KEY, TARGET);

    expect(callbackHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(callbackHash(token)).not.toContain(token);
    expect(callbackHash(`${token}x`)).not.toBe(callbackHash(token));
  });

  it.each([
    '',
    'short',
    'a'.repeat(42),
    'a'.repeat(44),
    `${'a'.repeat(42)}=`,
    `${'a'.repeat(42)}+`,
    `${'a'.repeat(42)}/`,
    ' '.repeat(43),
    `${'a'.repeat(42)}\u0000`,
    `${'a'.repeat(41)}é`,
    '../../executions/x/resume/aaaaaaaaaaaaaaaaaa',
    '__proto__'.padEnd(43, '_').replace(/_$/, '%'),
  ])('refuses %j by its shape', (text) => {
    expect(isCallbackToken(text)).toBe(false);
  });

  it('match only the wait they were minted for, in constant time', () => {
    const token = callbackToken(KEY, TARGET);

    expect(tokenMatches(KEY, token, TARGET)).toBe(true);
    expect(tokenMatches(KEY, token, { ...TARGET, executionId: '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e' })).toBe(false);
    expect(tokenMatches(KEY, token, { ...TARGET, tenant: 'other' })).toBe(false);
    expect(tokenMatches(KEY, token.slice(0, 42), TARGET)).toBe(false);
    expect(tokenMatches(callbackKey('another-secret'), token, TARGET)).toBe(false);
  });

  it('come from random nonces of 128 bits', () => {
    const nonces = new Set(Array.from({ length: 100 }, newCallbackNonce));

    expect(nonces.size).toBe(100);
    for (const nonce of nonces) expect(Buffer.from(nonce, 'base64url')).toHaveLength(16);
  });
});
