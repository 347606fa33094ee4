import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CreateTableCommandInput, StreamViewType } from '@aws-sdk/client-dynamodb';
import { ENTRY_METADATA_KEY, OPENAPI_DOCUMENT_METADATA_KEY, STEP_METADATA_KEY, TASK_CATALOGUE_METADATA_KEY, TASKS_MODULE_METADATA_KEY } from '../infra/constructs/service-function.js';
import { resolveTemplatePath } from '../infra/tasks-module.js';
import { compileFilters } from './event-filter.js';

/** JSON as CloudFormation templates hold it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
}

/** Where the local stack pretends to run. */
export interface LocalEnvironment {
  readonly region: string;
  readonly account: string;
  readonly stackName: string;
  readonly stackId: string;
  /**
   * The local SQS endpoint (`http://127.0.0.1:<port>`): queue URLs (a queue's `Ref`) point there,
   * so the functions' environment names queues the local stack serves.
   * @default - SQS's AWS endpoint of `region`: a model only read, never served (tests of the model)
   */
  readonly sqsEndpoint?: string;
}

/** A Lambda function of the template, mapped to its handler module. */
export interface LocalFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Entry module relative to `lambdas/`, or the absolute path of a stand-in for an existing function (`--function`). */
  readonly entry: string;
  /** Its environment variables, as the template sets them. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** Its memory in MB (Lambda's default, 128, when the template sets none). */
  readonly memoryMb: number;
  /** The Lambda step a step function runs (`<task id>/<step name>`); absent for the service's other functions. */
  readonly step?: string;
}

/** A state machine of the template with its definition resolved to plain JSON. */
export interface LocalStateMachine {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly definition: Record<string, Json>;
}

/** A Lambda (REQUEST) authorizer of an HTTP API. */
export interface LocalAuthorizer {
  readonly functionArn: string;
  /** e.g. `$request.header.Authorization`; a request without one is refused with 401 unseen. */
  readonly identitySource: readonly string[];
  readonly ttlSeconds: number;
  readonly simpleResponses: boolean;
}

/** An HTTP API route, the function that serves it and how it is authorized. */
export interface LocalRoute {
  readonly routeKey: string;
  readonly functionArn: string;
  /** How long API Gateway waits for the function (the integration's `TimeoutInMillis`; 30 s without one). */
  readonly timeoutMs: number;
  /** Absent for routes without authorization. */
  readonly authorizer?: LocalAuthorizer;
}

/** API Gateway's wait for an HTTP API integration without a `TimeoutInMillis` of its own. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000;

/** An EventBridge rule and the functions it targets. */
export interface LocalRule {
  readonly pattern: Record<string, Json>;
  readonly targetArns: readonly string[];
}

/** A function target of a schedule rule, with the constant input it is given, if any. */
export interface LocalScheduleTarget {
  readonly arn: string;
  /** The target's `Input` (JSON text); without it the function gets a "Scheduled Event". */
  readonly input?: string;
}

/** An EventBridge schedule rule (`ScheduleExpression`) and the functions it runs. */
export interface LocalSchedule {
  readonly logicalId: string;
  readonly arn: string;
  /** e.g. `rate(5 minutes)`. */
  readonly expression: string;
  readonly targets: readonly LocalScheduleTarget[];
}

/** What the local stack needs of a synthesized stack. */
export interface LocalStackModel {
  readonly tables: readonly CreateTableCommandInput[];
  /** Tables that set a TTL attribute, by table name. */
  readonly ttlAttributes: ReadonlyMap<string, string>;
  readonly functions: readonly LocalFunction[];
  /** Absolute path of the tasks module the functions were synthesized with (the `#tasks` of those that run steps). */
  readonly tasksModule: string;
  /** Absolute path of the task catalogue the API functions bundle as `#task-catalogue` (beside the template). */
  readonly taskCatalogue: string;
  /**
   * Absolute path of the OpenAPI document (an ES module, beside the template) the catalogue
   * function bundles as `#openapi-document`; absent from a template without one.
   */
  readonly openApiDocument?: string;
  readonly stateMachines: readonly LocalStateMachine[];
  readonly routes: readonly LocalRoute[];
  /** Rules with an event pattern. */
  readonly rules: readonly LocalRule[];
  /** Rules with a schedule expression. */
  readonly schedules: readonly LocalSchedule[];
  /** The Function URLs (`AWS::Lambda::Url`) in RESPONSE_STREAM mode: what the local stack serves on ports of their own. */
  readonly streamingUrls: readonly LocalStreamingUrl[];
  /** The SQS queues (`AWS::SQS::Queue`), each dead-letter queue before the queues that use it. */
  readonly queues: readonly LocalQueue[];
  /** The event source mappings (`AWS::Lambda::EventSourceMapping`) from the template's queues and table streams. */
  readonly eventSourceMappings: readonly LocalEventSourceMapping[];
  /** The names of the EventBridge Scheduler schedule groups (`AWS::Scheduler::ScheduleGroup`): the local Scheduler's groups. */
  readonly scheduleGroups: readonly string[];
  /** The names of the S3 buckets (`AWS::S3::Bucket`): what the local S3 server creates. */
  readonly buckets: readonly string[];
}

