import {
  BatchFailedError,
  ConflictError,
  GoneError,
  IdempotencyMismatchError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  toProblem,
} from '../domain/errors.js';
import { BULK_JOB_ID_PATTERN, BULK_LIMITS } from '../domain/bulk.js';
import { EXECUTION_ID_PATTERN } from '../domain/ids.js';
import type { JsonSchema } from '../domain/json-schema.js';
import { CALLBACK_TOKEN_PATTERN } from '../domain/callbacks.js';
import type { CreatedExecutionView } from '../domain/views.js';
import { SCHEDULE_ID_PATTERN } from '../domain/schedules.js';
import { DELIVERY_ID_PATTERN, WEBHOOK_ID_PATTERN } from '../domain/webhooks.js';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import {
  CANCEL_SCHEMA,
  REPLAY_SCHEMA,
  CHANGE_STATUS_SCHEMA,
  CREATE_SCHEMA,
  CREATE_WITH_TASK_SCHEMA,
  BATCH_SCHEMA,
  BATCH_ITEM_SCHEMA,
  MAX_BATCH_ITEMS,
  RESUME_SCHEMA,
  TAGS_BODY_SCHEMA,
  STREAM_TOKEN_SCHEMA,
  bulkActionSchema,
  scheduleSchema,
  subscriptionSchema,
  type BodyJsonSchema,
  type BodyObjectSchema,
} from './bodies.js';
import { IDEMPOTENCY_KEY } from './headers.js';
import { MAX_WAIT_SECONDS } from './long-poll.js';
import {
  BULK_LIST_QUERY,
  DELIVERY_LIST_QUERY,
  EVENT_ID,
  EXECUTION_LIST_QUERY,
  SCHEDULE_LIST_QUERY,
  TASK_EXECUTION_LIST_QUERY,
  TRANSITION_LIST_QUERY,
  streamQuery,
  type QuerySchema,
} from './queries.js';
import { RESPONSE_SCHEMAS, ref, type SchemaName } from './response-schemas.js';
import { API_KEY_ONLY_ROUTES, PUBLIC_ROUTES, rateLimitClassOf, ROUTES, type RouteKey } from './routes.js';

// The OpenAPI 3.1 document of the HTTP API, assembled from what the handlers check and answer by:
// the JSON Schemas of the bodies (bodies.ts), queries (queries.ts) and headers (headers.ts), the
// response schemas (response-schemas.ts), the problem documents of the error classes, the route
// table (routes.ts) and the task catalogue (each task's input, each wait's resume input). This
// module adds only words, examples and which route answers what. The catalogue function serves it
// (`GET /openapi.json`), `npm run openapi` writes docs/openapi.json; no other function bundles it.

/** A route of the document: every route of the API but `$default` (the 404 of any other path). */
export type DocumentedRoute = Exclude<RouteKey, '$default'>;

/** An OpenAPI Server Object. */
export interface Server {
  readonly url: string;
  readonly description?: string;
  readonly variables?: Readonly<Record<string, { readonly default: string; readonly description?: string }>>;
}

/** What the document describes: the deployment's tasks, how it authenticates, and where it is. */
export interface OpenApiOptions {
  /** The deployed tasks, from the task catalogue. */
  readonly tasks: readonly CatalogueTask[];
  /** `api-key` (bearer keys and stream tokens) or `iam` (SigV4; no stream tokens, no streaming URL). */
  readonly auth: 'api-key' | 'iam';
  /** Where the HTTP API is. */
  readonly servers: readonly Server[];
  /** Where the streaming Function URL is (api-key auth only). */
  readonly eventsStreamServers: readonly Server[];
}

/** The version of the API the document describes: the package's (a unit test holds them equal). */
export const API_VERSION = '0.1.0';

type Json = Readonly<Record<string, unknown>>;

interface Operation {
  readonly id: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'executions' | 'events' | 'tasks' | 'webhooks' | 'bulk' | 'schedules' | 'service';
  readonly parameters?: readonly Json[];
  readonly body?: Json;
  /** Answers of success (2xx, 304), by status. */
  readonly answers: Readonly<Record<string, Json>>;
  /** Problems it answers, by the name of their response component. */
  readonly problems: readonly ProblemName[];
  readonly servers?: readonly Server[];
  /** Security requirements other than the API key (the events take a stream token too). */
  readonly security?: readonly Json[];
}

/** The document's context: the tasks and examples every operation may use. */
interface Context {
  readonly options: OpenApiOptions;
  readonly base: string;
  readonly inputs: readonly JsonSchema[];
  readonly resumes: readonly JsonSchema[];
  readonly anyWaitUnchecked: boolean;
}

// ---- Parameters ------------------------------------------------------------------------------

const path = (name: string, description: string, schema: Json): Json => ({ name, in: 'path', required: true, description, schema });
const header = (name: string, description: string, schema: Json): Json => ({ name, in: 'header', description, schema });

const PARAMETERS = {
  ExecutionId: path('id', 'An execution id (malformed: 400).', { type: 'string', pattern: EXECUTION_ID_PATTERN.source }),
  TaskId: path('task_id', 'A task id.', { type: 'string' }),
  TransitionId: path('transition_id', 'A transition id (malformed: 400).', { type: 'string', pattern: EXECUTION_ID_PATTERN.source }),
  WebhookId: path('id', 'A subscription id.', { type: 'string', pattern: WEBHOOK_ID_PATTERN.source }),
  ScheduleId: path('id', 'A schedule id.', { type: 'string', pattern: SCHEDULE_ID_PATTERN.source }),
  DeliveryId: path('delivery_id', 'A delivery id.', { type: 'string', pattern: DELIVERY_ID_PATTERN.source }),
  BulkId: path('id', 'A bulk action id (another tenant\'s, or malformed: 404).', { type: 'string', pattern: BULK_JOB_ID_PATTERN.source }),
  BulkIdempotencyKey: header(
    'Idempotency-Key',
    'Makes a retried request safe: the same key and body answer the first job (200); another body is a 422.',
    IDEMPOTENCY_KEY,
  ),
  CallbackToken: path('token', 'The link\'s token.', {
    type: 'string',
    pattern: CALLBACK_TOKEN_PATTERN.source,
  }),
  IdempotencyKey: header(
    'Idempotency-Key',
    'Makes a retried create safe: the same key and body answer the first execution (200); another body is a 422.',
    IDEMPOTENCY_KEY,
  ),
  IfNoneMatch: header('If-None-Match', 'The ETag you have: 304 while it is current.', { type: 'string' }),
  Prefer: header(
    'Prefer',
    `wait=N (seconds, at most ${MAX_WAIT_SECONDS}): hold the request until the execution changes.`,
    { type: 'string', examples: ['wait=20'] },
  ),
  LastEventId: header('Last-Event-ID', 'Resume after this event (wins over the query).', EVENT_ID),
} as const;

