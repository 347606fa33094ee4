import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CANCEL_SCHEMA, CREATE_SCHEMA, RESUME_SCHEMA, STREAM_TOKEN_SCHEMA, cancelBody, createBody, resumeBody, streamTokenBody } from '../../../lambdas/api/bodies.js';
import { handler } from '../../../lambdas/api/catalogue.js';
import { IDEMPOTENCY_KEY } from '../../../lambdas/api/headers.js';
import { API_VERSION, openApiDocument, routeKeysOf, type OpenApiOptions } from '../../../lambdas/api/openapi.js';
import {
  BULK_LIST_QUERY,
  DELIVERY_LIST_QUERY,
  SCHEDULE_LIST_QUERY,
  EXECUTION_LIST_QUERY,
  TASK_EXECUTION_LIST_QUERY,
  TRANSITION_LIST_QUERY,
  streamQuery,
  type QuerySchema,
} from '../../../lambdas/api/queries.js';
import { RESPONSE_SCHEMAS } from '../../../lambdas/api/response-schemas.js';
import { API_KEY_ONLY_ROUTES, PUBLIC_ROUTES, ROUTES, DASHBOARD_ROUTE } from '../../../lambdas/api/routes.js';
import { buildTaskCatalogue } from '../../../lambdas/tasks/catalogue.js';
import { TASKS } from '../../../lambdas/tasks/registry.js';
import { DOCUMENT_PATH, documentText, exampleDocument } from '../../../scripts/openapi-document.js';
import { describeErrors, documentSchemas } from '../../support/strict-json-schema.js';
import { API_BASE_URL, apiEvent, lambdaContext, parse } from '../support/api-events.js';

type Json = Record<string, unknown>;

const ROOT = join(import.meta.dirname, '../../..');
/** The unit tasks (their registry is `#tasks` here), a wait with a schema and one without among them. */
const TASK_CATALOGUE = buildTaskCatalogue([...TASKS.values()]).tasks;
const options = (overrides: Partial<OpenApiOptions> = {}): OpenApiOptions => ({
  tasks: TASK_CATALOGUE,
  auth: 'api-key',
  servers: [{ url: API_BASE_URL }],
  eventsStreamServers: [{ url: 'https://stream.example.com' }],
  ...overrides,
});
const document = openApiDocument(options());

const operation = (doc: Json, routeKey: string): Json => {
  const [method, path] = routeKey.split(' ') as [string, string];
  return ((doc.paths as Record<string, Json>)[path]?.[method.toLowerCase()] ?? {}) as Json;
};
const parametersOf = (doc: Json, routeKey: string) => (operation(doc, routeKey).parameters ?? []) as Json[];
const bodySchemaOf = (doc: Json, routeKey: string) =>
  ((operation(doc, routeKey).requestBody as Json).content as Record<string, Json>)['application/json']!.schema as Json;
/** A published schema without its words: what a check is held to. */
const withoutWords = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === 'description' ? undefined : value)));

