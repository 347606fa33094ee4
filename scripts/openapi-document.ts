import { tasks } from '../examples/tasks/index.js';
import { openApiDocument } from '../lambdas/api/openapi.js';
import { buildTaskCatalogue } from '../lambdas/tasks/catalogue.js';

/** Where `npm run openapi` writes the document, from the repository's root. */
export const DOCUMENT_PATH = 'docs/openapi.json';

/**
 * The OpenAPI document of a stack of the example tasks (what `npm start` and `cdk deploy` serve by
 * default) with API key auth, as `docs/openapi.json` holds it: the same function the catalogue
 * function serves `GET /openapi.json` with, given the local stack's and a deployed stack's
 * addresses as servers instead of the one a request came to.
 */
export function exampleDocument(): Readonly<Record<string, unknown>> {
  return openApiDocument({
    tasks: buildTaskCatalogue(tasks).tasks,
    auth: 'api-key',
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start; PORT changes the port)' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stack (its ApiUrl output)',
        variables: { apiId: { default: 'abcdef1234', description: 'The HTTP API\'s id' }, region: { default: 'us-east-1', description: 'Its AWS region' } },
      },
    ],
    eventsStreamServers: [
      {
        url: 'http://127.0.0.1:{port}',
        description: 'The local streaming URL (the Events stream line npm start prints)',
        variables: { port: { default: '3001', description: 'Its port, chosen when the stack starts' } },
      },
      {
        url: 'https://{urlId}.lambda-url.{region}.on.aws',
        description: 'A deployed stack\'s streaming Function URL (its EventsStreamUrl output)',
        variables: { urlId: { default: 'abcdefghijklmnopqrstuvwxyz012345', description: 'The Function URL\'s id' }, region: { default: 'us-east-1', description: 'Its AWS region' } },
      },
    ],
  });
}

/** The document as the file holds it: two-space JSON and a final newline. */
export function documentText(): string {
  return `${JSON.stringify(exampleDocument(), null, 2)}\n`;
}