/**
 * The name a bucket without `BucketName` gets locally: as CloudFormation's generated names, from
 * the stack and the logical id, in the characters S3 allows (lowercase letters, digits, hyphens;
 * 3 to 63 of them).
 */
export function localBucketName(stackName: string, logicalId: string): string {
  const name = `${stackName}-${logicalId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');
  return name.length >= 3 ? name : `${name}-s3`.replace(/^-+/, 'b');
}

/** Where an SQS queue of the template lives locally. */
export interface LocalQueueAddress {
  readonly logicalId: string;
  /** `QueueName`, or `<stack name>-<logical id>` (CloudFormation would add a random suffix). */
  readonly name: string;
  /** What its `Ref` resolves to: `<sqs endpoint>/<account>/<name>`. */
  readonly url: string;
  readonly arn: string;
}

/** An SQS queue of the template with the attributes `CreateQueue` gets. */
export interface LocalQueue extends LocalQueueAddress {
  /**
   * `VisibilityTimeout`, `MessageRetentionPeriod`, `DelaySeconds`, `ReceiveMessageWaitTimeSeconds`,
   * `MaximumMessageSize`, `FifoQueue`, `ContentBasedDeduplication` as strings, and `RedrivePolicy`
   * as JSON text with its dead-letter queue's ARN resolved.
   */
  readonly attributes: Readonly<Record<string, string>>;
  /** The logical id of its dead-letter queue (`RedrivePolicy.deadLetterTargetArn`), if any. */
  readonly deadLetterQueue?: string;
}

/** What every event source mapping of the template has. */
interface EventSourceMappingBase {
  readonly logicalId: string;
  /** The function it invokes (`FunctionName`, by name or ARN, resolved to the function's ARN). */
  readonly functionArn: string;
  /** `Enabled` (true unless the template says false): a disabled mapping is not run. */
  readonly enabled: boolean;
  /** `BatchSize` (Lambda's default: 10 for SQS, 100 for streams). */
  readonly batchSize: number;
  /** `MaximumBatchingWindowInSeconds` (0 unless set). */
  readonly maximumBatchingWindowSeconds: number;
  /** `FunctionResponseTypes` holds `ReportBatchItemFailures`. */
  readonly reportBatchItemFailures: boolean;
  /** `FilterCriteria.Filters[].Pattern`, parsed (checked at load: see local/event-filter.ts). */
  readonly filters: readonly unknown[];
}

/** An event source mapping from an SQS queue of the template. */
export interface LocalSqsEventSourceMapping extends EventSourceMappingBase {
  readonly kind: 'sqs';
  readonly queue: LocalQueueAddress;
}

/** An event source mapping from the stream of a DynamoDB table of the template. */
export interface LocalStreamEventSourceMapping extends EventSourceMappingBase {
  readonly kind: 'dynamodb-stream';
  readonly tableName: string;
  /** The table's `StreamArn` as the template resolves it (a placeholder; DynamoDB Local has the real one). */
  readonly streamArn: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly bisectBatchOnFunctionError: boolean;
  /** `MaximumRetryAttempts`; -1 (the default) retries until the record is too old or expires. */
  readonly maximumRetryAttempts: number;
  /** `MaximumRecordAgeInSeconds`; -1 (the default) is no limit. */
  readonly maximumRecordAgeSeconds: number;
  /** `DestinationConfig.OnFailure.Destination`: the template's queue that gets a record of each batch given up. */
  readonly onFailure?: LocalQueueAddress;
}

/** An event source mapping the local stack runs (`kind` tells the source). */
export type LocalEventSourceMapping = LocalSqsEventSourceMapping | LocalStreamEventSourceMapping;

/** The placeholder label of a table's stream ARN in the model (DynamoDB Local labels the real one by its creation time). */
const STREAM_LABEL_PLACEHOLDER = '1970-01-01T00:00:00.000';

/** A streaming Function URL of the template. */
export interface LocalStreamingUrl {
  /** Its own logical id. */
  readonly logicalId: string;
  /** The logical id of the function it invokes. */
  readonly functionLogicalId: string;
  /** Its CORS settings, as the template sets them (`Cors`). */
  readonly cors: { readonly allowOrigins: readonly string[]; readonly allowMethods: readonly string[]; readonly allowHeaders: readonly string[] };
}

const PSEUDO = (env: LocalEnvironment): Record<string, string> => ({
  'AWS::Region': env.region,
  'AWS::AccountId': env.account,
  'AWS::Partition': 'aws',
  'AWS::StackName': env.stackName,
  'AWS::StackId': env.stackId,
  'AWS::URLSuffix': 'amazonaws.com',
});

/**
 * What `Fn::GetAtt <url>.FunctionUrl` resolves to in the model: a Function URL's address is known
 * only once the local stack listens on its port, which then replaces this (`localFunctionUrls`).
 */
export function functionUrlPlaceholder(logicalId: string): string {
  return `local-function-url://${logicalId}/`;
}

