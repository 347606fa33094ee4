import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROUTES, type RouteKey } from '../../lambdas/api/routes.js';
import { newApiKey } from '../../lambdas/domain/api-keys.js';
import { newTransitionId } from '../../lambdas/domain/ids.js';
import { TERMINAL_STATUSES, type ExecutionStatus } from '../../lambdas/domain/status.js';
import { ApiKeysRepository } from '../../lambdas/repository/api-keys-repository.js';
import {
  PRODUCT_TASKS,
  bodyText,
  mangle,
  requestArbitrary,
  tamperCursor,
  urlSafe,
  wellFormed,
  type FuzzRequest,
  type LayerProfile,
  pick,
  resolveTask,
} from '../fuzz/support/arbitraries.js';
import { historyViolations, replyViolations, ruleViolations } from '../fuzz/support/checks.js';
import { assertProperty } from '../fuzz/support/run.js';
import { api, baseUrl, type Execution, type Transition } from './client.js';

/**
 * Fuzzing every route through real HTTP against the local stack (gateway, authorizer, functions,
 * DynamoDB Local, Step Functions): fewer cases than in process, each a real request. The fuzz
 * tenant is its own, so at the end every one of its executions is read back through the API and
 * its history checked. Reproduce with the printed seed: `FUZZ_SEED=<seed> npx vitest run test/integration/fuzz.test.ts`.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_102);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_HTTP_RUNS_PER_ROUTE ?? 40);

const TENANT = 'fuzz-http';
const OTHER_TENANT = 'fuzz-http-other';
const KEYS = { valid: newApiKey(), other: newApiKey(), revoked: newApiKey(), unknown: newApiKey() };

/** Tasks of the test stack a fuzz case may start: short ones only, so the read-back settles. */
const PROFILE: LayerProfile = {
  faults: false,
  httpSafe: true,
  tasks: [
    ...PRODUCT_TASKS,
    { id: 'test-short-wait', valid: fc.constant({}), input: fc.oneof(fc.constant({ extra: 1 }), fc.constant([])) },
    { id: 'test-noop', valid: fc.integer().map((n) => ({ n })), input: fc.oneof(fc.constant({ n: 1.5 }), fc.constant({ n: '1' })) },
  ],
};
const TASK_IDS = PROFILE.tasks.map((task) => task.id);
const ALL_ROUTES = Object.values(ROUTES).flat() as RouteKey[];

/** Executions by tenant, in creation order, and what each was last seen doing. */
const known = new Map<string, string[]>([
  [TENANT, []],
  [OTHER_TENANT, []],
]);
const lastSeen = new Map<string, ExecutionStatus>();
/** The metadata each created execution was sent with, as JSON text (`{}` for none): read back at the end. */
const sentMetadata = new Map<string, string>();
const cursors: string[] = [];
/**
 * The bodies of the creates that were taken: what they held (inputs, metadata) comes back in later
 * reads and lists, so a text there that looks like internals (a generated key `TypeError: x…`) is the
 * caller's own, not a leak.
 */
const storedTexts: string[] = [];
const stats = { cases: 0, byStatus: new Map<number, number>(), started: Date.now() };

function keyFor(tenant: string): string {
  return tenant === TENANT ? KEYS.valid.key : KEYS.other.key;
}

/** Starts an execution as `tenant` and remembers it. */
async function start(tenant: string, taskId: string, input: unknown): Promise<string> {
  const reply = await api<Execution>('POST', `/tasks/${taskId}/executions`, { input }, { authorization: `Bearer ${keyFor(tenant)}` });
  if (reply.status !== 201) throw new Error(`start ${taskId}: ${reply.status} ${JSON.stringify(reply.body)}`);
  known.get(tenant)!.push(reply.body.id);
  lastSeen.set(reply.body.id, 'queued');
  return reply.body.id;
}

function resolveId(request: FuzzRequest): string {
  const own = known.get(TENANT)!;
  const ref = request.id;
  switch (ref.kind) {
    case 'known':
      return pick(own, ref.index)!;
    case 'fresh': {
      // Executions are real here: take one last seen in the status asked for (or any).
      const candidates = own.filter((id) => lastSeen.get(id) === ref.status);
      return pick(candidates, ref.task) ?? pick(own, ref.task)!;
    }
    case 'foreign':
      return pick(known.get(OTHER_TENANT)!, ref.index)!;
    case 'unknown':
      return ref.id;
    case 'malformed':
      return ref.text;
    case 'mangled':
      return mangle(pick(own, ref.index)!, ref.how);
  }
}

async function rowIds(id: string): Promise<string[]> {
  const reply = await api<{ items?: Transition[] }>('GET', `/executions/${id}/transitions?limit=100`, undefined, { authorization: `Bearer ${KEYS.valid.key}` });
  return (reply.body?.items ?? []).map((row) => row.id);
}

