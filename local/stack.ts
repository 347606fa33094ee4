import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { hashApiKey } from '../lambdas/domain/api-keys.js';
import { ServiceUnavailableError } from '../lambdas/domain/errors.js';
import { ApiKeysRepository } from '../lambdas/repository/api-keys-repository.js';
import { compactRate, type RateClass, type RateLimit } from '../lambdas/domain/rate-limits.js';
import { ensureTables, startDynamoDb } from './dynamodb.js';
import { LocalEventSourceMappings } from './event-source-mappings.js';
import { LocalGateway } from './gateway.js';
import { LambdaHost } from './lambda-host.js';
import { installAwsLambdaShim, streamingUrlListener } from './response-streaming.js';
import { LocalScheduler } from './scheduler.js';
import { startLocalScheduler, type LocalEventBridgeScheduler } from './eventbridge-scheduler.js';
import { LOCAL_S3_CREDENTIALS, startS3 } from './s3.js';
import { startSqs } from './sqs.js';
import { AwsServiceError, LocalStepFunctions } from './step-functions.js';
import { loadStackModel, localFunctionUrls, type LocalQueueAddress } from './template.js';

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Synthesized template (`cdk.out/<Stack>.template.json`). */
  readonly templatePath: string;
  /** Port of the HTTP API; 0 picks a free one. */
  readonly port: number;
  /**
   * Keep DynamoDB data in this directory instead of memory, and with it the stream event source
   * mappings' checkpoints (`event-source-checkpoints.json`), so a restart goes on where they were.
   */
  readonly dataDir?: string;
  /**
   * The local Step Functions' journal (kept with `dataDir`): at startup, executions a previous
   * process was running end FAILED with `ExecutionLost` (see `LocalStepFunctions.recover`).
   */
  readonly stepFunctionsJournal?: string;
  /**
   * Keep the local S3 server's objects (offloaded payloads) in this directory, as `dataDir` keeps
   * DynamoDB's; without it they live in a temporary directory removed at stop.
   */
  readonly s3DataDir?: string;
  /**
   * The tasks module the caller expects (absolute path): a template synthesized with another one is
   * refused. The functions always run the template's own tasks module.
   * @default - whichever tasks module the template was synthesized with
   */
  readonly tasksModule?: string;
  /** The development API key, registered for tenant `default`. */
  readonly apiKey: string;
  /**
   * The per-key rate limits of keys without their own, in place of the template's (the stack's
   * `perKeyCreateRate` / `perKeyReadRate`): generous, so tests that create in bursts are not limited;
   * a test of the limits gives its key its own.
   * @default {@link LOCAL_RATE_LIMITS}
   */
  readonly rateLimits?: Partial<Record<RateClass, RateLimit>>;
  /**
   * How many times faster than their `rate(...)` the template's schedules run (e.g. 60: a minute
   * becomes a second), for tests.
   * @default 1
   */
  readonly scheduleScale?: number;
  /**
   * Where the local EventBridge Scheduler keeps its schedules (a JSON file), so a restart keeps
   * them; kept with `dataDir` by `npm start --persist`.
   * @default in memory
   */
  readonly schedulerFile?: string;
  /**
   * How many times faster than real time the local EventBridge Scheduler's clock runs (60: a
   * `rate(1 minute)` schedule fires every second), for tests.
   * @default 1
   */
  readonly schedulerTimeScale?: number;
  /**
   * Fault injection for tests: status-change events of state machines whose name contains any of
   * these strings are dropped, as if EventBridge had lost them.
   * @default none
   */
  readonly dropStatusEventsFor?: readonly string[];
  /**
   * Local stand-ins for the existing functions `invoke` steps call by ARN: each ARN runs the
   * `handler` export of its module (absolute path), as Lambda would run the real function.
   * @default none: a task that invokes an existing function is refused at start
   */
  readonly externalFunctions?: ReadonlyArray<{ readonly arn: string; readonly module: string }>;
  readonly log?: (message: string) => void;
  /**
   * Called once the API port is open, before the stack is ready: from then on every request is
   * answered (503 until ready), so a caller may start polling `url`.
   */
  readonly onListening?: (url: string) => void;
}

