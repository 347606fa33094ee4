import { Aws, CfnOutput, Fn, RemovalPolicy, Stack, Stage, type Duration, type StackProps } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { Admission } from './constructs/admission.js';
import { AlarmNotifications } from './constructs/alarm-notifications.js';
import { BulkActions } from './constructs/bulk-actions.js';
import { ExecutionsApi, type ApiAuth } from './constructs/executions-api.js';
import { ExecutionsTable } from './constructs/executions-table.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { Reconciler } from './constructs/reconciler.js';
import { StatusEvents } from './constructs/status-events.js';
import { TASKS_MODULE_CONTEXT } from './constructs/service-function.js';
import { TagIndex } from './constructs/tag-index.js';
import { TaskRuntime } from './constructs/task-runtime.js';
import { Schedules } from './constructs/schedules.js';
import { Webhooks } from './constructs/webhooks.js';
import { writeOpenApiDocument } from './openapi-document.js';
import { writeTaskCatalogue } from './task-catalogue.js';
import type { TasksModule } from './tasks-module.js';

/** Props of {@link ExecutionsStack}. */
export interface ExecutionsStackProps extends StackProps {
  /**
   * The tasks to deploy: a tasks module loaded with `loadTasksModule`. Each task gets a state
   * machine and each of its Lambda steps a function of its own, which bundles this module as
   * `#tasks` (only its own task when the task is exported from the file that defined it, see
   * `TasksModule.taskExports`); the API functions bundle the task catalogue computed from it, no
   * task code. Required: the service ships no tasks of its own (`infra/app.ts` passes the examples
   * when nothing else is chosen).
   */
  readonly tasksModule: TasksModule;
  /**
   * Grants that need CDK objects, by Lambda step (`'<task id>/<step name>'`): each is called once
   * with that step's function, whose role is its own, e.g.
   * `{ 'document-pipeline/extract': (fn) => bucket.grantRead(fn) }`. Statements that are plain
   * data belong in the step's `permissions` option, in the tasks module.
   * @default - none
   * @throws at synth when a key names no Lambda step of the tasks.
   */
  readonly stepGrants?: Readonly<Record<string, (fn: IFunction) => void>>;
  /**
   * Existing Lambda functions `invoke` steps may name instead of an ARN: `invoke('score', 'scorer')`
   * with `functions: { scorer: fn }`. The state machines of the tasks that name one may invoke it.
   * @default - none
   */
  readonly functions?: Readonly<Record<string, IFunction>>;
  /**
   * Reserved concurrency by Lambda step (`'<task id>/<step name>'`), e.g.
   * `{ 'document-pipeline/extract': 200 }`: that step always has so many concurrent executions,
   * whatever else the account runs (API functions, held GETs, other steps), and never more. Size it
   * as executions per second × the step's duration in seconds (docs/capacity.md). Lambda refuses
   * reservations that leave the account less than 100 unreserved.
   * @default - none: every step function shares the account's unreserved concurrency
   * @throws at synth when a key names no Lambda step, or a value is not a positive integer.
   */
  readonly stepConcurrency?: Readonly<Record<string, number>>;
  /**
   * Days finished executions are kept before TTL removes them.
   * @default 90
   */
  readonly retentionDays?: number;
  /**
   * How callers authenticate: bearer API keys mapped to tenants, or AWS IAM (SigV4).
   * @default 'api-key'
   */
  readonly auth?: ApiAuth;
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * How often the reconciler heals executions whose status-change event was lost (whole minutes).
   * @default Duration.minutes(5)
   */
  readonly reconcileEvery?: Duration;
  /**
   * Executions younger than this are left to their status-change events by the reconciler.
   * @default Duration.minutes(1)
   */
  readonly reconcileMinAge?: Duration;
  /**
   * Steady-state requests per second of each of the two create routes. Each create starts one
   * Step Functions execution: the default keeps both routes together within the smallest
   * Standard-workflow `StartExecution` quota (150 per second refill; see docs/architecture.md).
   * @default 75
   */
  readonly createRateLimit?: number;
  /**
   * Steady-state requests per second of the API's stage: every route without a limit of its own
   * (reads, resumes, cancels, lists…). API Gateway's account quota (10,000 per second in most
   * regions) is shared by every API of the account and region (docs/capacity.md).
   * @default 1000
   */
  readonly apiRateLimit?: number;
  /**
   * Burst of the API's stage (the account's burst is 5,000 in most regions).
   * @default 2000
   */
  readonly apiBurstLimit?: number;
  /**
   * Burst of each of the two create routes; the default keeps both together within the smallest
   * `StartExecution` bucket (800).
   * @default 400
   */
  readonly createBurstLimit?: number;
  /**
   * Steady-state requests per second of the resume link route (`POST /callbacks/{token}`), which
   * answers without credentials and so is throttled on its own.
   * @default 50
   */
  readonly callbackRateLimit?: number;
  /**
   * Burst of the resume link route.
   * @default 100
   */
  readonly callbackBurstLimit?: number;
  /**
   * Executions each API key may create per window unless the key has a limit of its own (`npm run
   * keys -- limits <key id> --create-rate …`): `<count>/<s|min|h|d>` or `<count>/<n>s`. Counted
   * per key in DynamoDB (a fixed window; one write per counted request), so it holds across Lambda
   * instances; a batch counts its items; over it, 429 with `Retry-After`. With IAM auth, per account.
   * @default '1000/min'
   */
  readonly perKeyCreateRate?: string;
  /**
   * Reads (GET routes of executions and their events) each API key may make per window unless it
   * has a limit of its own; written as {@link perKeyCreateRate}.
   * @default '100/s'
   */
  readonly perKeyReadRate?: string;
  /**
   * Concurrent executions reserved for the status-change function (its guaranteed capacity and its
   * ceiling). Lambda refuses a reservation that leaves the account less than 100 unreserved.
   * @default 10
   */
  readonly statusChangeConcurrency?: number;
  /**
   * How long a request to an execution's event stream waits for events before it answers with a
   * heartbeat (whole seconds, 1 to 25: API Gateway ends every request after 30 s, and the last
   * poll needs room). An `EventSource` then reconnects; Julep's SDK retries.
   * @default Duration.seconds(25)
   */
  readonly eventsWindow?: Duration;
  /**
   * Waits between webhook attempts, after the first: one more attempt than waits, each at most
   * 12 hours, all together at most 3 days.
   * @default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (the Standard Webhooks schedule: 8 attempts over 27.6 h)
   */
  readonly webhookRetrySchedule?: readonly Duration[];
  /**
   * How long a webhook endpoint has to answer an attempt (1 to 30 s).
   * @default Duration.seconds(10)
   */
  readonly webhookTimeout?: Duration;
  /**
   * SNS topic that receives the ALARM and OK transitions of every alarm of the stack (dead
   * letters, status-change errors, reconciler errors). Not together with `alarmEmail`.
   * @default - none: alarms notify no one unless `alarmEmail` is set
   */
  readonly alarmTopic?: ITopic;
  /**
   * Email address to notify of every alarm: the stack creates an encrypted, TLS-only topic and
   * subscribes the address (AWS mails a confirmation link first). Not together with `alarmTopic`.
   * @default - none
   */
  readonly alarmEmail?: string;
}

