import { Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TASKS_MODULE, templatePathOf } from '../tasks-module.js';
import { acknowledgeWildcardResources } from './nag.js';

/** Props of {@link ServiceFunction}. */
export interface ServiceFunctionProps {
  /** Entry module under `lambdas/`, e.g. `api/executions-read.ts`; it exports `handler`. */
  readonly entry: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Environment variables besides the defaults. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Maximum run time.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB (also buys CPU, which shortens cold starts).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Days of log retention.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Concurrent executions reserved for (and the most allowed to) this function.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Whether the function runs task code (steps): it then bundles the stack's tasks module as
   * `#tasks` (see {@link TASKS_MODULE_CONTEXT}).
   * @default false
   */
  readonly runsTasks?: boolean;
  /**
   * Path of the task catalogue (`writeTaskCatalogue`) the function bundles as `#task-catalogue`:
   * for API functions, which need the tasks' ids, schemas and views but none of their code.
   * @default - none
   */
  readonly taskCatalogue?: string;
  /**
   * The module this function's bundle takes as `#tasks`: a step function's generated module of its
   * one task (the template metadata still names the scope's tasks module, whose tasks these are).
   * @default - the scope's tasks module, whole
   */
  readonly bundledTasksModule?: string;
  /**
   * Path of the built dashboard page (`writeDashboardPage`) the function bundles as `#dashboard-page`.
   * @default - none
   */
  readonly dashboardPage?: string;
  /**
   * Path of the OpenAPI document (`writeOpenApiDocument`) the function bundles as `#openapi-document`.
   * @default - none
   */
  readonly openApiDocument?: string;
}

/** Template metadata key holding a function's entry module, relative to `lambdas/`. */
export const ENTRY_METADATA_KEY = 'async-executions:entry';

/**
 * Template metadata key holding the tasks module whose tasks a function runs (relative to the project
 * root): what it bundles as `#tasks`, whole, or (a step function) through the generated module of
 * its one task; the local stack resolves `#tasks` to it.
 */
export const TASKS_MODULE_METADATA_KEY = 'async-executions:tasks-module';

/** Template metadata key holding the task catalogue a function bundles as `#task-catalogue` (relative to the template's folder). */
export const TASK_CATALOGUE_METADATA_KEY = 'async-executions:task-catalogue';

/** Template metadata key holding the OpenAPI document a function bundles as `#openapi-document` (relative to the template's folder). */
export const OPENAPI_DOCUMENT_METADATA_KEY = 'async-executions:openapi-document';

/** Why every function's role has statements on `*`: acknowledged for cdk-nag on each role. */
export const XRAY_STAR_REASON =
  'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is "*" (the only actions granted on "*" by the service itself, asserted in test/infra/iam.test.ts).';

/** Template metadata key of a step function: the Lambda step it runs, `<task id>/<step name>`. */
export const STEP_METADATA_KEY = 'async-executions:step';

/**
 * Construct context key naming the tasks module (absolute path) that functions in its scope that
 * run task code bundle as `#tasks`; `ExecutionsStack` sets it, so no construct between them has
 * to pass it on.
 */
export const TASKS_MODULE_CONTEXT = 'async-executions:tasks-module';

const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
/** Lock files CDK knows (it picks the package manager by the file's name). */
const LOCK_FILES = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb'];

/** {@link bundlingRoot}, looked up once per process: every function of a synth shares it. */
let bundlingRootOnce: ReturnType<typeof bundlingRoot> | undefined;

/**
 * The lock file bundling is given, and the project root it implies (its folder): the nearest up from
 * this package. In a checkout that is the package's own; an installed copy ships none (npm pack
 * leaves it out), so there it is the lock file of the app that installed the package. CDK requires
 * every entry and the lock file under the project root, which the app's root folder satisfies.
 * @throws Error when no folder from the package up holds a lock file.
 */
function bundlingRoot(from: string = PACKAGE_DIR): { readonly projectRoot: string; readonly depsLockFilePath: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const lockFile = LOCK_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
    if (lockFile) return { projectRoot: dir, depsLockFilePath: lockFile };
    if (dirname(dir) === dir) {
      throw new Error(`No lock file (${LOCK_FILES.join(', ')}) in ${from} or any folder above it: install async-executions with a package manager that writes one`);
    }
  }
}

/**
 * A Lambda function of this service: Node.js 24 on arm64, one minified ESM bundle per function
 * built by the local esbuild (no Docker), the AWS SDK bundled and tree-shaken rather than taken
 * from the runtime, X-Ray active tracing, and its own log group.
 *
 * Each function runs as its own role, which may write only to the function's log group (instead of
 * the managed `AWSLambdaBasicExecutionRole`, which lets a function create and write to any log group
 * of the account). Grant it what it needs on top (`grantTableAccess`, state machine grants).
 */
