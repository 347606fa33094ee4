import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routeKeysOf } from '../../lambdas/api/openapi.js';
import { describeErrors, documentSchemas } from '../support/strict-json-schema.js';
import { baseUrl, type Execution } from './client.js';
import { parseSse } from './sse.js';

// The contract test: every route of the OpenAPI document the local stack serves is called, with
// its successes and its errors, and every real answer is checked against the document: its status
// must be one the operation lists, each header the answer documents present (when required) and
// valid, its media type listed and its body valid against the schema (strict ajv, closed objects:
// a field the document does not name fails). At the end, every status an operation documents
// must have been seen, but for the few the local stack cannot be made to answer (listed below).

type Json = Record<string, unknown>;
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** Statuses no request to the local stack can provoke at will, and why; every other documented status is asserted seen. */
const NOT_PROVOKED: Readonly<Record<string, string>> = {
  410: 'a resume that Step Functions refuses because the wait timed out there first: a race the status-change event usually wins',
  429: 'API Gateway\'s throttling (the local gateway does not throttle): the routes that count against a key\'s rate limit answer theirs, and must be seen',
  500: 'a fault of the service',
  503: 'a dependency that fails (the local stack answers it only while it starts: test/integration/stack-process.test.ts)',
};

let document: Json;
let schemaAt: ReturnType<typeof documentSchemas>;
/** A tenant of the contract test alone: its webhooks fill up to the limit without touching other tests'. */
let key: string;
const seen = new Map<string, Set<string>>();

/** A route key's operation and its JSON pointer in the document. */
function operationOf(routeKey: string): { operation: Json; at: string[] } {
  const [method, path] = routeKey.split(' ') as [string, string];
  const operation = ((document.paths as Record<string, Json>)[path] as Record<string, Json> | undefined)?.[method.toLowerCase()];
  if (!operation) throw new Error(`The document has no operation ${routeKey}`);
  return { operation, at: ['paths', path, method.toLowerCase()] };
}

/** The object a `$ref` of the document points at, and its pointer; or the object itself. */
function follow(node: Json, at: string[]): { node: Json; at: string[] } {
  if (typeof node.$ref !== 'string') return { node, at };
  const pointer = node.$ref.replace(/^#\//, '').split('/').map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  return follow(pointer.reduce<Json>((current, part) => current[part] as Json, document), pointer);
}

function valid(pointer: string[], value: unknown, what: string): void {
  const validate = schemaAt(pointer);
  expect(validate(value), `${what}: ${describeErrors(validate.errors)}\n${JSON.stringify(value).slice(0, 600)}`).toBe(true);
}

/** A real answer of the API. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body as JSON, when it is JSON. */
  readonly body: Json;
}

/** Checks an answer of `routeKey` against the document, and records its status as seen. */
function conform(routeKey: string, answer: Answer): void {
  const { operation, at } = operationOf(routeKey);
  const listed = (operation.responses as Json)[String(answer.status)] as Json | undefined;
  const what = `${routeKey} → ${answer.status}`;
  expect(listed, `${what} is not a status the document lists for it (${answer.text.slice(0, 300)})`).toBeDefined();
  const response = follow(listed!, [...at, 'responses', String(answer.status)]);
  for (const [name, declared] of Object.entries((response.node.headers as Record<string, Json> | undefined) ?? {})) {
    const header = follow(declared, [...response.at, 'headers', name]);
    const value = answer.headers.get(name);
    if (header.node.required === true) expect(value, `${what}: header ${name}`).not.toBeNull();
    if (value !== null) valid([...header.at, 'schema'], value, `${what}: header ${name}`);
  }
  const content = response.node.content as Record<string, Json> | undefined;
  if (!content) {
    expect(answer.text, `${what} has no body`).toBe('');
  } else {
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    expect(Object.keys(content), `${what}: media type`).toContain(type);
    if (type.endsWith('json')) valid([...response.at, 'content', type, 'schema'], answer.body, `${what} (${type})`);
    else if (type === 'text/event-stream') events(routeKey, answer.text);
  }
  if (!seen.has(routeKey)) seen.set(routeKey, new Set());
  seen.get(routeKey)!.add(String(answer.status));
}

/** The data of each event of a stream, against the document's schemas of what it carries. */
function events(routeKey: string, text: string): void {
  for (const event of parseSse(text).events) {
    const data = JSON.parse(event.data) as Json;
    if (event.event === 'transition') valid(['components', 'schemas', 'Transition'], data, `${routeKey}: transition event`);
    else if (event.event === 'status') valid(['components', 'schemas', 'Execution'], data, `${routeKey}: status event`);
    else if (event.event === 'end') expect(Object.keys(data).sort()).toEqual(['execution_id', 'status']);
    else if (routeKey.endsWith('transitions.stream')) valid(['components', 'schemas', 'Transition'], data.transition, `${routeKey}: transition`);
  }
}

interface Request {
  /** The route's path parameters. */
  readonly path?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** JSON, or `raw` text with its `contentType`. */
  readonly body?: unknown;
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** The contract tenant's key (default), none, an unknown key, no key and a stream token in the query, or another key. */
  readonly auth?: 'key' | 'none' | 'unknown' | { readonly token: string } | { readonly bearer: string };
  /** Another base URL (the streaming Function URL). */
  readonly base?: string;
}

