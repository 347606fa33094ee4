import { BULK_ACTIONS, BULK_JOB_ID_PATTERN, BULK_JOB_STATUSES, type BulkItemView, type BulkJobView, type BulkProgress } from '../domain/bulk.js';
import type { ExecutionError, StepRef } from '../domain/execution.js';
import { PRIORITY } from '../domain/admission.js';
import { BATCH_ID_PATTERN, EXECUTION_ID_PATTERN } from '../domain/ids.js';
import { TAG_PATTERN, TAGS_SCHEMA } from '../domain/tags.js';
import type { JsonSchema } from '../domain/json-schema.js';
import { EXECUTION_STATUSES, TRANSITION_TYPES } from '../domain/status.js';
import type {
  CallbackResultView,
  CreatedExecutionView,
  DeliveryAttemptView,
  DeliveryView,
  ExecutionView,
  Progress,
  QueueView,
  StreamTokenView,
  TestDeliveryView,
  TransitionView,
  WebhookView,
  WorkflowPosition,
  BatchExecutionView,
  BatchItemResult,
  BatchResult,
} from '../domain/views.js';
import { SCHEDULE_ID_PATTERN, type ScheduleView } from '../domain/schedules.js';
import { DELIVERY_ID_PATTERN, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, WEBHOOK_ID_PATTERN } from '../domain/webhooks.js';
import type { StepView, TaskView } from '../tasks/catalogue.js';
import type { LambdaStep } from '../tasks/dsl.js';

// The JSON Schemas of what the API answers: the views (lambdas/domain/views.ts), pages of them,
// and problems. The OpenAPI document publishes them as its components, and the contract test
// (test/integration/openapi-contract.test.ts) validates every real answer against them. Each
// object schema is built from its view's type: the type checker refuses a view field without a
// schema, or a schema of a field the view lacks; every object is closed (`additionalProperties:
// false`), so an answer with a field no schema names fails the contract test. Only the catalogue
// function, which serves the document, bundles this module.

/** An object schema: a property for each key of `T`, required but for `optional` ones, and no other. */
type PropertiesOf<T> = { readonly [K in keyof T]-?: JsonSchema };

/** The keys of `T` that may be absent. */
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

