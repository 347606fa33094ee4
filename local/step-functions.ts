import { randomBytes, randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type JsonValue = Parameters<NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string]>[0];
import type { LambdaHost } from './lambda-host.js';
import { LambdaInvocationError } from './lambda-host.js';
import type { Json, LocalRule, LocalStateMachine } from './template.js';
import { eventEnvelope } from './events.js';
import { ExecutionJournal, type JournalDelivery } from './execution-journal.js';

/** An AWS error as the JSON protocol reports it (`__type`), e.g. `TaskTimedOut`. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = code;
  }
}

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface HistoryEvent {
  readonly id: number;
  readonly timestamp: number;
  readonly type: string;
  readonly stateName?: string;
}

/** Step Functions' quota on a state's input and output: 256 KiB of UTF-8 JSON. */
export const STATE_DATA_LIMIT_BYTES = 256 * 1024;

/** The error a task throws when it passed {@link STATE_DATA_LIMIT_BYTES}: the run is already aborted. */
class DataLimitExceededError extends Error {
  override readonly name = 'States.DataLimitExceeded';
}

/**
 * Fails the execution with `States.DataLimitExceeded`, as Step Functions does, when a task's input
 * or result is larger than {@link STATE_DATA_LIMIT_BYTES}: a terminal error no Retry or Catch
 * (not even `States.ALL`) handles, so the run is aborted rather than thrown into its handlers.
 */
function checkStateData(execution: Execution, stateName: string, what: 'input' | 'output', value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null));
  if (bytes <= STATE_DATA_LIMIT_BYTES) return;
  const cause = `The state/task '${stateName}' ${what === 'input' ? 'received an input' : 'returned a result'} of ${bytes} bytes, which exceeds the maximum number of bytes service limit (${STATE_DATA_LIMIT_BYTES}).`;
  execution.terminalFailure = { error: 'States.DataLimitExceeded', cause };
  execution.abort?.();
  throw new DataLimitExceededError(cause);
}

interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: number;
  status: ExecutionStatus;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  abort?: () => void;
  /** A failure no Retry or Catch handles (`States.DataLimitExceeded`): the run is aborted and ends FAILED with it. */
  terminalFailure?: { readonly error: string; readonly cause: string };
  readonly history: HistoryEvent[];
  /** Times it was redriven (RedriveExecution), and when last. */
  redriveCount: number;
  redriveDate?: number;
  /** Client tokens of the last redrives that started, newest last (a repeat gets the same answer). */
  redriveTokens: string[];
  /**
   * The top-level state this execution last entered in this process, with the input it entered it
   * with: where a redrive starts again. Absent for an execution a previous process ran (recovered
   * from the journal), whose state was lost with that process: it cannot be redriven.
   */
  lastTopLevel?: { readonly name: string; readonly input: unknown };
  /**
   * Task states entered in a row without success, for `$$.State.RetryCount`, by state and resolved
   * parameters: the same state runs for many map items and branches at once, each with its own count.
   */
  readonly attempts: Map<string, number>;
}

interface PendingTask {
  readonly executionArn: string;
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer?: NodeJS.Timeout;
  /** Why the token no longer accepts a response, once it does not. */
  closed?: 'TaskTimedOut' | 'TaskDoesNotExist';
}

/** Paths (within a state's Parameters) of values taken from the context object, by context path. */
type ContextPaths = Array<{ readonly path: readonly string[]; readonly source: string }>;

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const TERMINAL_EVENT_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
/** How long after its end Step Functions can redrive an execution: 14 days. */
export const REDRIVABLE_SECONDS = 14 * 86_400;
/** The Pass state a local redrive starts at: it hands the failed state its input of the failed attempt. */
const REDRIVE_START = 'LocalRedriveStart';
/** Client tokens of successful redrives Step Functions remembers per execution. */
const REDRIVE_TOKENS = 10;

/** The error of an execution a previous process of the engine was running when it stopped. */
export const EXECUTION_LOST = 'ExecutionLost';
const EXECUTION_LOST_CAUSE =
  "The local Step Functions engine was restarted; this execution's state was lost (the engine keeps executions in memory). Start a new execution.";