/** A running local stack. */
export interface LocalStack {
  readonly url: string;
  /** The executions table in DynamoDB Local. */
  readonly tableName: string;
  readonly dynamoDbEndpoint: string;
  /** DynamoDB Local's Java process (it never outlives this process). */
  readonly dynamoDbPid: number;
  readonly stepFunctionsEndpoint: string;
  readonly stepFunctions: LocalStepFunctions;
  /** Runs the template's schedule rules (the reconciler). */
  readonly scheduler: LocalScheduler;
  /** The local EventBridge Scheduler (`AWS_ENDPOINT_URL_SCHEDULER`): the schedules the API creates. */
  readonly eventBridgeScheduler: LocalEventBridgeScheduler;
  readonly schedulerEndpoint: string;
  /**
   * The streaming Function URLs of the template (the events stream), each on a port of its own, as
   * each Function URL has a host of its own: `GET <url>/executions/{id}/events`.
   */
  readonly streamingUrls: readonly string[];
  /** The local SQS endpoint (`AWS_ENDPOINT_URL_SQS`); it serves the template's queues (none: it runs idle). */
  readonly sqsEndpoint: string;
  /** The local S3 server (`AWS_ENDPOINT_URL_S3`, s3rver in this process): the payload bucket. */
  readonly s3Endpoint: string;
  /** The template's SQS queues by logical id, e.g. to read a dead-letter queue in a test. */
  readonly queues: Readonly<Record<string, LocalQueueAddress>>;
  /** Runs the template's event source mappings (SQS queues and DynamoDB streams to functions). */
  readonly eventSourceMappings: LocalEventSourceMappings;
  stop(): Promise<void>;
}

/** The file in `dataDir` where the stream event source mappings keep their checkpoints. */
export const CHECKPOINT_FILE = 'event-source-checkpoints.json';

/** The local stack's default per-key limits: 10,000 creates and 10,000 reads a second, far above what one machine serves. */
export const LOCAL_RATE_LIMITS: Readonly<Record<RateClass, RateLimit>> = { create: { quota: 10_000, window: 1 }, read: { quota: 10_000, window: 1 } };

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} on 127.0.0.1 is already in use (another npm start?). Stop it or set PORT to a free port.`)
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A streaming Function URL's port: open from the start, serving its function once the stack is ready. */
interface StreamingServer {
  readonly url: string;
  serve?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Health routes of the API: while starting they say so instead of answering a problem. */
const HEALTH_PATHS = new Set(['/health', '/healthz']);

/**
 * Answers a request that arrives while the stack starts, at once: the port is open before
 * DynamoDB Local and the functions are, and a connection left unanswered would hang its caller.
 * 503 with `Retry-After: 1` is what a load balancer and the Julep SDK retry; health checks get
 * the `{"status":"starting"}` body they can tell apart from a failure.
 */
function answerStarting(req: IncomingMessage, res: ServerResponse): void {
  // The body is not needed; reading it lets the connection be reused for the retry.
  req.resume();
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  const headers = { 'retry-after': '1', 'cache-control': 'no-store' };
  if (req.method === 'GET' && HEALTH_PATHS.has(path)) {
    res.writeHead(503, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'starting' }));
    return;
  }
  const problem = new ServiceUnavailableError('The local stack is starting; retry in a second.').toProblem();
  res.writeHead(503, { ...headers, 'content-type': 'application/problem+json' });
  res.end(JSON.stringify(problem));
}

/** `1 execution`, `2 executions`. */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Registers the development key for tenant `default` (idempotent: a persisted table may have it). */
async function registerDevelopmentKey(client: DynamoDBClient, tableName: string, apiKey: string): Promise<void> {
  const keys = new ApiKeysRepository(DynamoDBDocumentClient.from(client), tableName);
  const hash = hashApiKey(apiKey);
  if (await keys.findActive(hash)) return;
  try {
    await keys.put(hash, { keyId: 'local-dev', tenant: 'default', name: 'local development key', createdAt: new Date().toISOString() });
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    throw new Error('LOCAL_API_KEY was revoked in the persisted data; choose another key or delete .local/');
  }
}

/**
 * Refuses to serve when the functions' registry (`#tasks`) or task catalogue (`#task-catalogue`)
 * holds other tasks than the template deploys (a process that resolved them before, or a runner
 * such as vitest that resolves them itself).
 */
