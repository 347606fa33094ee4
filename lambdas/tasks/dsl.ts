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

/** Options of a step that invokes an existing Lambda function. */
export interface InvokeOptions {
  /** Retries of a failing invocation; `false` for none. */
  readonly retry?: RetryPolicy | false;
  /**
   * Seconds an invocation may take before it fails with `States.Timeout`.
   * @default 300
   */
  readonly timeoutSeconds?: number;
}

/**
 * A step that invokes a Lambda function this service does not build, in any runtime: it receives
 * `{ input, execution_id, task_id, step, attempt }` and returns the step's output as JSON (see
 * docs/tasks.md). The service records its transition after it returns.
 */
export interface InvokeStep {
  readonly kind: 'invoke';
  readonly name: string;
  /** A function ARN, or the name of a function the stack is given (`ExecutionsStackProps.functions`). */
  readonly target: string;
  readonly retry: LambdaStep['retry'];
  readonly timeoutSeconds: number;
}

/** Steps that run together; the output is the array of each branch's output, in branch order. */
export interface ParallelStep {
  readonly kind: 'parallel';
  readonly name: string;
  readonly branches: readonly (readonly Step[])[];
}

/** Options of a map step. */
export interface MapOptions {
  /**
   * Dotted path of the array in the step's input (`documents`, `batch.items`); the input itself
   * when omitted.
   */
  readonly items?: string;
  /**
   * Items processed at once.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Runs as a Distributed Map (items as child workflow executions; for fan-outs of thousands). Not
   * supported by the local stack, which refuses such a task at start.
   * @default false
   */
  readonly distributed?: boolean;
}

/** Steps run for each element of an array; the output is the array of results, in item order. */
export interface MapStep {
  readonly kind: 'map';
  readonly name: string;
  readonly items?: string;
  readonly maxConcurrency: number;
  readonly distributed: boolean;
  readonly steps: readonly Step[];
}

/** A test of the step's input: a dotted `path` compared with a value, or conditions combined. */
export type Condition =
  | { readonly path: string; readonly equals: string | number | boolean }
  | { readonly path: string; readonly greaterThan: number }
  | { readonly path: string; readonly greaterThanOrEquals: number }
  | { readonly path: string; readonly lessThan: number }
  | { readonly path: string; readonly lessThanOrEquals: number }
  | { readonly path: string; readonly present: boolean }
  | { readonly and: readonly Condition[] }
  | { readonly or: readonly Condition[] }
  | { readonly not: Condition };

/** One case of a choice: its steps run when `when` holds. */
export interface ChoiceCase {
  readonly when: Condition;
  readonly steps: readonly Step[];
}

/** Runs the steps of the first case whose condition holds (else `otherwise`, else fails with `NoChoiceMatched`). */
export interface ChoiceStep {
  readonly kind: 'choice';
  readonly name: string;
  readonly cases: readonly ChoiceCase[];
  readonly otherwise?: readonly Step[];
}

/** Pauses for a while without running anything; the input passes through. */
export interface SleepStep {
  readonly kind: 'sleep';
  readonly name: string;
  /** Fixed seconds to sleep. */
  readonly seconds?: number;
  /** Dotted path of the number of seconds in the step's input. */
  readonly secondsPath?: string;
}

/** Starts another task as a child execution and waits for it; the output is the child's output. */
export interface RunTaskStep {
  readonly kind: 'run-task';
  readonly name: string;
  readonly taskId: string;
  /** Dotted path of the child's input in the step's input; the whole input when omitted. */
  readonly inputPath?: string;
  readonly timeoutSeconds: number;
}

/** One step of a task. */
export type Step = LambdaStep | WaitStep | InvokeStep | ParallelStep | MapStep | ChoiceStep | SleepStep | RunTaskStep;

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
/** Step Functions Standard workflows run for at most a year (so no execution, step or sleep may last longer). */
export const MAX_EXECUTION_SECONDS = 365 * 86_400;
/** Parallel, map and choice steps inside one another, at most. */
export const MAX_NESTING = 4;
/** Inline Map states run at most 40 items at once in Step Functions. */
const MAX_INLINE_CONCURRENCY = 40;
/** Distributed Map child executions at once, at most. */
const MAX_DISTRIBUTED_CONCURRENCY = 10_000;
const PATH_SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*|\d+)$/;

