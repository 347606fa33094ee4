import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
  type IChainable,
  type INextable,
  type RetryProps,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  allSteps,
  checkExecutionTimeout,
  MAX_EXECUTION_SECONDS,
  pascalCase,
  lambdaStepsOf,
  type ChoiceStep,
  type Condition as StepCondition,
  type InvokeStep,
  type LambdaStep,
  type MapStep,
  type ParallelStep,
  type RunTaskStep,
  type SleepStep,
  type Step,
  type TaskDefinition,
  type WaitStep,
} from '../../lambdas/tasks/dsl.js';
import { CHILD_ERRORS, CHILD_START_FINAL_ERRORS } from '../../lambdas/domain/children.js';
import { checkHistoryEvents, checkMaxItems, SERVICE_RETRIES, TRANSIENT_RETRIES } from './history-events.js';
import { acknowledge, acknowledgeWildcardResources, flattenCfnReference } from './nag.js';

/** Props of {@link TaskStateMachine}. */
export interface TaskStateMachineProps {
  /** The task to compile. */
  readonly task: TaskDefinition;
  /** The function of each Lambda step of the task (`lambdas/runtime/step-handler.ts` around the step's handler). */
  readonly stepFunctions: ReadonlyMap<LambdaStep, IFunction>;
  /** Stores the task token of every wait step (`lambdas/runtime/wait-handler.ts`). */
  readonly waitFunction: IFunction;
  /** Records parallel, map, choice, invoke and runTask steps and begins sleeps (`lambdas/runtime/record-handler.ts`). */
  readonly recordFunction: IFunction;
  /** Starts the child execution of a runTask step (`.waitForTaskToken`); required when the task has one. */
  readonly childStartFunction?: IFunction;
  /**
   * Functions `invoke` steps may name instead of an ARN.
   * @default - none
   */
  readonly functions?: Readonly<Record<string, IFunction>>;
  /** Physical name of the state machine; the execution ARNs derive from it. */
  readonly stateMachineName: string;
  /**
   * Days of execution log retention.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** PascalCase state name of a kebab-case step name (the DSL refuses two steps whose states would share one). */
export const stateName = pascalCase;

/**
 * Lambda refusing an invocation rather than the function failing: throttling
 * (`TooManyRequestsException`: the account's or the function's concurrency is used up) and the
 * transient service errors AWS recommends retrying. Retrying them is safe: a throttled invocation
 * never ran, and the step runner and wait function are idempotent for the others.
 */
const LAMBDA_TRANSIENT_ERRORS: readonly string[] = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
];

/**
 * The first retrier of every Task state (Step Functions takes the first retrier that matches), so
 * Lambda's refusals never reach a step's own policy, whose few quick retries are meant for the
 * step's errors. 8 retries from 2 s, doubling, each delay capped at 60 s and drawn at random
 * below its cap (full jitter: steps throttled together do not all come back together). At most
 * 2 + 4 + 8 + 16 + 32 + 60 + 60 + 60 = 242 s of waiting in all, about 4 minutes: time for Lambda
 * to scale out or for running invocations to release concurrency, without hiding an account
 * whose concurrency is simply too small.
 */
