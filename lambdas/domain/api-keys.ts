import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from './errors.js';

const TENANT_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
const KEY_PATTERN = /^ak_([a-z0-9]{10})_[A-Za-z0-9_-]{43}$/;

/** A new API key: its public id (shown in listings, used to revoke) and the secret to hand out once. */
export interface NewApiKey {
  readonly keyId: string;
  /** `ak_<keyId>_<32 random bytes, base64url>`: shown once, never stored. */
  readonly key: string;
  readonly hash: string;
}

/**
 * Only this hash of a key is stored. Keys carry 256 random bits, so a fast hash is enough: there
 * is nothing to guess that a slow hash would protect.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Mints a key. */
export function newApiKey(): NewApiKey {
  const keyId = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0').slice(-10);
  const key = `ak_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, key, hash: hashApiKey(key) };
}

/** The public id of a key in our format, or undefined (e.g. a development key). */
export function keyIdOf(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/**
 * The bearer token of an `Authorization` header, or undefined when there is none or it is
 * malformed. Only `<scheme> <token>` with a single space is accepted: API Gateway caches verdicts by
 * the header's exact text, so each accepted spelling of one key (a tab, two spaces, a trailing
 * blank) was a cache miss and a database read. The scheme's case stays free (RFC 9110); the
 * token is RFC 6750's b64token, at most 512 characters.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const token = /^bearer ([\w.~+/-]+=*)$/i.exec(header ?? '')?.[1];
  return token !== undefined && token.length <= 512 ? token : undefined;
}

/**
 * Checks a tenant name: lower-case letters, digits and inner hyphens, at most 48 characters (it
 * becomes part of every key of the tenant's records).
 * @throws ValidationError when it is not one.
 */
export function assertTenant(tenant: string): string {
  if (!TENANT_PATTERN.test(tenant)) {
    throw new ValidationError(
      `"${tenant.slice(0, 64)}" is not a tenant name: use 1 to 48 lower-case letters, digits and inner hyphens.`,
    );
  }
  return tenant;
}
