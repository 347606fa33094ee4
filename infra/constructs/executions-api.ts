import { Aws, Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  LogGroupLogDestination,
  type IHttpApi,
  type CfnStage,
  type IHttpRouteAuthorizer,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType, HttpMethod as UrlMethod, InvokeMode, type FunctionUrl, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MAX_WAIT_SECONDS } from '../../lambdas/api/long-poll.js';
import { EVENTS_ROUTE } from '../../lambdas/api/events-auth.js';
import { API_KEY_ONLY_ROUTES, DASHBOARD_ROUTE, PUBLIC_ROUTES, ROUTES, type RouteGroup, type RouteKey } from '../../lambdas/api/routes.js';
import { writeDashboardPage } from '../dashboard-page.js';
import { API_KEY_PK_PREFIX } from '../../lambdas/repository/api-keys-repository.js';
import { RATE_PK_PREFIX } from '../../lambdas/repository/rate-counters.js';
import { compactRate, DEFAULT_RATE_LIMITS, formatRate, parseRate, type RateLimit } from '../../lambdas/domain/rate-limits.js';
import { BULK_LIMITS } from '../../lambdas/domain/bulk.js';
import { BULK_LEADING_KEYS } from '../../lambdas/repository/bulk-store.js';
import { acknowledge } from './nag.js';
import { ServiceFunction, type ServiceFunctionProps } from './service-function.js';
import { grantExecutionAction } from './execution-access.js';
import { grantTableAccess, grantTagItems, grantWebhookItems } from './table-access.js';
import type { Schedules } from './schedules.js';

/**
 * How callers authenticate: bearer API keys mapped to tenants (a Lambda authorizer), or AWS IAM
 * (SigV4), where the caller's AWS account is its tenant.
 */
export type ApiAuth = 'api-key' | 'iam';