async function checkServedTasks(tasksModule: string, deployed: string | undefined): Promise<void> {
  const { TASKS } = await import('../lambdas/tasks/registry.js');
  const { default: catalogue } = await import('#task-catalogue');
  const expected = (deployed ?? '').split(',').filter(Boolean).sort().join(',');
  const served = [...TASKS.keys()].sort().join(',');
  if (served !== expected) {
    throw new Error(`The functions loaded tasks [${served}], but the template deploys [${expected}] from ${tasksModule}`);
  }
  const described = catalogue.tasks.map((task) => task.id).sort().join(',');
  if (described !== expected) {
    throw new Error(`The API functions' task catalogue describes tasks [${described}], but the template deploys [${expected}] from ${tasksModule}`);
  }
}

/** AWS JSON 1.0 protocol front of the local Step Functions. */
function stepFunctionsListener(service: LocalStepFunctions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
      const reply = (status: number, body: unknown, type?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          ...(type ? { 'x-amzn-errortype': type } : {}),
        });
        res.end(JSON.stringify(body));
      };
      Promise.resolve()
        .then(() => service.call(operation, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>))
        .then(
          (result) => reply(200, result),
          (error: unknown) => {
            const known = error instanceof AwsServiceError;
            const code = known ? error.code : 'InternalFailure';
            reply(known ? error.statusCode : 500, { __type: `com.amazonaws.states#${code}`, message: error instanceof Error ? error.message : String(error) }, code);
          },
        );
    });
  };
}