function positiveInteger(value: number, what: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${what} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

/**
 * Checks a dotted path into a step's input (`documents`, `batch.items`, `pages.0`): segments are
 * identifiers or array indexes, so it compiles to a JSONPath every engine reads alike.
 */
function dottedPath(path: string, what: string): string {
  if (path.length > 200 || !path.split('.').every((segment) => PATH_SEGMENT.test(segment))) {
    throw new Error(`${what} must be a dotted path of identifiers or indexes (e.g. "batch.items"), got "${path}"`);
  }
  return path;
}

function retryOf(retry: RetryPolicy | false | undefined): LambdaStep['retry'] {
  if (retry === false) return false;
  const policy = retry ?? {};
  return {
    maxAttempts: policy.maxAttempts ?? 2,
    intervalSeconds: policy.intervalSeconds ?? 1,
    backoffRate: policy.backoffRate ?? 2,
    maxDelaySeconds: policy.maxDelaySeconds ?? 60,
    errors: policy.errors ?? ['States.ALL'],
  };
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
  return {
    // The function options (memory, environment, permissions) as given: checked and defaulted at
    // synth, where an error can name the task too. Spread, not copied one by one: every function
    // that loads the tasks carries this code, and the API functions are at their size budget.
    ...options,
    kind: 'step',
    name,
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 300, `Step ${name}: timeoutSeconds`, MAX_STEP_SECONDS),
    retry: retryOf(options.retry),
    run: handler as LambdaStep['run'],
  };
}

/**
 * A step that pauses the execution (`awaiting_input`) until it is resumed; the resume input becomes
 * the next step's input. When it times out the execution fails with `States.Timeout`. Only at the
 * top level of a task: a resume addresses the execution's one pending wait.
 */
export function waitForInput<R extends z.ZodMiniType>(name: string, options: WaitOptions<R> = {}): WaitStep {
  return {
    kind: 'wait',
    name,
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 86_400, `Wait ${name}: timeoutSeconds`, MAX_EXECUTION_SECONDS),
    ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    ...(options.input === undefined ? {} : { input: options.input }),
  };
}

/**
 * A step that invokes an existing Lambda function (any runtime) by ARN, or by the name of a
 * function given to the stack (`functions: { name: fn }`). See docs/tasks.md for its JSON contract.
 */
export function invoke(name: string, target: string, options: InvokeOptions = {}): InvokeStep {
  if (!/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/.test(target) && !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(target)) {
    throw new Error(`Invoke ${name}: target must be a Lambda function ARN or a function name given to the stack, got "${target}"`);
  }
  return {
    kind: 'invoke',
    name,
    target,
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 300, `Invoke ${name}: timeoutSeconds`, MAX_STEP_SECONDS),
    retry: retryOf(options.retry),
  };
}

/** Branches of steps that run at the same time; the output is the array of branch outputs. */
export function parallel(name: string, branches: readonly (readonly Step[])[]): ParallelStep {
  if (branches.length === 0) throw new Error(`Parallel ${name} has no branches`);
  return { kind: 'parallel', name, branches };
}

/**
 * Runs `steps` for each element of an array in the input (`options.items`), at most
 * `maxConcurrency` at once; the output is the array of the items' results, in item order.
 */
export function map(name: string, options: MapOptions, steps: readonly Step[]): MapStep {
  const distributed = options.distributed ?? false;
  const limit = distributed ? MAX_DISTRIBUTED_CONCURRENCY : MAX_INLINE_CONCURRENCY;
  return {
    kind: 'map',
    name,
    ...(options.items === undefined ? {} : { items: dottedPath(options.items, `Map ${name}: items`) }),
    maxConcurrency: positiveInteger(options.maxConcurrency ?? 10, `Map ${name}: maxConcurrency`, limit),
    distributed,
    steps,
  };
}

function checkCondition(name: string, condition: Condition, depth = 0): void {
  if (depth > 8) throw new Error(`Choice ${name}: conditions nest more than 8 deep`);
  if ('and' in condition || 'or' in condition) {
    const parts = 'and' in condition ? condition.and : condition.or;
    if (parts.length === 0) throw new Error(`Choice ${name}: "and"/"or" needs at least one condition`);
    for (const part of parts) checkCondition(name, part, depth + 1);
    return;
  }
  if ('not' in condition) return checkCondition(name, condition.not, depth + 1);
  dottedPath(condition.path, `Choice ${name}: condition path`);
  for (const key of ['greaterThan', 'greaterThanOrEquals', 'lessThan', 'lessThanOrEquals'] as const) {
    if (key in condition && !Number.isFinite((condition as Record<string, unknown>)[key])) {
      throw new Error(`Choice ${name}: ${key} must be a finite number`);
    }
  }
}

/**
 * Runs the steps of the first case whose condition holds on the step's input, else `otherwise`;
 * with no match and no `otherwise` the execution fails with `NoChoiceMatched`. The output is the
 * output of the case's last step.
 */
export function choice(name: string, cases: readonly ChoiceCase[], otherwise?: readonly Step[]): ChoiceStep {
  if (cases.length === 0) throw new Error(`Choice ${name} has no cases`);
  for (const { when } of cases) checkCondition(name, when);
  return { kind: 'choice', name, cases, ...(otherwise === undefined ? {} : { otherwise }) };
}