/**
 * `environment` with every Function URL placeholder replaced by the URL the local stack serves it
 * at (`urls` by logical id, each ending with `/`, as a Function URL does).
 */
export function localFunctionUrls(environment: Readonly<Record<string, string>>, urls: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      // A value an intrinsic resolved to something else than text (a test's stack id without `/`) stays as it is.
      typeof value === 'string' ? [...urls].reduce((text, [logicalId, url]) => text.replaceAll(functionUrlPlaceholder(logicalId), url), value) : value,
    ]),
  );
}

class Resolver {
  private readonly refs = new Map<string, string>();
  /** `Fn::GetAtt` values by logical id and attribute name. */
  private readonly attributes = new Map<string, Record<string, string>>();
  private readonly pseudo: Record<string, string>;

  constructor(
    resources: Readonly<Record<string, Resource>>,
    env: LocalEnvironment,
  ) {
    this.pseudo = PSEUDO(env);
    for (const [id, resource] of Object.entries(resources)) {
      const props = resource.Properties ?? {};
      const base = `arn:aws:%s:${env.region}:${env.account}`;
      switch (resource.Type) {
        case 'AWS::DynamoDB::GlobalTable':
        case 'AWS::DynamoDB::Table': {
          const name = typeof props.TableName === 'string' ? props.TableName : `${env.stackName}-${id}`;
          const arn = `${base.replace('%s', 'dynamodb')}:table/${name}`;
          this.refs.set(id, name);
          // StreamArn only with a stream, as CloudFormation: a mapping from a table without one is refused.
          this.attributes.set(id, { Arn: arn, ...(props.StreamSpecification ? { StreamArn: `${arn}/stream/${STREAM_LABEL_PLACEHOLDER}` } : {}) });
          break;
        }
        case 'AWS::Lambda::Function': {
          const name = typeof props.FunctionName === 'string' ? props.FunctionName : `${env.stackName}-${id}`;
          this.refs.set(id, name);
          this.attributes.set(id, { Arn: `${base.replace('%s', 'lambda')}:function:${name}` });
          break;
        }
        case 'AWS::StepFunctions::StateMachine': {
          const name = typeof props.StateMachineName === 'string' ? props.StateMachineName : id;
          const arn = `${base.replace('%s', 'states')}:stateMachine:${name}`;
          this.refs.set(id, arn);
          this.attributes.set(id, { Arn: arn });
          break;
        }
        case 'AWS::SQS::Queue': {
          const { name, url, arn } = queueAddress(id, props, env);
          this.refs.set(id, url);
          this.attributes.set(id, { Arn: arn, QueueName: name, QueueUrl: url });
          break;
        }
        case 'AWS::Lambda::Url':
          this.attributes.set(id, { FunctionUrl: functionUrlPlaceholder(id) });
          this.refs.set(id, id);
          break;
        case 'AWS::IAM::Role': {
          const name = typeof props.RoleName === 'string' ? props.RoleName : `${env.stackName}-${id}`;
          this.refs.set(id, name);
          this.attributes.set(id, { Arn: `arn:aws:iam::${env.account}:role/${name}`, RoleId: name });
          break;
        }
        case 'AWS::S3::Bucket': {
          const name = typeof props.BucketName === 'string' ? props.BucketName : localBucketName(env.stackName, id);
          this.refs.set(id, name);
          this.attributes.set(id, { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` });
          break;
        }
        case 'AWS::Scheduler::ScheduleGroup': {
          const name = typeof props.Name === 'string' ? props.Name : `${env.stackName}-${id}`;
          this.refs.set(id, name);
          this.attributes.set(id, { Arn: `${base.replace('%s', 'scheduler')}:schedule-group/${name}` });
          break;
        }
        default:
          this.refs.set(id, id);
      }
    }
  }

  /** Resolves the intrinsic functions CDK emits for this stack. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = value[key]!;
      switch (key) {
        case 'Ref': {
          const name = arg as string;
          const resolved = this.pseudo[name] ?? this.refs.get(name);
          if (resolved === undefined) throw new Error(`Local stack cannot resolve Ref ${name}`);
          return resolved;
        }
        case 'Fn::GetAtt': {
          const [id, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
          const resolved = this.attributes.get(id)?.[attribute];
          if (resolved === undefined) throw new Error(`Local stack cannot resolve Fn::GetAtt ${id}.${attribute}`);
          return resolved;
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, Json[]];
          return parts.map((part) => String(this.resolve(part))).join(separator);
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, Json];
          return String(this.resolve(text)).split(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, Json];
          return (this.resolve(list) as Json[])[Number(index)] ?? null;
        }
        default:
          if (key.startsWith('Fn::')) throw new Error(`Local stack does not support ${key}`);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.resolve(item)]));
  }

  refTarget(value: Json | undefined): string | undefined {
    const text = JSON.stringify(value ?? null);
    return /"Ref":"([^"]+)"/.exec(text)?.[1];
  }
}

/** SQS's limit on queue names. */
const MAX_QUEUE_NAME = 80;

/** A queue's name, URL (on the local SQS endpoint) and ARN. */
function queueAddress(id: string, props: Record<string, Json>, env: LocalEnvironment): Omit<LocalQueueAddress, 'logicalId'> {
  const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
  const generated = `${env.stackName}-${id}`.slice(0, MAX_QUEUE_NAME - (fifo ? 5 : 0));
  const name = typeof props.QueueName === 'string' ? props.QueueName : `${generated}${fifo ? '.fifo' : ''}`;
  const endpoint = env.sqsEndpoint ?? `https://sqs.${env.region}.amazonaws.com`;
  return { name, url: `${endpoint}/${env.account}/${name}`, arn: `arn:aws:sqs:${env.region}:${env.account}:${name}` };
}

function tableInput(props: Record<string, Json>, name: string): CreateTableCommandInput {
  const indexes = (props.GlobalSecondaryIndexes as Record<string, Json>[] | undefined) ?? [];
  const stream = (props.StreamSpecification as { StreamViewType?: StreamViewType } | undefined)?.StreamViewType;
  return {
    TableName: name,
    KeySchema: props.KeySchema as unknown as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as unknown as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
    ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream } } : {}),
    ...(indexes.length > 0
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.IndexName as string,
            KeySchema: index.KeySchema as unknown as NonNullable<CreateTableCommandInput['KeySchema']>,
            Projection: (index.Projection as { ProjectionType: 'ALL' } | undefined) ?? { ProjectionType: 'ALL' },
          })),
        }
      : {}),
  };
}