/** Calls a route of the document as `request` says, checks the answer against the document, and returns it. */
async function call(routeKey: string, request: Request = {}): Promise<Answer> {
  const [method, template] = routeKey.split(' ') as [string, string];
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(request.path?.[name] ?? `missing-${name}`));
  const query = new URLSearchParams({ ...request.query, ...(typeof request.auth === 'object' && 'token' in request.auth ? { token: request.auth.token } : {}) }).toString();
  const headers: Record<string, string> = { ...request.headers };
  const auth = request.auth ?? 'key';
  if (typeof auth === 'object' && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
  if (auth === 'key') headers.authorization = `Bearer ${key}`;
  if (auth === 'unknown') headers.authorization = 'Bearer ak_0000000000_not-a-real-key-not-a-real-key-not-a-real-';
  let body: string | undefined;
  if (request.raw !== undefined) {
    body = request.raw;
    headers['content-type'] = request.contentType ?? 'application/json';
  } else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${request.base ?? baseUrl()}${path}${query ? `?${query}` : ''}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const answer = { status: response.status, headers: response.headers, text, body: (type.includes('json') && text ? JSON.parse(text) : {}) as Json };
  conform(routeKey, answer);
  return answer;
}

/** Calls and expects a status. */
async function expectStatus(status: number, routeKey: string, request: Request = {}): Promise<Answer> {
  const answer = await call(routeKey, request);
  expect(answer.status, `${routeKey}: ${answer.text.slice(0, 400)}`).toBe(status);
  return answer;
}

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';
const TOO_LARGE = JSON.stringify({ input: { text: 'x'.repeat(300_000) } });
/** Over a create's or a replay's body limit (5 MiB of input and 64 KiB), under API Gateway's 10 MB. */
const TOO_LARGE_INPUT = JSON.stringify({ input: { text: 'x'.repeat(5 * 1024 * 1024 + 70 * 1024) } });
/** Routes that take an execution input of up to 5 MiB (docs/contract.md, Large payloads). */
const LARGE_INPUT_ROUTES = new Set(['POST /tasks/{task_id}/executions', 'POST /executions', 'POST /executions/{id}/replay']);
/** A body over the route's limit (256 KB, or a create's) and a body not declared as JSON, answered before anything else: 413 and 415. */
async function bodyErrors(routeKey: string, path: Record<string, string> = {}, auth: Request['auth'] = 'key'): Promise<void> {
  await expectStatus(413, routeKey, { path, raw: LARGE_INPUT_ROUTES.has(routeKey) ? TOO_LARGE_INPUT : TOO_LARGE, auth });
  await expectStatus(415, routeKey, { path, raw: 'hello', contentType: 'text/plain', auth });
}

/** A sample-approval execution of the contract tenant, waiting at its review. */
async function waiting(): Promise<Execution> {
  const created = await expectStatus(201, 'POST /tasks/{task_id}/executions', {
    path: { task_id: 'sample-approval' },
    body: { input: { title: 'Contract', body: 'Checked against the document.' } },
  });
  return pollStatus(String(created.body.id), 'awaiting_input');
}