/** The async execution service. It only wires the constructs together. */
export class ExecutionsStack extends Stack {
  constructor(scope: Construct, id: string, props: ExecutionsStackProps) {
    super(scope, id, props);
    const { path: tasksModule, tasks, taskExports } = props.tasksModule;
    // Before any child exists (CDK refuses context after): every ServiceFunction below reads it.
    this.node.setContext(TASKS_MODULE_CONTEXT, tasksModule);
    const retentionDays = props.retentionDays ?? 90;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error('retentionDays must be a positive integer');
    // First, so its props are checked before anything is built; wired last, once every alarm exists.
    const alarms = new AlarmNotifications(this, 'Alarms', { topic: props.alarmTopic, email: props.alarmEmail });

    const { table } = new ExecutionsTable(this, 'Executions', {
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const environment = {
      TABLE_NAME: table.tableName,
      RETENTION_DAYS: String(retentionDays),
      // Cursors are signed with the stack's own UUID: unique per deployment, never in source code.
      CURSOR_SECRET: Fn.select(2, Fn.split('/', Aws.STACK_ID)),
    };
    const namePrefix = `${this.stackName}-`;
    // What the API functions know of the tasks, as JSON in the cloud assembly beside the template:
    // they bundle it instead of the tasks module (docs/architecture.md).
    const outdir = Stage.of(this)?.outdir;
    if (!outdir) throw new Error('ExecutionsStack must be created inside a CDK App (or Stage)');
    const taskCatalogue = writeTaskCatalogue(outdir, tasks);
    // The OpenAPI document of these tasks and this auth, as data the catalogue function serves:
    // building it at run time would bundle every operation's words and schemas.
    const openApiDocument = writeOpenApiDocument(outdir, tasks, props.auth ?? 'api-key');
    const runtime = new TaskRuntime(this, 'Runtime', {
      table,
      tasks,
      namePrefix,
      environment,
      taskCatalogue,
      ...(taskExports ? { taskExports } : {}),
      ...(props.stepGrants ? { stepGrants: props.stepGrants } : {}),
      ...(props.functions ? { functions: props.functions } : {}),
      ...(props.stepConcurrency ? { stepConcurrency: props.stepConcurrency } : {}),
    });
    new StatusEvents(this, 'StatusEvents', {
      table,
      stateMachines: [...runtime.stateMachines.values()],
      environment,
      reservedConcurrency: props.statusChangeConcurrency,
    });
    const stateMachineArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${namePrefix}`;
    new Admission(this, 'Admission', { table, stateMachines: [...runtime.stateMachines.values()], stateMachineArnPrefix, environment });
    new Reconciler(this, 'Reconciler', {
      table,
      stateMachines: [...runtime.stateMachines.values()],
      stateMachineArnPrefix,
      environment,
      ...(props.reconcileEvery ? { every: props.reconcileEvery } : {}),
      ...(props.reconcileMinAge ? { minAge: props.reconcileMinAge } : {}),
    });
    const webhooks = new Webhooks(this, 'Webhooks', {
      table,
      environment,
      ...(props.webhookRetrySchedule ? { retrySchedule: props.webhookRetrySchedule } : {}),
      ...(props.webhookTimeout ? { deliveryTimeout: props.webhookTimeout } : {}),
    });
    new TagIndex(this, 'TagIndex', { table, environment });
    const bulk = new BulkActions(this, 'BulkActions', {
      table,
      stateMachines: [...runtime.stateMachines.values()],
      stateMachineArnPrefix,
      taskIds: [...runtime.stateMachines.keys()].join(','),
      taskCatalogue,
      environment,
    });
    const schedules = new Schedules(this, 'Schedules', {
      table,
      environment,
      stateMachineArnPrefix,
      taskIds: [...runtime.stateMachines.keys()].join(','),
      taskCatalogue,
    });
    const { httpApi, eventsStreamUrl } = new ExecutionsApi(this, 'Api', {
      table,
      stateMachines: runtime.stateMachines,
      auth: props.auth ?? 'api-key',
      stateMachineArnPrefix,
      environment,
      taskCatalogue,
      openApiDocument,
      rateLimit: props.apiRateLimit,
      burstLimit: props.apiBurstLimit,
      createRateLimit: props.createRateLimit,
      createBurstLimit: props.createBurstLimit,
      callbackRateLimit: props.callbackRateLimit,
      callbackBurstLimit: props.callbackBurstLimit,
      perKeyCreateRate: props.perKeyCreateRate,
      perKeyReadRate: props.perKeyReadRate,
      eventsWindow: props.eventsWindow,
      webhookQueue: webhooks.queue,
      bulkQueue: bulk.queue,
      schedules,
    });
    // As the streaming events function: the API's id (a Ref), which the local stack replaces with its gateway's URL.
    webhooks.linkTo(`https://${httpApi.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`);
    alarms.notifyAlarmsIn(this);
    // Last, as the alarms are wired: it shows every function and queue of the stack.
    const dashboard = new OperationsDashboard(this, 'Operations', { httpApi, stateMachines: runtime.stateMachines, resources: this });
    // Stack-level outputs keep their plain names (`ApiUrl`, not `ApiApiUrl<hash>`) for scripts and `cdk deploy` output.
    new CfnOutput(this, 'ApiUrl', { value: httpApi.apiEndpoint, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'The executions table' });
    new CfnOutput(this, 'DashboardUrl', { value: dashboard.url, description: 'The operations dashboard in the CloudWatch console' });
    if (eventsStreamUrl) {
      new CfnOutput(this, 'EventsStreamUrl', {
        value: eventsStreamUrl.url,
        description: 'Streaming Function URL of the events: GET <url>executions/{id}/events (bearer API key)',
      });
    }
  }
}