function routeAuthorizer(
  route: Record<string, Json>,
  resources: Readonly<Record<string, Resource>>,
  resolver: Resolver,
): { authorizer?: LocalAuthorizer } {
  const type = route.AuthorizationType ?? 'NONE';
  if (type === 'NONE') return {};
  if (type !== 'CUSTOM') {
    throw new Error(`Route ${String(route.RouteKey)}: ${String(type)} authorization is not emulated locally; synthesize with API key auth`);
  }
  const id = resolver.refTarget(route.AuthorizerId);
  const props = id ? resources[id]?.Properties : undefined;
  const uri = props ? String(resolver.resolve(props.AuthorizerUri ?? null)) : '';
  const functionArn = /functions\/(arn:[^/]+)\/invocations/.exec(uri)?.[1];
  if (!props || !functionArn) throw new Error(`Route ${String(route.RouteKey)}: its authorizer has no Lambda function`);
  return {
    authorizer: {
      functionArn,
      identitySource: (props.IdentitySource as string[] | undefined) ?? [],
      ttlSeconds: typeof props.AuthorizerResultTtlInSeconds === 'number' ? props.AuthorizerResultTtlInSeconds : 0,
      simpleResponses: props.EnableSimpleResponses === true,
    },
  };
}

/**
 * The tasks module a synthesized template's functions bundle, or undefined when the template is
 * missing or names none (an older synthesis).
 */