async function resolveTransition(request: FuzzRequest, executionId: string): Promise<string> {
  const ref = request.transitionId;
  switch (ref.kind) {
    case 'row': {
      const own = known.get(TENANT)!.includes(executionId) ? executionId : known.get(TENANT)![0]!;
      return pick(await rowIds(own), ref.index) ?? newTransitionId(1);
    }
    case 'foreign-row':
      return pick(await rowIds(pick(known.get(TENANT)!, ref.index)!), ref.index) ?? newTransitionId(2);
    case 'unknown':
      return ref.id;
    case 'malformed':
      return ref.text;
  }
}

/** Resume links read from the wait rows of the fuzz tenant's executions, by execution (a used one stays: its second use must resume nothing). */
const links = new Map<string, string>();

/** The token of a real link (read from an own waiting execution's wait row), else any text. */
async function resolveToken(request: FuzzRequest): Promise<{ token: string; live: boolean }> {
  const ref = request.token;
  if (ref.kind === 'unknown') return { token: ref.token, live: false };
  if (ref.kind === 'malformed') return { token: ref.text, live: false };
  const own = known.get(TENANT)!;
  const waiting = own.filter((id) => lastSeen.get(id) === 'awaiting_input' && !links.has(id));
  const id = (ref.fresh ? pick(waiting, ref.index) : undefined) ?? pick([...links.keys()], ref.index) ?? pick(waiting, ref.index);
  if (id === undefined) return { token: 'A'.repeat(43), live: false };
  if (!links.has(id)) {
    const reply = await api<{ items?: Transition[] }>('GET', `/executions/${id}/transitions?limit=100`, undefined, { authorization: `Bearer ${KEYS.valid.key}` });
    const url = (reply.body?.items ?? []).findLast((row) => row.type === 'wait')?.callback_url;
    if (!url) return { token: 'A'.repeat(43), live: false };
    links.set(id, url.slice(url.lastIndexOf('/') + 1));
  }
  return { token: links.get(id)!, live: true };
}

function authorization(request: FuzzRequest): string {
  switch (request.auth.kind) {
    case 'valid':
    case 'none': // Not generated here: without the identity source API Gateway answers 401 itself, before any function.
      return `Bearer ${KEYS.valid.key}`;
    case 'other-tenant':
      return `Bearer ${KEYS.other.key}`;
    case 'revoked':
      return `Bearer ${KEYS.revoked.key}`;
    case 'unknown-key':
      return `Bearer ${KEYS.unknown.key}`;
    case 'raw':
      return request.auth.header;
  }
}