function contextPaths(value: Json | undefined, at: readonly string[] = []): ContextPaths {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => {
    if (key.endsWith('.$') && typeof item === 'string' && /^\$\$\.(State|Task)\./.test(item)) {
      return [{ path: [...at, key.slice(0, -2)], source: item }];
    }
    return contextPaths(item, [...at, key]);
  });
}

function setPath(target: unknown, path: readonly string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

/** Every Task state of a definition, with nested branches (Parallel, Map) included. */
function taskStates(definition: Record<string, Json>): Array<[string, Record<string, Json>]> {
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  return Object.entries(states).flatMap(([name, state]): Array<[string, Record<string, Json>]> => {
    return [...(state.Type === 'Task' ? [[name, state] as [string, Record<string, Json>]] : []), ...nestedDefinitions(state).flatMap(taskStates)];
  });
}

/**
 * Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer one fires at once. The engine
 * times executions and states with them, so their timeouts are capped at that locally (a task's
 * default timeout is a year). See docs/local.md.
 */
export const MAX_LOCAL_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A copy of a definition whose `TimeoutSeconds`, everywhere, are at most {@link MAX_LOCAL_TIMER_SECONDS}. */
function withLocalTimers(value: Json): Json {
  if (Array.isArray(value)) return value.map(withLocalTimers);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === 'TimeoutSeconds' && typeof item === 'number' ? Math.min(item, MAX_LOCAL_TIMER_SECONDS) : withLocalTimers(item),
    ]),
  );
}

/** Every Map state of a definition, nested ones included. */
function mapStates(definition: Record<string, Json>): Array<[string, Record<string, Json>]> {
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  return Object.entries(states).flatMap(([name, state]): Array<[string, Record<string, Json>]> => [
    ...(state.Type === 'Map' ? [[name, state] as [string, Record<string, Json>]] : []),
    ...nestedDefinitions(state).flatMap(mapStates),
  ]);
}

function nestedDefinitions(state: Record<string, Json>): Array<Record<string, Json>> {
  return [
    ...((state.Branches as Record<string, Json>[] | undefined) ?? []),
    ...(state.Iterator ? [state.Iterator as Record<string, Json>] : []),
    ...(state.ItemProcessor ? [state.ItemProcessor as Record<string, Json>] : []),
  ];
}

function matches(pattern: Json, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some((candidate) => candidate === value);
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([key, sub]) => matches(sub, (value as Record<string, unknown>)[key]));
  }
  return pattern === value;
}

/** Test switches of {@link LocalStepFunctions}. */
export interface LocalStepFunctionsOptions {
  /**
   * Fault injection: terminal status-change events of state machines whose name contains any of
   * these strings are dropped (logged, never delivered), as if EventBridge had lost them.
   * @default none
   */
  readonly dropStatusEventsFor?: readonly string[];
  /**
   * Journal of started and ended executions (with `--persist`): a restarted engine reads it in
   * {@link LocalStepFunctions.recover} to tell which executions its previous process lost.
   * @default none: nothing is known of a previous process
   */
  readonly journalPath?: string;
}

/** What {@link LocalStepFunctions.recover} found of the previous process. */
export interface RecoverySummary {
  /** Executions that were running when it stopped: now FAILED with `ExecutionLost`. */
  readonly lost: number;
  /** Ended executions whose status event it had not delivered: delivered now. */
  readonly redelivered: number;
}

/**
 * A local Step Functions: runs the synthesized definitions with `aws-local-stepfunctions`,
 * routes Lambda ARNs to the local handler modules, mints real task tokens for
 * `.waitForTaskToken` states, and delivers "Execution Status Change" events to the rules of the
 * template. It answers the API calls the service makes, in AWS's JSON protocol.
 */
export class LocalStepFunctions {
  private readonly machines = new Map<string, { readonly model: LocalStateMachine; readonly engine: StateMachine }>();
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, PendingTask>();
  private readonly pendingDeliveries = new Set<Promise<void>>();
  private readonly journal?: ExecutionJournal;