/**
 * Starts the whole service on this machine: DynamoDB Local with the template's tables (and their
 * streams), a Step Functions endpoint running the template's state machines, an SQS endpoint with
 * the template's queues, the template's event source mappings (queues and table streams to
 * functions), its schedules (the reconciler), and the HTTP API, all on 127.0.0.1.
 * The handler modules reach the local services only through `AWS_ENDPOINT_URL_DYNAMODB`,
 * `AWS_ENDPOINT_URL_SFN` and `AWS_ENDPOINT_URL_SQS`, as deployed code reaches AWS.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const gatewayServer = createServer();
  // Swapped for the gateway once everything behind it is ready.
  let answer: (req: IncomingMessage, res: ServerResponse) => void = answerStarting;
  gatewayServer.on('request', (req: IncomingMessage, res: ServerResponse) => answer(req, res));
  const gatewayPort = await listen(gatewayServer, options.port);
  options.onListening?.(`http://127.0.0.1:${gatewayPort}`);
  // Undone in this order: stop taking requests, let events land, then the services behind.
  const stopping: Array<() => Promise<void>> = [() => close(gatewayServer)];
  const stop = async () => {
    for (const step of stopping.splice(0)) await step().catch(() => undefined);
  };
  try {
    const sfnServer = createServer();
    const sfnPort = await listen(sfnServer, 0);
    stopping.push(() => close(sfnServer));
    // Listening before the template is read: queue URLs (a queue's Ref, in the functions'
    // environment) name its port. Stopped after the event source mappings, before DynamoDB Local.
    const sqs = await startSqs({ region: LOCAL_REGION, account: LOCAL_ACCOUNT });
    stopping.push(() => sqs.stop());
    const dynamo = await startDynamoDb(await freePort(), options.dataDir);
    stopping.push(() => dynamo.stop());
    // Listening before the functions load (their Scheduler client reads the endpoint); it invokes
    // them once they exist, and fires nothing before `start()`, once the stack is ready.
    let host: LambdaHost | undefined;
    let queueUrls = new Map<string, string>();
    const eventBridgeScheduler = await startLocalScheduler({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      groups: [],
      invoke: (arn, event) => host!.invoke(arn, event),
      hasFunction: (arn) => host?.find(arn) !== undefined,
      deadLetter: async (queueArn, body, attributes) => {
        const url = queueUrls.get(queueArn);
        if (!url) throw new Error(`no local queue ${queueArn}`);
        await sqs.client.send(
          new SendMessageCommand({
            QueueUrl: url,
            MessageBody: body,
            MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }])),
          }),
        );
      },
      ...(options.schedulerFile ? { file: options.schedulerFile } : {}),
      timeScale: options.schedulerTimeScale ?? 1,
      log,
    });
    // Last, in case the start fails; once ready it stops right after the gateway (below).
    stopping.push(() => eventBridgeScheduler.stop());
    const stepFunctionsEndpoint = `http://127.0.0.1:${sfnPort}`;

    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      // s3rver refuses access keys other than its one account's; the other local services take any key.
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: stepFunctionsEndpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SCHEDULER: eventBridgeScheduler.endpoint,
    });
    const stackName = basename(options.templatePath).replace(/\.template\.json$/, '');
    const loaded = loadStackModel(options.templatePath, {
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      stackName,
      stackId: `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/${stackName}/${randomUUID()}`,
      sqsEndpoint: sqs.endpoint,
    });
    // The payload bucket's S3 server, in this process (it dies with it), its buckets created at
    // start; before the functions load, as they read the endpoint. Stopped after the event source
    // mappings, with SQS: functions may call it until then.
    const s3 = await startS3(loaded.buckets, options.s3DataDir);
    stopping.push(() => s3.stop());
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    // Each streaming Function URL on a port of its own, open before the functions read their
    // environment (a token's events_url names the URL); it answers once the stack is ready.
    const streamingServers = new Map<string, StreamingServer>();
    for (const url of loaded.streamingUrls) {
      const server = createServer();
      // Closed with the gateway: a stream left open would hold the process.
      stopping.splice(1, 0, () => close(server));
      const entry: StreamingServer = { url: `http://127.0.0.1:${await listen(server, 0)}` };
      server.on('request', (req: IncomingMessage, res: ServerResponse) => (entry.serve ?? answerStarting)(req, res));
      streamingServers.set(url.logicalId, entry);
    }
    // Links in the streaming function's status events point to the HTTP API: here, the gateway.
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // A Function URL's address ends with `/`, as on AWS.
    const functionUrls = new Map([...streamingServers].map(([logicalId, entry]) => [logicalId, `${entry.url}/`]));
    const model = {
      ...loaded,
      functions: loaded.functions.map((fn) => {
        const environment = localFunctionUrls(fn.environment, functionUrls);
        return { ...fn, environment: fn.environment.API_BASE_URL === undefined ? environment : { ...environment, API_BASE_URL: gatewayUrl } };
      }),
    };
    await ensureTables(dynamo.client, model.tables, model.ttlAttributes, log);
    await sqs.createQueues(model.queues);
    queueUrls = new Map([...sqs.queues.values()].map((queue) => [queue.arn, queue.url]));
    eventBridgeScheduler.scheduler.addGroups(model.scheduleGroups);
    const tableName = model.tables[0]?.TableName;
    if (!tableName) throw new Error('The template has no DynamoDB table');
    await registerDevelopmentKey(dynamo.client, tableName, options.apiKey);
    // The functions share one process: give it the union of the service functions' environments,
    // which must agree. A step function's own variables are not in it: each invocation sees its
    // function's variables over it (LambdaHost), so one step's variables never reach another.
    const environment = new Map<string, string>();
    for (const fn of model.functions.filter((candidate) => candidate.step === undefined)) {
      for (const [name, value] of Object.entries(fn.environment)) {
        if (name === 'NODE_OPTIONS') continue;
        if (environment.has(name) && environment.get(name) !== value) {
          throw new Error(`Functions disagree on ${name}; the local stack runs them in one process`);
        }
        environment.set(name, value);
      }
    }
    Object.assign(process.env, Object.fromEntries(environment));
    process.env.RATE_LIMIT_CREATE = compactRate(options.rateLimits?.create ?? LOCAL_RATE_LIMITS.create);
    process.env.RATE_LIMIT_READ = compactRate(options.rateLimits?.read ?? LOCAL_RATE_LIMITS.read);
    // Webhook receivers here are on this machine: the functions may send to loopback (over http),
    // which no deployed function may (docs/security.md). Every other private address stays refused.
    process.env.WEBHOOK_ALLOW_LOOPBACK = 'true';
    if (options.tasksModule && options.tasksModule !== model.tasksModule) {
      throw new Error(`${options.templatePath} was synthesized with tasks module ${model.tasksModule}, not ${options.tasksModule}`);
    }
    const standIns = (options.externalFunctions ?? []).map((external) => ({
      logicalId: external.arn,
      name: external.arn.split(':')[6] ?? external.arn,
      arn: external.arn,
      entry: external.module,
      environment: {},
      timeoutSeconds: 900,
      memoryMb: 128,
    }));
    // Streaming handlers call `awslambda.streamifyResponse` as their module loads (at warm-up).
    installAwsLambdaShim();
    const lambdas = new LambdaHost([...model.functions, ...standIns], { tasksModule: model.tasksModule, taskCatalogue: model.taskCatalogue, openApiDocument: model.openApiDocument });
    await lambdas.warm();
    host = lambdas;
    await checkServedTasks(model.tasksModule, environment.get('TASK_IDS'));
    const stepFunctions = new LocalStepFunctions(model.stateMachines, model.rules, lambdas, { region: LOCAL_REGION, account: LOCAL_ACCOUNT }, log, {
      dropStatusEventsFor: options.dropStatusEventsFor ?? [],
      ...(options.stepFunctionsJournal ? { journalPath: options.stepFunctionsJournal } : {}),
    });
    const scheduler = new LocalScheduler(model.schedules, lambdas, {
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      scale: options.scheduleScale ?? 1,
      log,
    });
    sfnServer.on('request', stepFunctionsListener(stepFunctions));
    // Before the service writes (the recovery below may, then the API): a stream mapping at
    // LATEST reads from here on. Stopped after the last status events landed, before SQS and
    // DynamoDB Local, which its functions may still call.
    const eventSourceMappings = new LocalEventSourceMappings(model.eventSourceMappings, lambdas, {
      region: LOCAL_REGION,
      dynamodb: dynamo.client,
      dynamoDbEndpoint: dynamo.endpoint,
      sqs: sqs.client,
      ...(options.dataDir ? { checkpointFile: join(options.dataDir, CHECKPOINT_FILE) } : {}),
      log,
    });
    stopping.splice(1, 0, () => eventSourceMappings.stop());
    await eventSourceMappings.start();
    // Before the API serves: records of executions a previous process lost end failed first,
    // so no caller sees them waiting for a resume that cannot work.
    const recovered = stepFunctions.recover();
    await stepFunctions.drain();
    if (recovered.lost > 0 || recovered.redelivered > 0) {
      log(
        `the previous run of the local Step Functions left ${count(recovered.lost, 'execution')} unfinished (failed now with ExecutionLost) ` +
          `and ${count(recovered.redelivered, 'status event')} undelivered (delivered now)`,
      );
    }
    const streamingUrls: string[] = [];
    for (const url of model.streamingUrls) {
      const fn = model.functions.find((candidate) => candidate.logicalId === url.functionLogicalId);
      if (!fn) throw new Error(`A Function URL invokes ${url.functionLogicalId}, which the template does not define`);
      const entry = streamingServers.get(url.logicalId)!;
      entry.serve = streamingUrlListener(url, fn.arn, lambdas, log);
      streamingUrls.push(entry.url);
    }
    answer = new LocalGateway(model.routes, lambdas, log).listener;
    // Stopped in this order after the gateway: no new scheduled runs, then the events in flight.
    stopping.splice(1, 0, () => scheduler.stop(), () => eventBridgeScheduler.stop(), () => stepFunctions.drain());
    scheduler.start();
    eventBridgeScheduler.scheduler.start();
    return {
      url: `http://127.0.0.1:${gatewayPort}`,
      tableName,
      dynamoDbEndpoint: dynamo.endpoint,
      dynamoDbPid: dynamo.pid,
      stepFunctionsEndpoint,
      stepFunctions,
      scheduler,
      eventBridgeScheduler: eventBridgeScheduler.scheduler,
      schedulerEndpoint: eventBridgeScheduler.endpoint,
      streamingUrls,
      sqsEndpoint: sqs.endpoint,
      s3Endpoint: s3.endpoint,
      queues: Object.fromEntries(sqs.queues),
      eventSourceMappings,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