/** Every route of the route table, as API Gateway keys it, but `$default` (the 404 of every other path). */
const ROUTE_KEYS = Object.values(ROUTES).flat().filter((key) => key !== '$default');
/** What the document has: every route of ROUTES but $default, and the dashboard's page (not a route group). */
const DOCUMENTED = [...ROUTE_KEYS, DASHBOARD_ROUTE];

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 of the package\'s version, with the API key and the stream token as its security schemes', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

    expect(document.openapi).toBe('3.1.0');
    expect((document.info as Json).version).toBe(API_VERSION);
    expect(API_VERSION).toBe(manifest.version);
    expect(document.security).toEqual([{ apiKey: [] }]);
    expect((document.components as Json).securitySchemes).toMatchObject({
      apiKey: { type: 'http', scheme: 'bearer' },
      streamToken: { type: 'apiKey', in: 'query', name: 'token' },
    });
  });

  it("documents every route of the route table but $default, the dashboard's page, and nothing else", () => {
    expect(routeKeysOf(document).sort()).toEqual([...DOCUMENTED].sort());
  });

  it('takes no credentials exactly on the public routes, and a key or a stream token on the events', () => {
    for (const routeKey of ROUTE_KEYS) {
      const security = operation(document, routeKey).security;
      if (PUBLIC_ROUTES.includes(routeKey)) expect(security, routeKey).toEqual([]);
      else if (routeKey === 'GET /executions/{id}/events') expect(security).toEqual([{ apiKey: [] }, { streamToken: [] }]);
      else expect(security, routeKey).toBeUndefined();
      expect(Object.keys(operation(document, routeKey).responses as Json).includes('401'), routeKey).toBe(!PUBLIC_ROUTES.includes(routeKey));
    }
  });

  it('serves the events from the API and from the streaming URL', () => {
    expect(operation(document, 'GET /executions/{id}/events').servers).toEqual([{ url: API_BASE_URL }, { url: 'https://stream.example.com' }]);
  });

  it('with IAM auth, describes SigV4, no stream token, no stream-token route and no streaming URL, and API Gateway\'s 403 for an unsigned request', () => {
    const iam = openApiDocument(options({ auth: 'iam', eventsStreamServers: [] }));

    expect(routeKeysOf(iam).sort()).toEqual(ROUTE_KEYS.filter((key) => !API_KEY_ONLY_ROUTES.includes(key)).sort());
    expect(iam.security).toEqual([{ sigv4: [] }]);
    expect(Object.keys((iam.components as Json).securitySchemes as Json)).toEqual(['sigv4']);
    expect(operation(iam, 'GET /executions/{id}/events').servers).toBeUndefined();
    expect(operation(iam, 'GET /executions/{id}/events').security).toBeUndefined();
    expect(operation(iam, 'GET /executions').responses).toMatchObject({ 403: { $ref: '#/components/responses/Unauthorized' } });
    expect(operation(iam, 'GET /executions').responses).not.toHaveProperty('401');
  });

  it('publishes each route\'s query parameters as the handler reads them: the same schemas, and no other parameter', () => {
    const queries: Record<string, QuerySchema> = {
      'GET /executions': EXECUTION_LIST_QUERY,
      'GET /tasks/{task_id}/executions': TASK_EXECUTION_LIST_QUERY,
      'GET /executions/{id}/transitions': TRANSITION_LIST_QUERY,
      'GET /webhooks/{id}/deliveries': DELIVERY_LIST_QUERY,
      'GET /bulk-actions': BULK_LIST_QUERY,
      'GET /bulk-actions/{id}/items': BULK_LIST_QUERY,
      'GET /schedules': SCHEDULE_LIST_QUERY,
      'GET /executions/{id}/events': streamQuery('last_event_id'),
      'GET /executions/{id}/status.stream': streamQuery('last_event_id'),
      'GET /executions/{id}/transitions.stream': streamQuery('next_page_token'),
    };
    for (const routeKey of ROUTE_KEYS) {
      const published = parametersOf(document, routeKey).filter((parameter) => parameter.in === 'query');
      const expected = queries[routeKey] ?? {};
      expect(Object.fromEntries(published.map((parameter) => [parameter.name, parameter.schema])), routeKey).toEqual(expected);
      for (const parameter of published) expect(parameter.description, `${routeKey} ${String(parameter.name)}`).toEqual(expect.any(String));
    }
  });

  it('publishes the request bodies as the handlers check them (their schemas, with words), the inputs by their tasks\' schemas', () => {
    const input = withoutWords(bodySchemaOf(document, 'POST /tasks/{task_id}/executions'));
    expect(input).toEqual({ ...CREATE_SCHEMA, properties: { ...CREATE_SCHEMA.properties, input: expect.anything() } });
    expect(withoutWords(bodySchemaOf(document, 'POST /executions/{id}/cancel'))).toEqual(CANCEL_SCHEMA);
    expect(withoutWords(bodySchemaOf(document, 'POST /executions/{id}/stream-token'))).toEqual(STREAM_TOKEN_SCHEMA);
    expect(withoutWords(bodySchemaOf(document, 'POST /executions/{id}/resume'))).toEqual({
      ...RESUME_SCHEMA,
      properties: { input: expect.anything() },
    });
    // The bodies the handlers parse hold these very schemas.
    expect([createBody.schema, cancelBody.schema, streamTokenBody.schema, resumeBody.schema]).toEqual([CREATE_SCHEMA, CANCEL_SCHEMA, STREAM_TOKEN_SCHEMA, RESUME_SCHEMA]);
    expect(parametersOf(document, 'POST /tasks/{task_id}/executions').find((parameter) => parameter.name === 'Idempotency-Key')?.schema).toEqual(IDEMPOTENCY_KEY);
  });

  it('describes every task\'s input from the task catalogue, and POST /executions as one form per task', () => {
    const schemas = (document.components as Json).schemas as Json;
    for (const task of TASK_CATALOGUE) {
      const { $schema: _dialect, ...published } = task.view.input_schema as Json;
      expect(schemas[`TaskInput.${task.id}`], task.id).toEqual(published);
    }
    const forms = bodySchemaOf(document, 'POST /executions').oneOf as Json[];
    expect(forms.map((form) => ((form.properties as Json).task_id as Json).const)).toEqual(TASK_CATALOGUE.map((task) => task.id));
    expect(forms.map((form) => ((form.properties as Json).input as Json).$ref)).toEqual(TASK_CATALOGUE.map((task) => `#/components/schemas/TaskInput.${task.id}`));
  });

  it('takes any resume input when some wait has no schema, and else one of the waits\' schemas', () => {
    const waits = TASK_CATALOGUE.flatMap((task) => task.view.steps.filter((step) => step.kind === 'wait'));
    expect(waits.some((step) => step.input_schema === undefined)).toBe(true);
    expect(withoutWords((bodySchemaOf(document, 'POST /executions/{id}/resume').properties as Json).input)).toEqual({});

    const checked = TASK_CATALOGUE.filter((task) => task.view.steps.every((step) => step.kind !== 'wait' || step.input_schema !== undefined));
    const strict = openApiDocument(options({ tasks: checked }));
    const input = (bodySchemaOf(strict, 'POST /executions/{id}/resume').properties as Json).input as Json;
    expect(input.$ref ?? input.anyOf).toBeDefined();
  });

  it('holds only schemas a strict JSON Schema validator compiles, and examples valid against their schemas', () => {
    const schemaAt = documentSchemas(document);
    const schemas = (document.components as Json).schemas as Record<string, Json>;
    for (const name of Object.keys(schemas)) {
      const validate = schemaAt(['components', 'schemas', name]);
      for (const example of (schemas[name]!.examples as unknown[] | undefined) ?? []) expect(validate(example), `${name}: ${describeErrors(validate.errors)}`).toBe(true);
    }
    const examples: Array<[string, string[], unknown]> = [];
    const walk = (node: unknown, at: string[]): void => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Json;
      if (record.schema !== undefined && at.includes('content')) {
        if (record.example !== undefined) examples.push([at.join('/'), [...at, 'schema'], record.example]);
        for (const [name, example] of Object.entries((record.examples as Record<string, Json> | undefined) ?? {})) examples.push([`${at.join('/')} ${name}`, [...at, 'schema'], example.value]);
      }
      for (const [key, value] of Object.entries(record)) walk(value, [...at, key]);
    };
    walk(document.paths, ['paths']);
    walk((document.components as Json).responses, ['components', 'responses']);
    expect(examples.length).toBeGreaterThan(20);
    for (const [where, pointer, example] of examples) {
      if (pointer.join('/').includes('text~1event-stream') || pointer.includes('text/event-stream')) continue;
      const validate = schemaAt(pointer);
      expect(validate(example), `${where}: ${describeErrors(validate.errors)}`).toBe(true);
    }
  });

  it('shows of the tasks only their ids, input schemas and waits: no other step', () => {
    const text = JSON.stringify(document);
    const steps = TASK_CATALOGUE.flatMap((task) => task.view.steps.filter((step) => step.kind !== 'wait').map((step) => `${task.id}: ${step.name}`));
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(text, step).not.toContain(`"${step.split(': ')[1]}"`);
  });

  it('answers every problem with its own type and status (a 404 with /problems/not-found)', () => {
    const responses = (document.components as Json).responses as Record<string, Json>;
    const notFound = (responses.NotFound!.content as Record<string, Json>)['application/problem+json']!;
    expect(notFound.schema).toMatchObject({ properties: { type: { const: '/problems/not-found' }, status: { const: 404 } } });
    expect(Object.keys(RESPONSE_SCHEMAS)).toContain('Problem');
  });
});