export function templateTasksModule(templatePath: string): string | undefined {
  let template: { Resources?: Record<string, Resource> };
  try {
    template = JSON.parse(readFileSync(templatePath, 'utf8')) as typeof template;
  } catch {
    return undefined;
  }
  const recorded = Object.values(template.Resources ?? {}).map((resource) => resource.Metadata?.[TASKS_MODULE_METADATA_KEY]).find((value) => typeof value === 'string');
  return typeof recorded === 'string' ? resolveTemplatePath(recorded) : undefined;
}

/**
 * Whether every task catalogue a synthesized template's functions name is still beside it (a
 * cloud assembly cleaned by hand may have lost it); false when the template is missing.
 */
export function templateCataloguesPresent(templatePath: string): boolean {
  let template: { Resources?: Record<string, Resource> };
  try {
    template = JSON.parse(readFileSync(templatePath, 'utf8')) as typeof template;
  } catch {
    return false;
  }
  return Object.values(template.Resources ?? {})
    .flatMap((resource) => [resource.Metadata?.[TASK_CATALOGUE_METADATA_KEY], resource.Metadata?.[OPENAPI_DOCUMENT_METADATA_KEY]])
    .every((recorded) => typeof recorded !== 'string' || existsSync(resolve(dirname(templatePath), recorded)));
}

/**
 * Reads a synthesized CloudFormation template into what the local stack runs: tables, functions
 * (by their entry metadata) with their tasks module and task catalogue, state machine definitions,
 * HTTP routes, EventBridge rules (event patterns and schedules), SQS queues and event source
 * mappings, with every intrinsic resolved for a local account and region.
 * @throws Error naming the resource for what the local stack does not emulate (e.g. an event
 * source mapping from Kinesis, or a filter operator outside local/event-filter.ts).
 */
