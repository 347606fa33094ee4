import { SFNClient, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as catalogueHandler } from '../../../lambdas/api/catalogue.js';
import { handler as controlHandler } from '../../../lambdas/api/executions-control.js';
import { handler as readHandler } from '../../../lambdas/api/executions-read.js';
import { DEADLINE_MARGIN_MS, MAX_JSON_DEPTH, httpHandler, json, tenantOf } from '../../../lambdas/api/http.js';
import { RETRY_AFTER_SECONDS, ServiceUnavailableError, UnauthorizedError } from '../../../lambdas/domain/errors.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse } from '../support/api-events.js';
import { executionRecord, seed, spyLogger, storedRecord, storedRows, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(SendTaskSuccessCommand).resolves({});
});

/** JSON text of arrays nested `depth` levels deep. */
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** An event whose request context carries exactly `authorizer` (or none). */
function withAuthorizer(authorizer: unknown): APIGatewayProxyEventV2 {
  const event = apiEvent('GET /executions');
  const { authorizer: _set, ...context } = event.requestContext as APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown };
  return {
    ...event,
    requestContext: { ...context, ...(authorizer === undefined ? {} : { authorizer }) } as APIGatewayProxyEventV2['requestContext'],
  };
}

/** What tenantOf threw, or undefined. */
function refusal(event: APIGatewayProxyEventV2): unknown {
  try {
    tenantOf(event);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('tenantOf', () => {
  it('returns the tenant the Lambda authorizer established', () => {
    expect(tenantOf(apiEvent('GET /executions', { tenant: 'acme' }))).toBe('acme');
  });

  it('returns aws-<account id> for a caller authenticated with IAM', () => {
    expect(tenantOf(withAuthorizer({ iam: { accountId: '210987654321', userArn: 'arn:aws:iam::210987654321:user/ops' } }))).toBe(
      'aws-210987654321',
    );
  });

  it('prefers the Lambda authorizer tenant when both contexts are present', () => {
    expect(tenantOf(withAuthorizer({ lambda: { tenant: 'acme', refused: '' }, iam: { accountId: '210987654321' } }))).toBe('acme');
  });

  it('throws UnauthorizedError (401) with the authorizer reason when the credentials were refused', () => {
    const error = refusal(apiEvent('GET /executions', { tenant: null }));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as UnauthorizedError).status).toBe(401);
    expect((error as UnauthorizedError).message).toBe(
      'Send a valid API key as "Authorization: Bearer <key>" (unknown or revoked API key).',
    );
  });

  it.each([
    ['no authorizer context', undefined],
    ['an empty authorizer context', {}],
    ['an empty tenant without a reason', { lambda: { tenant: '' } }],
    ['a tenant that is not a string', { lambda: { tenant: 42, refused: '' } }],
    ['an IAM account id that is not 12 digits', { iam: { accountId: '12345' } }],
    ['an IAM account id that is not a string', { iam: { accountId: 123456789012 } }],
  ])('throws UnauthorizedError without a reason for %s', (_what, authorizer) => {
    const error = refusal(withAuthorizer(authorizer));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as UnauthorizedError).message).toBe('Send a valid API key as "Authorization: Bearer <key>".');
  });
});

describe('a route called without a tenant', () => {
  it('answers 401 problem+json with www-authenticate: Bearer and reads nothing', async () => {
    const response = await readHandler(apiEvent('GET /executions', { tenant: null }), lambdaContext());

    const problem = expectProblem(response, 401);
    expect(problem).toMatchObject({ type: '/problems/unauthorized', title: 'Authentication is required.' });
    expect(problem.detail).toContain('unknown or revoked API key');
    expect(response.headers?.['www-authenticate']).toBe('Bearer');
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers 401, not 404, for a well-formed id the caller cannot be identified for', async () => {
    const response = await readHandler(
      apiEvent('GET /executions/{id}', { pathParameters: { id: newExecutionId() }, tenant: null }),
      lambdaContext(),
    );

    expectProblem(response, 401);
    expect(response.headers?.['www-authenticate']).toBe('Bearer');
  });

  it('answers without www-authenticate when it succeeds with IAM credentials', async () => {
    const response = await readHandler(withAuthorizer({ iam: { accountId: '210987654321' } }), lambdaContext());

    expect(response.statusCode).toBe(200);
    expect(response.headers?.['www-authenticate']).toBeUndefined();
  });
});