async function runCase(request: FuzzRequest): Promise<void> {
  const { route } = request;
  const [routeMethod = 'GET', template = '/'] = route === '$default' ? [request.method === 'HEAD' ? 'GET' : request.method, request.rawPath] : route.split(' ');
  const params: Record<string, string> = {};
  if (route.includes('{id}')) params.id = urlSafe(resolveId(request), 1000);
  if (route.includes('{transition_id}')) params.transition_id = urlSafe(await resolveTransition(request, params.id!), 1000);
  if (route.includes('{task_id}')) params.task_id = urlSafe(resolveTask(request, TASK_IDS), 1000);
  const link = route.includes('{token}') ? await resolveToken(request) : undefined;
  if (link) params.token = urlSafe(link.token, 1000);
  const path =
    route === '$default'
      ? `/${encodeURI(urlSafe(template.replace(/^\/+/, ''), 1000))}`
      : template.replace(/\{(\w+)\}/g, (_match, name: string) => {
          const value = params[name] ?? '';
          // Free text that a URL can carry as it is goes unencoded: stray and broken percent-escapes.
          const freeText =
            (name === 'id' && request.id.kind === 'malformed') ||
            (name === 'transition_id' && request.transitionId.kind === 'malformed') ||
            (name === 'task_id' && request.taskId.kind === 'text') ||
            (name === 'token' && request.token.kind === 'malformed');
          const raw = freeText && /^[\x21-\x7e]+$/.test(value) && !/[/?#\\]/.test(value) && value !== '.' && value !== '..';
          return raw ? value : encodeURIComponent(value);
        });

  const search = new URLSearchParams();
  // Maps, then own keys: `name in object` and `object[name] = value` misread prototype-named names (`__proto__`, `toString`).
  const joined = new Map<string, string>();
  for (const [rawName, value] of request.query) {
    const name = urlSafe(rawName, 300);
    const resolved = urlSafe(typeof value === 'string' ? value : tamperCursor(pick(cursors, value.cursor) ?? 'no.cursor', value.tamper), 1000);
    search.append(name, resolved);
    joined.set(name, joined.has(name) ? `${joined.get(name)},${resolved}` : resolved);
  }
  const query: Record<string, string> = Object.fromEntries(joined);
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  const auth = authorization(request);
  headers.authorization = auth;
  if (request.idempotencyKey) {
    headers['idempotency-key'] = 'pool' in request.idempotencyKey ? `fuzz-key-${request.idempotencyKey.pool}` : request.idempotencyKey.text;
  }
  // fetch sends no body with GET; a Buffer body gets no default content-type.
  const text = routeMethod === 'GET' ? undefined : bodyText(request.body);
  if (request.contentType !== null) headers['content-type'] = request.contentType;
  else delete headers['content-type'];

  const url = `${baseUrl()}${path}${search.size > 0 ? `?${search.toString()}` : ''}`;
  const response = await fetch(url, {
    method: routeMethod,
    headers,
    ...(text === undefined ? {} : { body: Buffer.from(wellFormed(text), 'utf8') }),
  });
  const raw = await response.text();
  const replyHeaders = Object.fromEntries([...response.headers.entries()].map(([name, value]) => [name.toLowerCase(), value]));
  const status = response.status;
  const requestText = [path, ...Object.entries(query).flat(), ...Object.entries(headers).flat(), text ?? '', ...Object.values(params), ...storedTexts].join('\n');
  const violations = replyViolations({ status, headers: replyHeaders, raw }, { requestText, allowUnavailable: false });
  let body: unknown;
  try {
    body = raw === '' ? undefined : JSON.parse(raw);
  } catch {
    body = undefined;
  }
  const tenant = request.auth.kind === 'other-tenant' ? OTHER_TENANT : TENANT;
  const authenticated = auth === `Bearer ${KEYS.valid.key}` || auth === `Bearer ${KEYS.other.key}`;
  violations.push(
    ...ruleViolations({
      route,
      authenticated,
      ...(params.id === undefined ? {} : { executionId: params.id }),
      ...(params.task_id === undefined ? {} : { taskId: params.task_id }),
      query,
      status,
      body,
      liveLink: link?.live ?? false,
      isOwn: (id) => known.get(tenant)!.includes(id),
    }),
  );

  // Learn what the service said, for later cases and the read-back.
  const view = (body ?? {}) as { id?: unknown; status?: unknown; next_cursor?: unknown };
  if (typeof view.next_cursor === 'string' && cursors.length < 200) cursors.push(view.next_cursor);
  if (status === 201 && typeof view.id === 'string' && authenticated) known.get(tenant)!.push(view.id);
  // A batch's executions.
  if (authenticated && route === 'POST /executions/batch' && Array.isArray((body as { items?: unknown } | undefined)?.items)) {
    for (const item of (body as { items: Array<{ execution?: { id?: unknown } }> }).items) {
      if (typeof item?.execution?.id === 'string') known.get(tenant)!.push(item.execution.id);
    }
  }
  // A replay without metadata keeps the original's (POST /executions/{id}/replay): only what was sent is known.
  const sentBody = status === 201 && text !== undefined ? (JSON.parse(wellFormed(text)) as { metadata?: unknown } | null) : null;
  const metadataKnown = route !== 'POST /executions/{id}/replay' || (sentBody?.metadata ?? null) !== null;
  if (status === 201 && typeof view.id === 'string' && text !== undefined && metadataKnown) {
    // What the service parsed: the body as sent, lone surrogates replaced as fetch sends them.
    const sent = sentBody?.metadata;
    sentMetadata.set(view.id, JSON.stringify(sent ?? {}));
    storedTexts.push(wellFormed(text));
  }
  if (status >= 200 && status < 300 && typeof view.id === 'string' && typeof view.status === 'string') lastSeen.set(view.id, view.status as ExecutionStatus);

  stats.cases++;
  stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
  if (violations.length > 0) {
    throw new Error(`${routeMethod} ${url.slice(0, 300)} (${request.body.kind === 'none' ? 'no body' : request.body.label}) → ${status}\n  ${violations.join('\n  ')}\n  response: ${raw.slice(0, 500)}`);
  }
}

/** Every execution of a tenant, through the list API and its cursors. */
async function listAll(tenant: string): Promise<Execution[]> {
  const all: Execution[] = [];
  let cursor: string | null = null;
  do {
    const reply: { status: number; body: { items: Execution[]; next_cursor: string | null } } = await api('GET', `/executions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, {
      authorization: `Bearer ${keyFor(tenant)}`,
    });
    expect(reply.status).toBe(200);
    all.push(...reply.body.items);
    cursor = reply.body.next_cursor;
  } while (cursor);
  return all;
}

/** An execution and its whole history, read when it has settled (terminal or waiting) and did not move meanwhile. */
async function settledHistory(id: string): Promise<{ execution: Execution; rows: Transition[] }> {
  const auth = { authorization: `Bearer ${KEYS.valid.key}` };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const before = await api<Execution>('GET', `/executions/${id}`, undefined, auth);
    const rows: Transition[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Transition[]; next_cursor: string | null } } = await api('GET', `/executions/${id}/transitions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, auth);
      rows.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    const after = await api<Execution>('GET', `/executions/${id}`, undefined, auth);
    const settled = TERMINAL_STATUSES.has(after.body.status as ExecutionStatus) || after.body.status === 'awaiting_input';
    const still = before.body.transition_count === after.body.transition_count && before.body.status === after.body.status;
    if ((settled && still) || Date.now() > deadline) return { execution: after.body, rows };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  const keys = new ApiKeysRepository(client, inject('tableName'));
  const createdAt = new Date().toISOString();
  await keys.put(KEYS.valid.hash, { keyId: KEYS.valid.keyId, tenant: TENANT, name: 'fuzz', createdAt });
  await keys.put(KEYS.other.hash, { keyId: KEYS.other.keyId, tenant: OTHER_TENANT, name: 'fuzz', createdAt });
  await keys.put(KEYS.revoked.hash, { keyId: KEYS.revoked.keyId, tenant: TENANT, name: 'fuzz', createdAt });
  await keys.revoke(KEYS.revoked.keyId, createdAt);
  client.destroy();

  // Executions to aim at: waiting ones (resume, cancel), finished ones, and another tenant's.
  await Promise.all([
    ...Array.from({ length: 12 }, (_, i) => start(TENANT, 'sample-approval', { title: `Fuzz ${i}`, body: 'Waiting for a decision.' })),
    ...Array.from({ length: 3 }, (_, i) => start(TENANT, 'sample-pipeline', { document_url: `https://example.com/fuzz-${i}.pdf` })),
    start(TENANT, 'test-noop', { n: 1 }),
    start(OTHER_TENANT, 'sample-approval', { title: 'Other', body: 'Not yours.' }),
    start(OTHER_TENANT, 'test-noop', { n: 2 }),
  ]);
  for (const id of [...known.get(TENANT)!, ...known.get(OTHER_TENANT)!]) {
    const tenant = known.get(TENANT)!.includes(id) ? TENANT : OTHER_TENANT;
    for (let attempt = 0; attempt < 100; attempt++) {
      const { body } = await api<Execution>('GET', `/executions/${id}`, undefined, { authorization: `Bearer ${keyFor(tenant)}` });
      lastSeen.set(id, body.status as ExecutionStatus);
      if (body.status !== 'queued' && body.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 60_000);

afterAll(() => {
  const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
  process.stdout.write(
    `[fuzz http] seed ${SEED}: ${stats.cases} cases over ${ALL_ROUTES.length} routes through the local stack in ${((Date.now() - stats.started) / 1000).toFixed(1)} s; statuses ${statuses}; metadata of ${sentMetadata.size} creates read back\n`,
  );
});

describe('fuzzing every route through HTTP', () => {
  it.each(ALL_ROUTES)(
    '%s: never a 5xx, every error problem+json without internals',
    async (route) => {
      await assertProperty(fc.asyncProperty(requestArbitrary(route, PROFILE), runCase), { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true });
    },
    120_000,
  );

  it('leaves every execution of the fuzz tenant with a consistent history and the metadata it was sent, as read back through the API', async () => {
    const listed = await listAll(TENANT);
    const own = known.get(TENANT)!;
    // Every execution a request created is listed; the others are the service's own on the tenant's
    // behalf (a schedule's runs, a bulk replay's replays), which say so.
    expect(own.filter((id) => !listed.some((execution) => execution.id === id))).toEqual([]);
    const unexplained = listed.filter((execution) => !own.includes(execution.id) && execution.schedule_id === null && execution.replayed_from === null);
    expect(unexplained.map((execution) => execution.id)).toEqual([]);

    const histories = await Promise.all(listed.map((execution) => settledHistory(execution.id)));
    const violations = histories.flatMap(({ execution, rows }) =>
      historyViolations({ id: execution.id, status: execution.status, transitionCount: execution.transition_count, rows }),
    );

    expect(violations).toEqual([]);
    const metadataMismatches = listed
      .filter((execution) => sentMetadata.has(execution.id) && JSON.stringify(execution.metadata) !== sentMetadata.get(execution.id))
      .map((execution) => `${execution.id}: ${JSON.stringify(execution.metadata).slice(0, 200)} ≠ sent ${sentMetadata.get(execution.id)!.slice(0, 200)}`);
    expect(metadataMismatches).toEqual([]);
    expect(stats.cases).toBe(ALL_ROUTES.length * RUNS_PER_ROUTE);
  }, 120_000);
});