  constructor(
    stateMachines: readonly LocalStateMachine[],
    private readonly rules: readonly LocalRule[],
    private readonly lambdas: LambdaHost,
    private readonly env: { readonly region: string; readonly account: string },
    private readonly log: (message: string) => void = () => undefined,
    private readonly options: LocalStepFunctionsOptions = {},
  ) {
    if (options.journalPath) this.journal = new ExecutionJournal(options.journalPath);
    for (const model of stateMachines) {
      this.checkSupported(model);
      const engine = new StateMachine(withLocalTimers(model.definition) as unknown as StateMachineDefinition, {
        validationOptions: { checkArn: false },
      });
      this.machines.set(model.arn, { model, engine });
    }
  }

  /** Fails at startup, naming the state, for anything the local engine would not run faithfully. */
  private checkSupported(model: LocalStateMachine): void {
    if (model.definition.QueryLanguage === 'JSONata') {
      throw new Error(`State machine ${model.name}: JSONata is not supported locally; use JSONPath`);
    }
    for (const [name, state] of mapStates(model.definition)) {
      const config = (state.ItemProcessor as Record<string, Json> | undefined)?.ProcessorConfig as Record<string, Json> | undefined;
      if (config?.Mode === 'DISTRIBUTED' || state.ItemReader !== undefined) {
        throw new Error(
          `State machine ${model.name}, state "${name}": a Distributed Map is not supported by the local stack ` +
            '(the local engine runs maps inline, where its items would not be executions of their own); use map() without distributed locally',
        );
      }
    }
    for (const [name, state] of taskStates(model.definition)) {
      const resource = String(state.Resource);
      const supported = resource.startsWith('arn:aws:lambda:') || resource === LAMBDA_INVOKE || resource === LAMBDA_WAIT;
      if (!supported) {
        throw new Error(`State machine ${model.name}, state "${name}": resource ${resource} is not supported locally`);
      }
      const functionArn = resource.startsWith('arn:aws:lambda:')
        ? resource
        : String((state.Parameters as Record<string, Json> | undefined)?.FunctionName ?? '');
      if (!this.lambdas.find(functionArn)) {
        throw new Error(
          `State machine ${model.name}, state "${name}": no local function for ${functionArn}` +
            (functionArn.startsWith('arn:') ? `; give it a local stand-in: npm start -- --function ${functionArn}=<module exporting handler>` : ''),
        );
      }
    }
  }

  /**
   * Takes over from the previous process of this engine, as its journal recorded it. Its
   * executions cannot go on (they lived in that process), so each one that had not ended now
   * ends FAILED with `ExecutionLost`, and sends the status-change event any end sends: the
   * service records the failure through its usual path, and `DescribeExecution` (what the
   * reconciler asks) reports the same. Ended executions whose event was never delivered get it
   * now (EventBridge delivers at least once). Call it once the functions can take events.
   */
  recover(): RecoverySummary {
    let lost = 0;
    let redelivered = 0;
    for (const { start, end, delivery } of this.journal?.recover() ?? []) {
      const execution: Execution = { ...start, status: 'RUNNING', history: [], attempts: new Map(), redriveCount: 0, redriveTokens: [] };
      this.executions.set(start.executionArn, execution);
      if (!end) {
        lost++;
        this.finish(execution, 'FAILED', { error: EXECUTION_LOST, cause: EXECUTION_LOST_CAUSE });
        continue;
      }
      Object.assign(execution, end);
      if (delivery) continue;
      redelivered++;
      this.emit(execution);
    }
    return { lost, redelivered };
  }

  /** Executions still running, for shutdown. */
  get running(): number {
    return [...this.executions.values()].filter((execution) => execution.status === 'RUNNING').length;
  }

  /** Waits until every status-change event handed out so far has been delivered. */
  async drain(): Promise<void> {
    while (this.pendingDeliveries.size > 0) await Promise.allSettled([...this.pendingDeliveries]);
  }

