import { bearerToken, hashApiKey } from '../domain/api-keys.js';
import { compactRate } from '../domain/rate-limits.js';
import type { ApiKeysRepository } from '../repository/api-keys-repository.js';

/** Who a request's credentials name: its tenant, or why they were refused (then `tenant` is empty). */
export interface Credentials {
  readonly tenant: string;
  readonly refused: string;
  /** `'1'` when the key's tenant has concurrency limits (its creates wait for admission); empty otherwise. */
  readonly concurrency?: string;
  /** The key's public id, which its rate counters are kept under; empty without a key. */
  readonly key?: string;
  /** The key's own create limit (`quota/seconds`); empty when it uses the service's default. */
  readonly rate_create?: string;
  /** The key's own read limit (`quota/seconds`); empty when it uses the service's default. */
  readonly rate_read?: string;
}

/**
 * Maps an `Authorization` header to the tenant of its bearer API key, with the key's id and own
 * rate limits (read with it, so the limiter needs no read of its own). Both the HTTP API's
 * authorizer and the streaming Function URL (which has no authorizer in front of it) use this, so
 * one key means one tenant on every entry.
 */
export async function credentialsOf(keys: Pick<ApiKeysRepository, 'findActive'>, authorization: string | undefined): Promise<Credentials> {
  const token = bearerToken(authorization);
  if (!token) return { tenant: '', refused: 'missing or malformed bearer token' };
  const key = await keys.findActive(hashApiKey(token));
  if (!key) return { tenant: '', refused: 'unknown or revoked API key' };
  const { create, read } = key.limits ?? {};
  return {
    tenant: key.tenant,
    refused: '',
    concurrency: key.limited ? '1' : '',
    key: key.keyId,
    rate_create: create ? compactRate(create) : '',
    rate_read: read ? compactRate(read) : '',
  };
}