/** Props of {@link ExecutionsApi}. */
export interface ExecutionsApiProps {
  readonly table: ITableV2;
  /** State machines by task id. */
  readonly stateMachines: ReadonlyMap<string, IStateMachine>;
  /** ARN of a task's state machine minus the task id. */
  readonly stateMachineArnPrefix: string;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Path of the task catalogue of the deployed tasks (`writeTaskCatalogue`): the create, control
   * and catalogue functions bundle it instead of the tasks module, so no API function carries
   * task code.
   */
  readonly taskCatalogue: string;
  /**
   * Path of the OpenAPI document of the deployed tasks with this API's `auth`
   * (`writeOpenApiDocument`): the catalogue function bundles it as `#openapi-document` and serves it
   * with the servers of each request filled in, rather than building it from openapi.ts.
   */
  readonly openApiDocument: string;
  /**
   * How callers authenticate.
   * @default 'api-key'
   */
  readonly auth?: ApiAuth;
  /**
   * How long API Gateway caches an API key's verdict (revocation takes at most this long).
   * @default Duration.minutes(1)
   */
  readonly authCacheTtl?: Duration;
  /**
   * Steady-state requests per second of the default stage.
   * @default 1000
   */
  readonly rateLimit?: number;
  /**
   * Burst of the default stage.
   * @default 2000
   */
  readonly burstLimit?: number;
  /**
   * Steady-state requests per second of EACH create route (`POST /tasks/{task_id}/executions`
   * and `POST /executions`; API Gateway throttles routes separately, so both together admit
   * twice this). Every create is one Step Functions `StartExecution`, whose Standard-workflow
   * quota per account and region refills 150 per second (300 in us-east-1, us-west-2 and
   * eu-west-1): the default keeps the two routes together at 150.
   * @default 75
   */
  readonly createRateLimit?: number;
  /**
   * Burst of EACH create route. `StartExecution`'s bucket holds 800 (1,300 in us-east-1,
   * us-west-2 and eu-west-1): the default keeps the two routes together at 800.
   * @default 400
   */
  readonly createBurstLimit?: number;
  /**
   * Steady-state requests per second of the resume link route (`POST /callbacks/{token}`). It
   * answers without credentials, so anyone can call it: its own limit bounds what calls with made-up
   * tokens cost (each a function invocation and a read), apart from the stage's.
   * @default 50
   */
  readonly callbackRateLimit?: number;
  /**
   * Burst of the resume link route.
   * @default 100
   */
  readonly callbackBurstLimit?: number;
  /**
   * Executions each API key may create per window when it has no limit of its own (the keys CLI
   * sets one per key): `<count>/<s|min|h|d>` or `<count>/<n>s`. Counted per key in DynamoDB, so it
   * holds across Lambda instances; a batch counts its items. With IAM auth, per caller account.
   * @default '1000/min'
   */
  readonly perKeyCreateRate?: string;
  /**
   * Reads (the GET routes of executions and their events) each API key may make per window when
   * it has no limit of its own; written as {@link perKeyCreateRate}.
   * @default '100/s'
   */
  readonly perKeyReadRate?: string;
  /**
   * How long a request to an execution's event stream waits for events (whole seconds, 1 to 25).
   * @default Duration.seconds(25)
   */
  readonly eventsWindow?: Duration;
  /** The webhook delivery queue: the webhooks function sends test pings and redeliveries to it. */
  readonly webhookQueue: IQueue;
  /** The bulk action queue: the bulk function queues each accepted job's first page on it. */
  readonly bulkQueue: IQueue;
  /**
   * Bulk actions a tenant may have queued or running at once.
   * @default BULK_LIMITS.concurrentJobs (5)
   */
  readonly bulkConcurrentJobs?: number;
  /** Recurring schedules: the schedules function reads its environment and gets its grants. */
  readonly schedules: Pick<Schedules, 'apiEnvironment' | 'grantManage'>;
  /**
   * Days of access log retention.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: RetentionDays;
}

/**
 * One JSON line per request in the access log. No header, query string or body is logged (API keys
 * and cursors stay out), nor the path: a resume link's token is in its path (`routeKey` names the
 * route). The tenant comes from the API key authorizer, the account from IAM auth.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  authorizerError: '$context.authorizer.error',
  tenant: '$context.authorizer.tenant',
  accountId: '$context.identity.accountId',
};

/**
 * Timeout of the read function, whose `GET /executions/{id}` may be held up to `MAX_WAIT_SECONDS`
 * (`Prefer: wait`; a last poll at the deadline gets 1 s, and the handler keeps 2 s of its remaining
 * time back to answer in). Within API Gateway's integration timeout, which HTTP APIs default to
 * 30 s, their maximum (left unset here: CDK accepts at most 29 s): a held request is answered by
 * the function, never cut off by the gateway. The other read routes share it but hold nothing:
 * each of their calls gives up within 5 s (`WORST_CASE_CALL_MS`) and answers 503.
 */
export const READ_FUNCTION_TIMEOUT = Duration.seconds(MAX_WAIT_SECONDS + 4);

/** The batch create route: throttled as the create routes are (per request; each request creates up to 1,000). */
const BATCH_ROUTE: RouteKey = 'POST /executions/batch';

/** Timeout of the batch function: API Gateway's longest integration (29 s as CDK sets it). */
export const BATCH_FUNCTION_TIMEOUT = Duration.seconds(29);

/** The handler module of each route group, under `lambdas/`. */
const ENTRIES: Readonly<Record<RouteGroup, string>> = {
  create: 'api/executions-create.ts',
  batch: 'api/executions-batch.ts',
  read: 'api/executions-read.ts',
  events: 'api/executions-events.ts',
  control: 'api/executions-control.ts',
  recovery: 'api/executions-recovery.ts',
  webhooks: 'api/webhooks.ts',
  bulk: 'api/bulk-actions.ts',
  schedules: 'api/schedules.ts',
  catalogue: 'api/catalogue.ts',
};

/** The resume link route: public (the token is the credential) and throttled on its own. */
const CALLBACK_ROUTE: RouteKey = 'POST /callbacks/{token}';

/** Why each public route has no authorizer (cdk-nag AwsSolutions-APIG4). */
const PUBLIC_REASONS: Partial<Record<RouteKey, string>> = {
  'GET /health':
    'GET /health is the health check: it answers 200 without credentials by design (load balancers and uptime probes ' +
    'hold no key), reveals nothing and touches no data; every other route but the resume links has the authorizer.',
  'GET /healthz':
    'GET /healthz is the health check: it answers 200 without credentials by design (load balancers and uptime probes ' +
    'hold no key), reveals nothing and touches no data; every other route but the resume links has the authorizer.',
  'GET /openapi.json':
    'GET /openapi.json is the OpenAPI document of the API: it answers without credentials by design (tools and ' +
    'client generators fetch it), describes the routes and the deployed tasks\' input schemas (what GET /tasks shows ' +
    'a key holder), holds no data of any tenant and touches no AWS service; every route it describes keeps its authorizer.',
  [CALLBACK_ROUTE]:
    'POST /callbacks/{token} is a resume link: the unguessable token in its path is the credential (a 256-bit HMAC, ' +
    'only its hash stored), for one wait of one execution, once, until the wait times out; a wrong, expired or spent ' +
    'token answers 404. The route is throttled on its own (callbackRateLimit/callbackBurstLimit). See docs/security.md.',
};

/** Why the dashboard page has no authorizer (cdk-nag AwsSolutions-APIG4). */
export const DASHBOARD_PUBLIC_REASON =
  'GET /dashboard is the web dashboard\'s page: a browser loads a page without an Authorization header, so it answers ' +
  'without credentials by design. It is one constant HTML document (the built app, no data, no secret, touching no AWS ' +
  'service); everything the page shows it fetches from the other routes with the API key the user enters, which the ' +
  'authorizer checks as for any caller.';

const DESCRIPTIONS: Readonly<Record<RouteGroup, string>> = {
  create: 'Creates executions and starts their state machines',
  batch: 'Creates batches of executions and edits executions\' tags',
  read: 'Reads executions and transitions',
  control: 'Resumes and cancels executions (resume links too)',
  recovery: 'Retries failed executions from their failed step and replays executions',
  catalogue: 'Task catalogue, health, the OpenAPI document, and the 404 of unknown routes',
  events: 'Server-sent events of executions (polls the table)',
  webhooks: 'Webhook subscriptions, deliveries, redeliveries and test pings',
  bulk: 'Accepts, lists, reads and cancels bulk actions (the bulk worker does them)',
  schedules: 'Recurring schedules on EventBridge Scheduler: create, list, pause, resume, delete',
};

/** The longest an events window may be: API Gateway's 30 s integration limit less the last poll and the answer. */
export const MAX_EVENTS_WINDOW_SECONDS = 25;

/**
 * The events function's timeout: API Gateway's longest integration (29 s as CDK sets it), so a
 * response can wait its whole window; the handler stops polling a stalled call's length before it.
 */
export const EVENTS_FUNCTION_TIMEOUT = Duration.seconds(29);

/**
 * The streaming events function's timeout: Lambda's longest. A watcher costs the same per minute
 * whatever the timeout; a longer one only means fewer reconnects (each a record read and a Query).
 */
export const EVENTS_STREAM_FUNCTION_TIMEOUT = Duration.minutes(15);

/**
 * The HTTP API: one small function per route group (`lambdas/api/routes.ts`), each granted only
 * what its routes need. Readers cannot write; only the create, batch and recovery (replay)
 * functions may start executions; only the control function may send task tokens and stop
 * executions; only the recovery function may redrive them (retry).
 */
export class ExecutionsApi extends Construct {
  /** The HTTP API. */
  readonly httpApi: IHttpApi;
  /** The function of each route group. */
  readonly functions: Readonly<Record<RouteGroup, IFunction>>;
  /** The API key authorizer's function (absent with IAM auth). */
  readonly authorizerFunction?: IFunction;
  /** The access log of the default stage. */
  readonly accessLogs: ILogGroup;
  /**
   * The streaming Function URL of the events (RESPONSE_STREAM, `GET <url>/executions/{id}/events`);
   * absent with IAM auth, where there are no API keys for it to check.
   */
  readonly eventsStreamUrl?: FunctionUrl;
  /** The function behind {@link eventsStreamUrl}. */
  readonly eventsStreamFunction?: IFunction;
  /**
   * The function of the web dashboard's page (`GET /dashboard`); absent with IAM auth, where the
   * page could not call the API (a browser cannot sign SigV4, and there are no keys to enter).
   */
  readonly dashboardFunction?: IFunction;