  /** Dispatches one API call (`X-Amz-Target` operation) with its JSON body. */
  async call(operation: string, body: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'StartExecution':
        return this.startExecution(body);
      case 'StopExecution':
        return this.stopExecution(body);
      case 'RedriveExecution':
        return this.redriveExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(String(body.executionArn));
      case 'SendTaskSuccess':
        return this.respond(String(body.taskToken), { output: String(body.output ?? '') });
      case 'SendTaskFailure':
        return this.respond(String(body.taskToken), {
          error: String(body.error ?? 'States.TaskFailed'),
          cause: String(body.cause ?? ''),
        });
      case 'SendTaskHeartbeat':
        this.openTask(String(body.taskToken));
        return {};
      case 'GetExecutionHistory':
        return this.history(body);
      default:
        throw new AwsServiceError('UnknownOperationException', `Local Step Functions does not implement ${operation}`);
    }
  }

  private startExecution(body: Record<string, unknown>): { executionArn: string; startDate: number } {
    const stateMachineArn = String(body.stateMachineArn);
    const machine = this.machines.get(stateMachineArn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const name = body.name === undefined ? randomUUID() : String(body.name);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    const input = body.input === undefined ? '{}' : String(body.input);
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution: Execution = {
      executionArn,
      stateMachineArn,
      name,
      input,
      startDate: Date.now() / 1000,
      status: 'RUNNING',
      history: [],
      attempts: new Map(),
      redriveCount: 0,
      redriveTokens: [],
    };
    // Journaled before it runs and before StartExecution answers: whatever was acknowledged as
    // started is known to the next process.
    this.journal?.started({ executionArn, stateMachineArn, name, input, startDate: execution.startDate });
    this.executions.set(executionArn, execution);
    this.run(machine, execution, parsed);
    return { executionArn, startDate: execution.startDate };
  }

  /**
   * RedriveExecution: runs a FAILED, TIMED_OUT or ABORTED execution again from the top-level state
   * it failed in, with the input that state had in the failed attempt (the states before it are not
   * run again), under the same ARN: RUNNING again, `redriveCount` + 1, then the usual terminal status
   * event. A top-level Parallel or Map runs again whole (Step Functions reruns only its failed
   * branches or iterations; the step runtime's markers make the recorded ones no-ops). Refused as
   * Step Functions refuses: an unknown execution, a running or succeeded one, one ended over 14
   * days ago, and one a previous process of this engine ran (its state was lost with it).
   */
  private redriveExecution(body: Record<string, unknown>): { redriveDate: number } {
    const executionArn = String(body.executionArn);
    const execution = this.executions.get(executionArn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    const token = body.clientToken === undefined ? undefined : String(body.clientToken);
    if (token !== undefined && execution.redriveTokens.includes(token)) return { redriveDate: execution.redriveDate! };
    if (execution.status === 'RUNNING' || execution.status === 'SUCCEEDED') {
      throw new AwsServiceError('ExecutionNotRedrivable', `Execution is ${execution.status} and cannot be redriven`);
    }
    if ((execution.stopDate ?? 0) + REDRIVABLE_SECONDS < Date.now() / 1000) {
      throw new AwsServiceError('ExecutionNotRedrivable', 'Execution redrivable period exceeded');
    }
    const machine = this.machines.get(execution.stateMachineArn);
    const from = execution.lastTopLevel;
    if (!machine || !from) {
      throw new AwsServiceError('ExecutionNotRedrivable', 'The local engine was restarted since this execution ran; its state is lost, so it cannot be redriven');
    }
    execution.status = 'RUNNING';
    execution.redriveCount++;
    execution.redriveDate = Date.now() / 1000;
    if (token !== undefined) execution.redriveTokens = [...execution.redriveTokens, token].slice(-REDRIVE_TOKENS);
    delete execution.stopDate;
    delete execution.output;
    delete execution.error;
    delete execution.cause;
    // Each redriven state counts its retries afresh.
    execution.attempts.clear();
    execution.history.push({ id: execution.history.length + 1, timestamp: execution.redriveDate, type: 'ExecutionRedriven' });
    this.journal?.started({ executionArn, stateMachineArn: execution.stateMachineArn, name: execution.name, input: execution.input, startDate: execution.startDate });
    this.log(`execution ${execution.name} redriven from ${from.name} (redrive ${execution.redriveCount})`);
    const definition = machine.model.definition;
    const States = definition.States as Record<string, Json>;
    const engine = new StateMachine(
      withLocalTimers({
        ...definition,
        StartAt: REDRIVE_START,
        // Wrapped: a Pass state's Result that is falsy would hand on the Pass state's own input instead.
        States: { ...States, [REDRIVE_START]: { Type: 'Pass', Result: { state: from.input as Json }, OutputPath: '$.state', Next: from.name } },
      }) as unknown as StateMachineDefinition,
      // The states before the failed one are unreachable from the Pass state, which validation refuses;
      // the definition itself passed it when the engine was built (it only gained that Pass state).
      { validationOptions: { noValidate: true } },
    );
    // The execution's own input stays `$$.Execution.Input`: the engine takes it from the run's input.
    this.run({ model: machine.model, engine }, execution, JSON.parse(execution.input));
    return { redriveDate: execution.redriveDate };
  }

  private run(machine: { model: LocalStateMachine; engine: StateMachine }, execution: Execution, input: unknown): void {
    const overrides = Object.fromEntries(
      taskStates(machine.model.definition).map(([name, state]) => [
        name,
        (params: unknown) => this.runTask(execution, name, state, params) as Promise<JsonValue>,
      ]),
    );
    const { result, abort, eventLogs } = machine.engine.run(input as never, {
      overrides: { taskResourceLocalHandlers: overrides },
      context: {
        Execution: { Id: execution.executionArn, Name: execution.name, StartTime: new Date().toISOString() },
        StateMachine: { Id: machine.model.arn, Name: machine.model.name },
        // Filled per task by runTask: the engine itself does not know tokens or retry counts.
        State: { Name: '', EnteredTime: '', RetryCount: 0 },
        Task: { Token: '' },
      },
    });
    execution.abort = abort;
    void this.record(execution, eventLogs);
    result.then(
      (output: unknown) => this.finish(execution, 'SUCCEEDED', { output: JSON.stringify(output ?? null) }),
      (error: unknown) => this.finish(execution, ...this.classify(execution, error)),
    );
  }

  private async record(
    execution: Execution,
    events: AsyncGenerator<{ type: string; timestamp: number; state?: { name: string; type: string; input?: unknown } }>,
  ) {
    const topLevel = new Set(Object.keys((this.machines.get(execution.stateMachineArn)?.model.definition.States ?? {}) as Record<string, Json>));
    for await (const event of events) {
      // The redrive's own entry state is no state of the definition: not in the history.
      if (event.state?.name === REDRIVE_START) continue;
      if (event.type === 'StateEntered' && event.state && topLevel.has(event.state.name)) {
        execution.lastTopLevel = { name: event.state.name, input: event.state.input ?? null };
      }
      const type = event.state ? `${event.state.type}${event.type}` : event.type;
      execution.history.push({
        id: execution.history.length + 1,
        timestamp: event.timestamp / 1000,
        type,
        ...(event.state ? { stateName: event.state.name } : {}),
      });
    }
  }

  private classify(
    execution: Execution,
    error: unknown,
  ): [Exclude<ExecutionStatus, 'RUNNING'>, { error?: string; cause?: string }] {
    if (execution.terminalFailure) return ['FAILED', execution.terminalFailure];
    if (error instanceof Error && error.name === 'ExecutionAbortedError') {
      return ['ABORTED', { ...(execution.error ? { error: execution.error } : {}), ...(execution.cause ? { cause: execution.cause } : {}) }];
    }
    if (error instanceof Error && error.name === 'ExecutionTimeoutError') {
      return ['TIMED_OUT', { error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' }];
    }
    const failure = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return [
      'FAILED',
      failure instanceof Error ? { error: failure.name, cause: failure.message } : { error: 'States.Runtime', cause: String(failure) },
    ];
  }

  private finish(
    execution: Execution,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    result: { output?: string; error?: string; cause?: string },
  ): void {
    if (execution.status !== 'RUNNING') return;
    execution.status = status;
    execution.stopDate = Date.now() / 1000;
    execution.output = result.output;
    execution.error = result.error;
    execution.cause = result.cause;
    this.journal?.ended(execution.executionArn, {
      status,
      stopDate: execution.stopDate,
      ...(result.output === undefined ? {} : { output: result.output }),
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.cause === undefined ? {} : { cause: result.cause }),
    });
    for (const [token, task] of this.tokens) {
      if (task.executionArn === execution.executionArn && !task.closed) {
        task.closed = 'TaskDoesNotExist';
        clearTimeout(task.timer);
        this.tokens.set(token, task);
      }
    }
    this.log(`execution ${execution.name} ${status}`);
    this.emit(execution);
  }

  /** Runs one Task state the way Step Functions would, against the local functions. */
  private async runTask(execution: Execution, stateName: string, state: Record<string, Json>, params: unknown): Promise<unknown> {
    // A retry resolves the same parameters again (its retry count is filled in below, not by the engine).
    const key = `${stateName}\n${JSON.stringify(params ?? null)}`;
    const attempt = execution.attempts.get(key) ?? 0;
    execution.attempts.set(key, attempt + 1);
    const resource = String(state.Resource);
    const payload = JSON.parse(JSON.stringify(params ?? null)) as Record<string, unknown>;
    const token = resource === LAMBDA_WAIT ? `AQ${randomBytes(96).toString('base64url')}` : undefined;
    for (const { path, source } of contextPaths(state.Parameters)) {
      if (source === '$$.State.RetryCount') setPath(payload, path, attempt);
      else if (source === '$$.State.Name') setPath(payload, path, stateName);
      else if (source === '$$.Task.Token' && token) setPath(payload, path, token);
    }
    checkStateData(execution, stateName, 'input', payload);
    try {
      const output = await this.invokeResource(execution, resource, payload, token, Number(state.TimeoutSeconds ?? 0));
      execution.attempts.delete(key);
      checkStateData(execution, stateName, 'output', output);
      return output;
    } catch (error) {
      if (error instanceof LambdaInvocationError) {
        // As in AWS: Error is the function's error type, Cause the JSON of the function error.
        const failure = new Error(error.stepFunctionsCause());
        failure.name = error.errorType;
        throw failure;
      }
      throw error;
    }
  }

  private async invokeResource(
    execution: Execution,
    resource: string,
    payload: Record<string, unknown>,
    token: string | undefined,
    timeoutSeconds: number,
  ): Promise<unknown> {
    if (resource.startsWith('arn:aws:lambda:')) return this.lambdas.invoke(resource, payload);
    const functionName = String(payload.FunctionName);
    if (resource === LAMBDA_INVOKE) {
      const result = await this.lambdas.invoke(functionName, payload.Payload);
      return { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
    }
    // .waitForTaskToken: the task ends when someone answers the token, not when the function returns.
    const answered = new Promise<unknown>((resolve, reject) => {
      const timer =
        timeoutSeconds > 0
          ? setTimeout(() => {
              const task = this.tokens.get(token!);
              if (task && !task.closed) task.closed = 'TaskTimedOut';
            }, Math.min(timeoutSeconds, MAX_LOCAL_TIMER_SECONDS) * 1000)
          : undefined;
      this.tokens.set(token!, { executionArn: execution.executionArn, resolve, reject, ...(timer ? { timer } : {}) });
    });
    await this.lambdas.invoke(functionName, payload.Payload);
    return answered;
  }

  private openTask(token: string): PendingTask {
    const task = this.tokens.get(token);
    if (!task) {
      if (!/^AQ[A-Za-z0-9_-]{64,}$/.test(token)) throw new AwsServiceError('InvalidToken', 'Invalid Token');
      throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    }
    if (task.closed === 'TaskTimedOut') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out');
    if (task.closed) throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    return task;
  }

  private respond(token: string, response: { output: string } | { error: string; cause: string }): Record<string, never> {
    const task = this.openTask(token);
    if ('output' in response) {
      let output: unknown;
      try {
        output = JSON.parse(response.output);
      } catch {
        throw new AwsServiceError('InvalidOutput', 'Invalid Output: not JSON');
      }
      task.resolve(output);
    } else {
      const error = new Error(response.cause);
      error.name = response.error;
      task.reject(error);
    }
    task.closed = 'TaskDoesNotExist';
    clearTimeout(task.timer);
    return {};
  }

  private stopExecution(body: Record<string, unknown>): { stopDate: number } {
    const execution = this.executions.get(String(body.executionArn));
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body.executionArn)}'`);
    if (execution.status === 'RUNNING') {
      if (body.error !== undefined) execution.error = String(body.error);
      if (body.cause !== undefined) execution.cause = String(body.cause);
      execution.abort?.();
    }
    return { stopDate: execution.stopDate ?? Date.now() / 1000 };
  }

  private describeExecution(executionArn: string): Record<string, unknown> {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return {
      executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate,
      input: execution.input,
      inputDetails: { included: true },
      ...(execution.stopDate === undefined ? {} : { stopDate: execution.stopDate }),
      ...(execution.output === undefined ? {} : { output: execution.output, outputDetails: { included: true } }),
      ...(execution.error === undefined ? {} : { error: execution.error }),
      ...(execution.cause === undefined ? {} : { cause: execution.cause }),
      ...this.redriveFields(execution),
    };
  }

  /** The redrive fields of DescribeExecution and of the status-change event. */
  private redriveFields(execution: Execution): Record<string, unknown> {
    const reason =
      execution.status === 'RUNNING' || execution.status === 'SUCCEEDED'
        ? `Execution is ${execution.status} and cannot be redriven`
        : execution.lastTopLevel
          ? undefined
          : 'The local engine was restarted since this execution ran';
    return {
      redriveCount: execution.redriveCount,
      ...(execution.redriveDate === undefined ? {} : { redriveDate: execution.redriveDate }),
      redriveStatus: reason ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
      ...(reason ? { redriveStatusReason: reason } : {}),
    };
  }

  private history(body: Record<string, unknown>): { events: unknown[] } {
    const execution = this.executions.get(String(body.executionArn));
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', 'Execution Does Not Exist');
    const events = execution.history.map((event) => ({
      id: event.id,
      previousEventId: event.id - 1,
      timestamp: event.timestamp,
      type: event.type,
      ...(event.stateName ? { stateEnteredEventDetails: { name: event.stateName } } : {}),
    }));
    return { events: body.reverseOrder === true ? events.reverse() : events };
  }

  /** Sends the terminal "Execution Status Change" event to every matching rule's targets. */
  private emit(execution: Execution): void {
    if (!TERMINAL_EVENT_STATUSES.has(execution.status)) return;
    const machineName = this.machines.get(execution.stateMachineArn)?.model.name ?? '';
    if ((this.options.dropStatusEventsFor ?? []).some((part) => part !== '' && machineName.includes(part))) {
      this.log(`fault injection: dropped the ${execution.status} status event of ${execution.name} (${machineName})`);
      this.journal?.settled(execution.executionArn, 'undelivered');
      return;
    }
    const event = eventEnvelope(this.env, 'Step Functions Execution Status Change', 'aws.states', [execution.executionArn], {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: Math.round(execution.startDate * 1000),
      stopDate: Math.round((execution.stopDate ?? 0) * 1000),
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output ?? null,
      outputDetails: { included: execution.output !== undefined },
      error: execution.error ?? null,
      cause: execution.cause ?? null,
      ...this.redriveFields(execution),
      // Milliseconds in the event, as its other dates.
      ...(execution.redriveDate === undefined ? {} : { redriveDate: Math.round(execution.redriveDate * 1000) }),
    });
    const deliveries: Array<Promise<boolean>> = [];
    for (const rule of this.rules) {
      if (!matches(rule.pattern as Json, event)) continue;
      for (const target of rule.targetArns) deliveries.push(this.deliver(target, event));
    }
    const settled: Promise<void> = Promise.all(deliveries)
      .then((results) => {
        const outcome: JournalDelivery = results.every(Boolean) ? 'delivered' : 'undelivered';
        this.journal?.settled(execution.executionArn, outcome);
      })
      .catch((error: unknown) => this.log(`journaling the event of ${execution.name} failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.pendingDeliveries.delete(settled));
    this.pendingDeliveries.add(settled);
  }

  /**
   * Delivers with retries and backoff, as EventBridge does; gives up (a DLQ in AWS) after a few
   * tries. True when delivered.
   */
  private async deliver(target: string, event: unknown): Promise<boolean> {
    for (let attempt = 1; attempt <= 4; attempt++) {
      try {
        await this.lambdas.invoke(target, event);
        return true;
      } catch (error) {
        this.log(`event delivery to ${target} failed (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
    return false;
  }
}