const LAMBDA_TRANSIENT_RETRY: Readonly<RetryProps> = {
  errors: [...LAMBDA_TRANSIENT_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxDelay: Duration.seconds(60),
  maxAttempts: TRANSIENT_RETRIES,
  jitterStrategy: JitterType.FULL,
};

/**
 * Errors never retried: a step of an execution that ended meanwhile (e.g. was cancelled), a step
 * whose output is over the payload limit (the same handler would return it again), and a sleep
 * whose seconds in the input are invalid. Their retrier comes before the step's own policy, after
 * the retrier of Lambda's refusals. A child task that cannot start (unknown task, invalid input)
 * would not start on a retry either.
 */
const NEVER_RETRIED_ERRORS = ['ExecutionEnded', 'StepOutputTooLarge', 'SleepSecondsInvalid', ...CHILD_START_FINAL_ERRORS];

/** Error of a choice none of whose cases matched, with no `otherwise`. */
export const NO_CHOICE_MATCHED = 'NoChoiceMatched';

/** Where a state sits while compiling: what it reads its place and execution from. */
interface Place {
  /** Inside a map item: the place is `$.scope` of the state data; else the top level (null). */
  readonly scopeFromData: boolean;
  /** Parallel branches and choice cases below that, outermost first (known when compiling). */
  readonly segments: ReadonlyArray<{ readonly name: string; readonly index: number; readonly total?: number }>;
  /**
   * Inside a map item or parallel branch the execution's id and tenant are read from `$.execution`
   * of the state data, put there by the Map's ItemSelector or the Parallel's Parameters: a
   * Distributed Map's items are executions of their own (their `$$.Execution` is not the
   * parent's), and the local engine gives every branch and item the branch's input as
   * `$$.Execution.Input`. Only the top level (and choice cases in it) reads `$$.Execution`.
   */
  readonly executionFromData: boolean;
  readonly topLevel: boolean;
}

const TOP: Place = { scopeFromData: false, segments: [], executionFromData: false, topLevel: true };

/** The first and last state of a compiled step or sequence. */
interface Compiled {
  readonly start: IChainable;
  readonly end: INextable;
}

/** JSONPath of a dotted path into the state's input (`batch.items` → `$.input.batch.items`, `pages.0` → `$.input.pages[0]`). */
function inputPath(path: string | undefined): string {
  if (!path) return '$.input';
  return path.split('.').reduce((json, segment) => (/^\d+$/.test(segment) ? `${json}[${segment}]` : `${json}.${segment}`), '$.input');
}

/**
 * A condition of a choice as Step Functions rules. Each comparison first checks the value is
 * present and of the compared type: a rule on a missing path fails the execution in AWS
 * (`States.Runtime`), and a mismatched type must simply not match.
 */
function conditionOf(condition: StepCondition): Condition {
  if ('and' in condition) return Condition.and(...condition.and.map(conditionOf));
  if ('or' in condition) return Condition.or(...condition.or.map(conditionOf));
  if ('not' in condition) return Condition.not(conditionOf(condition.not));
  const variable = inputPath(condition.path);
  if ('present' in condition) return condition.present ? Condition.isPresent(variable) : Condition.isNotPresent(variable);
  const numeric = (rule: Condition) => Condition.and(Condition.isPresent(variable), Condition.isNumeric(variable), rule);
  if ('greaterThan' in condition) return numeric(Condition.numberGreaterThan(variable, condition.greaterThan));
  if ('greaterThanOrEquals' in condition) return numeric(Condition.numberGreaterThanEquals(variable, condition.greaterThanOrEquals));
  if ('lessThan' in condition) return numeric(Condition.numberLessThan(variable, condition.lessThan));
  if ('lessThanOrEquals' in condition) return numeric(Condition.numberLessThanEquals(variable, condition.lessThanOrEquals));
  const { equals } = condition;
  if (typeof equals === 'string') {
    return Condition.and(Condition.isPresent(variable), Condition.isString(variable), Condition.stringEquals(variable, equals));
  }
  if (typeof equals === 'boolean') {
    return Condition.and(Condition.isPresent(variable), Condition.isBoolean(variable), Condition.booleanEquals(variable, equals));
  }
  return numeric(Condition.numberEquals(variable, equals));
}

/**
 * One Standard state machine per task (JSONPath, so the local engine runs the very same
 * definition). The state data between states is `{ input, scope, execution }`: `input` is the
 * step's input (the previous step's output), `scope` the map item the state runs in, `execution`
 * the execution's id and tenant inside map items and parallel branches (both absent at the top
 * level, see {@link Place}).
 *
 * Each user step costs at most two state transitions: a Lambda step is ONE Task state invoking the
 * step's own function, which records its transition; a wait step one `.waitForTaskToken` Task; a
 * sleep a Task (the recorder notes until when) and a Wait state; an invoke of an existing function
 * or a runTask the Task that does the work and a Task of the recorder; a parallel, map or choice
 * its own state and a Task of the recorder after it (their nested steps count as steps of their
 * own). No state catches: a step's error fails the execution at the step's own Task state (the
 * console shows it there), which is where `RedriveExecution` restarts it (a retry from the failed
 * step, `POST /executions/{id}/retry`). The execution name is the execution id, and the state
 * machine passes the tenant from the execution input.
 */
export class TaskStateMachine extends Construct {
  /** The compiled state machine. */
  readonly stateMachine: StateMachine;
  private readonly invoked = new Set<IFunction>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: TaskStateMachineProps,
  ) {
    super(scope, id);
    const { task } = props;
    // A task built without defineTask is checked here too: the timeout must let its longest step finish.
    checkExecutionTimeout(task);
    // Step Functions' 25,000 history events per execution: a task that could pass it is refused here, with the numbers.
    checkMaxItems(task);
    checkHistoryEvents(task);
    if (props.stateMachineName.length > 80) {
      throw new Error(`State machine name is longer than 80 characters: ${props.stateMachineName}`);
    }
    // Every Lambda step needs its function, checked before anything is built.
    for (const step of lambdaStepsOf(task)) stepFunctionOf(props, step);
    const body = this.compileSequence(task.steps, TOP, 0, 0, true);

    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      comment: `${task.id}: ${task.description}`,
      definitionBody: DefinitionBody.fromChainable(body.start),
      tracingEnabled: true,
      // Execution data stays out of the logs: inputs belong to tenants; the records hold them.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.seconds(task.timeoutSeconds ?? defaultTimeoutSeconds(task.steps)),
    });
    acknowledgeWildcardResources(
      this.stateMachine,
      ['*'],
      'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs ' +
        'delivery for state machine logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ' +
        'ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) support no resource-level permissions.',
    );
    if (allSteps(task.steps).some((step) => step.kind === 'map' && step.distributed)) this.acknowledgeMapRuns();
    // LambdaInvoke grants the function and its qualifiers (`<fn>:*`); the states call the unqualified function.
    acknowledgeWildcardResources(
      this.stateMachine,
      [...this.invoked].flatMap((fn) => fn.resourceArnsForGrantInvoke),
      'lambda:InvokeFunction on `<function>:*` covers the versions and aliases of the functions this task invokes (its ' +
        'step functions, the wait, recorder and child-start functions of this service, and the functions its invoke steps name), ' +
        'added by LambdaInvoke; the states invoke the unqualified function, and no other function is reachable.',
    );
  }

  /**
   * A Distributed Map runs its items as child executions of this state machine: CDK's
   * `DistributedMapPolicy` lets it start, describe, stop and redrive its own executions and map
   * runs, whose ids are known only at run time.
   */
  private acknowledgeMapRuns(): void {
    const policy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (!(policy instanceof Policy)) return;
    const statements = (Stack.of(policy).resolve(policy.document.toJSON()) as { Statement?: Array<{ Resource?: unknown }> }).Statement ?? [];
    const wildcards = new Set(statements.flatMap((statement) => [statement.Resource ?? []].flat()).map(flattenCfnReference).filter((flat) => flat.includes('*')));
    for (const flat of wildcards) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::${flat}]`,
        'A Distributed Map runs its items as child executions of this very state machine (granted by CDK\'s DistributedMap): ' +
          'its own executions and map runs, whose ids are known only at run time.',
      );
    }
  }

  /**
   * Compiles a sequence of steps; its first state opens `opens` levels of its place, its last closes
   * `closes`. With `trim`, the last state hands on only its output (`OutputPath: $.input`): the
   * execution's output, or a branch's or map item's result in the array its parallel or map
   * collects, which so carries no state data of its own (a choice case's last state keeps it: the
   * choice's record after it reads the place from it).
   */
  private compileSequence(steps: readonly Step[], place: Place, opens: number, closes: number, trim: boolean): Compiled {
    const compiled = steps.map((step, index) =>
      this.compileStep(step, index, place, index === 0 ? opens : 0, index === steps.length - 1 ? closes : 0, trim && index === steps.length - 1),
    );
    for (let i = 1; i < compiled.length; i++) compiled[i - 1]!.end.next(compiled[i]!.start);
    return { start: compiled[0]!.start, end: compiled.at(-1)!.end };
  }

  private compileStep(step: Step, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    switch (step.kind) {
      case 'step':
        return this.lambdaStep(step, index, place, opens, closes, last);
      case 'wait':
        return this.waitStep(step, index, last);
      case 'sleep':
        return this.sleepStep(step, index, place, opens);
      case 'invoke':
        return this.invokeStep(step, index, place, opens, closes, last);
      case 'run-task':
        return this.runTaskStep(step, index, place, opens, closes, last);
      case 'parallel':
        return this.parallelStep(step, index, place, opens, closes, last);
      case 'map':
        return this.mapStep(step, index, place, opens, closes, last);
      case 'choice':
        return this.choiceStep(step, index, place, opens, closes, last);
    }
  }

  /** What every function of the runtime is told about the step and its place (and, unless `withInput` is false, its input). */
  private base(step: Step, index: number, place: Place, opens = 0, closes = 0, withInput = true): Record<string, unknown> {
    return {
      execution_id: JsonPath.stringAt(place.executionFromData ? '$.execution.id' : '$$.Execution.Name'),
      tenant: JsonPath.stringAt(place.executionFromData ? '$.execution.tenant' : '$$.Execution.Input.tenant'),
      task_id: this.props.task.id,
      step: step.name,
      step_index: index,
      attempt: JsonPath.numberAt('$$.State.RetryCount'),
      // The execution input is { tenant, input }; each later state's data is { input, scope, execution }.
      ...(withInput ? { input: JsonPath.objectAt('$.input') } : {}),
      ...(place.scopeFromData ? { scope: JsonPath.objectAt('$.scope') } : {}),
      ...(place.segments.length > 0 ? { segments: place.segments } : {}),
      ...(opens > 0 ? { opens } : {}),
      ...(closes > 0 ? { closes } : {}),
    };
  }

  /** The execution's id and tenant, for the state data of the branches and items below `place`. */
  private executionData(place: Place): unknown {
    return place.executionFromData
      ? JsonPath.objectAt('$.execution')
      : { id: JsonPath.stringAt('$$.Execution.Name'), tenant: JsonPath.stringAt('$$.Execution.Input.tenant') };
  }

  /** A Task state invoking `fn`, with the retriers every Task state has (and no catch: see the class). */
  private task(
    id: string,
    props: Omit<ConstructorParameters<typeof LambdaInvoke>[2], 'lambdaFunction'>,
    fn: IFunction,
    retry?: Step & { retry: LambdaStep['retry'] },
    serviceRetryErrors: readonly string[] = ['States.TaskFailed'],
  ): LambdaInvoke {
    this.invoked.add(fn);
    const state = new LambdaInvoke(this, id, {
      ...props,
      lambdaFunction: fn,
      // CDK's own retrier of these errors omits throttling; LAMBDA_TRANSIENT_RETRY replaces it.
      retryOnServiceExceptions: false,
    });
    state.addRetry(LAMBDA_TRANSIENT_RETRY);
    // A step of an execution that was cancelled meanwhile, or whose output is too large, must not be retried.
    state.addRetry({ errors: NEVER_RETRIED_ERRORS, maxAttempts: 0 });
    if (retry?.retry) {
      state.addRetry({
        errors: [...retry.retry.errors],
        maxAttempts: retry.retry.maxAttempts,
        interval: Duration.seconds(retry.retry.intervalSeconds),
        backoffRate: retry.retry.backoffRate,
        maxDelay: Duration.seconds(retry.retry.maxDelaySeconds),
      });
    } else if (!retry) {
      // The service's own functions are idempotent: a failed attempt to record (e.g. a throttled write) is retried.
      state.addRetry({ errors: [...serviceRetryErrors], maxAttempts: SERVICE_RETRIES, interval: Duration.seconds(1), backoffRate: 2 });
    }
    // No catch: an error the retriers leave fails the execution AT this state, with the state's
    // own error and cause (what a catch into a Fail state with `$.Error`/`$.Cause` also gave). A
    // catch-to-Fail would make the Fail state the failed state, where RedriveExecution restarts, so
    // a retry would fail again at once; without it the redrive runs this Task again.
    return state;
  }

  /**
   * The recorder's Task after a step whose work ran elsewhere: the step's output is in `$.input`
   * (the invoked function's, the child's, the branches' or items' results, the case's last output),
   * and the recorder's result (that output with the place) replaces the state data.
   */
  private record(step: Step, index: number, place: Place, opens: number, closes: number, last: boolean): LambdaInvoke {
    return this.task(
      `${stateName(step.name)}Record`,
      {
        comment: `Records step "${step.name}"`,
        payloadResponseOnly: true,
        payload: TaskInput.fromObject({
          ...this.base(step, index, place, opens, closes, false),
          action: 'record',
          output: JsonPath.objectAt('$.input'),
          ...(place.executionFromData ? { execution: JsonPath.objectAt('$.execution') } : {}),
        }),
        ...(last ? { outputPath: '$.input' } : {}),
      },
      this.props.recordFunction,
    );
  }

  private lambdaStep(step: LambdaStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const state = this.task(
      stateName(step.name),
      {
        comment: `Runs step "${step.name}" (index ${index})`,
        payloadResponseOnly: true,
        payload: TaskInput.fromObject(this.base(step, index, place, opens, closes)),
        // The output becomes the next step's input; the place stays in the state data.
        resultPath: '$.input',
        taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
        ...(last ? { outputPath: '$.input' } : {}),
      },
      stepFunctionOf(this.props, step),
      step,
    );
    return { start: state, end: state };
  }

  private waitStep(step: WaitStep, index: number, last: boolean): Compiled {
    const state = this.task(
      stateName(step.name),
      {
        comment: step.prompt ?? `Waits for input (resume) at step "${step.name}"`,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ ...this.base(step, index, TOP), task_token: JsonPath.taskToken }),
        resultPath: '$.input',
        taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
        ...(last ? { outputPath: '$.input' } : {}),
      },
      this.props.waitFunction,
    );
    return { start: state, end: state };
  }

  private sleepStep(step: SleepStep, index: number, place: Place, opens: number): Compiled {
    const begin = this.task(
      `${stateName(step.name)}Begin`,
      {
        comment: `Records that step "${step.name}" sleeps, and until when`,
        payloadResponseOnly: true,
        payload: TaskInput.fromObject({
          ...this.base(step, index, place, opens),
          action: 'sleep',
          ...(step.seconds === undefined ? { seconds_path: step.secondsPath } : { seconds: step.seconds }),
        }),
        resultPath: '$.until',
      },
      this.props.recordFunction,
    );
    const wait = new Wait(this, stateName(step.name), {
      comment: `Sleeps (step "${step.name}")`,
      time: WaitTime.timestampPath('$.until'),
    });
    begin.next(wait);
    return { start: begin, end: wait };
  }

  private invokeStep(step: InvokeStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const fn = step.target.startsWith('arn:')
      ? LambdaFunction.fromFunctionArn(this, `${stateName(step.name)}Function`, step.target)
      : this.props.functions?.[step.target];
    if (!fn) {
      throw new Error(`Task ${this.props.task.id}: invoke "${step.name}" names function "${step.target}", which the stack was not given (functions: { ${step.target}: fn })`);
    }
    const call = this.task(
      stateName(step.name),
      {
        comment: `Invokes ${step.target} (step "${step.name}")`,
        payloadResponseOnly: true,
        // The documented contract of an invoked function (docs/tasks.md).
        payload: TaskInput.fromObject({
          input: JsonPath.objectAt('$.input'),
          execution_id: JsonPath.stringAt(place.executionFromData ? '$.execution.id' : '$$.Execution.Name'),
          task_id: this.props.task.id,
          step: step.name,
          attempt: JsonPath.numberAt('$$.State.RetryCount'),
        }),
        // The output replaces the input: both side by side could pass Step Functions' payload limit.
        resultPath: '$.input',
        taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
      },
      fn,
      step,
    );
    const record = this.record(step, index, place, opens, closes, last);
    call.next(record);
    return { start: call, end: record };
  }

  private runTaskStep(step: RunTaskStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const fn = this.props.childStartFunction;
    if (!fn) throw new Error(`Task ${this.props.task.id}: runTask "${step.name}" needs the child-start function`);
    const start = this.task(
      stateName(step.name),
      {
        comment: `Runs task ${step.taskId} as a child execution and waits for it (step "${step.name}")`,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({
          ...this.base(step, index, place),
          child_task_id: step.taskId,
          input: JsonPath.objectAt(inputPath(step.inputPath)),
          task_token: JsonPath.taskToken,
        }),
        resultPath: '$.input',
        taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
      },
      fn,
      undefined,
      // Only the function's own failure to start the child: a failed child answers with its error
      // (which `States.TaskFailed` would match too), and that must fail the step, not start it again.
      [CHILD_ERRORS.startFailed],
    );
    const record = this.record(step, index, place, opens, closes, last);
    start.next(record);
    return { start, end: record };
  }

  private parallelStep(step: ParallelStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const state = new Parallel(this, stateName(step.name), {
      comment: `Runs the ${step.branches.length} branches of step "${step.name}" together`,
      // Each branch gets the state data with the execution in it (see Place.executionFromData).
      parameters: {
        input: JsonPath.objectAt('$.input'),
        ...(place.scopeFromData ? { scope: JsonPath.objectAt('$.scope') } : {}),
        execution: this.executionData(place),
      },
      resultPath: '$.input',
    });
    for (const [branch, steps] of step.branches.entries()) {
      const inner: Place = {
        ...place,
        executionFromData: true,
        topLevel: false,
        segments: [...place.segments, { name: step.name, index: branch, total: step.branches.length }],
      };
      state.branch(this.compileSequence(steps, inner, opens + 1, 1, true).start);
    }
    const record = this.record(step, index, place, opens, closes, last);
    state.next(record);
    return { start: state, end: record };
  }

  private mapStep(step: MapStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const items = inputPath(step.items);
    // The item's place: this map under the levels it is in (the static segments fold into the chain here).
    let parent: unknown = place.scopeFromData ? JsonPath.objectAt('$.scope') : undefined;
    for (const segment of place.segments) {
      parent = { ...(parent === undefined ? {} : { parent }), name: segment.name, index: segment.index, ...(segment.total === undefined ? { unit: 'cases' } : { total: segment.total, unit: 'branches' }) };
    }
    const itemSelector = {
      input: JsonPath.objectAt('$$.Map.Item.Value'),
      scope: { ...(parent === undefined ? {} : { parent }), name: step.name, index: JsonPath.numberAt('$$.Map.Item.Index'), total: JsonPath.arrayLength(JsonPath.listAt(items)) },
      execution: this.executionData(place),
    };
    const common = {
      comment: `Runs the steps of "${step.name}" for each item of ${items}, ${step.maxConcurrency} at a time`,
      itemsPath: items,
      itemSelector,
      maxConcurrency: step.maxConcurrency,
      resultPath: '$.input',
    };
    const inner: Place = { scopeFromData: true, segments: [], executionFromData: true, topLevel: false };
    const body = this.compileSequence(step.steps, inner, opens + 1, 1, true).start;
    const state = step.distributed
      ? new DistributedMap(this, stateName(step.name), common).itemProcessor(body)
      : new MapState(this, stateName(step.name), common).itemProcessor(body);
    const record = this.record(step, index, place, opens, closes, last);
    state.next(record);
    return { start: state, end: record };
  }

  private choiceStep(step: ChoiceStep, index: number, place: Place, opens: number, closes: number, last: boolean): Compiled {
    const state = new Choice(this, stateName(step.name), { comment: `Chooses the case of step "${step.name}" from its input` });
    const record = this.record(step, index, place, opens, closes, last);
    const sequences = [...step.cases.map((entry) => entry.steps), ...(step.otherwise ? [step.otherwise] : [])];
    const bodies = sequences.map((steps, position) => {
      const inner: Place = { ...place, topLevel: false, segments: [...place.segments, { name: step.name, index: position }] };
      const body = this.compileSequence(steps, inner, opens + 1, 1, false);
      body.end.next(record);
      return body.start;
    });
    for (const [position, entry] of step.cases.entries()) state.when(conditionOf(entry.when), bodies[position]!);
    state.otherwise(
      step.otherwise
        ? bodies.at(-1)!
        : new Fail(this, `${stateName(step.name)}NoMatch`, {
            comment: `No case of step "${step.name}" matched`,
            error: NO_CHOICE_MATCHED,
            cause: `No case of choice "${step.name}" matched its input, and it has no otherwise.`,
          }),
    );
    return { start: state, end: record };
  }
}

/** The function of a Lambda step of the task; a step without one is a wiring error. */
function stepFunctionOf(props: TaskStateMachineProps, step: LambdaStep): IFunction {
  const fn = props.stepFunctions.get(step);
  if (!fn) throw new Error(`Task ${props.task.id}: no function for Lambda step "${step.name}" in stepFunctions`);
  return fn;
}

/** Sum of a retrier's delays when every retry happens (jitter only ever shortens them). */
function retryDelaySeconds(maxAttempts: number, intervalSeconds: number, backoffRate: number, maxDelaySeconds: number): number {
  let total = 0;
  for (let attempt = 0; attempt < maxAttempts; attempt++) total += Math.min(maxDelaySeconds, intervalSeconds * backoffRate ** attempt);
  return total;
}

/** Longest wait {@link LAMBDA_TRANSIENT_RETRY} adds to a Task state: 242 s. */
const LAMBDA_TRANSIENT_RETRY_SECONDS = retryDelaySeconds(
  LAMBDA_TRANSIENT_RETRY.maxAttempts ?? 0,
  LAMBDA_TRANSIENT_RETRY.interval?.toSeconds() ?? 0,
  LAMBDA_TRANSIENT_RETRY.backoffRate ?? 1,
  LAMBDA_TRANSIENT_RETRY.maxDelay?.toSeconds() ?? Number.POSITIVE_INFINITY,
);


/** Longest time a Task state with this timeout and retry policy can take, retries included. */
function taskSeconds(timeoutSeconds: number, retry: LambdaStep['retry']): number {
  if (!retry) return timeoutSeconds + LAMBDA_TRANSIENT_RETRY_SECONDS;
  const { maxAttempts, intervalSeconds, backoffRate, maxDelaySeconds } = retry;
  return Math.ceil((maxAttempts + 1) * timeoutSeconds + retryDelaySeconds(maxAttempts, intervalSeconds, backoffRate, maxDelaySeconds) + LAMBDA_TRANSIENT_RETRY_SECONDS);
}

/** Longest time a sequence can take, or undefined when that depends on the input (a map's items, a sleep's seconds from input). */
function sequenceSeconds(steps: readonly Step[]): number | undefined {
  let total = 0;
  for (const step of steps) {
    const seconds = maxSecondsOf(step);
    if (seconds === undefined) return undefined;
    total += seconds;
  }
  return total;
}

/**
 * Longest time a step can take, retries included, for the state machine's overall timeout. Lambda's
 * refusals are counted by their delays only: a refused invocation fails at once.
 */
function maxSecondsOf(step: Step): number | undefined {
  switch (step.kind) {
    case 'step':
    case 'invoke':
      return taskSeconds(step.timeoutSeconds, step.retry);
    case 'wait':
    case 'run-task':
      return step.timeoutSeconds + LAMBDA_TRANSIENT_RETRY_SECONDS;
    case 'sleep':
      return step.seconds;
    case 'map':
      return undefined;
    case 'parallel':
    case 'choice': {
      const branches = (step.kind === 'parallel' ? step.branches : [...step.cases.map((entry) => entry.steps), step.otherwise ?? []]).map(sequenceSeconds);
      return branches.includes(undefined) ? undefined : Math.max(0, ...(branches as number[]));
    }
  }
}

/**
 * A task's execution timeout when it sets none: the sum of every step's worst case plus 60 s, or
 * the Standard maximum (a year) when that depends on the input (a map, a sleep from input).
 */
function defaultTimeoutSeconds(steps: readonly Step[]): number {
  const seconds = sequenceSeconds(steps);
  return seconds === undefined ? MAX_EXECUTION_SECONDS : Math.min(MAX_EXECUTION_SECONDS, seconds + 60);
}
