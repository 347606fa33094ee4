import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult, Context } from 'aws-lambda';
import { streamTokenKey } from '../domain/stream-tokens.js';
import { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { credentialsOf } from './api-key-auth.js';
import { EVENTS_ROUTE, eventsCredentialsOf, type EventsCredentialKind } from './events-auth.js';

/** What the authorizer tells the route functions (`requestContext.authorizer.lambda`). */
export interface AuthorizerContext {
  /** The caller's tenant; empty when the credentials are not valid. */
  readonly tenant: string;
  /** Why the credentials were refused, when they were. */
  readonly refused: string;
  /** The credential the request presented: an API key, or (on the events route only) a stream token. */
  readonly via: EventsCredentialKind;
  [key: string]: string;
}

const keys = new ApiKeysRepository(documentClient, requireEnv('TABLE_NAME'));
const tokenKey = streamTokenKey(requireEnv('CURSOR_SECRET'));
const logger = createLogger('authorizer');

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). A valid bearer key maps to its
 * tenant. An invalid or revoked key is NOT denied here: API Gateway would answer 403 with its own
 * body, and the contract is a problem+json 401. The request goes on with an empty tenant, which
 * every route refuses with 401 (`tenantOf`).
 *
 * One function behind two authorizers: the key authorizer of every route (cached by the
 * Authorization header, so its verdict may depend on that header alone), and the events authorizer
 * of `GET /executions/{id}/events` only (no identity source, no cache), which also takes a stream
 * token. A token is read on that route key alone, whichever authorizer runs.
 */
export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
  context?: Context,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> {
  const credentials =
    event.routeKey === EVENTS_ROUTE
      ? await eventsCredentialsOf(keys, tokenKey, {
          authorization: event.headers?.authorization,
          token: event.queryStringParameters?.token,
          executionId: event.pathParameters?.id ?? '',
          nowSeconds: Math.floor(Date.now() / 1000),
        })
      : { ...(await credentialsOf(keys, event.headers?.authorization)), via: 'key' as const };
  if (credentials.refused) {
    // Its one line: the request ids (API Gateway's, as in the access log), never the credentials.
    const ids = { aws_request_id: context?.awsRequestId, request_id: event.requestContext.requestId };
    logger.info('credentials refused', { ...ids, route: event.routeKey, via: credentials.via, refused: credentials.refused });
  }
  return { isAuthorized: true, context: { ...credentials } };
}
