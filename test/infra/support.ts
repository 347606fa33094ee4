import { App, CfnElement, type AppProps, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { ExecutionsStack, type ExecutionsStackProps } from '../../infra/executions-stack.js';
import { loadTasksModule, type TasksModule } from '../../infra/tasks-module.js';

/** Context of `cdk.json` (feature flags), so tests synthesize what `cdk synth` does. */
const CDK_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> })
  .context;

/** An app with the project's feature flags and bundling skipped (synth without esbuild). */
export function testApp(props: Omit<AppProps, 'context'> = {}): App {
  return new App({ ...props, context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
}

/** The test-owned sample tasks, also what `#tasks` resolves to in infra tests (vitest.config.ts). */
export const SAMPLE_TASKS = await loadTasksModule(new URL('../support/sample-tasks.ts', import.meta.url).pathname);

/** Stack name of the stack under test; state machine names start with it. */
export const STACK_NAME = 'ExecTest';

let defaultService: { stack: ExecutionsStack; template: Template } | undefined;

/** Stack props of a test: the sample tasks unless `tasksModule` names others. */
export type ServiceProps = Omit<ExecutionsStackProps, 'tasksModule'> & { readonly tasksModule?: TasksModule };

/**
 * Synthesizes the service stack with the sample tasks unless `props` names a tasks module; call at module level or in `beforeAll`. The default stack (no
 * props) is synthesized once per worker and shared by the files that run there (`isolate: false`);
 * tests only read it.
 */
export function synthService(props?: ServiceProps): { stack: ExecutionsStack; template: Template } {
  if (props === undefined && defaultService) return defaultService;
  const stack = new ExecutionsStack(testApp(), STACK_NAME, { tasksModule: SAMPLE_TASKS, ...props });
  const service = { stack, template: Template.fromStack(stack) };
  if (props === undefined) defaultService = service;
  return service;
}

/** A CloudFormation resource as the template holds it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** Resources of `type` by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** The single resource of `type`; fails when there is not exactly one. */
export function onlyResource(template: Template, type: string): [string, CfnResource] {
  const entries = Object.entries(resourcesOf(template, type));
  if (entries.length !== 1) throw new Error(`Expected one ${type}, found ${entries.length}`);
  return entries[0]!;
}

/** Logical id of the CloudFormation resource behind an L2 construct. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return stack.getLogicalId(child);
}

/** A child construct of `scope` with id `id`, checked to be an instance of `type`. */
export function childOf<T>(scope: IConstruct, id: string, type: abstract new (...args: never[]) => T): T {
  const child = scope.node.findChild(id);
  if (!(child instanceof type)) throw new Error(`${scope.node.path}/${id} is not a ${type.name}`);
  return child;
}

// ---------------------------------------------------------------------------------------------
// IAM

/** An IAM policy statement as synthesized. */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

interface PolicyDocument {
  readonly Statement: readonly PolicyStatement[];
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** Logical id of the role a function runs as. */
export function roleOfFunction(template: Template, functionLogicalId: string): string {
  const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionLogicalId];
  if (!fn) throw new Error(`No function ${functionLogicalId}`);
  const role = fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const roleId = role?.['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`Function ${functionLogicalId} has no role of this stack`);
  return roleId;
}

/** Every Allow statement that applies to a role: its inline policies and the `AWS::IAM::Policy` resources attached to it. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatement[] {
  const role = resourcesOf(template, 'AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`No role ${roleLogicalId}`);
  const inline = asList(role.Properties?.Policies as readonly { PolicyDocument: PolicyDocument }[] | undefined).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );
  const attached = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      asList(policy.Properties?.Roles as readonly unknown[] | undefined).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap((policy) => (policy.Properties?.PolicyDocument as PolicyDocument).Statement);
  return [...inline, ...attached].filter((statement) => statement.Effect === 'Allow');
}

/** Statements of the role of a function. */
export function statementsOfFunction(template: Template, functionLogicalId: string): PolicyStatement[] {
  return statementsOfRole(template, roleOfFunction(template, functionLogicalId));
}

/** Every Allow statement of every role and policy of the template, with the role it applies to. */
export function allStatements(template: Template): { role: string; statement: PolicyStatement }[] {
  return Object.keys(resourcesOf(template, 'AWS::IAM::Role')).flatMap((role) =>
    statementsOfRole(template, role).map((statement) => ({ role, statement })),
  );
}

/** Whether the IAM action pattern (with `*` and `?` wildcards, case-insensitive) covers `action`. */
export function actionCovers(pattern: string, action: string): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(action);
}

/** Action patterns of statements (NotAction statements grant nearly everything: reported as `*`). */
export function actionsOf(statements: readonly PolicyStatement[]): string[] {
  return statements.flatMap((statement) => (statement.NotAction ? ['*'] : [...asList(statement.Action)]));
}

/** Whether any of the statements allows `action`. */
export function allows(statements: readonly PolicyStatement[], action: string): boolean {
  return actionsOf(statements).some((pattern) => actionCovers(pattern, action));
}

// ---------------------------------------------------------------------------------------------
// Step Functions

/** A state of an Amazon States Language definition (the fields these tests read). */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Next?: string;
  readonly End?: boolean;
  readonly TimeoutSeconds?: number;
  readonly Retry?: readonly AslRetrier[];
  readonly Catch?: readonly { ErrorEquals: readonly string[]; Next: string; ResultPath?: string }[];
  readonly ErrorPath?: string;
  readonly CausePath?: string;
  readonly ResultPath?: string;
  readonly OutputPath?: string;
  readonly ItemsPath?: string;
  readonly ItemSelector?: Record<string, unknown>;
  readonly MaxConcurrency?: number;
  readonly Branches?: readonly AslDefinition[];
  readonly ItemProcessor?: AslDefinition & { readonly ProcessorConfig?: Record<string, unknown> };
  readonly Choices?: readonly Record<string, unknown>[];
  readonly Default?: string;
  readonly TimestampPath?: string;
  readonly Error?: string;
}

export interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly MaxAttempts?: number;
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: 'FULL' | 'NONE';
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
  readonly QueryLanguage?: string;
}

