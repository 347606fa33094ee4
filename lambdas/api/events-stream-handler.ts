import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { watchStore } from '../shared/stores.js';
import { credentialsOf } from './api-key-auth.js';
import { REGION } from './context.js';
import { SYSTEM_CLOCK } from './event-stream.js';
import { serveEventsStream } from './events-stream.js';

// `awslambda` is the global Lambda's Node.js runtime gives streaming handlers; @types/aws-lambda
// declares it, and local/ installs a shim of the same shape.

const logger = createLogger('events-stream');
const keys = new ApiKeysRepository(documentClient, requireEnv('TABLE_NAME'));
const source = watchStore();
// Status events link to the HTTP API (the Function URL serves only the stream).
const links = { apiBaseUrl: requireEnv('API_BASE_URL'), region: REGION };

/** Lambda entry of the streaming Function URL: `GET /executions/{id}/events`, written as events come. */
export const handler = awslambda.streamifyResponse<LambdaFunctionURLEvent>(async (event, responseStream, context) => {
  await serveEventsStream(event, context, {
    source,
    clock: SYSTEM_CLOCK,
    logger,
    credentials: (authorization) => credentialsOf(keys, authorization),
    links,
    open: (metadata) => awslambda.HttpResponseStream.from(responseStream, { ...metadata }),
  });
});
