import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/catalogue.js';
import { ROUTES } from '../../../lambdas/api/routes.js';
import type { TaskView } from '../../../lambdas/tasks/catalogue.js';
import { TASKS } from '../../../lambdas/tasks/registry.js';
import { apiEvent, expectProblem, lambdaContext, parse } from '../support/api-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

beforeEach(() => {
  ddb.reset();
  sfn.reset();
});

interface JsonSchema {
  readonly type?: string;
  readonly properties?: Record<string, unknown>;
  readonly required?: readonly string[];
  readonly examples?: readonly unknown[];
}

describe('catalogue handler', () => {
  it('answers GET /health with 200 {status: "ok"} and nothing more, touching no AWS service', async () => {
    const response = parse<unknown>(await handler(apiEvent('GET /health'), lambdaContext()));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
    expect(response.headers['content-type']).toBe('application/json');
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('answers GET /healthz like GET /health', async () => {
    const response = parse<unknown>(await handler(apiEvent('GET /healthz'), lambdaContext()));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('lists every deployed task on GET /tasks', async () => {
    const response = parse<{ items: TaskView[]; next_cursor: null }>(await handler(apiEvent('GET /tasks'), lambdaContext()));

    expect(response.status).toBe(200);
    expect(response.body.items.map((task) => task.id).sort()).toEqual([...TASKS.keys()].sort());
    expect(response.body.next_cursor).toBeNull();
  });

  it('returns a task with its input JSON Schema, whose examples are valid inputs, and its steps', async () => {
    const response = parse<TaskView>(
      await handler(apiEvent('GET /tasks/{task_id}', { pathParameters: { task_id: 'sample-pipeline' } }), lambdaContext()),
    );

    expect(response.status).toBe(200);
    const schema = response.body.input_schema as JsonSchema;
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['document_url']);
    expect(Object.keys(schema.properties ?? {})).toEqual(['document_url', 'language', 'max_summary_words']);
    expect(schema.examples?.length).toBeGreaterThanOrEqual(1);
    const task = TASKS.get('sample-pipeline')!;
    for (const example of schema.examples ?? []) expect(task.input.safeParse(example).success).toBe(true);
    expect(response.body.steps.map((step) => [step.index, step.name, step.kind])).toEqual([
      [0, 'extract', 'step'],
      [1, 'analyze', 'step'],
      [2, 'summarize', 'step'],
    ]);
  });

  it('shows a wait step with its prompt and resume input schema', async () => {
    const response = parse<TaskView>(
      await handler(apiEvent('GET /tasks/{task_id}', { pathParameters: { task_id: 'sample-approval' } }), lambdaContext()),
    );

    const review = response.body.steps[1];
    expect(review).toMatchObject({ index: 1, name: 'review', kind: 'wait', timeout_seconds: 604_800, prompt: expect.any(String) });
    expect(review?.input_schema).toMatchObject({ type: 'object', required: ['approved'] });
  });

  it('shows a task\'s nested steps: a map\'s steps, a parallel\'s branches, a choice\'s cases and fallback', async () => {
    const response = parse<TaskView>(
      await handler(apiEvent('GET /tasks/{task_id}', { pathParameters: { task_id: 'unit-nested' } }), lambdaContext()),
    );

    expect(response.status).toBe(200);
    const [eachDoc, both, route, nap] = response.body.steps;
    expect(eachDoc).toMatchObject({ kind: 'map', path: 'docs', max_concurrency: 4, distributed: false });
    expect(eachDoc?.steps?.map((entry) => [entry.index, entry.name, entry.kind])).toEqual([
      [0, 'summarize-doc', 'step'],
      [1, 'tag-doc', 'step'],
    ]);
    expect(both?.branches?.map((branch) => branch.map((entry) => [entry.index, entry.name, entry.kind]))).toEqual([
      [[0, 'left', 'step']],
      [
        [0, 'pause', 'sleep'],
        [1, 'lookup', 'invoke'],
      ],
      [[0, 'each-part', 'map']],
    ]);
    expect(both?.branches?.[1]?.[0]).toMatchObject({ path: 'pause_seconds' });
    expect(route?.cases).toEqual([{ when: { path: 'fast', equals: true }, steps: [expect.objectContaining({ index: 0, name: 'fast-path' })] }]);
    expect(route?.otherwise).toEqual([expect.objectContaining({ index: 0, name: 'slow-path' })]);
    expect(nap).toEqual({ index: 3, name: 'nap', kind: 'sleep', seconds: 60 });
  });

  it('answers an unknown task with a problem+json 404', async () => {
    const response = await handler(apiEvent('GET /tasks/{task_id}', { pathParameters: { task_id: 'no-such-task' } }), lambdaContext());

    const problem = expectProblem(response, 404);
    expect(problem.type).toBe('/problems/not-found');
    expect(problem.detail).toContain('no-such-task');
  });

  it('answers an unknown route ($default) with a problem+json 404 naming the path', async () => {
    const response = await handler(apiEvent('$default', { method: 'DELETE', rawPath: '/nowhere' }), lambdaContext());

    const problem = expectProblem(response, 404);
    expect(problem.detail).toBe('No route DELETE /nowhere.');
  });

  it('answers a route of another group with 405', async () => {
    const response = await handler(apiEvent('GET /executions'), lambdaContext());

    expectProblem(response, 405);
  });

  it('serves every route the catalogue group declares', async () => {
    const served = await Promise.all(
      ROUTES.catalogue.map(async (routeKey) => {
        const event = apiEvent(routeKey, { pathParameters: { task_id: 'sample-approval' }, rawPath: '/unknown' });
        return parse<unknown>(await handler(event, lambdaContext())).status;
      }),
    );

    expect(served).toEqual([200, 200, 200, 200, 200, 404]);
  });
});
