import { describe, expect, it } from 'vitest';
import { assertTenant, bearerToken, hashApiKey, keyIdOf, newApiKey } from '../../../lambdas/domain/api-keys.js';
import { ValidationError } from '../../../lambdas/domain/errors.js';

const KEY_FORMAT = /^ak_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/;

describe('newApiKey', () => {
  it('mints ak_<key id>_<43 base64url characters> whose id and hash are derived from the key', () => {
    const minted = newApiKey();

    expect(minted.key).toMatch(KEY_FORMAT);
    expect(minted.keyId).toMatch(/^[a-z0-9]{10}$/);
    expect(minted.key.startsWith(`ak_${minted.keyId}_`)).toBe(true);
    expect(keyIdOf(minted.key)).toBe(minted.keyId);
    expect(minted.hash).toBe(hashApiKey(minted.key));
  });

  it('mints a different key, key id and hash every time', () => {
    const minted = Array.from({ length: 50 }, () => newApiKey());

    expect(new Set(minted.map((key) => key.key)).size).toBe(50);
    expect(new Set(minted.map((key) => key.keyId)).size).toBe(50);
    expect(new Set(minted.map((key) => key.hash)).size).toBe(50);
  });

  it('never puts the secret part of the key into its hash or its id', () => {
    const minted = newApiKey();
    const secret = minted.key.slice(`ak_${minted.keyId}_`.length);

    expect(minted.hash).not.toContain(secret);
    expect(minted.keyId).not.toContain(secret);
  });
});

describe('hashApiKey', () => {
  it('is the lower-case hex SHA-256 of the key', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is deterministic and tells keys that differ in one character apart', () => {
    const key = newApiKey().key;
    const other = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;

    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toBe(hashApiKey(other));
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('keyIdOf', () => {
  it('returns the public id of a key in the service format', () => {
    expect(keyIdOf(`ak_0123456789_${'A'.repeat(43)}`)).toBe('0123456789');
  });

  it.each([
    ['a development key', 'local-development-key'],
    ['an empty string', ''],
    ['a key id of 9 characters', `ak_012345678_${'A'.repeat(43)}`],
    ['an upper-case key id', `ak_ABCDEFGHIJ_${'A'.repeat(43)}`],
    ['a secret of 42 characters', `ak_0123456789_${'A'.repeat(42)}`],
    ['a secret of 44 characters', `ak_0123456789_${'A'.repeat(44)}`],
    ['a secret with a character outside base64url', `ak_0123456789_${'A'.repeat(42)}+`],
    ['another prefix', `sk_0123456789_${'A'.repeat(43)}`],
  ])('returns undefined for %s', (_what, key) => {
    expect(keyIdOf(key)).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it('returns the token of "Bearer <token>"', () => {
    expect(bearerToken('Bearer ak_0123456789_secret')).toBe('ak_0123456789_secret');
  });

  it.each([
    ['a lower-case scheme', 'bearer abc', 'abc'],
    ['an upper-case scheme', 'BEARER abc', 'abc'],
    ['a mixed-case scheme', 'bEaReR abc', 'abc'],
    ['every b64token character and trailing "="', 'Bearer aZ09-._~+/==', 'aZ09-._~+/=='],
    ['a token of 512 characters', `Bearer ${'x'.repeat(512)}`, 'x'.repeat(512)],
  ])('accepts %s', (_what, header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['no space after the scheme', 'Bearerabc'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a token without a scheme', 'ak_0123456789_secret'],
    ['two tokens', 'Bearer abc def'],
    ['leading whitespace', ' Bearer abc'],
    ['several spaces after the scheme', 'Bearer    abc'],
    ['a tab after the scheme', 'Bearer\tabc'],
    ['trailing spaces', 'Bearer abc  '],
    ['a trailing tab', 'Bearer abc\t'],
    ['a line break', 'Bearer\nabc'],
    ['a no-break space after the scheme', 'Bearer\u00a0abc'],
    ['a character outside b64token', 'Bearer abc,def'],
    ['a non-ASCII token', 'Bearer abcé'],
    ['"=" inside the token', 'Bearer ab=c'],
    ['a token of 513 characters', `Bearer ${'x'.repeat(513)}`],
    ['a repeated header joined with a comma', 'Bearer abc, Bearer def'],
  ])('returns undefined for %s', (_what, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('assertTenant', () => {
  it.each(['default', 'tenant-b', 'a', '7', 'acme-42-eu', `a${'b'.repeat(46)}c`])('accepts %s', (tenant) => {
    expect(assertTenant(tenant)).toBe(tenant);
  });

  it.each([
    ['an empty name', ''],
    ['upper-case letters', 'Acme'],
    ['a leading hyphen', '-acme'],
    ['a trailing hyphen', 'acme-'],
    ['an underscore', 'acme_eu'],
    ['a space', 'acme eu'],
    ['a "#" (the key separator)', 'acme#eu'],
    ['a non-ASCII letter', 'äcme'],
    ['49 characters', 'a'.repeat(49)],
  ])('rejects %s with a ValidationError', (_what, tenant) => {
    expect(() => assertTenant(tenant)).toThrow(ValidationError);
  });

  it('quotes at most 64 characters of a rejected name', () => {
    const error = (() => {
      try {
        assertTenant('X'.repeat(1000));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(`"${'X'.repeat(64)}"`);
    expect((error as ValidationError).message).not.toContain('X'.repeat(65));
  });
});