export function loadStackModel(templatePath: string, env: LocalEnvironment): LocalStackModel {
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources: Record<string, Resource> };
  const resources = template.Resources;
  const resolver = new Resolver(resources, env);
  const tables: CreateTableCommandInput[] = [];
  const ttlAttributes = new Map<string, string>();
  const functions: LocalFunction[] = [];
  const stateMachines: LocalStateMachine[] = [];
  const routes: LocalRoute[] = [];
  const rules: LocalRule[] = [];
  const schedules: LocalSchedule[] = [];
  const scheduleGroups: string[] = [];
  const buckets: string[] = [];
  const streamingUrls: LocalStreamingUrl[] = [];
  const tasksModules = new Set<string>();
  const taskCatalogues = new Set<string>();
  const openApiDocuments = new Set<string>();
  const queueResources: Array<[string, Record<string, Json>]> = [];
  const mappingResources: Array<[string, Record<string, Json>]> = [];
  /** Table stream ARNs (as the template resolves them) → table names. */
  const tableStreams = new Map<string, string>();

  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table': {
        const name = resolver.resolve({ Ref: id }) as string;
        tables.push(tableInput(props, name));
        const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
        if (ttl?.Enabled && ttl.AttributeName) ttlAttributes.set(name, ttl.AttributeName);
        if (props.StreamSpecification) tableStreams.set(resolver.resolve({ 'Fn::GetAtt': [id, 'StreamArn'] }) as string, name);
        break;
      }
      case 'AWS::SQS::Queue':
        queueResources.push([id, props]);
        break;
      case 'AWS::Scheduler::ScheduleGroup':
        scheduleGroups.push(resolver.resolve({ Ref: id }) as string);
        break;
      case 'AWS::S3::Bucket':
        buckets.push(resolver.resolve({ Ref: id }) as string);
        break;
      case 'AWS::Lambda::EventSourceMapping':
        mappingResources.push([id, props]);
        break;
      case 'AWS::Lambda::Function': {
        const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
        if (typeof entry !== 'string') break;
        // The functions that run steps name the tasks module; the API functions the task catalogue.
        const tasksModule = resource.Metadata?.[TASKS_MODULE_METADATA_KEY];
        if (typeof tasksModule === 'string') tasksModules.add(resolveTemplatePath(tasksModule));
        const taskCatalogue = resource.Metadata?.[TASK_CATALOGUE_METADATA_KEY];
        if (typeof taskCatalogue === 'string') taskCatalogues.add(resolve(dirname(templatePath), taskCatalogue));
        const openApiDocument = resource.Metadata?.[OPENAPI_DOCUMENT_METADATA_KEY];
        if (typeof openApiDocument === 'string') openApiDocuments.add(resolve(dirname(templatePath), openApiDocument));
        const step = resource.Metadata?.[STEP_METADATA_KEY];
        const variables = resolver.resolve(
          ((props.Environment as Record<string, Json> | undefined)?.Variables ?? {}) as Json,
        ) as Record<string, string>;
        functions.push({
          logicalId: id,
          name: resolver.resolve({ Ref: id }) as string,
          arn: resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string,
          entry,
          environment: variables,
          timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
          memoryMb: typeof props.MemorySize === 'number' ? props.MemorySize : 128,
          ...(typeof step === 'string' ? { step } : {}),
        });
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const raw = props.DefinitionString ?? props.Definition;
        const resolved = resolver.resolve(raw ?? null);
        stateMachines.push({
          logicalId: id,
          name: String(props.StateMachineName ?? id),
          arn: resolver.resolve({ Ref: id }) as string,
          definition: (typeof resolved === 'string' ? JSON.parse(resolved) : resolved) as Record<string, Json>,
        });
        break;
      }
      case 'AWS::ApiGatewayV2::Route': {
        const integrationId = resolver.refTarget(props.Target);
        const integration = integrationId ? resources[integrationId] : undefined;
        if (!integration?.Properties?.IntegrationUri) {
          throw new Error(`Route ${String(props.RouteKey)} has no Lambda integration the local stack can follow`);
        }
        routes.push({
          routeKey: String(props.RouteKey),
          functionArn: resolver.resolve(integration.Properties.IntegrationUri) as string,
          timeoutMs: typeof integration.Properties.TimeoutInMillis === 'number' ? integration.Properties.TimeoutInMillis : DEFAULT_INTEGRATION_TIMEOUT_MS,
          ...routeAuthorizer(props, resources, resolver),
        });
        break;
      }
      case 'AWS::Lambda::Url': {
        // A BUFFERED URL would need the HTTP API's buffering; the service declares none.
        if (props.InvokeMode !== 'RESPONSE_STREAM') break;
        const target = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(JSON.stringify(props.TargetFunctionArn ?? null))?.[1] ?? resolver.refTarget(props.TargetFunctionArn);
        if (!target) throw new Error(`Function URL ${id} has no function the local stack can follow`);
        const cors = (props.Cors ?? {}) as { AllowOrigins?: string[]; AllowMethods?: string[]; AllowHeaders?: string[] };
        streamingUrls.push({
          logicalId: id,
          functionLogicalId: target,
          cors: { allowOrigins: cors.AllowOrigins ?? [], allowMethods: cors.AllowMethods ?? [], allowHeaders: cors.AllowHeaders ?? [] },
        });
        break;
      }
      case 'AWS::Events::Rule': {
        if (props.State === 'DISABLED') break;
        const targets = (props.Targets as Record<string, Json>[] | undefined) ?? [];
        if (props.ScheduleExpression !== undefined) {
          schedules.push({
            logicalId: id,
            arn: `arn:aws:events:${env.region}:${env.account}:rule/${typeof props.Name === 'string' ? props.Name : `${env.stackName}-${id}`}`,
            expression: String(resolver.resolve(props.ScheduleExpression)),
            targets: targets.map((target) => ({
              arn: resolver.resolve(target.Arn!) as string,
              ...(typeof target.Input === 'string' ? { input: target.Input } : {}),
            })),
          });
          break;
        }
        rules.push({
          pattern: resolver.resolve(props.EventPattern ?? {}) as Record<string, Json>,
          targetArns: targets.map((target) => resolver.resolve(target.Arn!) as string),
        });
        break;
      }
    }
  }
  const [tasksModule, ...others] = [...tasksModules];
  if (!tasksModule || others.length > 0) {
    throw new Error(`${templatePath}: its functions must share one tasks module (${TASKS_MODULE_METADATA_KEY}), found ${tasksModules.size === 0 ? 'none; synthesize it again' : [...tasksModules].join(', ')}`);
  }
  const [taskCatalogue, ...otherCatalogues] = [...taskCatalogues];
  if (!taskCatalogue || otherCatalogues.length > 0) {
    throw new Error(`${templatePath}: its API functions must share one task catalogue (${TASK_CATALOGUE_METADATA_KEY}), found ${taskCatalogues.size === 0 ? 'none; synthesize it again' : [...taskCatalogues].join(', ')}`);
  }
  if (!existsSync(taskCatalogue)) throw new Error(`${templatePath}: its task catalogue ${taskCatalogue} is missing; synthesize it again`);
  const [openApiDocument, ...otherDocuments] = [...openApiDocuments];
  if (otherDocuments.length > 0) throw new Error(`${templatePath}: its functions name more than one OpenAPI document (${OPENAPI_DOCUMENT_METADATA_KEY}): ${[...openApiDocuments].join(', ')}`);
  if (openApiDocument && !existsSync(openApiDocument)) throw new Error(`${templatePath}: its OpenAPI document ${openApiDocument} is missing; synthesize it again`);
  const queues = orderQueues(queueResources.map(([id, props]) => localQueue(id, props, resolver, env)));
  const eventSourceMappings = mappingResources.map(([id, props]) => eventSourceMapping(id, props, { resolver, functions, queues, tableStreams }));
  return { tables, ttlAttributes, functions, tasksModule, taskCatalogue, ...(openApiDocument ? { openApiDocument } : {}), stateMachines, routes, rules, schedules, streamingUrls, queues, eventSourceMappings, scheduleGroups, buckets };
}

