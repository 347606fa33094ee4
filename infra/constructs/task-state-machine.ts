import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  LogLevel,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  TaskInput,
  Timeout,
  type IChainable,
  type INextable,
  type RetryProps,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { checkExecutionTimeout, type LambdaStep, type Step, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { lambdaStepsOf } from '../../lambdas/tasks/walk.js';
import { acknowledgeWildcardResources } from './nag.js';

/** Props of {@link TaskStateMachine}. */
export interface TaskStateMachineProps {
  /** The task to compile. */
  readonly task: TaskDefinition;
  /** The function of each Lambda step of the task (`lambdas/runtime/step-handler.ts`), by the step of the task definition. */
  readonly stepFunctions: ReadonlyMap<LambdaStep, IFunction>;
  /** Stores the task token of every wait step (`lambdas/runtime/wait-handler.ts`). */
  readonly waitFunction: IFunction;
  /** Physical name of the state machine; the execution ARNs derive from it. */
  readonly stateMachineName: string;
  /**
   * Days of execution log retention.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** PascalCase state name of a kebab-case step name. */
export function stateName(stepName: string): string {
  return stepName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

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
  maxAttempts: 8,
  jitterStrategy: JitterType.FULL,
};

/**
 * Errors never retried: a step of an execution that ended meanwhile (e.g. was cancelled), and a
 * step whose output is over the payload limit (the same handler would return it again). Their
 * retrier comes before the step's own policy, after the retrier of Lambda's refusals.
 */
const NEVER_RETRIED_ERRORS = ['ExecutionEnded', 'StepOutputTooLarge'];

/**
 * One Standard state machine per task (JSONPath, so the local engine runs the very same
 * definition). Each user step is ONE Task state: a Lambda step invokes its own function
 * with a per-step retry policy and timeout; a wait step invokes the wait function with
 * `.waitForTaskToken` and a timeout. Every step catches into its own Fail state
 * (`<Step>Failed`), so the console shows where an execution failed. The execution name is the
 * execution id, and the state machine passes the tenant from the execution input.
 */
export class TaskStateMachine extends Construct {
  /** The compiled state machine. */
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: TaskStateMachineProps) {
    super(scope, id);
    const { task } = props;
    // A task built without defineTask is checked here too: the timeout must let its longest step finish.
    checkExecutionTimeout(task);
    if (props.stateMachineName.length > 80) {
      throw new Error(`State machine name is longer than 80 characters: ${props.stateMachineName}`);
    }
    const states = task.steps.map((step, index) => this.compileStep(props, step, index));
    let chain: IChainable & INextable = states[0]!;
    for (const state of states.slice(1)) chain = (chain as LambdaInvoke).next(state);

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
      definitionBody: DefinitionBody.fromChainable(states[0]!),
      tracingEnabled: true,
      // Execution data stays out of the logs: inputs belong to tenants; the records hold them.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.seconds(task.timeoutSeconds ?? task.steps.reduce((sum, step) => sum + maxSecondsOf(step), 60)),
    });
    acknowledgeWildcardResources(
      this.stateMachine,
      ['*'],
      'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs ' +
        'delivery for state machine logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ' +
        'ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) support no resource-level permissions.',
    );
    // LambdaInvoke grants the function and its qualifiers (`<fn>:*`); the states call the unqualified function.
    const invoked = [
      ...lambdaStepsOf(task).map((step) => stepFunctionOf(props, step)),
      ...(task.steps.some((step) => step.kind === 'wait') ? [props.waitFunction] : []),
    ];
    acknowledgeWildcardResources(
      this.stateMachine,
      invoked.flatMap((fn) => fn.resourceArnsForGrantInvoke),
      'lambda:InvokeFunction on `<function>:*` covers the versions and aliases of one function of this service (a step ' +
        'function of this task or the wait function), added by LambdaInvoke; the states invoke the unqualified function, and no other function is reachable.',
    );
  }

  private compileStep(props: TaskStateMachineProps, step: Step, index: number): LambdaInvoke {
    const name = stateName(step.name);
    const base = {
      execution_id: JsonPath.stringAt('$$.Execution.Name'),
      tenant: JsonPath.stringAt('$$.Execution.Input.tenant'),
      task_id: props.task.id,
      step_index: index,
      attempt: JsonPath.numberAt('$$.State.RetryCount'),
      // The execution input is { tenant, input }; later steps get the previous step's output.
      input: index === 0 ? JsonPath.objectAt('$.input') : JsonPath.entirePayload,
    };
    const failed = new Fail(this, `${name}Failed`, {
      comment: `Step "${step.name}" (index ${index}) failed`,
      errorPath: '$.Error',
      causePath: '$.Cause',
    });
    const state =
      step.kind === 'wait'
        ? new LambdaInvoke(this, name, {
            comment: step.prompt ?? `Waits for input (resume) at step "${step.name}"`,
            lambdaFunction: props.waitFunction,
            integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload: TaskInput.fromObject({ ...base, task_token: JsonPath.taskToken }),
            taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
            // CDK's own retrier of these errors omits throttling; LAMBDA_TRANSIENT_RETRY replaces it.
            retryOnServiceExceptions: false,
          })
        : new LambdaInvoke(this, name, {
            comment: `Runs step "${step.name}" (index ${index})`,
            lambdaFunction: stepFunctionOf(props, step),
            payloadResponseOnly: true,
            payload: TaskInput.fromObject(base),
            taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
            retryOnServiceExceptions: false,
          });
    state.addRetry(LAMBDA_TRANSIENT_RETRY);
    // A step of an execution that was cancelled meanwhile, or whose output is too large, must not be retried.
    state.addRetry({ errors: NEVER_RETRIED_ERRORS, maxAttempts: 0 });
    if (step.kind === 'wait') {
      // A failed attempt to record the wait (e.g. a throttled write) is retried; a timeout is not.
      state.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 3, interval: Duration.seconds(1), backoffRate: 2 });
    }
    if (step.kind === 'step' && step.retry) {
      state.addRetry({
        errors: [...step.retry.errors],
        maxAttempts: step.retry.maxAttempts,
        interval: Duration.seconds(step.retry.intervalSeconds),
        backoffRate: step.retry.backoffRate,
        maxDelay: Duration.seconds(step.retry.maxDelaySeconds),
      });
    }
    // No ResultPath: the default ($) hands the Fail state exactly { Error, Cause }. (An explicit
    // "$" means the same in AWS, but aws-local-stepfunctions 3.0 writes it as a literal key.)
    state.addCatch(failed, { errors: ['States.ALL'] });
    return state;
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

/**
 * Longest time a step can take, retries included, for the state machine's overall timeout. Lambda's
 * refusals are counted by their delays only: a refused invocation fails at once.
 */
function maxSecondsOf(step: Step): number {
  if (step.kind === 'wait' || !step.retry) return step.timeoutSeconds + LAMBDA_TRANSIENT_RETRY_SECONDS;
  const { maxAttempts, intervalSeconds, backoffRate, maxDelaySeconds } = step.retry;
  const attempts = (maxAttempts + 1) * step.timeoutSeconds;
  return Math.ceil(attempts + retryDelaySeconds(maxAttempts, intervalSeconds, backoffRate, maxDelaySeconds) + LAMBDA_TRANSIENT_RETRY_SECONDS);
}