/**
 * Pauses for `seconds` (a number, or `{ path }` naming a number of seconds in the input) without
 * running anything; the execution stays `running` and its progress says until when. The input
 * passes through to the next step. A sleep cannot end a task or a branch (it would only delay the end).
 */
export function sleep(name: string, seconds: number | { readonly path: string }): SleepStep {
  if (typeof seconds === 'number') {
    return { kind: 'sleep', name, seconds: positiveInteger(seconds, `Sleep ${name}: seconds`, MAX_EXECUTION_SECONDS) };
  }
  return { kind: 'sleep', name, secondsPath: dottedPath(seconds.path, `Sleep ${name}: path`) };
}

/**
 * Starts task `taskId` as a child execution (its own record, listed by
 * `GET /executions?parent_id=`), with the step's input (or the part at `options.inputPath`), and
 * waits for it: the output is the child's output; a failed child fails this step with its error.
 * Cancelling the parent cancels the child.
 */
export function runTask(
  name: string,
  taskId: string,
  options: { readonly inputPath?: string; readonly timeoutSeconds?: number } = {},
): RunTaskStep {
  if (!ID_PATTERN.test(taskId) || taskId.length > 40) throw new Error(`RunTask ${name}: "${taskId}" is not a task id`);
  return {
    kind: 'run-task',
    name,
    taskId,
    ...(options.inputPath === undefined ? {} : { inputPath: dottedPath(options.inputPath, `RunTask ${name}: inputPath`) }),
    timeoutSeconds: positiveInteger(options.timeoutSeconds ?? 86_400, `RunTask ${name}: timeoutSeconds`, MAX_EXECUTION_SECONDS),
  };
}

/**
 * The structure of a step, nested steps included, without its code: what a step definition and its
 * catalogue view (`StepView`) share. The runtime functions that only record steps (the recorder,
 * the wait function) walk the catalogue's views by it, so they bundle no task code.
 */
export interface StepShape {
  readonly kind: Step['kind'];
  readonly name: string;
  readonly branches?: readonly (readonly StepShape[])[];
  readonly steps?: readonly StepShape[];
  readonly cases?: ReadonlyArray<{ readonly steps: readonly StepShape[] }>;
  readonly otherwise?: readonly StepShape[];
}

/** The structure of a task: its id and steps (a definition, or its catalogue view). */
export interface TaskShape {
  readonly id: string;
  readonly steps: readonly StepShape[];
}

/** The step sequences nested directly in a step (branches, map steps, cases), in order. */
export function sequencesOf<S extends StepShape>(step: S): readonly (readonly S[])[] {
  const nested = step as StepShape;
  switch (nested.kind) {
    case 'parallel':
      return (nested.branches ?? []) as readonly (readonly S[])[];
    case 'map':
      return [(nested.steps ?? []) as readonly S[]];
    case 'choice':
      return [...(nested.cases ?? []).map((entry) => entry.steps), ...(nested.otherwise ? [nested.otherwise] : [])] as unknown as readonly (readonly S[])[];
    default:
      return [];
  }
}

/** Every step of a task, nested ones included, depth first in definition order. */
export function allSteps<S extends StepShape>(steps: readonly S[]): S[] {
  return steps.flatMap((entry) => [entry, ...sequencesOf(entry).flatMap((sequence) => allSteps(sequence))]);
}

/** The Lambda steps of a task, nested ones included: each gets its own function. */
export function lambdaStepsOf(task: Pick<TaskDefinition, 'steps'>): LambdaStep[] {
  return allSteps(task.steps).filter((entry): entry is LambdaStep => entry.kind === 'step');
}

/** Seconds a step can last on its own, for the checks below; undefined for steps without a limit of their own. */
function ownTimeout(entry: Step): number | undefined {
  return 'timeoutSeconds' in entry ? entry.timeoutSeconds : undefined;
}

/**
 * Checks a task's own execution timeout, if it sets one: a whole number of seconds, at most a year,
 * and no shorter than its longest single step (or that step could never finish).
 * @throws Error naming the task otherwise.
 */
export function checkExecutionTimeout(task: Pick<TaskDefinition, 'id' | 'steps' | 'timeoutSeconds'>): void {
  if (task.timeoutSeconds === undefined) return;
  positiveInteger(task.timeoutSeconds, `Task ${task.id}: timeoutSeconds`, MAX_EXECUTION_SECONDS);
  let longest: Step | undefined;
  for (const candidate of allSteps(task.steps)) {
    if ((ownTimeout(candidate) ?? 0) > (longest ? (ownTimeout(longest) ?? 0) : 0)) longest = candidate;
  }
  if (longest && task.timeoutSeconds < (ownTimeout(longest) ?? 0)) {
    throw new Error(
      `Task ${task.id}: timeoutSeconds (${task.timeoutSeconds}) is shorter than step "${longest.name}" (${ownTimeout(longest)})`,
    );
  }
}

