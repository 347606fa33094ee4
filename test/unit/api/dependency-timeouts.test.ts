import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { RATE_COUNTER_TIMEOUT_MS } from '../../../lambdas/repository/rate-counters.js';
import { apiEvent, expectProblem, lambdaContext } from '../support/api-events.js';

/**
 * No AWS SDK mock here: the real clients talk to a local server that accepts every request and
 * never answers, so the SDK's own timeout and retry path is what the handlers see.
 */

/** The API functions' timeout (ServiceFunction's default): an answer after it never reaches the caller. */
const FUNCTION_TIMEOUT_MS = 10_000;

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

let server: Server;
/** Requests the server took and never answered, with their bodies. */
const stalled: Array<{ request: IncomingMessage; body: string }> = [];

beforeAll(async () => {
  server = createServer((request) => {
    // Read the request, answer nothing: a database that accepted the write and then stalled.
    const taken = { request, body: '' };
    stalled.push(taken);
    request.setEncoding('utf8').on('data', (chunk: string) => (taken.body += chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Read by the clients at module load, so set before the handlers are imported.
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_SFN', endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterEach(() => {
  stalled.length = 0;
  server.closeAllConnections();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => server.close(resolve));
});

/** The handler's answer, or a failure once the function would have been killed. */
async function answerBeforeTimeout(
  handler: Handler,
  event: APIGatewayProxyEventV2,
): Promise<{ response: APIGatewayProxyStructuredResultV2; elapsedMs: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within the ${FUNCTION_TIMEOUT_MS} ms function timeout`)), FUNCTION_TIMEOUT_MS);
  });
  try {
    const response = await Promise.race([handler(event, lambdaContext()), killed]);
    return { response, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('a stalled dependency', () => {
  it(
    'answers a create whose database write stalls with 503, Retry-After and the Idempotency-Key hint before the function times out',
    async () => {
      const { handler } = (await import('../../../lambdas/api/executions-create.js')) as { handler: Handler };
      const event = apiEvent('POST /tasks/{task_id}/executions', {
        pathParameters: { task_id: 'sample-pipeline' },
        body: { input: { document_url: 'https://example.com/reports/q3.pdf' } },
      });

      const { response, elapsedMs } = await answerBeforeTimeout(handler, event);

      const problem = expectProblem(response, 503);
      expect(response.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(problem.detail).toContain('Idempotency-Key');
      // The rate counter's write stalled too: the limiter gave up on it after its own short timeout
      // (failing open), leaving the create's write the time to end in 503.
      expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS / 2 + RATE_COUNTER_TIMEOUT_MS);
      const [counter, ...writes] = stalled;
      expect(counter?.request.headers['x-amz-target']).toBe('DynamoDB_20120810.UpdateItem');
      // The SDK gave the write a second attempt, and no more, with the same client request token:
      // had the first attempt landed, DynamoDB would not apply the second.
      expect(writes.map(({ request }) => request.headers['x-amz-target'])).toEqual([
        'DynamoDB_20120810.TransactWriteItems',
        'DynamoDB_20120810.TransactWriteItems',
      ]);
      const tokens = writes.map(({ body }) => (JSON.parse(body) as { ClientRequestToken?: string }).ClientRequestToken);
      expect(tokens[0]).toEqual(expect.any(String));
      expect(tokens[1]).toBe(tokens[0]);
    },
    FUNCTION_TIMEOUT_MS * 2,
  );

  it(
    'answers a read whose database stalls with 503 and Retry-After before the function times out',
    async () => {
      const { handler } = (await import('../../../lambdas/api/executions-read.js')) as { handler: Handler };
      const event = apiEvent('GET /executions/{id}', { pathParameters: { id: newExecutionId() } });

      const { response, elapsedMs } = await answerBeforeTimeout(handler, event);

      expectProblem(response, 503);
      expect(response.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
      // The read rate counter stalled first: the limiter failed open after its own timeout.
      expect(elapsedMs).toBeLessThan(FUNCTION_TIMEOUT_MS / 2 + RATE_COUNTER_TIMEOUT_MS);
      expect(stalled[0]?.request.headers['x-amz-target']).toBe('DynamoDB_20120810.UpdateItem');
    },
    FUNCTION_TIMEOUT_MS * 2,
  );
});
