import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { credentialsOf } from './api-key-auth.js';

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
  const credentials = await credentialsOf(keys, event.headers?.authorization);
  if (credentials.refused) logger.info('credentials refused', { route: event.routeKey, refused: credentials.refused });
  return { isAuthorized: true, context: { ...credentials } };
}
