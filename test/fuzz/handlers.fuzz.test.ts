import { SFNClient, SendTaskSuccessCommand, StartExecutionCommand, StopExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as authorizer, type AuthorizerContext } from '../../lambdas/api/authorizer.js';
import { handler as catalogue } from '../../lambdas/api/catalogue.js';
import { stateMachineArnResolver } from '../../lambdas/api/context.js';
import { handler as control } from '../../lambdas/api/executions-control.js';
import { handler as recovery } from '../../lambdas/api/executions-recovery.js';
import { handler as create } from '../../lambdas/api/executions-create.js';
import { handler as batch } from '../../lambdas/api/executions-batch.js';
import { eventsHandler } from '../../lambdas/api/executions-events.js';
import { handler as read } from '../../lambdas/api/executions-read.js';
import { handler as webhooks } from '../../lambdas/api/webhooks.js';
import { handler as bulk } from '../../lambdas/api/bulk-actions.js';
import { handler as schedules } from '../../lambdas/api/schedules.js';
import { PUBLIC_ROUTES, ROUTES, type RouteGroup, type RouteKey } from '../../lambdas/api/routes.js';
import { newApiKey } from '../../lambdas/domain/api-keys.js';
import { callbackHash, callbackToken, newCallbackNonce } from '../../lambdas/domain/callbacks.js';
import type { ExecutionRecord, TransitionRecord } from '../../lambdas/domain/execution.js';
import { newExecutionId } from '../../lambdas/domain/ids.js';
import { initTransition, planTransition, type TransitionRequest } from '../../lambdas/domain/transition.js';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../../lambdas/domain/status.js';
import { decodeMetadata } from '../../lambdas/repository/codec.js';
import { executionPk } from '../../lambdas/repository/keys.js';
import { executionArnOf } from '../../lambdas/runtime/execution-control.js';
import type { TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { stepAt } from '../../lambdas/tasks/task-catalogue.js';
import { openWait, tasks } from '../support/fuzz-tasks.js';
import { apiEvent, lambdaContext } from '../unit/support/api-events.js';
import { FakeTable } from '../unit/support/fake-dynamodb.js';
import { CALLBACK_KEY, seed as storeExecution } from '../unit/support/records.js';
import {
  PROTOTYPE_KEYS,
  PRODUCT_TASKS,
  bodyText,
  callerValue,
  jsonish,
  mangle,
  requestArbitrary,
  tamperCursor,
  text,
  type FuzzRequest,
  type LayerProfile,
  pick,
  resolveTask,
  withPrototypeKeys,
} from './support/arbitraries.js';
import { metadataViolations, replyViolations, ruleViolations, storedViolations } from './support/checks.js';
import { assertProperty } from './support/run.js';

/**
 * In-process fuzzing of every route: the middy handlers are called with API Gateway v2 events,
 * after the real authorizer, against the in-memory DynamoDB table and a mocked Step Functions
 * (which fails on purpose in a few cases). Reproduce a failure with the printed seed:
 * `FUZZ_SEED=<seed> npx vitest run --project fuzz`.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_101);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS_PER_ROUTE ?? 640);
/** A full-table consistency check after this many cases (and after every route). */
const FULL_CHECK_EVERY = 200;

const ddb = mockClient(DynamoDBDocumentClient);
const sfnMock = mockClient(SFNClient);
// Test pings and redeliveries are queued; the queue accepts them.
mockClient(SQSClient).on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
// EventBridge Scheduler takes every schedule: the fuzz probes the API's checks and the table, not Scheduler.
mockClient(SchedulerClient).resolves({ ScheduleArn: 'arn:aws:scheduler:us-east-1:123456789012:schedule/Test-schedules/x' });
// The payload bucket takes every large input (the fuzz probes the API; the offload has its own property test).
mockClient(S3Client).resolves({});
/** A fresh table per route keeps every case fast (the fake scans its items) and each run's checks its own. */
let table = new FakeTable();

/** The tasks `#tasks` serves in this project (test/support/fuzz-tasks.ts: the sample tasks and `fuzz-open-wait`). */
const TASK_IDS = tasks.map((task) => task.id);
const PROFILE: LayerProfile = {
  faults: true,
  httpSafe: false,
  tasks: [
    ...PRODUCT_TASKS,
    {
      id: 'fuzz-open-wait',
      valid: fc.oneof(jsonish, withPrototypeKeys(jsonish), withPrototypeKeys(fc.record({ note: text() }))),
      input: callerValue,
    },
  ],
};

const HANDLERS: Readonly<Record<RouteGroup, (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>>> = {
  create,
  batch,
  read,
  control,
  recovery,
  catalogue,
  // No wait: nothing changes the table while a case runs, so a stream answers with what it has at once.
  events: eventsHandler({ windowMs: 0 }),
  webhooks,
  bulk,
  schedules,
};
const GROUP_OF = new Map<string, RouteGroup>(
  (Object.entries(ROUTES) as Array<[RouteGroup, readonly RouteKey[]]>).flatMap(([group, keys]) => keys.map((key) => [key, group] as const)),
);
const ALL_ROUTES = [...GROUP_OF.keys()] as RouteKey[];

const TENANT = 'default';
const OTHER_TENANT = 'other';
const KEYS = { valid: newApiKey(), other: newApiKey(), revoked: newApiKey(), unknown: newApiKey() };

/** Executions by tenant, in creation order (cases refer to them by index). */
const known = new Map<string, string[]>([
  [TENANT, []],
  [OTHER_TENANT, []],
]);
/** Cursors the service handed out. */
const cursors: string[] = [];
/** The authorizer's verdicts by Authorization header. */
const verdicts = new Map<string, AuthorizerContext>();
const stats = { cases: 0, byRoute: new Map<string, number>(), byStatus: new Map<number, number>(), faults: 0, seeded: 0, metadataChecked: 0, prototypeKeyed: 0 };
let tokens = 0;

const stateMachineArn = stateMachineArnResolver();

/** The Step Functions failure of the current case, and the calls it received (a mock reset per case is slow). */
let fault: FuzzRequest['fault'] = 'none';
const sfnCalls = { start: 0, send: 0, stop: 0 };

function named(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** Step Functions answers from the case's fault: accepted, or refused the way the fault says. */
function installSfn(): void {
  sfnMock.on(StartExecutionCommand).callsFake(async () => {
    sfnCalls.start++;
    if (fault === 'start-throttled') throw named('ThrottlingException', 'Rate exceeded');
    return { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y', startDate: new Date() };
  });
  sfnMock.on(SendTaskSuccessCommand).callsFake(async () => {
    sfnCalls.send++;
    if (fault === 'send-timed-out') throw new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} });
    if (fault === 'send-failed') throw Object.assign(named('ServiceUnavailable', 'try later'), { $metadata: { httpStatusCode: 503, attempts: 3 } });
    return {};
  });
  sfnMock.on(StopExecutionCommand).callsFake(async () => {
    sfnCalls.stop++;
    if (fault === 'stop-failed') throw named('InternalFailure', 'boom');
    return { stopDate: new Date() };
  });
}

/** The changes that bring a new execution of `task` to `status`, through the real status machine. */
function path(task: TaskDefinition, status: ExecutionStatus): TransitionRequest[] {
  const first = stepAt(task, 0)!;
  const second = stepAt(task, 1);
  const waitIndex = task.steps.findIndex((candidate) => candidate.kind === 'wait');
  const steps = task.steps.map((_step, index) => stepAt(task, index)!);
  switch (status) {
    case 'queued':
      return [];
    case 'running':
      return [{ type: 'start', step: first }];
    case 'awaiting_input': {
      const wait = steps[waitIndex]!;
      const before = steps.slice(0, waitIndex).map((done): TransitionRequest => ({ type: 'step', step: done, advanceTo: steps[done.index + 1]!, output: { done: done.name } }));
      return [{ type: 'start', step: first }, ...before, { type: 'wait', step: wait, waitToken: `fuzz-token-${++tokens}`, output: null }];
    }
    case 'succeeded':
      return [
        { type: 'start', step: first },
        ...steps.map((done): TransitionRequest => ({ type: 'step', step: done, ...(steps[done.index + 1] ? { advanceTo: steps[done.index + 1]! } : {}), output: { done: done.name } })),
        { type: 'finish', result: { ok: true }, output: { ok: true } },
      ];
    case 'failed':
      return [{ type: 'start', step: first }, { type: 'error', error: { name: 'Boom', message: 'failed on purpose', step: second ?? first }, output: { name: 'Boom' } }];
    case 'cancelled':
      return [{ type: 'cancel', reason: 'seeded', output: { reason: 'seeded' } }];
  }
}

const INPUTS: Readonly<Record<string, unknown>> = {
  'sample-pipeline': { document_url: 'https://example.com/a.pdf' },
  'sample-approval': { title: 'T', body: 'B' },
  'fuzz-open-wait': {},
};

/**
 * Stores an execution of `taskId` in `status` whose history the real status machine planned
 * (`planTransition`), written straight into the table: seeding costs no mocked calls.
 */
function seed(tenant: string, taskId: string, status: ExecutionStatus): string {
  const task = TASKS.get(taskId)!;
  // Only tasks with a wait can be awaiting input; the one whose wait takes anything is the sharper probe.
  const usable = status === 'awaiting_input' && !task.steps.some((candidate) => candidate.kind === 'wait') ? openWait : task;
  const now = new Date().toISOString();
  const id = newExecutionId();
  let record: ExecutionRecord = {
    tenant,
    id,
    taskId: usable.id,
    status: 'queued',
    input: INPUTS[usable.id],
    metadata: { seeded: status },
    transitionCount: 1,
    stepIndex: 0,
    stepName: usable.steps[0]!.name,
    stepsCompleted: 0,
    totalSteps: usable.steps.length,
    stepFraction: 0,
    executionArn: executionArnOf(stateMachineArn(usable.id), id),
    createdAt: now,
    updatedAt: now,
  };
  const rows: TransitionRecord[] = [initTransition(record)];
  for (const change of path(usable, status)) {
    const planned = planTransition(record, change, now);
    record = planned.record;
    rows.push(planned.row);
  }
  storeExecution(table, record, rows);
  known.get(tenant)!.push(id);
  stats.seeded++;
  return id;
}

function resolveId(request: FuzzRequest): string {
  const ref = request.id;
  switch (ref.kind) {
    case 'known':
      return pick(known.get(TENANT)!, ref.index) ?? seed(TENANT, 'sample-pipeline', 'queued');
    case 'fresh':
      return seed(TENANT, pick(TASK_IDS, ref.task)!, ref.status);
    case 'foreign':
      return pick(known.get(OTHER_TENANT)!, ref.index)!;
    case 'unknown':
      return ref.id;
    case 'malformed':
      return ref.text;
    case 'mangled':
      return mangle(pick(known.get(TENANT)!, ref.index) ?? '', ref.how);
  }
}

function rowIds(tenant: string, id: string): string[] {
  return table
    .partition(executionPk(tenant, id))
    .filter((item) => String(item.sk).startsWith('TR#'))
    .map((item) => String(item.id));
}

function resolveTransition(request: FuzzRequest, executionId: string): string {
  const ref = request.transitionId;
  switch (ref.kind) {
    case 'row':
      return pick(rowIds(TENANT, executionId), ref.index) ?? pick(rowIds(TENANT, known.get(TENANT)![0]!), ref.index)!;
    case 'foreign-row': {
      const other = pick(known.get(TENANT)!, ref.index)!;
      return pick(rowIds(TENANT, other), ref.index)!;
    }
    case 'unknown':
      return ref.id;
    case 'malformed':
      return ref.text;
  }
}

function authorization(request: FuzzRequest): string | undefined {
  switch (request.auth.kind) {
    case 'valid':
      return `Bearer ${KEYS.valid.key}`;
    case 'other-tenant':
      return `Bearer ${KEYS.other.key}`;
    case 'revoked':
      return `Bearer ${KEYS.revoked.key}`;
    case 'unknown-key':
      return `Bearer ${KEYS.unknown.key}`;
    case 'none':
      return undefined;
    case 'raw':
      return request.auth.header;
  }
}

interface Built {
  readonly event: APIGatewayProxyEventV2;
  readonly tenant: string;
  readonly executionId?: string;
  /** The tenant of `executionId`: the caller's, or for a resume link (no caller tenant) the link's. */
  readonly owner: string;
  /** The `{token}` is a link the service made (the only kind a resume link may answer 2xx to). */
  readonly liveLink: boolean;
  readonly requestText: string;
}

/** Resume links handed out so far (resumed ones stay: their second use must resume nothing). */
const links: Array<{ readonly token: string; readonly executionId: string }> = [];

/**
 * A link of a waiting execution of the caller's tenant, as the wait function makes one (the nonce
 * on the record, the lookup item by the token's hash), or one made before; or any other text.
 */
function resolveToken(request: FuzzRequest): { token: string; executionId?: string } {
  const ref = request.token;
  switch (ref.kind) {
    case 'live': {
      if (!ref.fresh && links.length > 0) return pick(links, ref.index)!;
      const executionId = seed(TENANT, pick(TASK_IDS, ref.index)!, 'awaiting_input');
      const record = table.item(executionPk(TENANT, executionId), 'META')!;
      const target = { tenant: TENANT, executionId, stepIndex: record.step_index as number, nonce: newCallbackNonce() };
      const token = callbackToken(CALLBACK_KEY, target);
      table.put({ ...record, callback_nonce: target.nonce });
      table.put({ pk: `CALLBACK#${callbackHash(token)}`, sk: 'CALLBACK', tenant: TENANT, execution_id: executionId, step_index: target.stepIndex, nonce: target.nonce, expires_at: 4_000_000_000 });
      links.push({ token, executionId });
      return { token, executionId };
    }
    case 'unknown':
      return { token: ref.token };
    case 'malformed':
      return { token: ref.text };
  }
}

async function build(request: FuzzRequest): Promise<Built> {
  const { route } = request;
  const pathParameters: Record<string, string> = {};
  if (route.includes('{id}')) pathParameters.id = resolveId(request);
  if (route.includes('{transition_id}')) pathParameters.transition_id = resolveTransition(request, pathParameters.id!);
  if (route.includes('{task_id}')) pathParameters.task_id = resolveTask(request, TASK_IDS);
  const link = route.includes('{token}') ? resolveToken(request) : undefined;
  if (link) pathParameters.token = link.token;

  // Maps, then own keys: `name in object` and `object[name] = value` misread prototype-named names
  // (`__proto__`, `toString`), which API Gateway delivers as ordinary parameters and headers.
  const joined = new Map<string, string>();
  for (const [name, value] of request.query) {
    const resolved = typeof value === 'string' ? value : tamperCursor(pick(cursors, value.cursor) ?? 'no.cursor', value.tamper);
    joined.set(name, joined.has(name) ? `${joined.get(name)},${resolved}` : resolved);
  }
  const query: Record<string, string> = Object.fromEntries(joined);
  const body = bodyText(request.body);
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  const auth = authorization(request);
  if (auth !== undefined) headers.authorization = auth;
  if (request.idempotencyKey) {
    headers['idempotency-key'] = 'pool' in request.idempotencyKey ? `fuzz-key-${request.idempotencyKey.pool}` : request.idempotencyKey.text;
  }
  const event = apiEvent(route, {
    pathParameters,
    ...(request.query.length > 0 ? { query: Object.fromEntries(Object.entries(query)) } : {}),
    ...(body === undefined ? {} : { body }),
    headers,
    rawPath: request.rawPath,
    method: route === '$default' ? request.method : (route.split(' ')[0] ?? 'GET'),
  });
  if (request.contentType === null) delete event.headers['content-type'];
  else event.headers['content-type'] = request.contentType;
  if (request.base64 && event.body !== undefined) {
    event.body = Buffer.from(event.body, 'utf8').toString('base64');
    event.isBase64Encoded = true;
  }

  let tenant = '';
  const requestContext = event.requestContext as { authorizer?: unknown };
  if (PUBLIC_ROUTES.includes(route)) {
    delete requestContext.authorizer;
  } else {
    // Cached by the Authorization header, as API Gateway caches the key authorizer's verdicts; the
    // events route's own authorizer (a key or a stream token) has no identity source and no cache.
    const cached = route !== 'GET /executions/{id}/events';
    const cacheKey = auth ?? '';
    let context = cached ? verdicts.get(cacheKey) : undefined;
    if (!context) {
      const authorizerEvent = { ...event, type: 'REQUEST', routeArn: 'arn:fuzz', identitySource: cached && auth ? [auth] : [] };
      context = (await authorizer(authorizerEvent as unknown as APIGatewayRequestAuthorizerEventV2)).context;
      if (cached) verdicts.set(cacheKey, context);
    }
    requestContext.authorizer = { lambda: context };
    tenant = context.tenant;
  }
  const requestText = [event.rawPath, ...Object.entries(query).flat(), ...Object.entries(event.headers).flat(), body ?? '', ...Object.values(pathParameters)].join('\n');
  const executionId = link?.executionId ?? pathParameters.id;
  return {
    event,
    tenant,
    owner: link?.executionId === undefined ? tenant : TENANT,
    liveLink: link?.executionId !== undefined,
    requestText,
    ...(executionId === undefined ? {} : { executionId }),
  };
}

function own(tenant: string, id: string | undefined): boolean {
  return id !== undefined && (known.get(tenant)?.includes(id) ?? false);
}

function learn(built: Built, status: number, body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const view = body as { id?: unknown; next_cursor?: unknown; execution_id?: unknown; task_id?: unknown };
  if (typeof view.next_cursor === 'string' && cursors.length < 500) cursors.push(view.next_cursor);
  const created = status === 201 ? view.id : status === 503 ? view.execution_id : undefined;
  if (typeof created === 'string' && !own(built.tenant, created)) known.get(built.tenant)?.push(created);
  // A batch's executions (its answer, or the problem of a batch none of whose items succeeded, which may hold failed ones).
  for (const item of (body as { items?: unknown }).items instanceof Array ? ((body as { items: Array<{ execution?: { id?: unknown } }> }).items) : []) {
    const id = item?.execution?.id;
    if (typeof id === 'string' && !own(built.tenant, id)) known.get(built.tenant)?.push(id);
  }
  return typeof created === 'string' ? created : undefined;
}

/** Injected Step Functions failures must leave nothing stranded: what each one must leave behind. */
function faultViolations(request: FuzzRequest, built: Built, status: number, created: string | undefined): string[] {
  const stored = (id: string | undefined) => (id === undefined ? undefined : table.item(executionPk(built.owner, id), 'META')?.status);
  if (request.fault === 'start-throttled' && sfnCalls.start > 0) {
    return status === 503 && stored(created) === 'failed' ? [] : [`StartExecution refused: ${status}, execution left ${String(stored(created))}`];
  }
  if (request.fault === 'send-failed' && sfnCalls.send > 0) {
    // A 5xx leaves delivery in doubt: the record stays running until Step Functions settles it.
    return status === 503 && stored(built.executionId) === 'running' ? [] : [`SendTaskSuccess failed: ${status}, execution left ${String(stored(built.executionId))}`];
  }
  if (request.fault === 'send-timed-out' && sfnCalls.send > 0) {
    // A resume link answers a wait Step Functions already ended as every dead link: 404.
    const gone = built.liveLink ? 404 : 410;
    return status === gone && stored(built.executionId) === 'failed' ? [] : [`the wait had timed out: ${status}, execution left ${String(stored(built.executionId))}`];
  }
  if (request.fault === 'stop-failed' && sfnCalls.stop > 0) {
    return status === 200 && stored(built.executionId) === 'cancelled' ? [] : [`StopExecution failed: ${status}, execution left ${String(stored(built.executionId))}`];
  }
  return [];
}

function partitionViolations(tenant: string, id: string | undefined): string[] {
  if (!id || !own(tenant, id)) return [];
  return storedViolations(table.partition(executionPk(tenant, id)));
}

const logged: string[] = [];

async function runCase(request: FuzzRequest): Promise<void> {
  fault = 'none';
  const built = await build(request);
  fault = request.fault;
  sfnCalls.start = sfnCalls.send = sfnCalls.stop = 0;
  if (request.fault !== 'none') stats.faults++;
  logged.length = 0;

  const response = await HANDLERS[GROUP_OF.get(request.route)!](built.event, lambdaContext());

  const status = response.statusCode ?? 200;
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
  const raw = response.body ?? '';
  const reached = (request.fault === 'start-throttled' && sfnCalls.start > 0) || (request.fault === 'send-failed' && sfnCalls.send > 0);
  const violations = replyViolations({ status, headers, raw }, { requestText: built.requestText, allowUnavailable: reached });
  let body: unknown;
  try {
    body = raw === '' ? undefined : JSON.parse(raw);
  } catch {
    body = undefined;
  }
  violations.push(
    ...ruleViolations({
      route: request.route,
      authenticated: built.tenant !== '',
      ...(built.executionId === undefined ? {} : { executionId: built.executionId }),
      ...(built.event.pathParameters?.task_id === undefined ? {} : { taskId: built.event.pathParameters.task_id }),
      query: (built.event.queryStringParameters ?? {}) as Record<string, string>,
      status,
      body,
      liveLink: built.liveLink,
      isOwn: (id) => own(built.tenant, id),
    }),
  );
  const created = learn(built, status, body);
  if (status === 201 && request.body.kind === 'value' && created !== undefined) {
    const stored = table.item(executionPk(built.tenant, created), 'META');
    const sent = (request.body.value as { metadata?: unknown }).metadata;
    stats.metadataChecked++;
    if (sent !== null && typeof sent === 'object' && PROTOTYPE_KEYS.some((key) => Object.hasOwn(sent, key))) stats.prototypeKeyed++;
    // A replay without `metadata` keeps the replayed execution's.
    const keepsOriginal = request.route === 'POST /executions/{id}/replay' && !Object.hasOwn(Object(request.body.value), 'metadata');
    const expected = keepsOriginal ? decodeMetadata(table.item(executionPk(built.tenant, built.executionId ?? ''), 'META')?.metadata) : sent;
    violations.push(...metadataViolations(expected, (body as { metadata?: unknown }).metadata, decodeMetadata(stored?.metadata)));
  }
  violations.push(
    ...faultViolations(request, built, status, created),
    ...partitionViolations(built.owner, built.executionId),
    ...partitionViolations(built.tenant, created),
  );
  if (logged.some((line) => line.includes('"unhandled error"'))) violations.push('an unhandled error was logged');

  stats.cases++;
  stats.byRoute.set(request.route, (stats.byRoute.get(request.route) ?? 0) + 1);
  stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
  if (stats.cases % FULL_CHECK_EVERY === 0) violations.push(...storedViolations(table.all()));
  if (violations.length > 0) {
    throw new Error(
      `${request.route} (${request.body.kind === 'none' ? 'no body' : request.body.label}) → ${status}\n  ${violations.join('\n  ')}\n  response: ${raw.slice(0, 500)}\n  path: ${JSON.stringify(built.event.pathParameters ?? {}).slice(0, 300)}\n  query: ${JSON.stringify(built.event.queryStringParameters ?? {}).slice(0, 300)}`,
    );
  }
}

/** A new table with the API keys and, for each task, executions of both tenants in every status. */
function resetTable(): void {
  ddb.reset();
  table = new FakeTable().install(ddb);
  for (const ids of known.values()) ids.length = 0;
  cursors.length = 0;
  links.length = 0;
  verdicts.clear();
  for (const [key, tenant, revoked] of [
    [KEYS.valid, TENANT, false],
    [KEYS.other, OTHER_TENANT, false],
    [KEYS.revoked, TENANT, true],
  ] as const) {
    table.put({
      pk: `APIKEY#${key.hash}`,
      sk: 'APIKEY',
      id: key.keyId,
      tenant,
      name: 'fuzz',
      created_at: '2026-01-01T00:00:00.000Z',
      tenant_key: 'APIKEYS',
      ...(revoked ? { revoked_at: '2026-01-02T00:00:00.000Z' } : {}),
      // Small limits of its own: the other tenant's requests are refused with 429 now and then.
      ...(key === KEYS.other ? { rate_create: '2/1', rate_read: '5/1' } : {}),
    });
  }
  for (const taskId of TASK_IDS) {
    for (const status of EXECUTION_STATUSES) {
      seed(TENANT, taskId, status);
      seed(TENANT, taskId, status);
    }
    seed(OTHER_TENANT, taskId, 'awaiting_input');
    seed(OTHER_TENANT, taskId, 'running');
  }
}

beforeAll(() => {
  installSfn();
  // The logger writes JSON lines to the console; keep them to look for unhandled errors.
  for (const method of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(' '));
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
  const routes = [...stats.byRoute.entries()].map(([route, count]) => `${route}: ${count}`).join(', ');
  const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
  process.stdout.write(
    `[fuzz in-process] seed ${SEED}: ${stats.cases} cases over ${stats.byRoute.size} routes (${routes}); statuses ${statuses}; ${stats.faults} with an injected fault; ${stats.seeded} executions seeded; metadata of ${stats.metadataChecked} creates read back (${stats.prototypeKeyed} with prototype-named keys)\n`,
  );
});

describe('fuzzing every route in process', () => {
  it.each(ALL_ROUTES)(
    '%s: never a 5xx, every error problem+json without internals, the stored histories consistent',
    async (route) => {
      resetTable();

      await assertProperty(fc.asyncProperty(requestArbitrary(route, PROFILE), runCase), {
        seed: SEED,
        numRuns: RUNS_PER_ROUTE,
        endOnFailure: true,
      });

      expect(storedViolations(table.all())).toEqual([]);
    },
    120_000,
  );

  it('ran every route the configured number of times', () => {
    expect(stats.byRoute.size).toBe(ALL_ROUTES.length);
    expect(stats.cases).toBe(ALL_ROUTES.length * RUNS_PER_ROUTE);
  });
});