/**
 * Placeholder of a CloudFormation token spliced into a definition: `${Ref:Id}`, `${GetAtt:Id.Attr}`,
 * or `${Token}` for anything else. Placeholders contain no JSON-special characters.
 */
export function tokenPlaceholder(token: unknown): string {
  if (typeof token === 'object' && token !== null) {
    const ref = (token as { Ref?: unknown }).Ref;
    if (typeof ref === 'string') return `\${Ref:${ref}}`;
    const getAtt = (token as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt.length === 2) return `\${GetAtt:${String(getAtt[0])}.${String(getAtt[1])}}`;
  }
  return '${Token}';
}

/** Parses a state machine's `DefinitionString` (plain, or an `Fn::Join` of JSON text and tokens). */
export function decodeDefinition(definitionString: unknown): AslDefinition {
  if (typeof definitionString === 'string') return JSON.parse(definitionString) as AslDefinition;
  const join = (definitionString as { 'Fn::Join'?: [string, readonly unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`DefinitionString is neither a string nor an Fn::Join: ${JSON.stringify(definitionString)}`);
  const [separator, parts] = join;
  const text = parts.map((part) => (typeof part === 'string' ? part : tokenPlaceholder(part))).join(separator);
  return JSON.parse(text) as AslDefinition;
}

/** State machines of the template by state machine name. */
export function stateMachinesByName(template: Template): Map<string, { logicalId: string; resource: CfnResource; definition: AslDefinition }> {
  return new Map(
    Object.entries(resourcesOf(template, 'AWS::StepFunctions::StateMachine')).map(([logicalId, resource]) => [
      String(resource.Properties?.StateMachineName),
      { logicalId, resource, definition: decodeDefinition(resource.Properties?.DefinitionString) },
    ]),
  );
}