/** Queue properties that are `CreateQueue` attributes of the same name (numbers and booleans as strings). */
const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'MaximumMessageSize',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

/** A queue of the template; its `RedrivePolicy` keeps the resolved dead-letter ARN, matched to a queue by {@link orderQueues}. */
function localQueue(id: string, props: Record<string, Json>, resolver: Resolver, env: LocalEnvironment): LocalQueue {
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) {
    const value = props[name];
    if (value !== undefined && value !== null) attributes[name] = String(resolver.resolve(value));
  }
  if (props.RedrivePolicy !== undefined) {
    const resolved = resolver.resolve(props.RedrivePolicy);
    const policy = (typeof resolved === 'string' ? JSON.parse(resolved) : resolved) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount) });
  }
  // Encryption, tags and the redrive allow policy change nothing a local caller can observe.
  return { logicalId: id, ...queueAddress(id, props, env), attributes };
}

/**
 * The queues with each dead-letter queue before the queues that use it (SQS refuses a redrive
 * policy naming a queue that does not exist yet).
 * @throws when a redrive policy names a queue the template does not define, or queues form a cycle.
 */
function orderQueues(queues: readonly LocalQueue[]): LocalQueue[] {
  const byArn = new Map(queues.map((queue) => [queue.arn, queue]));
  const linked = queues.map((queue): LocalQueue => {
    if (queue.attributes.RedrivePolicy === undefined) return queue;
    const target = (JSON.parse(queue.attributes.RedrivePolicy) as { deadLetterTargetArn: unknown }).deadLetterTargetArn;
    const deadLetters = typeof target === 'string' ? byArn.get(target) : undefined;
    if (!deadLetters) throw new Error(`Queue ${queue.logicalId}: its dead-letter queue ${String(target)} is not a queue of the template, which the local stack cannot create`);
    return { ...queue, deadLetterQueue: deadLetters.logicalId };
  });
  const ordered: LocalQueue[] = [];
  const placing = new Set<string>();
  const place = (queue: LocalQueue): void => {
    if (ordered.includes(queue)) return;
    if (placing.has(queue.logicalId)) throw new Error(`Queue ${queue.logicalId}: its dead-letter queues form a cycle`);
    placing.add(queue.logicalId);
    const deadLetters = linked.find((candidate) => candidate.logicalId === queue.deadLetterQueue);
    if (deadLetters) place(deadLetters);
    ordered.push(queue);
  };
  for (const queue of linked) place(queue);
  return ordered;
}

/** Event source mapping properties of sources or features the local stack does not run. */
const UNSUPPORTED_MAPPING_PROPERTIES = [
  'TumblingWindowInSeconds',
  'StartingPositionTimestamp',
  'Queues',
  'Topics',
  'SelfManagedEventSource',
  'SelfManagedKafkaEventSourceConfig',
  'AmazonManagedKafkaEventSourceConfig',
  'SourceAccessConfigurations',
  'DocumentDBEventSourceConfig',
] as const;

/** Properties only stream mappings take (Lambda refuses them on an SQS mapping too). */
const STREAM_ONLY_PROPERTIES = ['StartingPosition', 'BisectBatchOnFunctionError', 'MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'DestinationConfig', 'ParallelizationFactor'] as const;

function numberOf(value: Json | undefined, fallback: number, where: string, name: string): number {
  if (value === undefined || value === null) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`${where}: ${name} must be an integer, got ${JSON.stringify(value)}`);
  return number;
}

/**
 * One event source mapping, checked: its function is one the local stack runs, its source one of
 * the template's queues or table streams, its filters within what local/event-filter.ts evaluates.
 * @throws Error naming the mapping for anything the local stack does not emulate.
 */