/** The query parameters of a query schema, each with its words (a parameter without words, or words without a parameter, throws). */
function queryParameters(schema: QuerySchema, words: Readonly<Record<string, string>>): Json[] {
  checkWords(Object.keys(schema), words);
  return Object.entries(schema).map(([name, parameter]) => ({ name, in: 'query', description: words[name], schema: parameter }));
}

/** Throws unless `words` describe exactly `names`: the document never skips a field the API reads, nor describes one it does not. */
function checkWords(names: readonly string[], words: Readonly<Record<string, string>>): void {
  const missing = names.filter((name) => !Object.hasOwn(words, name));
  const extra = Object.keys(words).filter((name) => !names.includes(name));
  if (missing.length > 0 || extra.length > 0) throw new Error(`OpenAPI words out of step: missing [${missing.join(', ')}], extra [${extra.join(', ')}]`);
}

const PAGE_WORDS = {
  limit: 'Items per page.',
  offset: 'Items to skip (Julep); not with cursor.',
  cursor: 'The previous page\'s next_cursor.',
  sort_by: 'The order.',
  direction: 'The direction.',
};
const EXECUTION_FILTER_WORDS = {
  status: 'Only this status (pending, completed: aliases).',
  parent_id: 'Only the children of this execution.',
  schedule_id: 'Only the runs of this schedule (not with parent_id).',
  created_after: 'Created at or after (ISO 8601).',
  created_before: 'Created at or before (ISO 8601).',
  tag: 'Only with this tag (repeated or comma-separated, at most 10: every one). Pages may be short.',
  metadata_filter: 'Julep\'s: a JSON object of metadata values that must all be equal. Pages may be short.',
  batch_id: 'Only this batch\'s executions.',
};

// ---- Bodies ----------------------------------------------------------------------------------

/** A body form with its words, and some properties replaced (an input by its task's schema). */
function describedForm(form: BodyObjectSchema, words: Readonly<Record<string, string>>, replaced: Readonly<Record<string, JsonSchema>> = {}): Json {
  checkWords(Object.keys(form.properties), words);
  const properties = Object.fromEntries(
    Object.entries(form.properties).map(([name, schema]) => [name, { ...((replaced[name] ?? schema) as Json), description: words[name] }]),
  );
  return { ...form, properties };
}

function describedBody(schema: BodyJsonSchema, words: Readonly<Record<string, string>>, replaced: Readonly<Record<string, JsonSchema>> = {}): Json {
  if (!('oneOf' in schema)) return describedForm(schema, words, replaced);
  return { type: 'object', oneOf: schema.oneOf.map((form) => describedForm(form, pick(words, Object.keys(form.properties)), replaced)) };
}

function pick(words: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, words[name] ?? '']));
}

const jsonBody = (schema: Json, required: boolean, description: string, examples?: Json): Json => ({
  required,
  description,
  content: { 'application/json': { schema, ...(examples ? { examples } : {}) } },
});

const METADATA_WORDS = 'Any JSON object, returned as sent (at most 16 KB as JSON).';
const WEBHOOK_URL_WORDS =
  'An https endpoint for this execution\'s events, signed with the answer\'s webhook_secret.';
/** The words of the create fields of flow control (tags, priority, concurrency, delays). */
const FLOW_WORDS = {
  tags: 'Up to 10 labels, each 1 to 64 letters, digits or _ . : / = + @ -; a repeated tag is kept once.',
  priority: 'Where it goes in its tenant\'s queue when concurrency limits hold work back: 5 is the highest, 1 the lowest; 3 when absent.',
  concurrency_key: 'A key of your choosing (same characters as a tag): a tenant\'s per-key limit counts the running executions of each key, and waiting work is shared fairly between keys.',
  start_at: 'Start no earlier than this (RFC 3339, at most 365 days ahead; a past time starts now): it is queued until then. Not with delay_seconds.',
  delay_seconds: 'Start this many seconds from now (0 to 31536000): it is queued until then. Not with start_at.',
} as const;

/** Any input: what a task's or a wait's schemas say, when every one has one; else any JSON. */
function oneOfSchemas(schemas: readonly JsonSchema[], unchecked: boolean, words: string): Json {
  if (unchecked || schemas.length === 0) return { description: words };
  return schemas.length === 1 ? { ...(schemas[0] as Json), description: words } : { anyOf: schemas, description: words };
}

// ---- Responses -------------------------------------------------------------------------------

const HEADERS = {
  ETag: { description: 'Send it as If-None-Match.', required: true, schema: { type: 'string', pattern: '^"[^"]*"$' } },
  Location: { description: 'The new resource.', required: true, schema: { type: 'string', format: 'uri' } },
  RetryAfter: { description: 'Seconds to wait.', required: true, schema: { type: 'string', pattern: '^\\d+$' } },
  XShouldRetryFalse: { description: 'Do not retry.', required: true, schema: { const: 'false' } },
  XShouldRetryTrue: { description: 'Send it again.', required: true, schema: { const: 'true' } },
  WWWAuthenticate: { description: 'The scheme (with a problem+json; API Gateway\'s own 401 has none).', schema: { const: 'Bearer' } },
  PreferenceApplied: { description: 'It was held (wait=<seconds>).', schema: { type: 'string', pattern: '^wait=\\d+$' } },
  RateLimitPolicy: {
    description:
      'The key\'s limit this route counts against (draft-ietf-httpapi-ratelimit-headers): q units per w seconds, a fixed window. ' +
      'Absent when the counter could not be reached (the request then went uncounted).',
    schema: { type: 'string', pattern: '^"(create|read)";q=\\d+;w=\\d+$' },
  },
  RateLimit: {
    description: 'What is left of it: r units, for t more seconds.',
    schema: { type: 'string', pattern: '^"(create|read)";r=\\d+;t=\\d+$' },
  },
  RateLimitRetryAfter: { description: 'Seconds until the window resets.', schema: { type: 'string', pattern: '^\\d+$' } },
} as const;


const headerRef = (name: keyof typeof HEADERS): Json => ({ $ref: `#/components/headers/${name}` });

/** The headers of the rate limit on an answer of a limited route. */
const RATE_LIMIT_HEADERS = { 'RateLimit-Policy': headerRef('RateLimitPolicy'), RateLimit: headerRef('RateLimit') };

/** A problem+json answer: the problem document of `error` (its type and status fixed), with it as the example. */
const problemContent = (error: unknown): Json => {
  const problem = toProblem(error);
  return {
    'application/problem+json': {
      schema: { type: 'object', allOf: [ref('Problem')], properties: { type: { const: problem.type }, status: { const: problem.status } } },
      example: problem,
    },
  };
};

const gatewayContent = (message: string): Json => ({ 'application/json': { schema: ref('GatewayError'), example: { message } } });

const EXAMPLE_ID = '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70';
const EXAMPLE_TOKEN = 'WyJkZWZhdWx0IiwiMDE5MCIsMTc2NzMyNDQ0NV0.ZXhhbXBsZS1zaWduYXR1cmUtb2YtNDMtY2hhcmFjdGVycw';