  constructor(scope: Construct, id: string, props: ExecutionsApiProps) {
    super(scope, id);
    const stageThrottle = throttleOf('the stage', props.rateLimit ?? 1000, props.burstLimit ?? 2000);
    const createThrottle = throttleOf('the create routes', props.createRateLimit ?? 75, props.createBurstLimit ?? 400);
    const callbackThrottle = throttleOf('the resume link route', props.callbackRateLimit ?? 50, props.callbackBurstLimit ?? 100);
    // The limiter's defaults, as `quota/seconds` (lambdas/api/rate-limit.ts).
    const rates = {
      RATE_LIMIT_CREATE: compactRate(rateOf('perKeyCreateRate', props.perKeyCreateRate, DEFAULT_RATE_LIMITS.create)),
      RATE_LIMIT_READ: compactRate(rateOf('perKeyReadRate', props.perKeyReadRate, DEFAULT_RATE_LIMITS.read)),
    };
    const machines = [...props.stateMachines.values()];
    // Only these tasks have state machines here; the API treats any other as unknown.
    const TASK_IDS = [...props.stateMachines.keys()].join(',');
    const withStateMachines = { ...props.environment, TASK_IDS, STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix };
    // Reading executions needs only the deployed task ids (TASK_IDS), no catalogue.
    const make = (group: RouteGroup, environment: Readonly<Record<string, string>>, extra: Partial<ServiceFunctionProps> = {}) =>
      new ServiceFunction(this, `${group.charAt(0).toUpperCase()}${group.slice(1)}Function`, {
        entry: ENTRIES[group],
        description: DESCRIPTIONS[group],
        environment,
        ...(group === 'read' ? { timeout: READ_FUNCTION_TIMEOUT } : group === 'events' || group === 'webhooks' || group === 'bulk' ? {} : { taskCatalogue: props.taskCatalogue }),
        ...extra,
      });
    const eventsWindow = props.eventsWindow?.toSeconds({ integral: false }) ?? MAX_EVENTS_WINDOW_SECONDS;
    if (!Number.isInteger(eventsWindow) || eventsWindow < 1 || eventsWindow > MAX_EVENTS_WINDOW_SECONDS) {
      throw new Error(`eventsWindow must be whole seconds from 1 to ${MAX_EVENTS_WINDOW_SECONDS}, got ${eventsWindow}`);
    }
    const functions = {
      create: make('create', { ...withStateMachines, ...rates }),
      // API Gateway's longest integration: a batch of 1,000 creates takes seconds (docs/architecture.md);
      // the handler stops starting items a margin before it and reports the rest as not attempted.
      batch: make('batch', { ...withStateMachines, ...rates }, { timeout: BATCH_FUNCTION_TIMEOUT, memorySize: 1024 }),
      read: make('read', { ...props.environment, TASK_IDS, ...rates }),
      control: make('control', withStateMachines),
      recovery: make('recovery', { ...withStateMachines, ...rates }),
      // The OpenAPI document it serves describes how callers authenticate.
      // The OpenAPI document it serves was computed at synth for this auth; API_AUTH is what tests,
      // which have no synthesized document, build it for.
      catalogue: make('catalogue', { TASK_IDS, API_AUTH: props.auth ?? 'api-key' }, { openApiDocument: props.openApiDocument }),
      // A watcher mostly sleeps between polls and costs its function's duration: half the memory
      // of the other API functions halves that cost, and its CPU share still formats 1 MB of events.
      events: make('events', { ...props.environment, EVENTS_WINDOW_SECONDS: String(eventsWindow), ...rates }, {
        timeout: EVENTS_FUNCTION_TIMEOUT,
        memorySize: 256,
      }),
      webhooks: make('webhooks', { ...props.environment, TASK_IDS, WEBHOOK_QUEUE_URL: props.webhookQueue.queueUrl }),
      bulk: make('bulk', {
        ...props.environment,
        TASK_IDS,
        BULK_QUEUE_URL: props.bulkQueue.queueUrl,
        BULK_CONCURRENT_JOBS: String(props.bulkConcurrentJobs ?? BULK_LIMITS.concurrentJobs),
      }),
      // It checks a schedule's input against its task's schema, from the catalogue, as create does.
      schedules: make('schedules', { ...props.environment, TASK_IDS, ...props.schedules.apiEnvironment }),
    };
    this.functions = functions;

    grantTableAccess(functions.create, props.table, 'write');
    grantTableAccess(functions.batch, props.table, 'write');
    grantTagItems(functions.batch, props.table);
    grantTableAccess(functions.read, props.table, 'read');
    grantTableAccess(functions.events, props.table, 'read');
    // The read functions write one kind of item: their callers' read rate counters.
    for (const fn of [functions.read, functions.events]) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [props.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RATE_PK_PREFIX}*`] } },
        }),
      );
    }
    grantTableAccess(functions.control, props.table, 'write');
    grantWebhookItems(functions.webhooks, props.table, 'manage');
    props.webhookQueue.grantSendMessages(functions.webhooks);
    grantTableAccess(functions.recovery, props.table, 'write');
    // Bulk items only (jobs, their results, the sweep's markers); it never reads an execution.
    grantTableAccess(functions.bulk, props.table, 'manage', BULK_LEADING_KEYS);
    props.bulkQueue.grantSendMessages(functions.bulk);
    props.schedules.grantManage(functions.schedules, props.table);
    grantExecutionAction(functions.control, machines, 'states:StopExecution', 'cancel');
    // Only the recovery function redrives (retry); it also starts executions (replay), as create does.
    grantExecutionAction(functions.recovery, machines, 'states:RedriveExecution', 'retry from the failed step');
    for (const machine of machines) {
      machine.grantStartExecution(functions.create);
      machine.grantStartExecution(functions.batch);
      machine.grantStartExecution(functions.recovery);
      machine.grantTaskResponse(functions.control);
    }

    const api = new HttpApi(this, 'HttpApi', {
      description: 'Async executions: start, follow, list, resume and cancel long-running tasks',
      createDefaultStage: false,
    });
    // Kept when the stack goes: it is the audit trail of who called what (its entries still expire).
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stage = api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: stageThrottle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.httpApi = api;
    const { authorizer, authorizerFunction, eventsAuthorizer } = this.authorizer(props);
    this.authorizerFunction = authorizerFunction;
    if (authorizerFunction) {
      const { fn, url } = this.eventsStream(props, api);
      this.eventsStreamFunction = fn;
      this.eventsStreamUrl = url;
      // Where the events_url of a stream token points. No cycle: the URL needs the streaming
      // function, which needs the API's id, and neither needs the events function.
      functions.events.addEnvironment('EVENTS_STREAM_URL', url.url);
      // The OpenAPI document names it as a server of the events.
      functions.catalogue.addEnvironment('EVENTS_STREAM_URL', url.url);
    }
    const none = new HttpNoneAuthorizer();
    const authorizerOf = (routeKey: RouteKey): IHttpRouteAuthorizer =>
      PUBLIC_ROUTES.includes(routeKey) ? none : routeKey === EVENTS_ROUTE && eventsAuthorizer ? eventsAuthorizer : authorizer;
    const throttledRoutes: HttpRoute[] = [];
    for (const group of Object.keys(ROUTES) as RouteGroup[]) {
      // One invoke permission per function, for any route of this API, not one per route: routes are
      // many (over 40), and CloudFormation allows a stack 500 resources.
      const integration = new HttpLambdaIntegration(`${group}Integration`, functions[group], { scopePermissionToRoute: false });
      for (const routeKey of ROUTES[group] as readonly RouteKey[]) {
        // A stream token replaces an API key: with IAM auth there is none, and no authorizer to read a token.
        if (!authorizerFunction && API_KEY_ONLY_ROUTES.includes(routeKey)) continue;
        const key = routeKey === '$default' ? HttpRouteKey.DEFAULT : parseRouteKey(routeKey);
        const route = new HttpRoute(this, `Route ${routeKey}`, {
          httpApi: api,
          routeKey: key,
          integration,
          authorizer: authorizerOf(routeKey),
        });
        if (group === 'create' || routeKey === BATCH_ROUTE || routeKey === CALLBACK_ROUTE) throttledRoutes.push(route);
        if (PUBLIC_ROUTES.includes(routeKey)) acknowledge(route, 'AwsSolutions-APIG4', PUBLIC_REASONS[routeKey]!);
      }
    }
    // HttpStage has no per-route throttling. CloudFormation refuses the settings of a route that
    // does not exist yet, hence the dependencies.
    const cfnStage = stage.node.defaultChild as CfnStage;
    const settings = (throttle: Required<ThrottleSettings>) => ({
      ThrottlingRateLimit: throttle.rateLimit,
      ThrottlingBurstLimit: throttle.burstLimit,
    });
    cfnStage.routeSettings = {
      ...Object.fromEntries([...ROUTES.create, BATCH_ROUTE].map((routeKey) => [routeKey, settings(createThrottle)])),
      [CALLBACK_ROUTE]: settings(callbackThrottle),
    };
    for (const route of throttledRoutes) cfnStage.node.addDependency(route);
    if (authorizerFunction) this.dashboardFunction = this.dashboard(api, none);
  }

  /**
   * The web dashboard: `GET /dashboard` answered by a function whose bundle carries the page built
   * at synth (`writeDashboardPage`, into the cloud assembly beside the template), so it deploys
   * with the stack and the page calls the API on its own origin (docs/architecture.md).
   */
  private dashboard(api: HttpApi, none: HttpNoneAuthorizer): IFunction {
    const outdir = Stage.of(this)?.outdir;
    if (!outdir) throw new Error('ExecutionsApi must be created inside a CDK App (or Stage)');
    const fn = new ServiceFunction(this, 'DashboardFunction', {
      entry: 'api/dashboard.ts',
      description: 'The web dashboard page (static HTML, built at synth)',
      dashboardPage: writeDashboardPage(outdir),
      // It returns one constant string: the least memory serves it.
      memorySize: 128,
    });
    const route = new HttpRoute(this, `Route ${DASHBOARD_ROUTE}`, {
      httpApi: api,
      routeKey: parseRouteKey(DASHBOARD_ROUTE),
      integration: new HttpLambdaIntegration('dashboardIntegration', fn),
      authorizer: none,
    });
    acknowledge(route, 'AwsSolutions-APIG4', DASHBOARD_PUBLIC_REASON);
    return fn;
  }

  /**
   * The events as a true stream: API Gateway buffers whole responses, so the stream is a Function
   * URL in RESPONSE_STREAM mode. It has no authorizer in front of it (auth NONE: browsers and
   * `curl` cannot sign SigV4), so its handler checks the bearer API key itself, as the authorizer does.
   */
  private eventsStream(props: ExecutionsApiProps, api: HttpApi): { fn: IFunction; url: FunctionUrl } {
    const fn = new ServiceFunction(this, 'EventsStreamFunction', {
      entry: 'api/events-stream-handler.ts',
      description: 'Server-sent events of executions, streamed (Function URL)',
      // Status events link to the HTTP API: the Function URL serves only the stream. Built from the
      // API's id (a Ref) rather than its ApiEndpoint attribute, which the local stack cannot resolve
      // (it sets its gateway's URL instead).
      environment: { ...props.environment, API_BASE_URL: `https://${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}` },
      timeout: EVENTS_STREAM_FUNCTION_TIMEOUT,
      // As the bounded events function: a watcher mostly sleeps between polls.
      memorySize: 256,
    });
    // Reads executions (its tenant's partitions, as the events function) and API key items (as the authorizer).
    grantTableAccess(fn, props.table, 'read');
    const url = fn.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
      cors: {
        allowedOrigins: ['*'],
        allowedMethods: [UrlMethod.GET],
        allowedHeaders: ['authorization', 'last-event-id'],
        maxAge: Duration.hours(1),
      },
    });
    return { fn, url };
  }

  /**
   * The authorizer of every non-public route, and with API key auth the events route's own: the
   * same function, which also reads a stream token on that route alone. API Gateway requires every
   * identity source of an authorizer (they are ANDed), so a route that takes a header OR a query
   * parameter needs an authorizer with none, invoked on every request (caching needs an identity
   * source to key on, so it is off).
   */
  private authorizer(props: ExecutionsApiProps): { authorizer: IHttpRouteAuthorizer; authorizerFunction?: IFunction; eventsAuthorizer?: IHttpRouteAuthorizer } {
    if ((props.auth ?? 'api-key') === 'iam') return { authorizer: new HttpIamAuthorizer() };
    const fn = new ServiceFunction(this, 'AuthorizerFunction', {
      entry: 'api/authorizer.ts',
      description: 'Maps bearer API keys (and, on the events route, stream tokens) to tenants',
      // The deployment's secret, from which the stream token key is derived.
      environment: { TABLE_NAME: props.table.tableName, ...pick(props.environment, 'CURSOR_SECRET') },
    });
    // GetItem of API key items only: the authorizer can read no execution of any tenant.
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${API_KEY_PK_PREFIX}*`] } },
      }),
    );
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: props.authCacheTtl ?? Duration.minutes(1),
    });
    const eventsAuthorizer = new HttpLambdaAuthorizer('EventsAuthorizer', fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    return { authorizer, authorizerFunction: fn, eventsAuthorizer };
  }
}

/** A per-key rate limit prop, refused at synth unless the limiter can read it. */
function rateOf(prop: string, text: string | undefined, fallback: RateLimit): RateLimit {
  if (text === undefined) return fallback;
  const limit = parseRate(text);
  if (!limit) throw new Error(`${prop} must be <count>/<s|min|h|d> or <count>/<n>s (e.g. ${formatRate(fallback)}), at most 1000000 per day-long window, got ${text}`);
  return limit;
}

/** Throttle settings, refused at synth unless API Gateway would take them. */
function throttleOf(what: string, rateLimit: number, burstLimit: number): Required<ThrottleSettings> {
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) throw new Error(`The rate limit of ${what} must be a positive number, got ${rateLimit}`);
  if (!Number.isInteger(burstLimit) || burstLimit < 1) throw new Error(`The burst limit of ${what} must be a positive integer, got ${burstLimit}`);
  return { rateLimit, burstLimit };
}

/** The variable `name` of `environment`, when it has it, as a record to spread. */
function pick(environment: Readonly<Record<string, string>>, name: string): Record<string, string> {
  const value = environment[name];
  return value === undefined ? {} : { [name]: value };
}

function parseRouteKey(routeKey: string): HttpRouteKey {
  const [method, path] = routeKey.split(' ');
  return HttpRouteKey.with(path!, method as HttpMethod);
}