function eventSourceMapping(
  id: string,
  props: Record<string, Json>,
  context: {
    readonly resolver: Resolver;
    readonly functions: readonly LocalFunction[];
    readonly queues: readonly LocalQueue[];
    readonly tableStreams: ReadonlyMap<string, string>;
  },
): LocalEventSourceMapping {
  const where = `EventSourceMapping ${id}`;
  const { resolver } = context;
  for (const name of UNSUPPORTED_MAPPING_PROPERTIES) {
    if (props[name] !== undefined) throw new Error(`${where}: ${name} is not emulated locally`);
  }
  const functionName = String(resolver.resolve(props.FunctionName ?? null));
  const fn = context.functions.find((candidate) => candidate.name === functionName || candidate.arn === functionName);
  if (!fn) throw new Error(`${where} invokes ${functionName}, which is not a function of the template the local stack runs`);
  const sourceArn = props.EventSourceArn === undefined ? undefined : String(resolver.resolve(props.EventSourceArn));
  const responseTypes = (props.FunctionResponseTypes as Json[] | undefined) ?? [];
  for (const type of responseTypes) {
    if (type !== 'ReportBatchItemFailures') throw new Error(`${where}: FunctionResponseTypes ${JSON.stringify(type)} is not emulated locally`);
  }
  const patterns = ((props.FilterCriteria as { Filters?: Array<{ Pattern?: Json }> } | undefined)?.Filters ?? []).map((filter, index) => {
    const pattern = resolver.resolve(filter.Pattern ?? null);
    try {
      return typeof pattern === 'string' ? (JSON.parse(pattern) as unknown) : pattern;
    } catch {
      throw new Error(`${where}: filter ${index + 1} is not JSON: ${String(pattern)}`);
    }
  });
  compileFilters(patterns, where);
  const queue = context.queues.find((candidate) => candidate.arn === sourceArn);
  const tableName = sourceArn === undefined ? undefined : context.tableStreams.get(sourceArn);
  const base = {
    logicalId: id,
    functionArn: fn.arn,
    enabled: props.Enabled !== false && props.Enabled !== 'false',
    maximumBatchingWindowSeconds: numberOf(props.MaximumBatchingWindowInSeconds, 0, where, 'MaximumBatchingWindowInSeconds'),
    reportBatchItemFailures: responseTypes.length > 0,
    filters: patterns,
  };
  if (queue) {
    for (const name of STREAM_ONLY_PROPERTIES) {
      if (props[name] !== undefined) throw new Error(`${where}: ${name} applies to stream sources, not to the SQS queue ${queue.logicalId} (its redrive policy handles failures)`);
    }
    if (queue.attributes.FifoQueue === 'true') throw new Error(`${where}: its source ${queue.logicalId} is a FIFO queue, whose ordering per message group is not emulated locally`);
    const { logicalId, name, url, arn } = queue;
    return { ...base, kind: 'sqs', queue: { logicalId, name, url, arn }, batchSize: numberOf(props.BatchSize, 10, where, 'BatchSize') };
  }
  if (tableName !== undefined && sourceArn !== undefined) {
    const startingPosition = props.StartingPosition;
    if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
      throw new Error(`${where}: StartingPosition ${JSON.stringify(startingPosition ?? null)} is not emulated locally (TRIM_HORIZON or LATEST)`);
    }
    const destination = (props.DestinationConfig as { OnFailure?: { Destination?: Json } } | undefined)?.OnFailure?.Destination;
    const destinationArn = destination === undefined ? undefined : String(resolver.resolve(destination));
    const onFailure = destinationArn === undefined ? undefined : context.queues.find((candidate) => candidate.arn === destinationArn);
    if (destinationArn !== undefined && !onFailure) {
      throw new Error(`${where}: its on-failure destination ${destinationArn} is not emulated locally: only an SQS queue of the template is`);
    }
    return {
      ...base,
      kind: 'dynamodb-stream',
      tableName,
      streamArn: sourceArn,
      startingPosition,
      batchSize: numberOf(props.BatchSize, 100, where, 'BatchSize'),
      bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true || props.BisectBatchOnFunctionError === 'true',
      maximumRetryAttempts: numberOf(props.MaximumRetryAttempts, -1, where, 'MaximumRetryAttempts'),
      maximumRecordAgeSeconds: numberOf(props.MaximumRecordAgeInSeconds, -1, where, 'MaximumRecordAgeInSeconds'),
      ...(onFailure ? { onFailure: { logicalId: onFailure.logicalId, name: onFailure.name, url: onFailure.url, arn: onFailure.arn } } : {}),
    };
  }
  throw new Error(
    `${where}: its source ${sourceArn ?? '(none)'} is not emulated locally: only the template's SQS queues and DynamoDB table streams are (not Kinesis, Kafka, MQ or DocumentDB)`,
  );
}
