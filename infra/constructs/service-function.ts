import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
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
}

/** Template metadata key holding a function's entry module, relative to `lambdas/`. */
export const ENTRY_METADATA_KEY = 'async-executions:entry';

const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));
const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));

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
      projectRoot: PROJECT_DIR,
      depsLockFilePath: `${PROJECT_DIR}package-lock.json`,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: bundlingOptions(),
    });
    acknowledgeWildcardResources(role, ['*'], 'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is "*" (the only actions granted on "*", asserted in test/infra/iam.test.ts).');
    // The local stack maps each function of the synthesized template back to its handler module.
    (this.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA_KEY, props.entry);
  }
}

/**
 * esbuild options of every function, the one definition CDK and the benchmark both build from
 * (`scripts/bench/bundle.ts` maps them to esbuild exactly as CDK does, and refuses any it does not
 * know), so the benchmark measures the bundles that deploy.
 */
export function bundlingOptions(): BundlingOptions {
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
  };
}