/** The problems the API answers, as response components. */
function problemResponses(auth: OpenApiOptions['auth']) {
  const retryAfter = { 'Retry-After': headerRef('RetryAfter') };
  return {
    BadRequest: {
      description: 'Not valid: errors names each field.',
      content: problemContent(new ValidationError('The request body is not valid: /input/title must be at least 1 character.', [
        { path: '/input/title', message: 'must be at least 1 character' },
      ])),
    },
    Unauthorized:
      auth === 'iam'
        ? { description: 'Not signed.', content: gatewayContent('Forbidden') }
        : {
            description:
              'No valid API key (without any, API Gateway answers itself).',
            headers: { 'WWW-Authenticate': headerRef('WWWAuthenticate') },
            content: {
              ...problemContent(new UnauthorizedError('Send a valid API key.')),
              ...gatewayContent('Unauthorized'),
            },
          },
    UnauthorizedStream: {
      description: 'No valid API key or stream token.',
      headers: { 'WWW-Authenticate': { description: 'The scheme.', required: true, schema: { const: 'Bearer' } } },
      content: problemContent(new UnauthorizedError('Send a valid stream token or API key.')),
    },
    NotFound: {
      description: 'Not found (another tenant\'s too).',
      content: problemContent(new NotFoundError(`No execution ${EXAMPLE_ID} exists.`)),
    },
    RequestTimeout: {
      description: 'Not complete in time: send it again.',
      headers: { 'X-Should-Retry': headerRef('XShouldRetryTrue'), 'Retry-After': headerRef('RetryAfter') },
      content: problemContent(new RequestTimeoutError('Not ended within 25 s.')),
    },
    Conflict: {
      description: 'Not allowed in its current state.',
      headers: { 'X-Should-Retry': headerRef('XShouldRetryFalse') },
      content: problemContent(new ConflictError('The execution is already succeeded.')),
    },
    Gone: {
      description: 'The wait expired first.',
      content: problemContent(new GoneError('The wait expired first.')),
    },
    PayloadTooLarge: {
      description: 'Over 256 KB (a create: 5 MiB of input; a resume or a scheduled input: 250 KiB); over 10 MB API Gateway answers itself.',
      content: { ...problemContent(new PayloadTooLargeError('The body is too large.')), ...gatewayContent('Request Entity Too Large') },
    },
    UnsupportedMediaType: {
      description: 'Not JSON.',
      content: problemContent(new UnsupportedMediaTypeError('Send application/json.')),
    },
    IdempotencyKeyReused: {
      description: 'Key reused with another body.',
      headers: { 'X-Should-Retry': headerRef('XShouldRetryFalse') },
      content: problemContent(new IdempotencyMismatchError('Key reused.')),
    },
    BatchFailed: {
      description: 'No item of the batch was created: its items (one per item, in order) say why.',
      content: problemContent(new BatchFailedError('None of the 2 items was created; each item\'s error says why.', { batch_id: EXAMPLE_BATCH_ID, succeeded: 0, failed: 2, items: [] })),
    },
    TooManyRequests: { description: 'Throttled (API Gateway).', content: gatewayContent('Too Many Requests') },
    RateLimited: {
      description:
        'The API key\'s rate limit (RateLimit-Policy names it) is used up for this window; nothing was done: retry after Retry-After. ' +
        'API Gateway\'s own throttling answers 429 too, with its own body and none of these headers.',
      headers: { 'Retry-After': headerRef('RateLimitRetryAfter'), ...RATE_LIMIT_HEADERS },
      content: {
        ...problemContent(new TooManyRequestsError('The create limit of your API key (10 per 1 s) is used up for this window; retry in 1 s.', {})),
        ...gatewayContent('Too Many Requests'),
      },
    },
    InternalError: {
      description: 'A fault (logged); a function that failed outright is API Gateway\'s own answer.',
      // Anything but a domain error is answered as this, and nothing of it is shown.
      content: { ...problemContent(new Error('a fault')), ...gatewayContent('Internal Server Error') },
    },
    ServiceUnavailable: {
      description: 'A dependency failed (it may have taken effect): retry after Retry-After.',
      headers: retryAfter,
      content: problemContent(new ServiceUnavailableError('Retry after 2 s.')),
    },
  };
}

type ProblemName = keyof ReturnType<typeof problemResponses>;

const jsonAnswer = (description: string, schema: SchemaName, extra: Json = {}): Json => ({
  description,
  ...extra,
  content: { 'application/json': { schema: ref(schema) } },
});

const withExample = (answer: Json, example: unknown): Json => {
  const content = answer.content as Record<string, Json>;
  const [type, media] = Object.entries(content)[0]!;
  return { ...answer, content: { [type]: { ...media, example } } };
};

const EVENT_STREAM = {
  'text/event-stream': {
    schema: { type: 'string' },
    example: 'retry: 250\n\nid: 1\nevent: transition\ndata: {"seq":1,"type":"init",…}\n\nid: 1\nevent: status\ndata: {"id":"…","status":"queued",…}\n\n',
  },
};

// ---- Examples --------------------------------------------------------------------------------

function exampleExecution(context: Context): CreatedExecutionView {
  const task = context.options.tasks[0];
  const examples = (task?.view.input_schema as { examples?: unknown[] } | undefined)?.examples;
  return {
    id: EXAMPLE_ID,
    task_id: task?.id ?? 'document-pipeline',
    status: 'running',
    input: examples?.[0] ?? {},
    output: null,
    input_url: null,
    output_url: null,
    error: null,
    error_details: null,
    metadata: { team: 'reports' },
    // No step of a task: the document is public, and shows a task's id and schemas only.
    progress: { current_step: 0, step_name: 'first-step', completed_steps: 0, total_steps: 2, percentage: 25, message: 'halfway through the first step' },
    transition_count: 2,
    created_at: '2026-01-02T03:04:05.000Z',
    updated_at: '2026-01-02T03:04:06.000Z',
    started_at: '2026-01-02T03:04:05.500Z',
    completed_at: null,
    cancel_reason: null,
    parent_execution_id: null,
    schedule_id: null,
    console_url: `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:AsyncExecutions-${task?.id ?? 'task'}:${EXAMPLE_ID}`,
    status_url: `${context.base}/executions/${EXAMPLE_ID}`,
    events_url: `${context.base}/executions/${EXAMPLE_ID}/events`,
    webhook_url: null,
    batch_id: null,
    replayed_from: null,
    retry_count: null,
    tags: ['reports', 'customer:acme'],
    priority: 3,
    concurrency_key: null,
    start_at: null,
  };
}

// ---- Operations ------------------------------------------------------------------------------

const ID = [PARAMETERS.ExecutionId];
const EXAMPLE_BATCH_ID = '3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d';
const TAG_WORDS = 'Its tags (at most 10).';
const WRITE_PROBLEMS: readonly ProblemName[] = ['BadRequest', 'Unauthorized', 'PayloadTooLarge', 'UnsupportedMediaType'];