function object<T>(description: string, properties: PropertiesOf<T>, optional: readonly OptionalKeys<T>[] = []): JsonSchema {
  const required = Object.keys(properties).filter((key) => !(optional as readonly string[]).includes(key));
  return { type: 'object', description, properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

/** A reference to the schema `name` of the document's components. */
export function ref(name: SchemaName): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

/** `schema` or null: a type list or an enum with null where it can (what client generators read best), else anyOf. */
function nullable(schema: JsonSchema, description?: string): JsonSchema {
  const words = description ? { description } : {};
  if (typeof schema === 'object' && typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'], ...words };
  if (typeof schema === 'object' && Array.isArray(schema.enum)) return { ...schema, enum: [...(schema.enum as unknown[]), null], ...words };
  return { anyOf: [schema, { type: 'null' }], ...words };
}
const text = (description: string, extra: Readonly<Record<string, unknown>> = {}): JsonSchema => ({ type: 'string', description, ...extra });
const integer = (description: string, minimum = 0): JsonSchema => ({ type: 'integer', minimum, description });
const instant = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });
const link = (description: string): JsonSchema => ({ type: 'string', format: 'uri', description });
const json = (description: string): JsonSchema => ({ description });
const executionId = (description: string): JsonSchema => ({ type: 'string', pattern: EXECUTION_ID_PATTERN.source, description });
const metadata: JsonSchema = { type: 'object', description: 'Metadata, as sent.' };
const status = (description: string): JsonSchema => ({ enum: [...EXECUTION_STATUSES], description });

/** Every kind of step a task view shows (the type checker keeps this complete). */
const STEP_KINDS: { readonly [K in StepView['kind']]: true } = {
  step: true,
  wait: true,
  invoke: true,
  'run-task': true,
  sleep: true,
  parallel: true,
  map: true,
  choice: true,
};

type Retry = Exclude<LambdaStep['retry'], false>;

const steps = (description: string): JsonSchema => ({ type: 'array', items: ref('Step'), description });

const EXECUTION: PropertiesOf<ExecutionView> = {
  id: executionId('Its id (a UUIDv7).'),
  task_id: text('The task it runs.'),
  status: status('Its status; succeeded and cancelled are final; failed is final unless retried (POST /executions/{id}/retry).'),
  input: json('Its input, as sent; null when larger than 64 KiB (then input_url links to it).'),
  output: json('Its output once it succeeded; null when larger than 64 KiB (then output_url links to it).'),
  input_url: nullable({ type: 'string', format: 'uri' }, 'A presigned link (valid 15 minutes) to an input larger than 64 KiB, from GET /executions/{id} and the lists; else null.'),
  output_url: nullable({ type: 'string', format: 'uri' }, 'A presigned link (valid 15 minutes) to an output larger than 64 KiB, from GET /executions/{id} and the lists; else null.'),
  error: nullable({ type: 'string' }, 'Why it failed, in words.'),
  error_details: nullable(ref('ExecutionError'), 'Why it failed, as data.'),
  metadata,
  progress: ref('Progress'),
  transition_count: integer('Rows in its history.', 1),
  created_at: instant('When it was created.'),
  updated_at: instant('When it last changed.'),
  started_at: nullable({ type: 'string', format: 'date-time' }, 'When it started.'),
  completed_at: nullable({ type: 'string', format: 'date-time' }, 'When it ended.'),
  cancel_reason: nullable({ type: 'string' }, 'Why it was cancelled.'),
  parent_execution_id: nullable({ type: 'string', pattern: EXECUTION_ID_PATTERN.source }, 'The execution that started it (runTask).'),
  schedule_id: nullable({ type: 'string', pattern: SCHEDULE_ID_PATTERN.source }, 'The recurring schedule it is a run of.'),
  console_url: link('Its Step Functions execution (AWS console).'),
  status_url: link('It, on the API.'),
  events_url: link('Its server-sent events.'),
  webhook_url: nullable({ type: 'string', format: 'uri' }, 'The origin of its own webhook endpoint.'),
  tags: nullable(TAGS_SCHEMA, 'Its tags (set on create, replaced by PUT /executions/{id}/tags), or null for none.'),
  batch_id: nullable({ type: 'string', pattern: BATCH_ID_PATTERN }, 'The batch that created it (POST /executions/batch), or null.'),
  replayed_from: nullable({ type: 'string', pattern: EXECUTION_ID_PATTERN.source }, 'The execution it replays (POST /executions/{id}/replay).'),
  retry_count: nullable({ type: 'integer', minimum: 1 }, 'Times it was retried from its failed step (POST /executions/{id}/retry); null if never.'),
  priority: nullable({ type: 'integer', minimum: PRIORITY.min, maximum: PRIORITY.max }, 'Its priority (5 is the highest), when the create gave one.'),
  concurrency_key: nullable({ type: 'string', pattern: TAG_PATTERN }, 'Its concurrency key.'),
  start_at: nullable({ type: 'string', format: 'date-time' }, 'When a delayed execution starts (it is queued until then).'),
  queue: nullable(ref('Queue'), 'GET /executions/{id} only: why a queued execution waits, and where; null when it does not wait.'),
};

/** The names of the response schemas. */
export type ResponseSchemaName =
  | 'Execution'
  | 'CreatedExecution'
  | 'Queue'
  | 'QueueLimit'
  | 'ExecutionError'
  | 'StepRef'
  | 'Progress'
  | 'Transition'
  | 'WorkflowPosition'
  | 'ExecutionPage'
  | 'BatchResult'
  | 'BatchItemResult'
  | 'BatchExecution'
  | 'TransitionPage'
  | 'Task'
  | 'TaskPage'
  | 'Step'
  | 'RetryPolicy'
  | 'ChoiceCase'
  | 'Condition'
  | 'StreamToken'
  | 'CallbackResult'
  | 'Webhook'
  | 'WebhookList'
  | 'Delivery'
  | 'DeliveryAttempt'
  | 'DeliveryPage'
  | 'TestDelivery'
  | 'BulkAction'
  | 'BulkFilter'
  | 'BulkProgress'
  | 'BulkActionPage'
  | 'BulkItem'
  | 'BulkItemPage'
  | 'Schedule'
  | 'SchedulePage'
  | 'Health'
  | 'Problem'
  | 'GatewayError';

/** Every response schema of the document's components, by name. */
export const RESPONSE_SCHEMAS: Readonly<Record<ResponseSchemaName, JsonSchema>> = {
  Execution: object<ExecutionView>('An execution: one run of a task.', EXECUTION, ['queue']),
  Queue: object<QueueView>('Why a queued execution waits, and where it stands.', {
    reason: {
      enum: ['start_at', 'tenant_limit', 'task_limit', 'key_limit', 'admitting', 'starting'],
      description:
        'start_at: delayed until its start time; tenant_limit, task_limit, key_limit: that limit of running executions is reached; ' +
        'admitting: a slot is free and admission is taking it; starting: admitted, its state machine is starting.',
    },
    position: nullable({ type: 'integer', minimum: 1 }, 'In its tenant\'s queue, 1 starts next (priority, then first in first out); null when not in the queue.'),
    start_at: nullable({ type: 'string', format: 'date-time' }, 'When a delayed execution becomes due.'),
    limit: nullable(ref('QueueLimit'), 'The limit that holds it back.'),
  }),
  QueueLimit: object<NonNullable<QueueView['limit']>>('A limit of running executions and how many run in its scope.', {
    scope: text('TENANT, TASK#<task id> or KEY#<concurrency key>.'),
    limit: integer('Most executions that may run in the scope.', 1),
    running: integer('Executions running in the scope now.'),
  }),
  CreatedExecution: object<CreatedExecutionView>(
    'An execution, as created.',
    {
      ...EXECUTION,
      webhook_secret: text('Signs the events of its webhook_url; shown here only.', { pattern: '^whsec_' }),
    },
    ['webhook_secret', 'queue'],
  ),
  ExecutionError: object<ExecutionError>('Why an execution failed.', {
    name: text('The error name (States.Timeout, a step\'s own…).'),
    message: text('In words.'),
    step: ref('StepRef'),
  }, ['step']),
  StepRef: object<StepRef>('A top-level step of a task.', { index: integer('Its index (0-based).'), name: text('Its name.') }),
  Progress: object<Progress>('How far an execution has come.', {
    current_step: integer('Index of the step in progress, or the last reached.'),
    step_name: text('Its name.'),
    completed_steps: integer('Top-level steps completed.'),
    total_steps: integer('Top-level steps of the task.', 1),
    percentage: { type: 'number', minimum: 0, maximum: 100, description: '0 to 100.' },
    message: nullable({ type: 'string' }, 'The step\'s last progress message.'),
  }),
  Transition: object<TransitionView>('A row of an execution\'s history.', {
    id: executionId('The transition id.'),
    execution_id: executionId('Its execution.'),
    seq: integer('1, 2, 3…', 1),
    type: { enum: [...TRANSITION_TYPES], description: 'What happened.' },
    from: nullable({ enum: [...EXECUTION_STATUSES] }, 'The status before.'),
    to: status('The status after.'),
    step: nullable(ref('StepRef'), 'Its step.'),
    scope: nullable({ type: 'string' }, 'Where nested work ran (map[3]/branch[1]).'),
    output: json('A step output, resume input or error; null when larger than 64 KiB (then output_url links to it).'),
    output_url: nullable({ type: 'string', format: 'uri' }, 'A presigned link (valid 15 minutes) to a value larger than 64 KiB; else null.'),
    metadata,
    current: ref('WorkflowPosition'),
    next: nullable(ref('WorkflowPosition'), 'What runs next (Julep).'),
    step_label: nullable({ type: 'string' }, 'Its step\'s name (Julep).'),
    callback_url: nullable({ type: 'string', format: 'uri' }, 'A wait row\'s resume link.'),
    created_at: instant('When it was recorded.'),
    updated_at: instant('As created_at.'),
  }),
  WorkflowPosition: object<WorkflowPosition>('Julep\'s pointer to a place in a workflow.', {
    workflow: text('The task id.'),
    step: integer('The step\'s index in its sequence.'),
    scope_id: text('The execution id (/scope in a branch).'),
  }),
  ExecutionPage: page('Execution', 'Executions.'),
  BatchResult: object<BatchResult>('The outcome of a batch: one result per item, in request order.', {
    batch_id: { type: 'string', pattern: BATCH_ID_PATTERN, description: 'The batch (GET /executions?batch_id= lists its executions).' },
    succeeded: integer('Items created (201) or replayed (200).'),
    failed: integer('Items that failed.'),
    items: { type: 'array', items: ref('BatchItemResult'), description: 'One per item, in request order.' },
  }),
  BatchItemResult: object<BatchItemResult>('The outcome of one item of a batch.', {
    index: integer('Its position in the request\'s items.'),
    status: integer('201 created, 200 replayed (its Idempotency-Key), else its error\'s status.', 200),
    execution: ref('BatchExecution'),
    error: ref('Problem'),
  }, ['execution', 'error']),
  BatchExecution: object<BatchExecutionView>('An execution a batch created (or replayed): GET its status_url for the whole of it.', {
    id: EXECUTION.id!,
    task_id: EXECUTION.task_id!,
    status: EXECUTION.status!,
    created_at: EXECUTION.created_at!,
    status_url: EXECUTION.status_url!,
    tags: EXECUTION.tags!,
    batch_id: EXECUTION.batch_id!,
  }),
  TransitionPage: page('Transition', 'Transitions.'),
  Task: object<TaskView>('A task.', {
    id: text('Its id.'),
    description: text('What it does.'),
    kind: text('A label.'),
    input_schema: { type: ['object', 'boolean'], description: 'The JSON Schema of its input, with examples.' },
    steps: steps('Its steps, in order.'),
  }),
  TaskPage: page('Task', 'Every task.'),
  Step: object<StepView>('A step of a task.', {
    index: integer('Its index.'),
    name: text('Its name.'),
    kind: { enum: Object.keys(STEP_KINDS), description: 'What it does.' },
    timeout_seconds: integer('Seconds an attempt may take.', 1),
    retry: { anyOf: [ref('RetryPolicy'), { const: false }], description: 'Its retries.' },
    prompt: text('What a wait asks for.'),
    input_schema: { type: ['object', 'boolean'], description: 'A wait\'s resume input schema.' },
    task_id: text('run-task: the child task.'),
    path: text('A dotted path in the step input.'),
    seconds: integer('sleep: fixed seconds.', 1),
    max_concurrency: integer('map: items at once.', 1),
    distributed: { type: 'boolean', description: 'map: a Distributed Map.' },
    branches: { type: 'array', items: steps('A branch.'), description: 'parallel: its branches.' },
    steps: steps('map: steps per item.'),
    cases: { type: 'array', items: ref('ChoiceCase'), description: 'choice: its cases.' },
    otherwise: steps('choice: else.'),
  }, ['timeout_seconds', 'retry', 'prompt', 'input_schema', 'task_id', 'path', 'seconds', 'max_concurrency', 'distributed', 'branches', 'steps', 'cases', 'otherwise']),
  RetryPolicy: object<Retry>('Retries.', {
    maxAttempts: integer('Retries after the first attempt.'),
    intervalSeconds: integer('Seconds before the first retry.', 1),
    backoffRate: { type: 'number', minimum: 1, description: 'Interval multiplier.' },
    maxDelaySeconds: integer('Interval cap.', 1),
    errors: { type: 'array', items: { type: 'string' }, description: 'Error names retried.' },
  }),
  ChoiceCase: { type: 'object', properties: { when: ref('Condition'), steps: steps('Run when it holds.') }, required: ['when', 'steps'], additionalProperties: false },
  Condition: {
    description: 'A test of the step input.',
    anyOf: [
      comparison('equals', { type: ['string', 'number', 'boolean'] }),
      comparison('greaterThan', { type: 'number' }),
      comparison('greaterThanOrEquals', { type: 'number' }),
      comparison('lessThan', { type: 'number' }),
      comparison('lessThanOrEquals', { type: 'number' }),
      comparison('present', { type: 'boolean' }),
      { type: 'object', properties: { and: { type: 'array', items: ref('Condition') } }, required: ['and'], additionalProperties: false },
      { type: 'object', properties: { or: { type: 'array', items: ref('Condition') } }, required: ['or'], additionalProperties: false },
      { type: 'object', properties: { not: ref('Condition') }, required: ['not'], additionalProperties: false },
    ],
  },
  StreamToken: object<StreamTokenView>('A read-only token for one execution\'s events.', {
    token: text('Send it as ?token=.'),
    expires_at: instant('When it stops working.'),
    events_url: link('Its events, with the token.'),
  }),
  CallbackResult: object<CallbackResultView>('A resume link\'s answer.', {
    resumed: { const: true },
    execution_id: executionId('The execution it resumed.'),
    step: ref('StepRef'),
  }),
  Webhook: object<WebhookView>('A webhook subscription.', {
    id: text('The subscription id.', { pattern: WEBHOOK_ID_PATTERN.source }),
    url: link('Its endpoint.'),
    events: { type: 'array', items: { enum: [...WEBHOOK_EVENT_TYPES] }, minItems: 1, description: 'The events it gets.' },
    task_id: nullable({ type: 'string' }, 'Only this task\'s.'),
    description: nullable({ type: 'string' }, 'Its description.'),
    status: { enum: ['enabled', 'failing'], description: 'failing: an event ran out of attempts.' },
    failing_since: nullable({ type: 'string', format: 'date-time' }, 'Since when.'),
    created_at: instant('When it was made.'),
    updated_at: instant('When it last changed.'),
    deliveries_url: link('Its deliveries.'),
    secret: text('Its signing secret: shown once.', { pattern: '^whsec_' }),
  }, ['secret']),
  WebhookList: {
    type: 'object',
    description: 'Every subscription.',
    properties: { items: { type: 'array', items: ref('Webhook') } },
    required: ['items'],
    additionalProperties: false,
  },
  Delivery: object<DeliveryView>('An event\'s delivery.', {
    id: text('Its id (webhook-id).', { pattern: DELIVERY_ID_PATTERN.source }),
    type: { enum: [...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE], description: 'The event.' },
    execution_id: nullable({ type: 'string', pattern: EXECUTION_ID_PATTERN.source }, 'Its execution.'),
    status: { enum: ['pending', 'sending', 'retrying', 'delivered', 'failed'], description: 'Its status.' },
    attempt_count: integer('Attempts made.'),
    attempts: { type: 'array', items: ref('DeliveryAttempt'), description: 'Its attempts.' },
    next_attempt_at: nullable({ type: 'string', format: 'date-time' }, 'When the next attempt is due.'),
    created_at: instant('When it was queued.'),
    updated_at: instant('When it last changed.'),
    payload: { type: 'object', description: 'The body it sends.' },
  }, ['payload']),
  DeliveryAttempt: object<DeliveryAttemptView>('One attempt of a delivery.', {
    at: instant('When it was made.'),
    status_code: nullable({ type: 'integer' }, 'The endpoint\'s status.'),
    error: nullable({ type: 'string' }, 'Why it failed.'),
    duration_ms: integer('How long it took.'),
  }),
  DeliveryPage: page('Delivery', 'Deliveries.'),
  TestDelivery: object<TestDeliveryView>('A test event, queued.', {
    delivery_id: text('Its delivery id.', { pattern: DELIVERY_ID_PATTERN.source }),
    status: { const: 'pending' },
  }),
  BulkAction: object<BulkJobView>('A bulk action: a job that acts on every execution a filter matched.', {
    id: text('Its id.', { pattern: BULK_JOB_ID_PATTERN.source }),
    status: { enum: [...BULK_JOB_STATUSES], description: 'queued, running, then succeeded, failed or cancelled (final).' },
    action: { enum: [...BULK_ACTIONS], description: 'What it does to each execution.' },
    filter: ref('BulkFilter'),
    reason: nullable({ type: 'string' }, 'Why (a cancel\'s reason).'),
    max_items: integer('The most executions it acts on.', 1),
    progress: ref('BulkProgress'),
    limit_reached: { type: 'boolean', description: 'It stopped at max_items; more may match.' },
    error: nullable(
      { type: 'object', properties: { title: { type: 'string' }, detail: { type: 'string' } }, required: ['title', 'detail'], additionalProperties: false },
      'Why it failed.',
    ),
    created_at: instant('When it was accepted (executions created later are not matched).'),
    updated_at: instant('When it last changed.'),
    finished_at: nullable({ type: 'string', format: 'date-time' }, 'When it ended.'),
    url: link('It, on the API.'),
    items_url: link('Its item results.'),
    cancel_url: link('Where to cancel it.'),
  }),
  BulkFilter: object<BulkJobView['filter']>('What it matches (all given fields).', {
    task_id: nullable({ type: 'string' }, 'Only this task\'s.'),
    status: nullable({ enum: [...EXECUTION_STATUSES] }, 'Only executions in this status when read.'),
    created_after: nullable({ type: 'string', format: 'date-time' }, 'Created at or after.'),
    created_before: nullable({ type: 'string', format: 'date-time' }, 'Created at or before.'),
    tag: nullable({ type: 'string' }, 'Only executions carrying this tag (read from the tag index).'),
  }),
  BulkProgress: object<BulkProgress>('Its counts so far.', {
    matched: integer('Executions matched and handled.'),
    succeeded: integer('Acted on.'),
    failed: integer('Could not be acted on.'),
    skipped: integer('Did not allow it (e.g. already final: 409).'),
  }),
  BulkActionPage: page('BulkAction', 'Bulk actions, newest first.'),
  BulkItem: object<BulkItemView>('What a bulk action did to one execution.', {
    execution_id: executionId('The execution.'),
    outcome: { enum: ['succeeded', 'failed', 'skipped'], description: 'What came of it.' },
    problem: nullable(ref('Problem'), 'Why it failed or was skipped.'),
    result_execution_id: nullable({ type: 'string', pattern: EXECUTION_ID_PATTERN.source }, 'The execution a replay started.'),
    at: instant('When.'),
  }),
  BulkItemPage: page('BulkItem', 'Item results, by execution id.'),
  Schedule: object<ScheduleView>('A recurring schedule: each run is an execution.', {
    id: text('The schedule id.', { pattern: SCHEDULE_ID_PATTERN.source }),
    task_id: text('The task each run runs.'),
    expression: text('cron(...) (EventBridge six fields) or rate(...).', { pattern: '^(cron|rate)\\(.+\\)$' }),
    timezone: text('The IANA time zone its cron expression is read in.'),
    input: json('The input of each run.'),
    metadata,
    description: nullable({ type: 'string' }, 'Its description.'),
    start_date: nullable({ type: 'string', format: 'date-time' }, 'No run before it.'),
    end_date: nullable({ type: 'string', format: 'date-time' }, 'No run after it.'),
    status: { enum: ['active', 'paused', 'deleting'], description: 'active runs; paused does not; deleting: a delete is under way (repeat it).' },
    synced: { type: 'boolean', description: 'false while EventBridge Scheduler may not have its latest state (a pause, resume or delete pushes it again).' },
    created_at: instant('When it was made.'),
    updated_at: instant('When it last changed.'),
    executions_url: link('Its runs: GET /executions?schedule_id=.'),
  }),
  SchedulePage: page('Schedule', 'Schedules.'),
  Health: {
    type: 'object',
    description: 'ok, or (locally, 503) starting.',
    properties: { status: { enum: ['ok', 'starting'] } },
    required: ['status'],
    additionalProperties: false,
  },
  Problem: {
    type: 'object',
    description: 'An RFC 9457 problem.',
    properties: {
      type: text('Its kind.', { pattern: '^/problems/[a-z-]+$' }),
      title: text('Its kind, in words.'),
      status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status.' },
      detail: text('What happened.'),
      errors: {
        type: 'array',
        description: 'A 400\'s fields: JSON pointers, query.<name> or header.<name>.',
        items: {
          type: 'object',
          properties: { path: { type: 'string' }, message: text('What is wrong with it.') },
          required: ['path', 'message'],
          additionalProperties: false,
        },
      },
      // A batch none of whose items was created (POST /executions/batch: 422, 503) answers its results as a problem.
      batch_id: { type: 'string', pattern: BATCH_ID_PATTERN, description: 'A failed batch: its id.' },
      succeeded: integer('A failed batch: 0.'),
      failed: integer('A failed batch: its items.'),
      items: { type: 'array', items: ref('BatchItemResult'), description: 'A failed batch: one result per item, in order.' },
    },
    required: ['type', 'title', 'status', 'detail'],
    additionalProperties: false,
  },
  GatewayError: {
    type: 'object',
    description: 'API Gateway\'s own answer.',
    properties: { message: { type: 'string' } },
    required: ['message'],
    additionalProperties: false,
  },
};

/** The name of a schema of the document's components: a response schema, or a task's input or a wait's resume input (from the task catalogue). */
export type SchemaName = ResponseSchemaName | `TaskInput.${string}` | `ResumeInput.${string}`;

function page(item: ResponseSchemaName, description: string): JsonSchema {
  return {
    type: 'object',
    description,
    properties: {
      items: { type: 'array', items: ref(item) },
      next_cursor: nullable({ type: 'string' }, 'The next page\'s cursor.'),
    },
    required: ['items', 'next_cursor'],
    additionalProperties: false,
  };
}

function comparison(operator: string, value: JsonSchema): JsonSchema {
  return { type: 'object', properties: { path: { type: 'string' }, [operator]: value }, required: ['path', operator], additionalProperties: false };
}
