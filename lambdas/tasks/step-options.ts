import type { LambdaStep, StepPermission } from './dsl.js';

/**
 * Memory of a step's function unless the step sets it: what the one shared step runner had, so no
 * step got less CPU (Lambda gives it in proportion to memory) when each got its own function, and
 * an example-sized step's cold start (about 400 KB of bundle to load) stays short.
 */
export const DEFAULT_MEMORY_MB = 1024;
/** Lambda's memory range, in MB. */
const MIN_MEMORY_MB = 128;
const MAX_MEMORY_MB = 10_240;
/** Lambda's rule for environment variable names. */
const ENV_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/** Names Lambda sets itself and refuses in a function's configuration. */
const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);
/** Lambda refuses a function whose variables, as JSON, take more than 4 KB. */
export const MAX_ENVIRONMENT_BYTES = 4096;
/** An IAM action: `service:Action`, wildcards allowed in the action part. */
const ACTION_PATTERN = /^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$/;

/** Size of a function's environment variables as Lambda counts it: their JSON text, in bytes. */
export function environmentBytes(variables: Readonly<Record<string, string>>): number {
  return Buffer.byteLength(JSON.stringify(variables), 'utf8');
}

/** A Lambda step's function configuration, checked, with its defaults filled in. */
export interface StepFunctionConfig {
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly permissions: readonly Required<StepPermission>[];
}

/**
 * Checks the options that configure a Lambda step's function (memory, environment, permissions),
 * which `step()` keeps as given, and fills in their defaults. The deployment runs it for every
 * Lambda step at synth (`cdk synth`, and `npm start` synthesizes too), so a bad option fails before
 * anything deploys; it lives apart from the DSL so the functions, which all load the DSL with the
 * tasks, do not carry it.
 * @throws Error naming the task and the step otherwise.
 */
export function stepFunctionConfig(taskId: string, step: LambdaStep): StepFunctionConfig {
  const what = `Task ${taskId}, step ${step.name}`;
  const memoryMb = step.memoryMb ?? DEFAULT_MEMORY_MB;
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB) {
    throw new Error(`${what}: memoryMb must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${memoryMb}`);
  }
  const environment = step.environment ?? {};
  if (typeof environment !== 'object' || environment === null || Array.isArray(environment)) {
    throw new Error(`${what}: environment must be an object of strings`);
  }
  for (const [name, value] of Object.entries(environment)) {
    if (!ENV_NAME_PATTERN.test(name)) {
      throw new Error(`${what}: environment variable "${name}" must be letters, digits and _, start with a letter and have at least 2 characters`);
    }
    if (RESERVED_ENV_NAMES.has(name)) throw new Error(`${what}: environment variable ${name} is reserved by Lambda`);
    if (typeof value !== 'string') throw new Error(`${what}: environment variable ${name} must be a string, got ${typeof value}`);
  }
  const bytes = environmentBytes(environment);
  if (bytes > MAX_ENVIRONMENT_BYTES) {
    throw new Error(`${what}: environment takes ${bytes} bytes as JSON; Lambda allows ${MAX_ENVIRONMENT_BYTES} for all of a function's variables`);
  }
  const permissions = step.permissions ?? [];
  if (!Array.isArray(permissions)) throw new Error(`${what}: permissions must be an array of statements`);
  return {
    memoryMb,
    environment: { ...environment },
    permissions: permissions.map((permission: StepPermission, index): Required<StepPermission> => {
      const where = `${what}: permissions[${index}]`;
      const effect = permission.effect ?? 'Allow';
      if (effect !== 'Allow' && effect !== 'Deny') throw new Error(`${where}: effect must be Allow or Deny, got ${JSON.stringify(effect)}`);
      if (!Array.isArray(permission.actions) || permission.actions.length === 0) throw new Error(`${where}: actions must name at least one action`);
      for (const action of permission.actions) {
        if (action === '*') throw new Error(`${where}: the action "*" grants everything; name the actions the step needs`);
        if (typeof action !== 'string' || !ACTION_PATTERN.test(action)) {
          throw new Error(`${where}: action ${JSON.stringify(action)} is not service:Action (e.g. s3:GetObject)`);
        }
      }
      if (!Array.isArray(permission.resources) || permission.resources.length === 0) throw new Error(`${where}: resources must name at least one resource`);
      for (const resource of permission.resources) {
        if (typeof resource !== 'string' || resource.trim() === '') throw new Error(`${where}: resource ${JSON.stringify(resource)} must be an ARN or "*"`);
      }
      return { effect, actions: [...permission.actions], resources: [...permission.resources] };
    }),
  };
}