/** How an error names a nested sequence: `branch 1`, `case 0`, `otherwise`, `steps`. */
function sequenceLabel(entry: Step, position: number): string {
  if (entry.kind === 'parallel') return `branch ${position}`;
  if (entry.kind === 'choice') return position < entry.cases.length ? `case ${position}` : 'otherwise';
  return 'steps';
}

/** Checks one sequence of steps (the task's, a branch, a map's, a case's) and what it nests. */
function checkSequence(taskId: string, steps: readonly Step[], where: string, depth: number, seen: Set<string>): void {
  if (steps.length === 0) throw new Error(`Task ${taskId}: ${where} has no steps`);
  for (const [index, entry] of steps.entries()) {
    if (!ID_PATTERN.test(entry.name) || entry.name.length > 60) {
      throw new Error(`Task ${taskId}: step name must be kebab-case: "${entry.name}"`);
    }
    if (seen.has(entry.name)) throw new Error(`Task ${taskId}: step name "${entry.name}" is used twice`);
    seen.add(entry.name);
    if (entry.kind === 'wait' && depth > 0) {
      throw new Error(`Task ${taskId}: wait "${entry.name}" must be a top-level step (a resume addresses the execution's one pending wait)`);
    }
    if (entry.kind === 'sleep' && index === steps.length - 1) {
      throw new Error(`Task ${taskId}: sleep "${entry.name}" ends ${where}; a sleep must come before a step (at the end it only delays the end)`);
    }
    const nested = sequencesOf(entry);
    if (nested.length > 0 && depth + 1 > MAX_NESTING) {
      throw new Error(`Task ${taskId}: "${entry.name}" nests parallel, map and choice steps more than ${MAX_NESTING} deep`);
    }
    for (const [position, sequence] of nested.entries()) {
      checkSequence(taskId, sequence, `${entry.kind} "${entry.name}" (${sequenceLabel(entry, position)})`, depth + 1, seen);
    }
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

/** States the compiler adds after a step's own (PascalCase) state name. */
const STATE_SUFFIXES = ['Begin', 'Record', 'Failed', 'NoMatch', 'Function'];

/** PascalCase of a kebab-case name, as the compiler names a step's states (`pause-from-input` → `PauseFromInput`). */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * Two step names whose states would share a name (`a-1b` and `a1b` are both `A1b`; `score` has
 * a state `ScoreRecord`, which is also the state of a step `score-record`) would stop the synth
 * with CDK's generic error: refused here, naming both.
 */
function checkStateNames(taskId: string, names: ReadonlySet<string>): void {
  const owners = new Map<string, string>();
  for (const name of names) {
    const own = pascalCase(name);
    for (const state of [own, ...STATE_SUFFIXES.map((suffix) => own + suffix)]) {
      const other = owners.get(state);
      if (other !== undefined && other !== name) {
        throw new Error(`Task ${taskId}: steps "${other}" and "${name}" would both have a state named ${state}: rename one`);
      }
      owners.set(state, name);
    }
  }
}

/**
 * Declares a task. Throws at definition time (so at synth and at cold start) when the id or step
 * names are malformed or repeated (names are unique across nested steps too), a sequence is empty,
 * a wait is nested, a sleep ends a sequence, steps nest too deep, or its `timeoutSeconds` is out of
 * range (the options of each Lambda step's function are checked at synth: `stepFunctionConfig`).
 * Records where it was called, so each step function can bundle the defining file's export of the
 * task rather than the whole tasks module.
 */
export function defineTask<S extends z.ZodMiniType>(definition: TaskDefinition<S>): TaskDefinition<S> {
  if (!ID_PATTERN.test(definition.id) || definition.id.length > 40) {
    throw new Error(`Task id must be kebab-case and at most 40 characters: "${definition.id}"`);
  }
  if (definition.steps.length === 0) throw new Error(`Task ${definition.id} has no steps`);
  const names = new Set<string>();
  checkSequence(definition.id, definition.steps, 'the task', 0, names);
  checkStateNames(definition.id, names);
  checkExecutionTimeout(definition);
  if (!definition.examples?.length) throw new Error(`Task ${definition.id} needs at least one example input`);
  for (const example of definition.examples) {
    if (!definition.input.safeParse(example).success) {
      throw new Error(`Task ${definition.id}: example ${JSON.stringify(example)} does not match its input schema`);
    }
  }
  definitionTraces.set(definition, new Error());
  return definition;
}