describe('the credentials check of every route', () => {
  it('answers 401 before reading the body: a refused caller learns nothing from validation', async () => {
    const response = await controlHandler(
      apiEvent('POST /executions/{id}/resume', { pathParameters: { id: 'not-an-id' }, body: '{not json', tenant: null, headers: { 'content-type': 'text/plain' } }),
      lambdaContext(),
    );

    expectProblem(response, 401);
  });

  it('answers 401 on the catalogue and unknown paths too (found by fuzzing: they answered 200 and 404)', async () => {
    const tasks = await catalogueHandler(apiEvent('GET /tasks', { tenant: null }), lambdaContext());
    const unknownPath = await catalogueHandler(apiEvent('$default', { rawPath: '/nowhere', tenant: null }), lambdaContext());

    expectProblem(tasks, 401);
    expectProblem(unknownPath, 401);
  });

  it('lets the public health routes answer without credentials', async () => {
    const event = apiEvent('GET /health');
    delete (event.requestContext as { authorizer?: unknown }).authorizer;

    const response = await catalogueHandler(event, lambdaContext());

    expect(parse(response)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('the JSON body limits', () => {
  const echo = httpHandler({ 'POST /executions': (event) => json(200, { received: event.json !== undefined }) }, spyLogger());

  it(`accepts a body nested ${MAX_JSON_DEPTH} levels deep`, async () => {
    const response = await echo(apiEvent('POST /executions', { body: nested(MAX_JSON_DEPTH) }), lambdaContext());

    expect(parse(response)).toMatchObject({ status: 200, body: { received: true } });
  });

  it.each([MAX_JSON_DEPTH + 1, 10_000, 100_000])('answers 400 problem+json for a body nested %i levels deep', async (depth) => {
    const problem = expectProblem(await echo(apiEvent('POST /executions', { body: `{"input":${nested(depth)}}` }), lambdaContext()), 400);

    expect(problem.errors).toEqual([{ path: '', message: `is nested more than ${MAX_JSON_DEPTH} levels deep` }]);
  });

  it('answers 400, not 500, to a resume whose input is 10,000 levels deep, and leaves the execution waiting (found by fuzzing)', async () => {
    // wait-first's wait has no schema (test/support/unit-tasks.ts): only the depth rule can refuse the input.
    const record = executionRecord({ taskId: 'wait-first', status: 'awaiting_input', stepName: 'gate', totalSteps: 2, waitToken: 'token-1' });
    seed(table, record, [transitionRecord(record)]);

    const response = await controlHandler(
      apiEvent('POST /executions/{id}/resume', { pathParameters: { id: record.id }, body: `{"input":${nested(10_000)}}` }),
      lambdaContext(),
    );

    expectProblem(response, 400);
    expect(storedRecord(table, record)).toMatchObject({ status: 'awaiting_input', transition_count: 1 });
    expect(storedRows(table, record)).toHaveLength(1);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});

describe('a dependency that fails for now', () => {
  const failing = (error: Error) => httpHandler({ 'GET /executions': () => Promise.reject(error) }, spyLogger());
  const call = (error: Error) => failing(error)(apiEvent('GET /executions'), lambdaContext());

  it.each([
    ['an AWS SDK call that timed out', Object.assign(new Error('request timed out'), { name: 'TimeoutError' })],
    ['a throttled DynamoDB call', Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' })],
    ['a throttled Step Functions call', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })],
    ['a 5xx from the service', Object.assign(new Error('Internal'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })],
    ['a reset connection (the SDK names it a TimeoutError)', Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' })],
  ])('answers %s with 503, Retry-After and the Idempotency-Key hint, revealing nothing of it', async (_what, error) => {
    const response = await call(error);

    const problem = expectProblem(response, 503);
    expect(response.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(problem.detail).toContain('Idempotency-Key');
    expect(response.body).not.toContain(error.message);
  });

  it('answers 503 with Retry-After just before the function would time out, instead of the 500 API Gateway gives a timed-out function', async () => {
    const stuck = httpHandler({ 'GET /executions': () => new Promise<never>(() => undefined) }, spyLogger());
    const started = Date.now();

    const response = await stuck(apiEvent('GET /executions'), { ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 100 });

    expectProblem(response, 503);
    expect(response.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(Date.now() - started).toBeLessThan(DEADLINE_MARGIN_MS + 100);
  });

  it('sends Retry-After with every 503, also a deliberate one', async () => {
    const response = await call(new ServiceUnavailableError('The resume could not be delivered; the execution is still waiting. Retry.'));

    expectProblem(response, 503);
    expect(response.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
  });

  it('keeps a fault that retrying cannot fix a bare 500 without Retry-After', async () => {
    const response = await call(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));

    expectProblem(response, 500);
    expect(response.headers?.['retry-after']).toBeUndefined();
  });
});
