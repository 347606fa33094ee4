import type * as z from 'zod/mini';

/** What a step handler can see and do besides its input. */
export interface StepContext {
  readonly executionId: string;
  readonly taskId: string;
  readonly stepIndex: number;
  readonly stepName: string;
  /** How many times Step Functions has retried this step (0 on the first attempt). */
  readonly attempt: number;
  /** Records how far this step is (0..1) with an optional message; shown in the execution's progress. */
  reportProgress(fraction: number, message?: string): Promise<void>;
}

/** Retry policy of a step, compiled into the state's `Retry`. */
export interface RetryPolicy {
  /**
   * Retries after the first attempt.
   * @default 2
   */
  readonly maxAttempts?: number;
  /**
   * Seconds before the first retry.
   * @default 1
   */
  readonly intervalSeconds?: number;
  /**
   * Multiplier of the interval after each retry.
   * @default 2
   */
  readonly backoffRate?: number;
  /**
   * Cap on the interval, in seconds.
   * @default 60
   */
  readonly maxDelaySeconds?: number;
  /**
   * Error names retried. `States.ALL` includes `States.Timeout`, so an attempt that timed out is
   * retried too; the step runner makes that safe (a step is recorded once, whichever attempt wins).
   * @default ['States.ALL']
   */
  readonly errors?: readonly string[];
}

/**
 * An IAM policy statement as plain data (this module is bundled into the functions, so it names no
 * CDK type): the deployment turns it into a statement of the step's own role, and no other role.
 */
export interface StepPermission {
  /** IAM actions, e.g. `s3:GetObject`; `*` alone is refused (name what the step needs). */
  readonly actions: readonly string[];
  /** Resource ARNs (wildcards allowed, e.g. `arn:aws:s3:::my-bucket/*`). */
  readonly resources: readonly string[];
  /**
   * Whether the statement grants the actions or denies them (a Deny wins over any Allow).
   * @default 'Allow'
   */
  readonly effect?: 'Allow' | 'Deny';
}

/**
 * How a Lambda step's own function is configured: each Lambda step runs as a function of its own.
 * Kept on the step as given, and checked and defaulted at synth (`stepFunctionConfig` in `step-options.ts`).
 */
export interface StepFunctionOptions {
  /**
   * Memory of the step's function in MB, from 128 to 10240; Lambda gives CPU in proportion (one
   * full vCPU at 1769 MB).
   * @default 1024
   */
  readonly memoryMb?: number;
  /**
   * Environment variables of the step's function, besides the service's own (which it may not
   * redefine). Names are letters, digits and `_`, start with a letter, are at least 2 characters
   * and not one of Lambda's reserved names; all of the function's variables together, as JSON, are
   * at most 4 KB.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * IAM statements added to the step's own role (the step's table access is granted anyway). For
   * grants that need CDK objects (`bucket.grantRead(fn)`), see the stack's `stepGrants`.
   * @default - none
   */
  readonly permissions?: readonly StepPermission[];
}

/** Options of a Lambda step. */
export interface StepOptions extends StepFunctionOptions {
  /** Retries of a failing attempt; `false` for none. */
  readonly retry?: RetryPolicy | false;
  /**
   * Seconds an attempt may take before it fails with `States.Timeout` (the step's function gets 5 s
   * more, so the state's timeout always ends an attempt first).
   * @default 300
   */
  readonly timeoutSeconds?: number;
}

/** Options of a wait-for-input step. */
export interface WaitOptions<R extends z.ZodMiniType = z.ZodMiniType> {
  /**
   * Seconds to wait for the resume before the execution fails.
   * @default 86400 (one day)
   */
  readonly timeoutSeconds?: number;
  /** What the waiting execution asks for; shown on its `wait` transition. */
  readonly prompt?: string;
  /** Schema the resume input must satisfy (400 otherwise). */
  readonly input?: R;
}

/** A step that runs code in Lambda, as a function of its own. */
export interface LambdaStep extends StepFunctionOptions {
  readonly kind: 'step';
  readonly name: string;
  readonly retry: Required<Omit<RetryPolicy, 'errors'>> & { readonly errors: readonly string[] } | false;
  readonly timeoutSeconds: number;
  /** Method syntax keeps handlers with typed inputs assignable to the task's step list. */
  run(input: unknown, context: StepContext): unknown;
}

/** A step that pauses until the execution is resumed with input. */
export interface WaitStep {
  readonly kind: 'wait';
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly prompt?: string;
  readonly input?: z.ZodMiniType;
}

/** One step of a task. */
export type Step = LambdaStep | WaitStep;

/** A named workflow: compiled into one Step Functions state machine. */
export interface TaskDefinition<S extends z.ZodMiniType = z.ZodMiniType> {
  /** kebab-case id; also the URL segment and part of the state machine name. */
  readonly id: string;
  readonly description: string;
  /** Free label, e.g. `agent` or `pipeline`. */
  readonly kind: string;
  /** Schema of the execution input. */
  readonly input: S;
  /** Valid inputs, shown in `GET /tasks/{id}` as the JSON Schema's `examples`. */
  readonly examples: readonly z.output<S>[];
  readonly steps: readonly Step[];
  /**
   * Seconds an execution may run in all before Step Functions stops it (`TIMED_OUT`: the execution
   * fails with `States.Timeout`). At least the longest single step's `timeoutSeconds`.
   * @default the sum of every step's worst case (timeouts, retries and their delays) plus 60
   */
  readonly timeoutSeconds?: number;
}