describe('docs/openapi.json', () => {
  it('is the document of the example tasks as `npm run openapi` writes it (run it after changing the API)', () => {
    expect(readFileSync(join(ROOT, DOCUMENT_PATH), 'utf8'), `${DOCUMENT_PATH} is stale: run npm run openapi`).toBe(documentText());
    expect(routeKeysOf(exampleDocument()).sort()).toEqual([...DOCUMENTED].sort());
  });
});

describe('GET /openapi.json', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('answers the document without credentials, its server the base URL the request came to', async () => {
    const response = parse<Json>(await handler(apiEvent('GET /openapi.json', { tenant: null }), lambdaContext()));

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body.openapi).toBe('3.1.0');
    expect(response.body.servers).toEqual([{ url: API_BASE_URL, description: expect.any(String) }]);
    expect(routeKeysOf(response.body).sort()).toEqual([...DOCUMENTED].sort());
    // The catalogue's tasks, each with its input.
    expect(Object.keys(((response.body.components as Json).schemas as Json)).filter((name) => name.startsWith('TaskInput.')).sort()).toEqual(
      [...TASKS.keys()].map((id) => `TaskInput.${id}`).sort(),
    );
  });

  it('names the streaming URL the stack gives it as a server of the events, and describes IAM auth when the stack uses it', async () => {
    vi.stubEnv('EVENTS_STREAM_URL', 'https://abc.lambda-url.us-east-1.on.aws/');
    const withStream = await import('../../../lambdas/api/catalogue.js');
    const streamed = parse<Json>(await withStream.handler(apiEvent('GET /openapi.json'), lambdaContext()));
    expect((operation(streamed.body, 'GET /executions/{id}/events').servers as Json[]).map((server) => server.url)).toEqual([
      API_BASE_URL,
      'https://abc.lambda-url.us-east-1.on.aws',
    ]);

    vi.resetModules();
    vi.stubEnv('EVENTS_STREAM_URL', '');
    vi.stubEnv('API_AUTH', 'iam');
    const withIam = await import('../../../lambdas/api/catalogue.js');
    const iam = parse<Json>(await withIam.handler(apiEvent('GET /openapi.json'), lambdaContext()));
    expect(iam.body.security).toEqual([{ sigv4: [] }]);
    expect(routeKeysOf(iam.body)).not.toContain('POST /executions/{id}/stream-token');
  });
});