/** Polls an execution of the contract tenant (through the document's route) until it has `status`. */
async function pollStatus(id: string, status: string): Promise<Execution> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const answer = await call('GET /executions/{id}', { path: { id } });
    if (answer.body.status === status) return answer.body as unknown as Execution;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${id} never reached ${status}`);
}

beforeAll(async () => {
  const reply = await fetch(`${baseUrl()}/openapi.json`);
  document = (await reply.json()) as Json;
  schemaAt = documentSchemas(document);
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/keys.ts', 'create', '--tenant', 'openapi-contract', '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName')],
    { cwd: ROOT },
  );
  key = stdout.trim().split('\n').at(-1)!;
}, 60_000);

describe('the document the local stack serves', () => {
  it('is its own: GET /openapi.json, without credentials, with the stack\'s base URL and streaming URL as servers', async () => {
    const answer = await expectStatus(200, 'GET /openapi.json', { auth: 'none' });
    const page = await expectStatus(200, 'GET /dashboard', { auth: 'none' });
    expect(page.text).toContain('<html');

    expect(answer.body.servers).toEqual([{ url: baseUrl(), description: expect.any(String) }]);
    const { operation } = operationOf('GET /executions/{id}/events');
    expect((operation.servers as Json[]).map((server) => server.url)).toEqual([baseUrl(), inject('eventsStreamUrl').replace(/\/+$/, '')]);
  });

  it('has every route of the synthesized template (AWS::ApiGatewayV2::Route) but $default, and no other', () => {
    const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as { Resources: Record<string, { Type: string; Properties?: { RouteKey?: string } }> };
    const routes = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
      .map((resource) => String(resource.Properties?.RouteKey));

    expect(routes).toContain('$default');
    expect(routeKeysOf(document).sort()).toEqual(routes.filter((route) => route !== '$default').sort());
  });
});

describe('every route, its successes and its errors, against the document', () => {
  let done: Execution;
  let receiver: Server;
  let hooks: string;

  beforeAll(async () => {
    const created = await expectStatus(201, 'POST /executions', { body: { task_id: 'sample-pipeline', input: { document_url: 'https://example.com/a.pdf' }, metadata: { suite: 'contract' } } });
    done = await pollStatus(String(created.body.id), 'succeeded');
    // Answers 204; a message it has had before (a redelivery) after 600 ms, within the stack's 1 s
    // attempt timeout, so that attempt is under way long enough to refuse another redelivery.
    const had = new Set<string>();
    receiver = createServer((req, res) => {
      const id = String(req.headers['webhook-id']);
      const again = had.has(id);
      had.add(id);
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(204).end(), again ? 600 : 0));
    });
    await new Promise<void>((ready) => receiver.listen(0, '127.0.0.1', ready));
    hooks = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    receiver?.closeAllConnections();
    await new Promise((closed) => receiver?.close(closed));
  });

  it('service: health, the document', async () => {
    await expectStatus(200, 'GET /health', { auth: 'none' });
    await expectStatus(200, 'GET /healthz', { auth: 'none' });
  });

  it('tasks: list, get, unknown, no key', async () => {
    await expectStatus(200, 'GET /tasks');
    await expectStatus(200, 'GET /tasks/{task_id}', { path: { task_id: 'sample-approval' } });
    await expectStatus(404, 'GET /tasks/{task_id}', { path: { task_id: 'no-such-task' } });
    await expectStatus(401, 'GET /tasks', { auth: 'none' });
    await expectStatus(401, 'GET /tasks/{task_id}', { auth: 'unknown', path: { task_id: 'sample-approval' } });
  });

  it('creates: 201, the idempotent replay (200), a reused key (422), bad bodies, unknown tasks, no key', async () => {
    for (const routeKey of ['POST /tasks/{task_id}/executions', 'POST /executions']) {
      const path = { task_id: 'test-noop' };
      const body = routeKey === 'POST /executions' ? { task_id: 'test-noop', input: { n: 1 } } : { input: { n: 1 } };
      const idempotent = { 'idempotency-key': `contract-${routeKey.length}-${Date.now()}` };
      await expectStatus(201, routeKey, { path, body, headers: idempotent });
      await expectStatus(200, routeKey, { path, body, headers: idempotent });
      await expectStatus(422, routeKey, { path, body: { ...body, metadata: { other: true } }, headers: idempotent });
      await expectStatus(400, routeKey, { path, body: routeKey === 'POST /executions' ? { task_id: 'test-noop', input: { n: 'one' } } : { input: { n: 'one' } } });
      await expectStatus(404, routeKey, { path: { task_id: 'no-such-task' }, body: routeKey === 'POST /executions' ? { task_id: 'no-such-task', input: {} } : { input: {} } });
      await expectStatus(401, routeKey, { path, body, auth: 'none' });
      await bodyErrors(routeKey, path);
    }
    // With a webhook_url: the answer shows the secret that signs its events.
    const withHook = await expectStatus(201, 'POST /tasks/{task_id}/executions', { path: { task_id: 'test-noop' }, body: { input: { n: 2 }, webhook_url: `${hooks}/mine` } });
    expect(withHook.body.webhook_secret).toMatch(/^whsec_/);
  });

  it('batches and tags: 200, 207, the 422 of a batch of bad items, tag edits, lists by tag, batch and metadata_filter, and their errors', async () => {
    const batch = await expectStatus(200, 'POST /executions/batch', { body: { items: [{ task_id: 'test-noop', input: { n: 1 }, tags: ['contract'] }] } });
    const [first] = batch.body.items as Json[];
    await expectStatus(207, 'POST /executions/batch', { body: { items: [{ task_id: 'test-noop', input: { n: 2 } }, { task_id: 'no-such-task', input: {} }] } });
    await expectStatus(422, 'POST /executions/batch', { body: { items: [{ task_id: 'test-noop', input: { n: 'one' } }] } });
    await expectStatus(400, 'POST /executions/batch', { body: { items: [] } });
    await expectStatus(401, 'POST /executions/batch', { body: { items: [] }, auth: 'none' });
    // Over API Gateway's 10 MB: its own 413.
    await expectStatus(413, 'POST /executions/batch', { raw: JSON.stringify({ items: [{ task_id: 'test-noop', input: { text: 'x'.repeat(11 * 1024 * 1024) } }] }) });
    await expectStatus(415, 'POST /executions/batch', { raw: 'hello', contentType: 'text/plain' });
    await expectStatus(200, 'GET /executions', { query: { batch_id: String(batch.body.batch_id) } });

    const id = String((first!.execution as Json).id);
    await expectStatus(200, 'PUT /executions/{id}/tags', { path: { id }, body: { tags: ['contract', 'edited'] } });
    await expectStatus(400, 'PUT /executions/{id}/tags', { path: { id }, body: { tags: ['not a tag'] } });
    await expectStatus(404, 'PUT /executions/{id}/tags', { path: { id: UNKNOWN_ID }, body: { tags: [] } });
    await expectStatus(401, 'PUT /executions/{id}/tags', { path: { id }, body: { tags: [] }, auth: 'none' });
    await bodyErrors('PUT /executions/{id}/tags', { id });
    const tagged = await expectStatus(200, 'GET /executions', { query: { tag: 'edited', status: 'succeeded', limit: '5' } });
    expect(tagged.body.items).toBeDefined();
    await expectStatus(200, 'GET /tasks/{task_id}/executions', { path: { task_id: 'test-noop' }, query: { tag: 'contract', metadata_filter: '{"a":1}' } });
    await expectStatus(400, 'GET /executions', { query: { metadata_filter: '[1]' } });
  });

  it('reads: an execution (ETag, 304, a held request), lists, transitions, and their errors', async () => {
    const read = await expectStatus(200, 'GET /executions/{id}', { path: { id: done.id } });
    await expectStatus(304, 'GET /executions/{id}', { path: { id: done.id }, headers: { 'if-none-match': read.headers.get('etag')! } });
    const running = await waiting();
    const held = await expectStatus(200, 'GET /executions/{id}', { path: { id: running.id }, headers: { prefer: 'wait=1' } });
    expect(held.headers.get('preference-applied')).toBe('wait=1');
    await expectStatus(400, 'GET /executions/{id}', { path: { id: 'not-an-id' } });
    await expectStatus(404, 'GET /executions/{id}', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'GET /executions/{id}', { path: { id: done.id }, auth: 'none' });

    await expectStatus(200, 'GET /executions', { query: { limit: '2', status: 'succeeded' } });
    await expectStatus(400, 'GET /executions', { query: { limit: '0' } });
    await expectStatus(401, 'GET /executions', { auth: 'unknown' });
    await expectStatus(200, 'GET /tasks/{task_id}/executions', { path: { task_id: 'sample-pipeline' } });
    await expectStatus(400, 'GET /tasks/{task_id}/executions', { path: { task_id: 'sample-pipeline' }, query: { direction: 'up' } });
    await expectStatus(404, 'GET /tasks/{task_id}/executions', { path: { task_id: 'no-such-task' } });
    await expectStatus(401, 'GET /tasks/{task_id}/executions', { path: { task_id: 'sample-pipeline' }, auth: 'none' });

    const page = await expectStatus(200, 'GET /executions/{id}/transitions', { path: { id: done.id }, query: { limit: '100' } });
    await expectStatus(304, 'GET /executions/{id}/transitions', { path: { id: done.id }, query: { limit: '100' }, headers: { 'if-none-match': page.headers.get('etag')! } });
    await expectStatus(400, 'GET /executions/{id}/transitions', { path: { id: done.id }, query: { sort_by: 'name' } });
    await expectStatus(404, 'GET /executions/{id}/transitions', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'GET /executions/{id}/transitions', { path: { id: done.id }, auth: 'none' });
    const [row] = page.body.items as Json[];
    await expectStatus(200, 'GET /executions/{id}/transitions/{transition_id}', { path: { id: done.id, transition_id: String(row!.id) } });
    await expectStatus(400, 'GET /executions/{id}/transitions/{transition_id}', { path: { id: done.id, transition_id: 'seven' } });
    await expectStatus(404, 'GET /executions/{id}/transitions/{transition_id}', { path: { id: UNKNOWN_ID, transition_id: String(row!.id) } });
    await expectStatus(401, 'GET /executions/{id}/transitions/{transition_id}', { path: { id: done.id, transition_id: String(row!.id) }, auth: 'none' });
  });

  it('events: the stream (with a key, a token and on the streaming URL), its end (204), Julep\'s streams (whole, or 408), a stream token, and their errors', async () => {
    const all = await expectStatus(200, 'GET /executions/{id}/events', { path: { id: done.id } });
    const last = parseSse(all.text).events.at(-1)!;
    expect(last.event).toBe('end');
    await expectStatus(204, 'GET /executions/{id}/events', { path: { id: done.id }, headers: { 'last-event-id': last.id } });
    await expectStatus(400, 'GET /executions/{id}/events', { path: { id: done.id }, query: { last_event_id: 'x' } });
    await expectStatus(404, 'GET /executions/{id}/events', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'GET /executions/{id}/events', { path: { id: done.id }, auth: 'none' });

    const token = await expectStatus(201, 'POST /executions/{id}/stream-token', { path: { id: done.id }, body: { ttl_seconds: 60 } });
    await expectStatus(201, 'POST /executions/{id}/stream-token', { path: { id: done.id } });
    await expectStatus(200, 'GET /executions/{id}/events', { path: { id: done.id }, auth: { token: String(token.body.token) } });
    // The streaming Function URL: the same operation, from its other server.
    await expectStatus(200, 'GET /executions/{id}/events', { path: { id: done.id }, auth: { token: String(token.body.token) }, base: inject('eventsStreamUrl').replace(/\/+$/, '') });
    expect(String(token.body.events_url).startsWith(inject('eventsStreamUrl').replace(/\/+$/, ''))).toBe(true);
    await expectStatus(400, 'POST /executions/{id}/stream-token', { path: { id: done.id }, body: { ttl_seconds: 5 } });
    await expectStatus(404, 'POST /executions/{id}/stream-token', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'POST /executions/{id}/stream-token', { path: { id: done.id }, auth: 'none' });
    await bodyErrors('POST /executions/{id}/stream-token', { id: done.id });

    const open = await waiting();
    for (const routeKey of ['GET /executions/{id}/status.stream', 'GET /executions/{id}/transitions.stream']) {
      await expectStatus(200, routeKey, { path: { id: done.id } });
      const position: Record<string, string> = { [routeKey.endsWith('status.stream') ? 'last_event_id' : 'next_page_token']: last.id };
      await expectStatus(204, routeKey, { path: { id: done.id }, query: position });
      // Answered whole, the stream of a waiting execution does not end within the window.
      await expectStatus(408, routeKey, { path: { id: open.id } });
      await expectStatus(400, routeKey, { path: { id: done.id }, query: routeKey.endsWith('status.stream') ? { last_event_id: '-1' } : { next_page_token: 'x' } });
      await expectStatus(404, routeKey, { path: { id: UNKNOWN_ID } });
      await expectStatus(401, routeKey, { path: { id: done.id }, auth: 'none' });
    }
  });

  it('control: resume, cancel and PUT (200, 409 once ended), bad inputs, unknown executions, no key, bad bodies', async () => {
    const resumed = await waiting();
    await expectStatus(400, 'POST /executions/{id}/resume', { path: { id: resumed.id }, body: { input: { approved: 'yes' } } });
    await expectStatus(200, 'POST /executions/{id}/resume', { path: { id: resumed.id }, body: { input: { approved: true } } });
    await expectStatus(409, 'POST /executions/{id}/resume', { path: { id: done.id }, body: { input: { approved: true } } });
    await expectStatus(404, 'POST /executions/{id}/resume', { path: { id: UNKNOWN_ID }, body: { input: {} } });
    await expectStatus(401, 'POST /executions/{id}/resume', { path: { id: done.id }, body: { input: {} }, auth: 'none' });
    await bodyErrors('POST /executions/{id}/resume', { id: done.id });

    const put = await waiting();
    await expectStatus(400, 'PUT /executions/{id}', { path: { id: put.id }, body: { status: 'succeeded' } });
    await expectStatus(200, 'PUT /executions/{id}', { path: { id: put.id }, body: { status: 'running', input: { approved: false } } });
    await expectStatus(409, 'PUT /executions/{id}', { path: { id: done.id }, body: { status: 'cancelled' } });
    await expectStatus(404, 'PUT /executions/{id}', { path: { id: UNKNOWN_ID }, body: { status: 'cancelled' } });
    await expectStatus(401, 'PUT /executions/{id}', { path: { id: done.id }, body: { status: 'cancelled' }, auth: 'none' });
    await bodyErrors('PUT /executions/{id}', { id: done.id });

    const cancelled = await waiting();
    await expectStatus(400, 'POST /executions/{id}/cancel', { path: { id: cancelled.id }, body: { reason: 5 } });
    await expectStatus(200, 'POST /executions/{id}/cancel', { path: { id: cancelled.id }, body: { reason: 'contract' } });
    await expectStatus(409, 'POST /executions/{id}/cancel', { path: { id: cancelled.id } });
    await expectStatus(404, 'POST /executions/{id}/cancel', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'POST /executions/{id}/cancel', { path: { id: done.id }, auth: 'none' });
    await bodyErrors('POST /executions/{id}/cancel', { id: done.id });
  });

  it('recovery: retry (200, then 409; 409 for a succeeded execution), replay (201, its idempotent repeat 200, a reused key 422), bad inputs, unknown executions, no key, bad bodies', async () => {
    const created = await expectStatus(201, 'POST /executions', { body: { task_id: 'test-failing', input: {} } });
    const failed = await pollStatus(String(created.body.id), 'failed');
    await expectStatus(200, 'POST /executions/{id}/retry', { path: { id: failed.id } });
    await expectStatus(409, 'POST /executions/{id}/retry', { path: { id: failed.id } });
    await expectStatus(409, 'POST /executions/{id}/retry', { path: { id: done.id } });
    await expectStatus(400, 'POST /executions/{id}/retry', { path: { id: 'not-an-id' } });
    await expectStatus(404, 'POST /executions/{id}/retry', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'POST /executions/{id}/retry', { path: { id: done.id }, auth: 'none' });

    const headers = { 'idempotency-key': `contract-replay-${done.id}` };
    await expectStatus(201, 'POST /executions/{id}/replay', { path: { id: done.id }, headers });
    await expectStatus(200, 'POST /executions/{id}/replay', { path: { id: done.id }, headers });
    await expectStatus(422, 'POST /executions/{id}/replay', { path: { id: done.id }, headers, body: { metadata: { other: true } } });
    await expectStatus(400, 'POST /executions/{id}/replay', { path: { id: done.id }, body: { input: { document_url: 5 } } });
    await expectStatus(404, 'POST /executions/{id}/replay', { path: { id: UNKNOWN_ID } });
    await expectStatus(401, 'POST /executions/{id}/replay', { path: { id: done.id }, auth: 'none' });
    await bodyErrors('POST /executions/{id}/replay', { id: done.id });
  });

  it('resume links: 200 once, then 409; 400 to a body the wait refuses; 404 to a made-up link; bad bodies; no key needed', async () => {
    const execution = await waiting();
    const rows = await fetch(`${baseUrl()}/executions/${execution.id}/transitions`, { headers: { authorization: `Bearer ${key}` } }).then((reply) => reply.json() as Promise<{ items: Json[] }>);
    const link = String(rows.items.find((row) => row.type === 'wait')!.callback_url);
    const token = link.slice(link.lastIndexOf('/') + 1);

    await expectStatus(400, 'POST /callbacks/{token}', { path: { token }, body: { approved: 'yes' }, auth: 'none' });
    await expectStatus(200, 'POST /callbacks/{token}', { path: { token }, body: { approved: true }, auth: 'none' });
    await expectStatus(409, 'POST /callbacks/{token}', { path: { token }, body: { approved: true }, auth: 'none' });
    await expectStatus(404, 'POST /callbacks/{token}', { path: { token: 'A'.repeat(43) }, body: {}, auth: 'none' });
    await bodyErrors('POST /callbacks/{token}', { token }, 'none');
  });

  it('webhooks: subscribe, list, get, rotate, test, deliveries, redeliver, delete, the limit (409) and their errors', async () => {
    const created = await expectStatus(201, 'POST /webhooks', { body: { url: `${hooks}/ok`, events: ['execution.succeeded'], description: 'contract' } });
    const id = String(created.body.id);
    await expectStatus(400, 'POST /webhooks', { body: { events: ['execution.succeeded'] } });
    await expectStatus(401, 'POST /webhooks', { body: { url: `${hooks}/ok`, events: ['execution.succeeded'] }, auth: 'none' });
    await bodyErrors('POST /webhooks');

    await expectStatus(200, 'GET /webhooks');
    await expectStatus(401, 'GET /webhooks', { auth: 'none' });
    await expectStatus(200, 'GET /webhooks/{id}', { path: { id } });
    await expectStatus(404, 'GET /webhooks/{id}', { path: { id: `wh_${'0'.repeat(32)}` } });
    await expectStatus(401, 'GET /webhooks/{id}', { path: { id }, auth: 'none' });
    await expectStatus(200, 'POST /webhooks/{id}/rotate-secret', { path: { id } });
    await expectStatus(404, 'POST /webhooks/{id}/rotate-secret', { path: { id: 'wh_nope' } });
    await expectStatus(401, 'POST /webhooks/{id}/rotate-secret', { path: { id }, auth: 'none' });

    const ping = await expectStatus(202, 'POST /webhooks/{id}/test', { path: { id } });
    await expectStatus(404, 'POST /webhooks/{id}/test', { path: { id: 'wh_nope' } });
    await expectStatus(401, 'POST /webhooks/{id}/test', { path: { id }, auth: 'none' });
    const delivery = String(ping.body.delivery_id);
    const delivered = async () => {
      const answer = await call('GET /webhooks/{id}/deliveries/{delivery_id}', { path: { id, delivery_id: delivery } });
      return answer.body.status === 'delivered';
    };
    for (const deadline = Date.now() + 15_000; !(await delivered()) && Date.now() < deadline; ) await new Promise((wait) => setTimeout(wait, 200));
    await expectStatus(200, 'GET /webhooks/{id}/deliveries', { path: { id }, query: { limit: '5' } });
    await expectStatus(400, 'GET /webhooks/{id}/deliveries', { path: { id }, query: { limit: '0' } });
    await expectStatus(404, 'GET /webhooks/{id}/deliveries', { path: { id: 'wh_nope' } });
    await expectStatus(401, 'GET /webhooks/{id}/deliveries', { path: { id }, auth: 'none' });
    await expectStatus(404, 'GET /webhooks/{id}/deliveries/{delivery_id}', { path: { id, delivery_id: 'msg_nope' } });
    await expectStatus(401, 'GET /webhooks/{id}/deliveries/{delivery_id}', { path: { id, delivery_id: delivery }, auth: 'none' });
    await expectStatus(202, 'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', { path: { id, delivery_id: delivery } });
    // Its one attempt is queued or under way (the receiver takes 600 ms): a second redelivery is refused until it ends.
    await expectStatus(409, 'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', { path: { id, delivery_id: delivery } });
    await expectStatus(404, 'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', { path: { id, delivery_id: 'msg_nope' } });
    await expectStatus(401, 'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver', { path: { id, delivery_id: delivery }, auth: 'none' });

    // The tenant's limit: 20 subscriptions, then 409.
    const more: string[] = [];
    for (let made = 1; made < 20; made++) more.push(String((await expectStatus(201, 'POST /webhooks', { body: { url: `${hooks}/more`, events: ['execution.failed'] } })).body.id));
    await expectStatus(409, 'POST /webhooks', { body: { url: `${hooks}/more`, events: ['execution.failed'] } });
    for (const other of [id, ...more]) await expectStatus(204, 'DELETE /webhooks/{id}', { path: { id: other } });
    await expectStatus(404, 'DELETE /webhooks/{id}', { path: { id } });
    await expectStatus(401, 'DELETE /webhooks/{id}', { path: { id }, auth: 'none' });
  });

  it('rate limits: every route that counts against a key\'s limit answers 429 with Retry-After and the RateLimit fields once it is used up, and its successes carry the fields', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import', 'tsx', 'scripts/keys.ts', 'create', '--tenant', 'openapi-contract', '--name', 'tiny limits',
        '--create-rate', '1/d', '--read-rate', '1/d', '--endpoint', inject('dynamoDbEndpoint'), '--table', inject('tableName'),
      ],
      { cwd: ROOT },
    );
    const tiny = { bearer: stdout.trim().split('\n').at(-1)! };
    const created = await expectStatus(201, 'POST /executions', { body: { task_id: 'test-noop', input: { n: 1 } }, auth: tiny });
    expect(created.headers.get('ratelimit')).toMatch(/^"create";r=0;t=\d+$/);
    const read = await expectStatus(200, 'GET /executions/{id}', { path: { id: done.id }, auth: tiny });
    expect(read.headers.get('ratelimit-policy')).toBe('"read";q=1;w=86400');
    const limited = await expectStatus(429, 'POST /tasks/{task_id}/executions', { path: { task_id: 'test-noop' }, body: { input: { n: 2 } }, auth: tiny });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectStatus(429, 'POST /executions', { body: { task_id: 'test-noop', input: { n: 2 } }, auth: tiny });
    await expectStatus(429, 'POST /executions/{id}/replay', { path: { id: done.id }, auth: tiny });
    // A batch counts its items: refused whole, before any is created.
    await expectStatus(429, 'POST /executions/batch', { body: { items: [{ task_id: 'test-noop', input: { n: 3 } }] }, auth: tiny });
    const reads: Array<[string, Request]> = [
      ['GET /executions', {}],
      ['GET /executions/{id}', { path: { id: done.id } }],
      ['GET /tasks/{task_id}/executions', { path: { task_id: 'sample-pipeline' } }],
      ['GET /executions/{id}/transitions', { path: { id: done.id } }],
      ['GET /executions/{id}/transitions/{transition_id}', { path: { id: done.id, transition_id: 'counted-before-it-is-read' } }],
      ['GET /executions/{id}/events', { path: { id: done.id } }],
      ['GET /executions/{id}/status.stream', { path: { id: done.id } }],
      ['GET /executions/{id}/transitions.stream', { path: { id: done.id } }],
      ['POST /executions/{id}/stream-token', { path: { id: done.id } }],
    ];
    for (const [routeKey, request] of reads) await expectStatus(429, routeKey, { ...request, auth: tiny });
  });

  it('bulk actions: accept, replay, list, get, items, cancel, the tenant\'s cap (409) and their errors', async () => {
    const body = { action: 'cancel', filter: { task_id: 'sample-approval', status: 'awaiting_input' }, reason: 'contract' };
    const accepted = await expectStatus(202, 'POST /bulk-actions', { body, headers: { 'idempotency-key': 'contract-bulk' } });
    const id = String(accepted.body.id);
    await expectStatus(200, 'POST /bulk-actions', { body, headers: { 'idempotency-key': 'contract-bulk' } });
    await expectStatus(422, 'POST /bulk-actions', { body: { ...body, reason: 'another' }, headers: { 'idempotency-key': 'contract-bulk' } });
    await expectStatus(400, 'POST /bulk-actions', { body: { action: 'cancel', filter: { tag: 'a#b' } } });
    await expectStatus(401, 'POST /bulk-actions', { body, auth: 'none' });
    await bodyErrors('POST /bulk-actions');
    const ended = async () => !['queued', 'running'].includes(String((await call('GET /bulk-actions/{id}', { path: { id } })).body.status));
    for (const deadline = Date.now() + 15_000; !(await ended()) && Date.now() < deadline; ) await new Promise((wait) => setTimeout(wait, 200));

    await expectStatus(200, 'GET /bulk-actions/{id}', { path: { id } });
    await expectStatus(404, 'GET /bulk-actions/{id}', { path: { id: 'bulk_0190d7a45b3c7d2e8f1a2b3c4d5e6f70' } });
    await expectStatus(401, 'GET /bulk-actions/{id}', { path: { id }, auth: 'none' });
    await expectStatus(200, 'GET /bulk-actions', { query: { limit: '5' } });
    await expectStatus(400, 'GET /bulk-actions', { query: { limit: '0' } });
    await expectStatus(401, 'GET /bulk-actions', { auth: 'none' });
    await expectStatus(200, 'GET /bulk-actions/{id}/items', { path: { id }, query: { limit: '5' } });
    await expectStatus(400, 'GET /bulk-actions/{id}/items', { path: { id }, query: { limit: '0' } });
    await expectStatus(404, 'GET /bulk-actions/{id}/items', { path: { id: 'nope' } });
    await expectStatus(401, 'GET /bulk-actions/{id}/items', { path: { id }, auth: 'none' });
    await expectStatus(409, 'POST /bulk-actions/{id}/cancel', { path: { id } });
    await expectStatus(404, 'POST /bulk-actions/{id}/cancel', { path: { id: 'nope' } });
    await expectStatus(401, 'POST /bulk-actions/{id}/cancel', { path: { id }, auth: 'none' });

    // A job that matches nothing ends on its first page, within moments: cancel one before it does
    // (200), and fill the tenant's five places at once (409), each tried a few times.
    const statuses = new Set<number>();
    for (let round = 0; round < 10 && !statuses.has(200); round++) {
      const quick = await expectStatus(202, 'POST /bulk-actions', { body });
      const cancel = await call('POST /bulk-actions/{id}/cancel', { path: { id: String(quick.body.id) } });
      expect([200, 409]).toContain(cancel.status);
      statuses.add(cancel.status);
    }
    expect(statuses).toContain(200);
    let capped = false;
    for (let round = 0; round < 5 && !capped; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => call('POST /bulk-actions', { body })));
      for (const answer of answers) expect([202, 409]).toContain(answer.status);
      capped = answers.some((answer) => answer.status === 409);
    }
    expect(capped).toBe(true);
  });
  it('schedules: create, list, get, pause, resume, delete, the limit (409), a delete half done (409) and their errors', async () => {
    // Runs far ahead: no execution of these schedules starts during the suite.
    const body = { task_id: 'test-noop', cron: '0 9 ? * MON-FRI *', timezone: 'Europe/Paris', input: { n: 1 }, start_date: '2099-01-01T00:00:00Z' };
    const created = await expectStatus(201, 'POST /schedules', { body: { ...body, description: 'contract', metadata: { team: 'contract' } } });
    const id = String(created.body.id);
    await expectStatus(400, 'POST /schedules', { body: { ...body, cron: '0 9 * * * *' } });
    await expectStatus(400, 'POST /schedules', { body: { ...body, timezone: 'Mars/Olympus_Mons' } });
    await expectStatus(401, 'POST /schedules', { body, auth: 'none' });
    await bodyErrors('POST /schedules');

    await expectStatus(200, 'GET /schedules', { query: { limit: '5' } });
    await expectStatus(400, 'GET /schedules', { query: { limit: '0' } });
    await expectStatus(401, 'GET /schedules', { auth: 'none' });
    await expectStatus(200, 'GET /schedules/{id}', { path: { id } });
    await expectStatus(404, 'GET /schedules/{id}', { path: { id: `sch_${'0'.repeat(32)}` } });
    await expectStatus(401, 'GET /schedules/{id}', { path: { id }, auth: 'none' });
    await expectStatus(200, 'GET /executions', { query: { schedule_id: id } });

    expect((await expectStatus(200, 'POST /schedules/{id}/pause', { path: { id } })).body.status).toBe('paused');
    await expectStatus(404, 'POST /schedules/{id}/pause', { path: { id: 'sch_nope' } });
    await expectStatus(401, 'POST /schedules/{id}/pause', { path: { id }, auth: 'none' });
    expect((await expectStatus(200, 'POST /schedules/{id}/resume', { path: { id } })).body.status).toBe('active');
    await expectStatus(404, 'POST /schedules/{id}/resume', { path: { id: 'sch_nope' } });
    await expectStatus(401, 'POST /schedules/{id}/resume', { path: { id }, auth: 'none' });

    // The tenant's limit: 100 schedules, then 409.
    const more: string[] = [];
    for (let made = 1; made < 100; made++) more.push(String((await expectStatus(201, 'POST /schedules', { body })).body.id));
    await expectStatus(409, 'POST /schedules', { body });

    // A delete that stopped half way (its Scheduler call failed): the item stays `deleting`.
    const table = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
    await table.send(
      new UpdateCommand({
        TableName: inject('tableName'),
        Key: { pk: 'SCHEDULES#openapi-contract', sk: `SCH#${id}` },
        UpdateExpression: 'SET #state = :deleting',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':deleting': 'deleting' },
      }),
    );
    table.destroy();
    await expectStatus(409, 'POST /schedules/{id}/pause', { path: { id } });
    await expectStatus(409, 'POST /schedules/{id}/resume', { path: { id } });

    for (const other of [id, ...more]) await expectStatus(204, 'DELETE /schedules/{id}', { path: { id: other } });
    await expectStatus(404, 'DELETE /schedules/{id}', { path: { id } });
    await expectStatus(401, 'DELETE /schedules/{id}', { path: { id }, auth: 'none' });
  }, 120_000);

  it('answered every status each operation documents, but those the local stack cannot be made to answer', () => {
    const missing: string[] = [];
    for (const routeKey of routeKeysOf(document)) {
      const { operation } = operationOf(routeKey);
      const responses = operation.responses as Record<string, Json>;
      for (const status of Object.keys(responses)) {
        // A 429 of the service's own rate limits is provoked (the rate limits test above); API Gateway's is not.
        const gatewayOnly = status !== '429' || responses[status]!.$ref === '#/components/responses/TooManyRequests';
        if (Object.hasOwn(NOT_PROVOKED, status) && gatewayOnly) continue;
        if (!seen.get(routeKey)?.has(status)) missing.push(`${routeKey} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