const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_STEP_SECONDS = 900;
const MAX_WAIT_SECONDS = 365 * 86_400;
/** Step Functions Standard workflows run for at most a year. */
const MAX_EXECUTION_SECONDS = 365 * 86_400;

function positiveInteger(value: number, what: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${what} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

/**
 * A step that runs `handler` in Lambda with the previous step's output (or the execution input).
 * Its return value, JSON-serializable, is the next step's input. The step runs as a function of its
 * own (its role, memory, environment and log group; see {@link StepOptions}).
 */
export function step<I, O>(
  name: string,
  handler: (input: I, context: StepContext) => O | Promise<O>,
  options: StepOptions = {},
): LambdaStep {
  const retry = options.retry ?? {};
  return {
    // The function options (memory, environment, permissions) as given: checked and defaulted at
    // synth, where an error can name the task too. Spread, not copied one by one: every function
    // that loads the tasks carries this code, and the API functions are at their size budget.
    ...options,
    kind: 'step',
    name,
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 300, `Step ${name}: timeoutSeconds`, MAX_STEP_SECONDS),
    retry:
      retry === false
        ? false
        : {
            maxAttempts: retry.maxAttempts ?? 2,
            intervalSeconds: retry.intervalSeconds ?? 1,
            backoffRate: retry.backoffRate ?? 2,
            maxDelaySeconds: retry.maxDelaySeconds ?? 60,
            errors: retry.errors ?? ['States.ALL'],
          },
    run: handler as LambdaStep['run'],
  };
}

/**
 * A step that pauses the execution (`awaiting_input`) until it is resumed; the resume input becomes
 * the next step's input. When it times out the execution fails with `States.Timeout`.
 */
export function waitForInput<R extends z.ZodMiniType>(name: string, options: WaitOptions<R> = {}): WaitStep {
  return {
    kind: 'wait',
    name,
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 86_400, `Wait ${name}: timeoutSeconds`, MAX_WAIT_SECONDS),
    ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    ...(options.input === undefined ? {} : { input: options.input }),
  };
}

/**
 * Checks a task's own execution timeout, if it sets one: a whole number of seconds, at most a year,
 * and no shorter than its longest single step (or that step could never finish).
 * @throws Error naming the task otherwise.
 */
export function checkExecutionTimeout(task: Pick<TaskDefinition, 'id' | 'steps' | 'timeoutSeconds'>): void {
  if (task.timeoutSeconds === undefined) return;
  positiveInteger(task.timeoutSeconds, `Task ${task.id}: timeoutSeconds`, MAX_EXECUTION_SECONDS);
  const longest = task.steps.reduce<Step | undefined>(
    (found, candidate) => (found && found.timeoutSeconds >= candidate.timeoutSeconds ? found : candidate),
    undefined,
  );
  if (longest && task.timeoutSeconds < longest.timeoutSeconds) {
    throw new Error(
      `Task ${task.id}: timeoutSeconds (${task.timeoutSeconds}) is shorter than step "${longest.name}" (${longest.timeoutSeconds})`,
    );
  }
}

/**
 * A trace made (never thrown) where each task was defined, kept beside the definition rather than
 * on it. V8 records the call stack when an error is made but builds no text until `.stack` is read,
 * which only the deployment does (`definition-site.ts`: it bundles each step function with the
 * defining file's export of its task): in a function this costs a few bytes and microseconds.
 */
const definitionTraces = new WeakMap<object, Error>();

/** The trace `defineTask` recorded for `definition` (see `definition-site.ts`), if it made it. */
export function definitionTraceOf(definition: object): Error | undefined {
  return definitionTraces.get(definition);
}

/**
 * Declares a task. Throws at definition time (so at synth and at cold start) when the id or step
 * names are malformed or repeated, or its `timeoutSeconds` is out of range (the options of each
 * Lambda step's function are checked at synth: `stepFunctionConfig`). Records where it was
 * called, so each step function can bundle the defining file's export of the task rather than the
 * whole tasks module.
 */
export function defineTask<S extends z.ZodMiniType>(definition: TaskDefinition<S>): TaskDefinition<S> {
  if (!ID_PATTERN.test(definition.id) || definition.id.length > 40) {
    throw new Error(`Task id must be kebab-case and at most 40 characters: "${definition.id}"`);
  }
  if (definition.steps.length === 0) throw new Error(`Task ${definition.id} has no steps`);
  const seen = new Set<string>();
  for (const { name } of definition.steps) {
    if (!ID_PATTERN.test(name) || name.length > 60) {
      throw new Error(`Task ${definition.id}: step name must be kebab-case: "${name}"`);
    }
    if (seen.has(name)) throw new Error(`Task ${definition.id}: step name "${name}" is used twice`);
    seen.add(name);
  }
  checkExecutionTimeout(definition);
  if (definition.examples.length === 0) throw new Error(`Task ${definition.id} needs at least one example input`);
  for (const example of definition.examples) {
    if (!definition.input.safeParse(example).success) {
      throw new Error(`Task ${definition.id}: example ${JSON.stringify(example)} does not match its input schema`);
    }
  }
  definitionTraces.set(definition, new Error());
  return definition;
}