export class ServiceFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    if (!props.entry.endsWith('.ts') || props.entry.startsWith('/')) {
      throw new Error(`ServiceFunction entry must be a .ts path relative to lambdas/: ${props.entry}`);
    }
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${id} function: ${props.description}`,
    });
    logGroup.grantWrite(role);
    const tasksModule = props.runsTasks ? tasksModuleIn(scope) : undefined;
    super(scope, id, {
      entry: `${LAMBDAS_DIR}${props.entry}`,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role,
      logGroup,
      loggingFormat: LoggingFormat.TEXT,
      ...(bundlingRootOnce ??= bundlingRoot()),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: bundlingOptions({ tasksModule: props.bundledTasksModule ?? tasksModule, taskCatalogue: props.taskCatalogue, dashboardPage: props.dashboardPage, openApiDocument: props.openApiDocument }),
    });
    acknowledgeWildcardResources(role, ['*'], XRAY_STAR_REASON);
    // The local stack maps each function of the synthesized template back to its handler module.
    const resource = this.node.defaultChild as CfnFunction;
    resource.addMetadata(ENTRY_METADATA_KEY, props.entry);
    if (tasksModule) resource.addMetadata(TASKS_MODULE_METADATA_KEY, templatePathOf(tasksModule));
    // The catalogue and the OpenAPI document live in the cloud assembly, beside the template: recorded relative to it.
    const outdir = Stage.of(this)?.outdir;
    const record = (key: string, path: string) => {
      const recorded = outdir ? relative(outdir, path) : path;
      resource.addMetadata(key, isAbsolute(recorded) ? recorded : recorded.split(sep).join('/'));
    };
    if (props.taskCatalogue) record(TASK_CATALOGUE_METADATA_KEY, props.taskCatalogue);
    if (props.openApiDocument) record(OPENAPI_DOCUMENT_METADATA_KEY, props.openApiDocument);
  }
}

/** The tasks module of `scope` (its `TASKS_MODULE_CONTEXT`), or the package's default `#tasks` outside a stack that sets one. */
function tasksModuleIn(scope: Construct): string {
  const chosen: unknown = scope.node.tryGetContext(TASKS_MODULE_CONTEXT);
  if (chosen === undefined) return DEFAULT_TASKS_MODULE;
  if (typeof chosen !== 'string' || !isAbsolute(chosen)) {
    throw new Error(`Context ${TASKS_MODULE_CONTEXT} must be the absolute path of a tasks module, got ${JSON.stringify(chosen)}`);
  }
  return chosen;
}

/** What a function bundles of the deployed tasks: the tasks module as `#tasks`, the task catalogue as `#task-catalogue`. */
export interface TaskImports {
  readonly tasksModule?: string | undefined;
  readonly taskCatalogue?: string | undefined;
  /** The built dashboard page (JSON), `#dashboard-page` of the dashboard function. */
  readonly dashboardPage?: string | undefined;
  /** The OpenAPI document computed at synth (an ES module), `#openapi-document` of the catalogue function. */
  readonly openApiDocument?: string | undefined;
}

/**
 * esbuild options of every function, bundling what `imports` names, the one definition CDK and
 * the benchmark both build from
 * (`scripts/bench/bundle.ts` maps them to esbuild exactly as CDK does, and refuses any it does not
 * know), so the benchmark measures the bundles that deploy.
 */
export function bundlingOptions(imports: TaskImports = {}): BundlingOptions {
  const aliases = [
    ...(imports.tasksModule ? [`#tasks=${imports.tasksModule}`] : []),
    ...(imports.taskCatalogue ? [`#task-catalogue=${imports.taskCatalogue}`] : []),
    ...(imports.dashboardPage ? [`#dashboard-page=${imports.dashboardPage}`] : []),
    ...(imports.openApiDocument ? [`#openapi-document=${imports.openApiDocument}`] : []),
  ];
  return {
    format: OutputFormat.ESM,
    target: 'node24',
    minify: true,
    // Minifying renames classes: error names (`this.name = new.target.name`) would differ between
    // AWS and local runs, and a Retry or Catch naming a task's error class would never match.
    keepNames: true,
    sourceMap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    externalModules: [],
    // ESM bundles have no `require`; some CommonJS dependencies still call it for Node built-ins.
    banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    // The registry imports the chosen tasks module as `#tasks`, the API functions the task catalogue
    // as `#task-catalogue`; package.json's mappings are only defaults for tools without an alias. A
    // function given neither (nor importing either) bundles neither.
    ...(aliases.length > 0 ? { esbuildArgs: { '--alias': aliases } } : {}),
  };
}
