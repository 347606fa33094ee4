import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, invalidCursor, type CursorState } from '../../../lambdas/domain/cursor.js';
import { ValidationError } from '../../../lambdas/domain/errors.js';

const SECRET = 'cursor-secret';
const STATE: CursorState = {
  scope: 'executions:acme:by-task',
  key: { pk: 'EXEC#acme#0195a2c3-1f4e-7abc-8def-0123456789ab', sk: 'META', id: '0195a2c3-1f4e-7abc-8def-0123456789ab', seq: 3 },
};

/** Signs an arbitrary body the way a holder of the secret would, to reach the checks after the signature. */
function signedToken(bodyText: string, secret = SECRET): string {
  const body = Buffer.from(bodyText).toString('base64url');
  const signature = createHmac('sha256', secret).update(body).digest().subarray(0, 16).toString('base64url');
  return `${body}.${signature}`;
}

function expectInvalid(token: string, scope = STATE.scope): void {
  expect(() => decodeCursor(token, SECRET, scope)).toThrow(ValidationError);
}

/** Replaces the first character of `text` with another base64url character. */
function alterFirst(text: string): string {
  return (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
}

describe('cursors', () => {
  it('round-trips the key of the query they were made for', () => {
    const token = encodeCursor(STATE, SECRET);

    expect(decodeCursor(token, SECRET, STATE.scope)).toEqual(STATE.key);
  });

  it('are opaque: URL-safe text that does not show the key in clear', () => {
    const token = encodeCursor(STATE, SECRET);

    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(token).not.toContain('EXEC#');
  });

  it('refuses a cursor whose body was altered', () => {
    const [body, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];

    expectInvalid(`${alterFirst(body)}.${signature}`);
  });

  it('refuses a cursor whose body was replaced by another key under the original signature', () => {
    const [, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify([STATE.scope, { pk: 'EXEC#other-tenant#x', sk: 'META' }])).toString('base64url');

    expectInvalid(`${forged}.${signature}`);
  });

  it('refuses a cursor whose signature was altered', () => {
    const [body, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];

    expectInvalid(`${body}.${alterFirst(signature)}`);
  });

  it('accepts only the spelling it issued of the last signature character (it accepted 16, differing in unused bits)', () => {
    const [body, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

    const accepted = [...alphabet].filter((last) => {
      try {
        decodeCursor(`${body}.${signature.slice(0, -1)}${last}`, SECRET, STATE.scope);
        return true;
      } catch {
        return false;
      }
    });

    expect(accepted).toEqual([signature.at(-1)]);
  });

  it('refuses a signature with characters outside base64url, which decoding would skip', () => {
    const [body, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];

    expectInvalid(`${body}.${signature.slice(0, 5)}!${signature.slice(5)}`);
    expectInvalid(`${body}.${signature}=`);
  });

  it('refuses a cursor whose signature was truncated', () => {
    const [body, signature] = encodeCursor(STATE, SECRET).split('.') as [string, string];

    expectInvalid(`${body}.${signature.slice(0, 10)}`);
  });

  it('refuses a cursor signed with another secret', () => {
    const token = encodeCursor(STATE, 'another-secret');

    expectInvalid(token);
  });

  it('refuses a cursor made for another query', () => {
    const token = encodeCursor(STATE, SECRET);

    expectInvalid(token, 'executions:acme:by-status');
  });

  it('refuses an oversized cursor, even a correctly signed one', () => {
    const token = encodeCursor({ scope: STATE.scope, key: { pk: 'x'.repeat(3000) } }, SECRET);

    expect(token.length).toBeGreaterThan(2048);
    expectInvalid(token);
  });

  it('refuses a signed body that is not JSON', () => {
    expectInvalid(signedToken('{not json'));
  });

  it.each([
    ['an object instead of [scope, key]', JSON.stringify({ scope: STATE.scope, key: STATE.key })],
    ['a null key', JSON.stringify([STATE.scope, null])],
    ['a string key', JSON.stringify([STATE.scope, 'pk'])],
    ['no key at all', JSON.stringify([STATE.scope])],
  ])('refuses a signed body holding %s', (_label, bodyText) => {
    expectInvalid(signedToken(bodyText));
  });

  it('accepts a body signed the same way, which shows the checks above fail for the stated reason', () => {
    const token = signedToken(JSON.stringify([STATE.scope, { pk: 'p' }]));

    expect(decodeCursor(token, SECRET, STATE.scope)).toEqual({ pk: 'p' });
  });

  it.each([
    ['the empty string', ''],
    ['a body without signature', 'abc'],
    ['an empty signature', 'abc.'],
    ['an empty body', '.abc'],
    ['three segments', 'a.b.c'],
  ])('refuses %s', (_label, token) => {
    expectInvalid(token);
  });

  it('reports a bad cursor as a 400 naming query.cursor', () => {
    const error = invalidCursor();

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.toProblem()).toMatchObject({
      status: 400,
      errors: [{ path: 'query.cursor', message: expect.any(String) }],
    });
  });
});
