import { verifyStreamToken, type StreamTokenVerdict } from '../domain/stream-tokens.js';
import type { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { credentialsOf, type Credentials } from './api-key-auth.js';

/** The one route of the HTTP API a stream token is ever accepted on (the streaming Function URL serves only this path too). */
export const EVENTS_ROUTE = 'GET /executions/{id}/events';

/** Which credential a request to the events presented: a bearer API key, or a stream token (`?token=`). */
export type EventsCredentialKind = 'key' | 'token';

/** Who a request to the events is, and which credential said so (or was refused). */
export interface EventsCredentials extends Credentials {
  readonly via: EventsCredentialKind;
}

/** The credentials of a request to the events of one execution. */
export interface EventsRequest {
  /** The `Authorization` header. */
  readonly authorization: string | undefined;
  /** The `token` query parameter. */
  readonly token: string | undefined;
  /** The execution in the path, as sent: a token is valid for that execution only. */
  readonly executionId: string;
  readonly nowSeconds: number;
}

function tokenRefusal(verdict: Exclude<StreamTokenVerdict, { valid: true }>): string {
  if (verdict.reason === 'expired') {
    return `the stream token expired at ${new Date((verdict.expiresAt ?? 0) * 1000).toISOString()}; ask for a new one`;
  }
  // Malformed, altered, forged or made for another execution: one answer, which tells a forger nothing.
  return 'the stream token is not valid for this execution';
}

/**
 * The tenant of a request to an execution's events: a stream token (`?token=`, checked against the
 * execution in the path, no read) or else a bearer API key (`credentialsOf`, one read). A request
 * with both is refused rather than have one silently win. Only the HTTP API's authorizer (for
 * {@link EVENTS_ROUTE} alone) and the streaming Function URL call this: everywhere else a token is
 * no credential at all.
 */
export async function eventsCredentialsOf(
  keys: Pick<ApiKeysRepository, 'findActive'>,
  tokenKey: Uint8Array,
  request: EventsRequest,
): Promise<EventsCredentials> {
  if (request.token !== undefined) {
    if (request.authorization !== undefined) {
      return { tenant: '', refused: 'send either an API key or a stream token, not both', via: 'token' };
    }
    const verdict = verifyStreamToken(tokenKey, request.token, request.executionId, request.nowSeconds);
    if (!verdict.valid) return { tenant: '', refused: tokenRefusal(verdict), via: 'token' };
    return { tenant: verdict.claims.tenant, refused: '', via: 'token' };
  }
  return { ...(await credentialsOf(keys, request.authorization)), via: 'key' };
}

/** The words of a 401 for refused events credentials. */
export function eventsRefusal(credentials: EventsCredentials): string {
  return credentials.via === 'token'
    ? `Send a valid stream token as ?token= (POST /executions/{id}/stream-token makes one), or an API key as "Authorization: Bearer <key>" (${credentials.refused}).`
    : `Send a valid API key as "Authorization: Bearer <key>", or a stream token as ?token= (${credentials.refused}).`;
}