/** Every route's operation: the type checker refuses a route of ROUTES without one. */
function operations(context: Context): { readonly [K in DocumentedRoute]: Operation } {
  return {
    'POST /tasks/{task_id}/executions': {
      id: 'createTaskExecution',
      tag: 'executions',
      summary: 'Start an execution of a task (Julep)',
      description:
        'With webhook_url, its events go there. With start_at or delay_seconds, or when the tenant has concurrency limits, it is answered queued and starts in its turn.',
      parameters: [PARAMETERS.TaskId, PARAMETERS.IdempotencyKey],
      body: jsonBody(
        describedBody(CREATE_SCHEMA, { input: 'Its input: see the task\'s input_schema.', metadata: METADATA_WORDS, webhook_url: WEBHOOK_URL_WORDS, ...FLOW_WORDS }, {
          input: oneOfSchemas(context.inputs, false, ''),
        }),
        true,
        'The execution.',
        Object.fromEntries(context.options.tasks.map((task) => [task.id, { summary: task.id, value: { input: exampleInput(task) } }])),
      ),
      answers: createAnswers(context),
      problems: [...WRITE_PROBLEMS, 'NotFound', 'IdempotencyKeyReused', 'ServiceUnavailable'],
    },
    'POST /executions': {
      id: 'createExecution',
      tag: 'executions',
      summary: 'Start an execution (task in the body)',
      parameters: [PARAMETERS.IdempotencyKey],
      body: jsonBody(createWithTaskSchema(context), true, 'The execution.', examplesOf(context, (task) => ({ task_id: task.id, input: exampleInput(task) }))),
      answers: createAnswers(context),
      problems: [...WRITE_PROBLEMS, 'NotFound', 'IdempotencyKeyReused', 'ServiceUnavailable'],
    },
    'GET /executions': {
      id: 'listExecutions',
      tag: 'executions',
      summary: 'List executions, filtered',
      parameters: queryParameters(EXECUTION_LIST_QUERY, { ...PAGE_WORDS, ...EXECUTION_FILTER_WORDS, task_id: 'Only this task\'s.' }),
      answers: { 200: jsonAnswer('Executions.', 'ExecutionPage') },
      problems: ['BadRequest', 'Unauthorized', 'ServiceUnavailable'],
    },
    'GET /executions/{id}': {
      id: 'getExecution',
      tag: 'executions',
      summary: 'Get an execution (conditional, or held until it changes)',
      description:
        'If-None-Match: 304 while current. Prefer: wait=N holds it until a change.',
      parameters: [...ID, PARAMETERS.IfNoneMatch, PARAMETERS.Prefer],
      answers: {
        200: withExample(
          jsonAnswer('The execution.', 'Execution', { headers: { ETag: headerRef('ETag'), 'Preference-Applied': headerRef('PreferenceApplied') } }),
          exampleExecution(context),
        ),
        304: { description: 'Not modified.', headers: { ETag: headerRef('ETag'), 'Preference-Applied': headerRef('PreferenceApplied') } },
      },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /tasks/{task_id}/executions': {
      id: 'listTaskExecutions',
      tag: 'executions',
      summary: 'List the executions of a task (Julep)',
      parameters: [PARAMETERS.TaskId, ...queryParameters(TASK_EXECUTION_LIST_QUERY, { ...PAGE_WORDS, ...EXECUTION_FILTER_WORDS })],
      answers: { 200: jsonAnswer('Executions.', 'ExecutionPage') },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /executions/{id}/transitions': {
      id: 'listTransitions',
      tag: 'executions',
      summary: 'List an execution\'s history, oldest first',
      parameters: [...ID, PARAMETERS.IfNoneMatch, ...queryParameters(TRANSITION_LIST_QUERY, { ...PAGE_WORDS, sort_by: 'The order (Julep).', scope_id: 'Ignored (Julep).' })],
      answers: {
        200: jsonAnswer('Transitions.', 'TransitionPage', { headers: { ETag: headerRef('ETag') } }),
        304: { description: 'Not modified.', headers: { ETag: headerRef('ETag') } },
      },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /executions/{id}/transitions/{transition_id}': {
      id: 'getTransition',
      tag: 'executions',
      summary: 'Get one transition',
      parameters: [...ID, PARAMETERS.TransitionId],
      answers: { 200: jsonAnswer('The transition.', 'Transition') },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /executions/{id}/events': {
      id: 'streamEvents',
      tag: 'events',
      summary: 'Follow an execution as server-sent events',
      description:
        'Events transition (data: a Transition), status (data: the Execution) and end ({ execution_id, status }), each with its id (a seq). ' +
        'On the API each response is a bounded slice of the stream (retry: 250, then reconnect with Last-Event-ID); ' +
        (context.options.auth === 'api-key'
          ? 'the streaming Function URL (its own servers) sends the same events as one long response. Takes an API key, or a stream token as ?token= (POST /executions/{id}/stream-token), for a browser\'s EventSource.'
          : 'with IAM auth there is no streaming URL.'),
      parameters: [...ID, PARAMETERS.LastEventId, ...queryParameters(streamQuery('last_event_id'), { last_event_id: 'Resume after this event.' })],
      answers: {
        200: { description: 'Events.', content: EVENT_STREAM },
        204: { description: 'Ended: stop reconnecting.' },
      },
      problems: ['BadRequest', context.options.auth === 'api-key' ? 'UnauthorizedStream' : 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
      ...(context.options.eventsStreamServers.length > 0 ? { servers: [...context.options.servers, ...context.options.eventsStreamServers] } : {}),
      ...(context.options.auth === 'api-key' ? { security: [{ apiKey: [] }, { streamToken: [] }] } : {}),
    },
    'GET /executions/{id}/status.stream': {
      id: 'streamStatus',
      tag: 'events',
      summary: 'Julep\'s stream of status events',
      description:
        'Without Accept: text/event-stream, answered whole once it ends (or 408).',
      parameters: [...ID, PARAMETERS.LastEventId, ...queryParameters(streamQuery('last_event_id'), { last_event_id: 'Resume after this event.' })],
      answers: {
        200: { description: 'Status events.', content: EVENT_STREAM },
        204: { description: 'Ended.' },
      },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'RequestTimeout', 'ServiceUnavailable'],
    },
    'GET /executions/{id}/transitions.stream': {
      id: 'streamTransitions',
      tag: 'events',
      summary: 'Julep\'s stream of transitions',
      description:
        'Without Accept: text/event-stream, answered whole once it ends (or 408).',
      parameters: [...ID, PARAMETERS.LastEventId, ...queryParameters(streamQuery('next_page_token'), { next_page_token: 'Resume after this row.' })],
      answers: {
        200: { description: 'Transition events.', content: EVENT_STREAM },
        204: { description: 'Ended.' },
      },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'RequestTimeout', 'ServiceUnavailable'],
    },
    'POST /executions/{id}/stream-token': {
      id: 'createStreamToken',
      tag: 'events',
      summary: 'Get a read-only token for an execution\'s events',
      description: 'For a browser\'s EventSource: it reads this execution\'s events until it expires.',
      parameters: ID,
      body: jsonBody(describedBody(STREAM_TOKEN_SCHEMA, { ttl_seconds: 'Seconds (default 900).' }), false, 'Optional.'),
      answers: {
        201: withExample(jsonAnswer('The token.', 'StreamToken'), {
          token: EXAMPLE_TOKEN,
          expires_at: '2026-01-02T03:19:05.000Z',
          events_url: `${urlOf(context.options.eventsStreamServers[0]) ?? context.base}/executions/${EXAMPLE_ID}/events?token=${EXAMPLE_TOKEN}`,
        }),
      },
      problems: [...WRITE_PROBLEMS, 'NotFound', 'ServiceUnavailable'],
    },
    'POST /executions/batch': {
      id: 'createExecutionBatch',
      tag: 'executions',
      summary: `Start up to ${MAX_BATCH_ITEMS} executions in one request`,
      description:
        'Each item is created on its own, as POST /executions would. 200: all succeeded; 207: some; 422 or 503: none.',
      parameters: [PARAMETERS.IdempotencyKey],
      body: jsonBody(
        {
          ...BATCH_SCHEMA,
          properties: {
            items: {
              ...(BATCH_SCHEMA.properties.items as Json),
              items: describedForm(
                BATCH_ITEM_SCHEMA,
                {
                  task_id: 'The task to run.',
                  input: 'Its input: see the task\'s input_schema.',
                  metadata: METADATA_WORDS,
                  tags: TAG_WORDS,
                  idempotency_key: 'Its own Idempotency-Key.',
                },
                { input: oneOfSchemas(context.inputs, false, '') },
              ),
              description: 'The executions to start.',
            },
          },
        },
        true,
        'The items.',
        examplesOf(context, (task) => ({ items: [{ task_id: task.id, input: exampleInput(task), tags: ['nightly'] }] })),
      ),
      answers: {
        200: jsonAnswer('Every item was created (201) or replayed (200).', 'BatchResult'),
        207: jsonAnswer('Some items were created; the others say why not.', 'BatchResult'),
      },
      problems: [...WRITE_PROBLEMS, 'BatchFailed', 'ServiceUnavailable'],
    },
    'PUT /executions/{id}/tags': {
      id: 'replaceExecutionTags',
      tag: 'executions',
      summary: 'Replace an execution\'s tags',
      description: 'Any execution, finished ones too. [] removes every tag.',
      parameters: ID,
      body: jsonBody(describedBody(TAGS_BODY_SCHEMA, { tags: TAG_WORDS }), true, 'The new tags.', { tags: { value: { tags: ['nightly', 'team:ops'] } } }),
      answers: { 200: jsonAnswer('The execution, with its new tags.', 'Execution') },
      problems: [...WRITE_PROBLEMS, 'NotFound', 'ServiceUnavailable'],
    },
    'PUT /executions/{id}': {
      id: 'updateExecution',
      tag: 'executions',
      summary: 'Resume or cancel an execution (Julep)',
      parameters: ID,
      body: jsonBody(
        describedBody(CHANGE_STATUS_SCHEMA, { status: 'running resumes, cancelled cancels.', input: resumeWords(), reason: 'Why.' }, { input: resumeInput(context) }),
        true,
        'The change.',
        { resume: { value: { status: 'running', input: { approved: true } } }, cancel: { value: { status: 'cancelled', reason: 'not needed' } } },
      ),
      answers: { 200: jsonAnswer('The execution.', 'Execution') },
      problems: [...WRITE_PROBLEMS, 'NotFound', 'Conflict', 'Gone', 'ServiceUnavailable'],
    },
    'POST /executions/{id}/resume': {
      id: 'resumeExecution',
      tag: 'executions',
      summary: 'Resume a waiting execution',
      parameters: ID,
      body: jsonBody(describedBody(RESUME_SCHEMA, { input: resumeWords() }, { input: resumeInput(context) }), true, 'The input.', {
        resume: { value: { input: { approved: true, comment: 'ship it' } } },
      }),
      answers: { 200: jsonAnswer('The execution.', 'Execution') },
      problems: [...WRITE_PROBLEMS, 'NotFound', 'Conflict', 'Gone', 'ServiceUnavailable'],
    },
    'POST /executions/{id}/cancel': {
      id: 'cancelExecution',
      tag: 'executions',
      summary: 'Cancel an execution',
      description: '409 once every step has completed.',
      parameters: ID,
      body: jsonBody(describedBody(CANCEL_SCHEMA, { reason: 'Why.' }), false, 'Optional.'),
      answers: { 200: jsonAnswer('The execution.', 'Execution') },
      problems: [...WRITE_PROBLEMS, 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'POST /executions/{id}/retry': {
      id: 'retryExecution',
      tag: 'executions',
      summary: 'Retry a failed execution from the step that failed',
      description:
        'Failed only (else 409); completed steps keep their results and do not run again (Step Functions RedriveExecution: ' +
        'within 14 days of the failure, same definition and input). 409 when Step Functions refuses; the execution stays failed. ' +
        'No body (an empty object is accepted); any field is a 400: replay to change the input.',
      parameters: ID,
      answers: { 200: jsonAnswer('The execution, running again.', 'Execution') },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'POST /executions/{id}/replay': {
      id: 'replayExecution',
      tag: 'executions',
      summary: 'Start a new execution with the same input (or another)',
      description: 'Any status. The new execution names this one in replayed_from.',
      parameters: [...ID, PARAMETERS.IdempotencyKey],
      body: jsonBody(
        describedBody(REPLAY_SCHEMA, { input: 'Replaces its input: see the task\'s input_schema.', metadata: METADATA_WORDS }, {
          input: oneOfSchemas(context.inputs, false, ''),
        }),
        false,
        'Optional: what to change.',
        { same: { value: {} }, other: { value: { metadata: { reason: 'replay' } } } },
      ),
      answers: createAnswers(context),
      problems: [...WRITE_PROBLEMS, 'NotFound', 'IdempotencyKeyReused', 'ServiceUnavailable'],
    },
    'POST /callbacks/{token}': {
      id: 'resumeByLink',
      tag: 'executions',
      summary: 'Resume a wait through its link (no credentials)',
      description:
        'A wait row\'s callback_url: once (then 409); a dead link is a 404.',
      parameters: [PARAMETERS.CallbackToken],
      body: { required: false, description: 'The resume input itself.', content: { 'application/json': { schema: resumeInput(context) } } },
      answers: { 200: jsonAnswer('Resumed.', 'CallbackResult') },
      problems: ['BadRequest', 'PayloadTooLarge', 'UnsupportedMediaType', 'NotFound', 'Conflict', 'ServiceUnavailable'],
      security: [],
    },
    'POST /webhooks': {
      id: 'createWebhook',
      tag: 'webhooks',
      summary: 'Subscribe an endpoint to execution events',
      body: jsonBody(
        describedBody(subscriptionSchema(new Set(context.options.tasks.map((task) => task.id))), {
          url: 'A public https endpoint.',
          events: 'The events it gets.',
          task_id: 'Only this task\'s.',
          description: 'Yours.',
        }),
        true,
        'The subscription.',
        { subscribe: { value: { url: 'https://hooks.example.com/executions', events: ['execution.succeeded', 'execution.failed'] } } },
      ),
      answers: { 201: jsonAnswer('With its secret (shown once).', 'Webhook', { headers: { Location: headerRef('Location') } }) },
      problems: [...WRITE_PROBLEMS, 'Conflict', 'ServiceUnavailable'],
    },
    'GET /webhooks': {
      id: 'listWebhooks',
      tag: 'webhooks',
      summary: 'List the tenant\'s subscriptions',
      answers: { 200: jsonAnswer('Every subscription.', 'WebhookList') },
      problems: ['Unauthorized', 'ServiceUnavailable'],
    },
    'GET /webhooks/{id}': {
      id: 'getWebhook',
      tag: 'webhooks',
      summary: 'Get a subscription',
      parameters: [PARAMETERS.WebhookId],
      answers: { 200: jsonAnswer('The subscription.', 'Webhook') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'DELETE /webhooks/{id}': {
      id: 'deleteWebhook',
      tag: 'webhooks',
      summary: 'Delete a subscription',
      parameters: [PARAMETERS.WebhookId],
      answers: { 204: { description: 'Deleted.' } },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'POST /webhooks/{id}/rotate-secret': {
      id: 'rotateWebhookSecret',
      tag: 'webhooks',
      summary: 'Rotate a subscription\'s secret',
      description: 'The old one signs too for 24 hours.',
      parameters: [PARAMETERS.WebhookId],
      answers: { 200: jsonAnswer('With its new secret.', 'Webhook') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'POST /webhooks/{id}/test': {
      id: 'testWebhook',
      tag: 'webhooks',
      summary: 'Send a webhook.test event',
      parameters: [PARAMETERS.WebhookId],
      answers: { 202: jsonAnswer('Queued.', 'TestDelivery') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /webhooks/{id}/deliveries': {
      id: 'listDeliveries',
      tag: 'webhooks',
      summary: 'List a subscription\'s deliveries',
      parameters: [PARAMETERS.WebhookId, ...queryParameters(DELIVERY_LIST_QUERY, { limit: PAGE_WORDS.limit, cursor: PAGE_WORDS.cursor })],
      answers: { 200: jsonAnswer('Deliveries.', 'DeliveryPage') },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /webhooks/{id}/deliveries/{delivery_id}': {
      id: 'getDelivery',
      tag: 'webhooks',
      summary: 'Get a delivery, with the payload it sends',
      parameters: [PARAMETERS.WebhookId, PARAMETERS.DeliveryId],
      answers: { 200: jsonAnswer('The delivery.', 'Delivery') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'POST /webhooks/{id}/deliveries/{delivery_id}/redeliver': {
      id: 'redeliver',
      tag: 'webhooks',
      summary: 'Send a delivered or failed delivery again',
      description: '409 while its attempts are under way.',
      parameters: [PARAMETERS.WebhookId, PARAMETERS.DeliveryId],
      answers: { 202: jsonAnswer('Queued again.', 'Delivery') },
      problems: ['Unauthorized', 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'POST /bulk-actions': {
      id: 'createBulkAction',
      tag: 'bulk',
      summary: 'Act on every execution a filter matches, as a job',
      description:
        `Accepted (202) and done page by page. Matches only executions created up to the job's creation; at most max_items (default ${BULK_LIMITS.defaultMaxItems}, at most ${BULK_LIMITS.maxItems}); ` +
        `at most ${BULK_LIMITS.concurrentJobs} queued or running per tenant (409).`,
      parameters: [PARAMETERS.BulkIdempotencyKey],
      body: jsonBody(
        {
          ...describedBody(bulkActionSchema(new Set(context.options.tasks.map((task) => task.id))), {
            action: 'What to do to each execution, as its single route does: cancel, retry (not failed: skipped) or replay (same input and metadata).',
            filter: 'Which executions: all of these that are given (task_id, status, created_after, created_before).',
            reason: 'Why (each cancel\'s reason).',
            max_items: `The most executions to act on (default ${BULK_LIMITS.defaultMaxItems}).`,
          }),
        },
        true,
        'The job.',
        { cancel: { value: { action: 'cancel', filter: { task_id: context.options.tasks[0]?.id ?? 'my-task', status: 'awaiting_input' }, reason: 'Superseded.' } } },
      ),
      answers: {
        202: jsonAnswer('Accepted.', 'BulkAction', { headers: { Location: headerRef('Location') } }),
        200: jsonAnswer('The job of this Idempotency-Key.', 'BulkAction', { headers: { Location: headerRef('Location') } }),
      },
      problems: [...WRITE_PROBLEMS, 'Conflict', 'IdempotencyKeyReused', 'ServiceUnavailable'],
    },
    'GET /bulk-actions': {
      id: 'listBulkActions',
      tag: 'bulk',
      summary: 'List the tenant\'s bulk actions, newest first',
      parameters: queryParameters(BULK_LIST_QUERY, { limit: PAGE_WORDS.limit, cursor: PAGE_WORDS.cursor }),
      answers: { 200: jsonAnswer('Jobs.', 'BulkActionPage') },
      problems: ['BadRequest', 'Unauthorized', 'ServiceUnavailable'],
    },
    'GET /bulk-actions/{id}': {
      id: 'getBulkAction',
      tag: 'bulk',
      summary: 'Get a bulk action and its progress',
      parameters: [PARAMETERS.BulkId],
      answers: { 200: jsonAnswer('The job.', 'BulkAction') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /bulk-actions/{id}/items': {
      id: 'listBulkActionItems',
      tag: 'bulk',
      summary: 'List what a bulk action did to each execution',
      parameters: [PARAMETERS.BulkId, ...queryParameters(BULK_LIST_QUERY, { limit: PAGE_WORDS.limit, cursor: PAGE_WORDS.cursor })],
      answers: { 200: jsonAnswer('Item results, by execution id.', 'BulkItemPage') },
      problems: ['BadRequest', 'Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'POST /bulk-actions/{id}/cancel': {
      id: 'cancelBulkAction',
      tag: 'bulk',
      summary: 'Stop a bulk action',
      description: 'What it already did stays done; a page in progress (at most 50 executions) completes. 409 once it has ended.',
      parameters: [PARAMETERS.BulkId],
      answers: { 200: jsonAnswer('Cancelled.', 'BulkAction') },
      problems: ['Unauthorized', 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'POST /schedules': {
      id: 'createSchedule',
      tag: 'schedules',
      summary: 'Run a task on a recurring schedule',
      description:
        'Exactly one of cron (EventBridge\'s six fields, "minutes hours day-of-month month day-of-week year", bare or as cron(...); ' +
        'one of day-of-month and day-of-week must be ?) and rate ("rate(5 minutes)", at least 1 minute). Each run is an execution ' +
        'of the task with this input, its schedule_id set. At most 100 schedules per tenant (409 beyond).',
      body: jsonBody(
        describedBody(
          scheduleSchema(new Set(context.options.tasks.map((task) => task.id))),
          {
            task_id: 'The task each run runs.',
            cron: 'cron(m h dom mon dow y) or the six fields bare, e.g. "0 9 ? * MON-FRI *".',
            rate: 'rate(<n> minute[s]|hour[s]|day[s]), e.g. "rate(5 minutes)".',
            timezone: 'IANA time zone the cron expression is read in (default UTC), e.g. "Europe/Paris".',
            input: 'The input of each run: see the task\'s input_schema.',
            metadata: METADATA_WORDS,
            description: 'Yours.',
            start_date: 'No run before (ISO 8601 with a zone).',
            end_date: 'No run after (ISO 8601 with a zone; in the future).',
          },
          { input: oneOfSchemas(context.inputs, false, '') },
        ),
        true,
        'The schedule.',
        Object.fromEntries(
          context.options.tasks.map((task) => [task.id, { summary: task.id, value: { task_id: task.id, cron: '0 9 ? * MON-FRI *', timezone: 'Europe/Paris', input: exampleInput(task) } }]),
        ),
      ),
      answers: { 201: jsonAnswer('The schedule.', 'Schedule', { headers: { Location: headerRef('Location') } }) },
      problems: [...WRITE_PROBLEMS, 'Conflict', 'ServiceUnavailable'],
    },
    'GET /schedules': {
      id: 'listSchedules',
      tag: 'schedules',
      summary: 'List the tenant\'s schedules',
      parameters: queryParameters(SCHEDULE_LIST_QUERY, { limit: PAGE_WORDS.limit, cursor: PAGE_WORDS.cursor }),
      answers: { 200: jsonAnswer('Schedules.', 'SchedulePage') },
      problems: ['BadRequest', 'Unauthorized', 'ServiceUnavailable'],
    },
    'GET /schedules/{id}': {
      id: 'getSchedule',
      tag: 'schedules',
      summary: 'Get a schedule',
      parameters: [PARAMETERS.ScheduleId],
      answers: { 200: jsonAnswer('The schedule.', 'Schedule') },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'POST /schedules/{id}/pause': {
      id: 'pauseSchedule',
      tag: 'schedules',
      summary: 'Pause a schedule: no runs until it is resumed',
      description: 'Pausing a paused schedule answers it as it is. 409 while it is being deleted.',
      parameters: [PARAMETERS.ScheduleId],
      answers: { 200: jsonAnswer('The schedule.', 'Schedule') },
      problems: ['Unauthorized', 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'POST /schedules/{id}/resume': {
      id: 'resumeSchedule',
      tag: 'schedules',
      summary: 'Resume a paused schedule',
      description: 'Runs missed while it was paused are not made up. 409 while it is being deleted.',
      parameters: [PARAMETERS.ScheduleId],
      answers: { 200: jsonAnswer('The schedule.', 'Schedule') },
      problems: ['Unauthorized', 'NotFound', 'Conflict', 'ServiceUnavailable'],
    },
    'DELETE /schedules/{id}': {
      id: 'deleteSchedule',
      tag: 'schedules',
      summary: 'Delete a schedule (its runs stay)',
      parameters: [PARAMETERS.ScheduleId],
      answers: { 204: { description: 'Deleted.' } },
      problems: ['Unauthorized', 'NotFound', 'ServiceUnavailable'],
    },
    'GET /tasks': {
      id: 'listTasks',
      tag: 'tasks',
      summary: 'List the tasks',
      answers: { 200: jsonAnswer('Every task.', 'TaskPage') },
      problems: ['Unauthorized'],
    },
    'GET /tasks/{task_id}': {
      id: 'getTask',
      tag: 'tasks',
      summary: 'Get a task',
      parameters: [PARAMETERS.TaskId],
      // No example: a task's steps are shown to key holders only.
      answers: { 200: jsonAnswer('The task.', 'Task') },
      problems: ['Unauthorized', 'NotFound'],
    },
    'GET /health': health('health'),
    'GET /healthz': health('healthz'),
    'GET /openapi.json': {
      id: 'getOpenApiDocument',
      tag: 'service',
      summary: 'This document',
      description: 'This deployment\'s.',
      answers: { 200: { description: 'The document.', content: { 'application/json': { schema: { type: 'object', properties: { openapi: { const: '3.1.0' } }, required: ['openapi'] } } } } },
      problems: [],
      security: [],
    },
  };
}

function health(id: string): Operation {
  return {
    id,
    tag: 'service',
    summary: 'Health check (no credentials)',
    answers: {
      200: withExample(jsonAnswer('Ready.', 'Health'), { status: 'ok' }),
      503: withExample(jsonAnswer('Starting (local stack).', 'Health', { headers: { 'Retry-After': headerRef('RetryAfter') } }), { status: 'starting' }),
    },
    problems: [],
    security: [],
  };
}

function createAnswers(context: Context): Readonly<Record<string, Json>> {
  const headers = { headers: { Location: headerRef('Location') } };
  return {
    201: withExample(jsonAnswer('Started.', 'CreatedExecution', headers), exampleExecution(context)),
    200: jsonAnswer('The execution this Idempotency-Key started.', 'CreatedExecution', headers),
  };
}

function createWithTaskSchema(context: Context): Json {
  const words = {
    task_id: 'The task to run.',
    input: 'Its input: see the task\'s input_schema.',
    metadata: METADATA_WORDS,
    webhook_url: WEBHOOK_URL_WORDS,
    ...FLOW_WORDS,
  };
  const generic = describedBody(CREATE_WITH_TASK_SCHEMA, words);
  if (context.options.tasks.length === 0) return generic;
  // One form per task: its id, and its input schema.
  return {
    oneOf: context.options.tasks.map((task, index) =>
      describedForm(CREATE_WITH_TASK_SCHEMA, words, { task_id: { const: task.id }, input: context.inputs[index]! }),
    ),
  };
}

function exampleInput(task: CatalogueTask): unknown {
  return (task.view.input_schema as { examples?: unknown[] }).examples?.[0] ?? {};
}

function examplesOf(context: Context, value: (task: CatalogueTask) => unknown): Json {
  return Object.fromEntries(context.options.tasks.map((task) => [task.id, { summary: task.id, value: value(task) }]));
}

const resumeWords = () => 'The resume input: see the wait\'s input_schema.';

function resumeInput(context: Context): Json {
  return oneOfSchemas(context.resumes, context.anyWaitUnchecked, resumeWords());
}

/** A server's URL with its variables at their defaults, without a trailing slash (for examples). */
function urlOf(server: Server | undefined): string | undefined {
  return server?.url.replace(/\{(\w+)\}/g, (_, name: string) => server.variables?.[name]?.default ?? name).replace(/\/+$/, '');
}

// ---- The document ----------------------------------------------------------------------------

/**
 * A JSON Schema of the task catalogue relocated into the document's components: its `$schema` left
 * out (the document's dialect is draft 2020-12) and its local `$ref`s made to point under `at`.
 */
function relocated(schema: unknown, at: string): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key]) => key !== '$schema')
        .map(([key, value]) => [key, key === '$ref' && typeof value === 'string' && value.startsWith('#') ? `${at}${value.slice(1)}` : walk(value)]),
    );
  };
  return walk(schema) as JsonSchema;
}

const TAGS = [
  { name: 'executions', description: 'Executions.' },
  { name: 'events', description: 'Server-sent events.' },
  { name: 'tasks', description: 'Tasks.' },
  { name: 'webhooks', description: 'Webhooks.' },
  { name: 'bulk', description: 'Bulk actions.' },
  { name: 'schedules', description: 'Recurring schedules (EventBridge Scheduler): each run is an execution.' },
  { name: 'service', description: 'Health, this document.' },
];

/**
 * The OpenAPI 3.1 document of the API: every route of {@link ROUTES} but `$default` (with IAM auth
 * no stream-token route: it exists only with API keys), every parameter and body as the handlers
 * check them, every answer and problem, the deployment's tasks' input and resume schemas.
 */
export function openApiDocument(options: OpenApiOptions): Json {
  const schemas: Record<string, JsonSchema> = { ...RESPONSE_SCHEMAS };
  const inputs: JsonSchema[] = [];
  const resumes: JsonSchema[] = [];
  let anyWaitUnchecked = false;
  for (const task of options.tasks) {
    const name = `TaskInput.${task.id}` as const;
    schemas[name] = relocated(task.view.input_schema, `#/components/schemas/${name}`);
    inputs.push(ref(name));
    for (const step of task.view.steps) {
      if (step.kind !== 'wait') continue;
      if (step.input_schema === undefined) {
        anyWaitUnchecked = true;
        continue;
      }
      const resume = `ResumeInput.${task.id}.${step.name}` as const;
      schemas[resume] = relocated(step.input_schema, `#/components/schemas/${resume}`);
      resumes.push(ref(resume));
    }
  }
  const context: Context = { options, base: urlOf(options.servers[0]) ?? '', inputs, resumes, anyWaitUnchecked };
  const all = operations(context);
  const paths: Record<string, Record<string, Json>> = {};
  const used = new Set<string>();
  for (const routeKey of Object.values(ROUTES).flat() as RouteKey[]) {
    if (routeKey === '$default' || (options.auth === 'iam' && API_KEY_ONLY_ROUTES.includes(routeKey))) continue;
    const [method, route] = routeKey.split(' ') as [string, string];
    const operation = all[routeKey];
    const isPublic = PUBLIC_ROUTES.includes(routeKey);
    const limited = rateLimitClassOf(routeKey) !== undefined;
    const problems = [...operation.problems, ...(isPublic ? [] : ['Unauthorized' as const]), limited ? ('RateLimited' as const) : ('TooManyRequests' as const), 'InternalError' as const];
    const responses: Record<string, Json> = limited
      ? Object.fromEntries(Object.entries(operation.answers).map(([status, answer]) => [status, { ...answer, headers: { ...(answer.headers as Json | undefined), ...RATE_LIMIT_HEADERS } }]))
      : { ...operation.answers };
    for (const problem of problems) {
      const status = problemStatus(problem, options.auth);
      if (responses[status] !== undefined) continue;
      responses[status] = { $ref: `#/components/responses/${problem}` };
      used.add(problem);
    }
    (paths[route] ??= {})[method.toLowerCase()] = {
      operationId: operation.id,
      tags: [operation.tag],
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      ...(operation.parameters && operation.parameters.length > 0 ? { parameters: operation.parameters } : {}),
      ...(operation.body ? { requestBody: operation.body } : {}),
      responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
      ...(operation.security ? { security: operation.security } : {}),
      ...(operation.servers ? { servers: operation.servers } : {}),
    };
  }
  if (options.auth !== 'iam') {
    // Not a route group of ROUTES (no JSON, no tenant): the dashboard's one HTML page.
    (paths['/dashboard'] ??= {}).get = {
      operationId: 'getDashboard',
      tags: ['service'],
      summary: 'The web dashboard: one HTML page (no credentials; it asks for the API key itself)',
      responses: {
        '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } },
        '429': { $ref: '#/components/responses/TooManyRequests' },
        '500': { $ref: '#/components/responses/InternalError' },
      },
      security: [],
    };
    used.add('TooManyRequests').add('InternalError');
  }
  const allProblems = problemResponses(options.auth);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Async executions',
      version: API_VERSION,
      description:
        'Start long-running tasks over HTTPS, follow them, list them, resume them when they wait for input, and cancel them. ' +
        'The executions routes are compatible with the Julep SDK. Errors are RFC 9457 problem+json; every JSON answer carries Cache-Control: no-store. ' +
        'Any other path answers a problem+json 404.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: options.servers,
    security: [options.auth === 'api-key' ? { apiKey: [] } : { sigv4: [] }],
    tags: TAGS,
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(Object.entries(allProblems).filter(([name]) => used.has(name))),
      headers: HEADERS,
      securitySchemes:
        options.auth === 'api-key'
          ? {
              apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>.' },
              streamToken: {
                type: 'apiKey',
                in: 'query',
                name: 'token',
                description: 'A stream token: one execution\'s events only.',
              },
            }
          : {
              sigv4: {
                type: 'apiKey',
                in: 'header',
                name: 'Authorization',
                description: 'AWS Signature Version 4.',
              },
            },
    },
  };
}

/** The status a problem is answered with (without a signature, IAM auth is API Gateway's 403). */
function problemStatus(name: ProblemName, auth: OpenApiOptions['auth']): string {
  if (name === 'Unauthorized' && auth === 'iam') return '403';
  const statuses: { readonly [K in ProblemName]: number } = {
    BadRequest: 400,
    Unauthorized: 401,
    UnauthorizedStream: 401,
    NotFound: 404,
    RequestTimeout: 408,
    Conflict: 409,
    Gone: 410,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    IdempotencyKeyReused: 422,
    BatchFailed: 422,
    TooManyRequests: 429,
    RateLimited: 429,
    InternalError: 500,
    ServiceUnavailable: 503,
  };
  return String(statuses[name]);
}

/** The route key of each operation of a document (`GET /executions/{id}`), for tests and tools. */
export function routeKeysOf(document: Json): string[] {
  const paths = document.paths as Readonly<Record<string, Json>>;
  return Object.entries(paths).flatMap(([route, item]) => Object.keys(item).filter((method) => method !== 'servers' && method !== 'parameters').map((method) => `${method.toUpperCase()} ${route}`));
}
