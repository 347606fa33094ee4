import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { ENTRY_METADATA_KEY, STEP_METADATA_KEY, TASK_CATALOGUE_METADATA_KEY, TASKS_MODULE_METADATA_KEY } from '../infra/constructs/service-function.js';
import { resolveTemplatePath } from '../infra/tasks-module.js';

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
  readonly stateMachines: readonly LocalStateMachine[];
  readonly routes: readonly LocalRoute[];
  /** Rules with an event pattern. */
  readonly rules: readonly LocalRule[];
  /** Rules with a schedule expression. */
  readonly schedules: readonly LocalSchedule[];
  /** The Function URLs (`AWS::Lambda::Url`) in RESPONSE_STREAM mode: what the local stack serves on ports of their own. */
  readonly streamingUrls: readonly LocalStreamingUrl[];
}

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
  private readonly arns = new Map<string, string>();
  private readonly functionUrls = new Map<string, string>();
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
          this.refs.set(id, name);
          this.arns.set(id, `${base.replace('%s', 'dynamodb')}:table/${name}`);
          break;
        }
        case 'AWS::Lambda::Function': {
          const name = typeof props.FunctionName === 'string' ? props.FunctionName : `${env.stackName}-${id}`;
          this.refs.set(id, name);
          this.arns.set(id, `${base.replace('%s', 'lambda')}:function:${name}`);
          break;
        }
        case 'AWS::StepFunctions::StateMachine': {
          const name = typeof props.StateMachineName === 'string' ? props.StateMachineName : id;
          const arn = `${base.replace('%s', 'states')}:stateMachine:${name}`;
          this.refs.set(id, arn);
          this.arns.set(id, arn);
          break;
        }
        case 'AWS::Lambda::Url':
          this.functionUrls.set(id, functionUrlPlaceholder(id));
          this.refs.set(id, id);
          break;
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
          const [id, attribute] = arg as [string, string];
          const resolved = attribute === 'Arn' ? this.arns.get(id) : attribute === 'FunctionUrl' ? this.functionUrls.get(id) : undefined;
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

function tableInput(props: Record<string, Json>, name: string): CreateTableCommandInput {
  const indexes = (props.GlobalSecondaryIndexes as Record<string, Json>[] | undefined) ?? [];
  return {
    TableName: name,
    KeySchema: props.KeySchema as unknown as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as unknown as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
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
    .map((resource) => resource.Metadata?.[TASK_CATALOGUE_METADATA_KEY])
    .every((recorded) => typeof recorded !== 'string' || existsSync(resolve(dirname(templatePath), recorded)));
}

/**
 * Reads a synthesized CloudFormation template into what the local stack runs: tables, functions
 * (by their entry metadata) with their tasks module and task catalogue, state machine definitions,
 * HTTP routes and EventBridge rules (event patterns and schedules), with every intrinsic resolved
 * for a local account and region.
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
  const streamingUrls: LocalStreamingUrl[] = [];
  const tasksModules = new Set<string>();
  const taskCatalogues = new Set<string>();

  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table': {
        const name = resolver.resolve({ Ref: id }) as string;
        tables.push(tableInput(props, name));
        const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
        if (ttl?.Enabled && ttl.AttributeName) ttlAttributes.set(name, ttl.AttributeName);
        break;
      }
      case 'AWS::Lambda::Function': {
        const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
        if (typeof entry !== 'string') break;
        // The functions that run steps name the tasks module; the API functions the task catalogue.
        const tasksModule = resource.Metadata?.[TASKS_MODULE_METADATA_KEY];
        if (typeof tasksModule === 'string') tasksModules.add(resolveTemplatePath(tasksModule));
        const taskCatalogue = resource.Metadata?.[TASK_CATALOGUE_METADATA_KEY];
        if (typeof taskCatalogue === 'string') taskCatalogues.add(resolve(dirname(templatePath), taskCatalogue));
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
  return { tables, ttlAttributes, functions, tasksModule, taskCatalogue, stateMachines, routes, rules, schedules, streamingUrls };
}
