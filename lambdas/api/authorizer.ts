import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { bearerToken, hashApiKey } from '../domain/api-keys.js';
import { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';

/** What the authorizer tells the route functions (`requestContext.authorizer.lambda`). */
export interface AuthorizerContext {
  /** The caller's tenant; empty when the credentials are not valid. */
  readonly tenant: string;
  /** Why the credentials were refused, when they were. */
  readonly refused: string;
  [key: string]: string;
}

const keys = new ApiKeysRepository(documentClient, requireEnv('TABLE_NAME'));
const logger = createLogger('authorizer');

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses, cached by the Authorization header).
 * A valid bearer key maps to its tenant. An invalid or revoked key is NOT denied here: API Gateway
 * would answer 403 with its own body, and the contract is a problem+json 401. The request goes on
 * with an empty tenant, which every route refuses with 401 (`tenantOf`).
 */
export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> {
  const token = bearerToken(event.headers?.authorization);
  if (!token) return { isAuthorized: true, context: { tenant: '', refused: 'missing or malformed bearer token' } };
  const key = await keys.findActive(hashApiKey(token));
  if (!key) {
    logger.info('unknown or revoked API key', { route: event.routeKey });
    return { isAuthorized: true, context: { tenant: '', refused: 'unknown or revoked API key' } };
  }
  return { isAuthorized: true, context: { tenant: key.tenant, refused: '' } };
}
