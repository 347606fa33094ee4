import { ValidationError } from '../domain/errors.js';

/** What an `Idempotency-Key` may be, as JSON Schema: the check below and the OpenAPI document read this one declaration. */
export const IDEMPOTENCY_KEY = { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' } as const;

const IDEMPOTENCY_KEY_PATTERN = new RegExp(IDEMPOTENCY_KEY.pattern);

/** The Idempotency-Key header, checked for size and characters. */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const key = headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError('The Idempotency-Key header must be 1 to 255 visible ASCII characters.', [
      { path: 'header.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  return key;
}
