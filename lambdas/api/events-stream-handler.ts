import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { streamTokenKey } from '../domain/stream-tokens.js';
import { ApiKeysRepository } from '../repository/api-keys-repository.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger, withLogKeys } from '../shared/logger.js';
import { watchStore } from '../shared/stores.js';
import { REGION } from './context.js';
import { eventsCredentialsOf } from './events-auth.js';
import { SYSTEM_CLOCK } from './event-stream.js';
import { disconnectSignal, serveEventsStream } from './events-stream.js';

// `awslambda` is the global Lambda's Node.js runtime gives streaming handlers; @types/aws-lambda
// declares it, and local/ installs a shim of the same shape.

const logger = createLogger('events-stream');
const keys = new ApiKeysRepository(documentClient, requireEnv('TABLE_NAME'));
const tokenKey = streamTokenKey(requireEnv('CURSOR_SECRET'));
const source = watchStore();
// Status events link to the HTTP API (the Function URL serves only the stream).
const links = { apiBaseUrl: requireEnv('API_BASE_URL'), region: REGION };

/** Lambda entry of the streaming Function URL: `GET /executions/{id}/events`, written as events come. */
export const handler = awslambda.streamifyResponse<LambdaFunctionURLEvent>(async (event, responseStream, context) => {
  const ids = { aws_request_id: context.awsRequestId, request_id: event.requestContext.requestId };
  await withLogKeys(ids, () => serveEventsStream(event, context, {
    source,
    clock: SYSTEM_CLOCK,
    logger,
    credentials: (request) => eventsCredentialsOf(keys, tokenKey, { ...request, nowSeconds: Math.floor(Date.now() / 1000) }),
    links,
    open: (metadata) => awslambda.HttpResponseStream.from(responseStream, { ...metadata }),
    gone: disconnectSignal(responseStream),
  }));
});
