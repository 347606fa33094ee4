import { Duration, Token } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { WORST_CASE_CALL_MS } from '../../lambdas/shared/client-config.js';
import type { LambdaStep } from '../../lambdas/tasks/dsl.js';
import { environmentBytes, MAX_ENVIRONMENT_BYTES, stepFunctionConfig } from '../../lambdas/tasks/step-options.js';
import { acknowledgeWildcardActions, acknowledgeWildcardResources } from './nag.js';
import { ServiceFunction, STEP_METADATA_KEY, XRAY_STAR_REASON } from './service-function.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link TaskStepFunction}. */
export interface TaskStepFunctionProps {
  /** Id of the task the step belongs to. */
  readonly taskId: string;
  /** The Lambda step this function runs. */
  readonly step: LambdaStep;
  /** The executions table, which the step runtime writes. */
  readonly table: ITableV2;
  /** Environment shared by the service's functions; the step's own variables may not redefine it. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The module the bundle takes as `#tasks` (see `ServiceFunction`).
   * @default - the scope's tasks module, whole
   */
  readonly bundledTasksModule?: string;
  /**
   * Concurrent executions reserved for this step's function: always available to it, and its
   * ceiling (docs/capacity.md). Lambda refuses a reservation that leaves the account less than 100
   * unreserved.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

/** `<task id>/<step name>`: how a Lambda step is named in `stepGrants`, `TaskRuntime.stepFunctions` and its function's metadata. */
export function stepKey(taskId: string, stepName: string): string {
  return `${taskId}/${stepName}`;
}

/** Set on every function by `ServiceFunction`, so no step may set it either. */
const SERVICE_OWN_VARIABLES = ['NODE_OPTIONS'];

/**
 * What a value CloudFormation fills in at deploy time is counted as in the 4 KB check: the longest
 * the service's environment holds, a DynamoDB table name (at most 255 characters).
 */
const UNRESOLVED_VALUE_BYTES = 255;

/** Every function's timeout leaves a stalled SDK call the time to fail (docs/architecture.md, "Bounded AWS calls"). */
const MIN_TIMEOUT_SECONDS = Math.ceil((2 * WORST_CASE_CALL_MS) / 1000);

/**
 * The function of one Lambda step (`lambdas/runtime/step-handler.ts`), configured by the step's
 * options: its memory, a timeout 5 s past the state's (so the state's timeout always ends an attempt
 * first), the service's environment plus the step's own variables, and a role of its own that may
 * write the executions table, its own log group, and whatever the step's `permissions` declare.
 * @throws Error naming the task and step when an option is invalid, a variable redefines one of the
 * service's, or all the variables together would exceed Lambda's 4 KB.
 */
export class TaskStepFunction extends ServiceFunction {
  constructor(scope: Construct, id: string, props: TaskStepFunctionProps) {
    const { taskId, step } = props;
    const what = `Task ${taskId}, step ${step.name}`;
    // The step's own options are checked here, at synth, not by the DSL (the bundles would carry the check).
    const config = stepFunctionConfig(taskId, step);
    const taken = [...SERVICE_OWN_VARIABLES, ...Object.keys(props.environment)].filter((name) => name in config.environment);
    if (taken.length > 0) throw new Error(`${what}: environment may not redefine the service's ${taken.join(', ')}`);
    const environment = { ...props.environment, ...config.environment };
    const estimated = Object.fromEntries(
      Object.entries({ NODE_OPTIONS: '--enable-source-maps', ...environment }).map(([name, value]) => [
        name,
        Token.isUnresolved(value) ? 'x'.repeat(UNRESOLVED_VALUE_BYTES) : value,
      ]),
    );
    const bytes = environmentBytes(estimated);
    if (bytes > MAX_ENVIRONMENT_BYTES) {
      throw new Error(
        `${what}: its environment and the service's take about ${bytes} bytes as JSON; Lambda allows ${MAX_ENVIRONMENT_BYTES} (the service's own take about ${bytes - environmentBytes(config.environment)})`,
      );
    }
    super(scope, id, {
      entry: 'runtime/step-handler.ts',
      description: `Runs step "${step.name}" of task ${taskId} and records its transition`,
      environment,
      // The state's own timeout ends an attempt first; the function must not cut it shorter.
      timeout: Duration.seconds(Math.min(900, Math.max(step.timeoutSeconds + 5, MIN_TIMEOUT_SECONDS))),
      memorySize: config.memoryMb,
      runsTasks: true,
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      ...(props.bundledTasksModule === undefined ? {} : { bundledTasksModule: props.bundledTasksModule }),
    });
    grantTableAccess(this, props.table, 'write');
    for (const permission of config.permissions) {
      const effect = permission.effect === 'Deny' ? Effect.DENY : Effect.ALLOW;
      this.addToRolePolicy(new PolicyStatement({ effect, actions: [...permission.actions], resources: [...permission.resources] }));
      if (effect !== Effect.ALLOW) continue;
      // The deployer's own declaration, for this one role: each wildcard is acknowledged by name, with where it comes from.
      const reason = `Declared in the permissions of step "${step.name}" of task ${taskId} (its tasks module is the deployer's code); granted to this step's role only.`;
      acknowledgeWildcardResources(this, permission.resources.filter((resource) => resource !== '*'), reason);
      // Every function's role has "*" acknowledged for X-Ray already, and an id is acknowledged once: both reasons go in it.
      if (permission.resources.includes('*')) acknowledgeWildcardResources(this, ['*'], `${XRAY_STAR_REASON} ${reason}`);
      acknowledgeWildcardActions(this, [...permission.actions], reason);
    }
    (this.node.defaultChild as CfnFunction).addMetadata(STEP_METADATA_KEY, stepKey(taskId, step.name));
  }
}
