import { Aws, Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lambdaStepsOf, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { ServiceFunction } from './service-function.js';
import { grantStateMachinesByPrefix } from './execution-access.js';
import { grantTableAccess } from './table-access.js';
import { TaskStateMachine } from './task-state-machine.js';

/** Props of {@link TaskRuntime}. */
export interface TaskRuntimeProps {
  /** The executions table. */
  readonly table: ITableV2;
  /** Tasks to compile; each gets a state machine. */
  readonly tasks: readonly TaskDefinition[];
  /** State machine names are this prefix plus the task id. */
  readonly namePrefix: string;
  /** Environment shared by the service's functions (table name, retention…). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Functions `invoke` steps may name instead of an ARN.
   * @default - none
   */
  readonly functions?: Readonly<Record<string, IFunction>>;
}

/**
 * The Step Functions side of the service: the step runner, wait and child-start functions shared
 * by every task, and one state machine per task.
 */
export class TaskRuntime extends Construct {
  /** Runs every Lambda step. */
  readonly stepFunction: ServiceFunction;
  /** Stores wait tokens. */
  readonly waitFunction: ServiceFunction;
  /** Records parallel, map, choice, invoke and runTask steps, and begins sleeps. */
  readonly recordFunction: ServiceFunction;
  /**
   * Starts the child execution of a `runTask` state (`lambda:invoke.waitForTaskToken`, payload
   * `ChildStartPayload` of `lambdas/runtime/child-start.ts`); the child's end answers the token.
   */
  readonly childStartFunction: ServiceFunction;
  /** State machines by task id. */
  readonly stateMachines: ReadonlyMap<string, StateMachine>;

  constructor(scope: Construct, id: string, props: TaskRuntimeProps) {
    super(scope, id);
    if (props.tasks.length === 0) throw new Error('TaskRuntime needs at least one task');
    const longestStep = Math.max(1, ...props.tasks.flatMap((task) => lambdaStepsOf(task).map((step) => step.timeoutSeconds)));
    this.stepFunction = new ServiceFunction(this, 'StepRunner', {
      entry: 'runtime/step-handler.ts',
      description: 'Runs a step of a task and records its transition',
      environment: props.environment,
      // The state's own timeout ends an attempt first; the function must not cut it shorter.
      timeout: Duration.seconds(Math.min(900, longestStep + 5)),
      memorySize: 1024,
      runsTasks: true,
    });
    this.waitFunction = new ServiceFunction(this, 'WaitForInput', {
      entry: 'runtime/wait-handler.ts',
      description: 'Stores the task token of a wait step and records the wait transition',
      environment: props.environment,
      // It reads its wait step's definition from the tasks module.
      runsTasks: true,
    });
    this.recordFunction = new ServiceFunction(this, 'Recorder', {
      entry: 'runtime/record-handler.ts',
      description: 'Records the parallel, map, choice, invoke and runTask steps of a task, and begins its sleeps',
      environment: props.environment,
    });
    grantTableAccess(this.stepFunction, props.table, 'write');
    grantTableAccess(this.waitFunction, props.table, 'write');
    grantTableAccess(this.recordFunction, props.table, 'write');

    // Built from the names, not the state machines: they invoke this function, so a reference to
    // them from its policy would make a dependency cycle.
    const stateMachineArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${props.namePrefix}`;
    this.childStartFunction = new ServiceFunction(this, 'ChildStart', {
      entry: 'runtime/child-start-handler.ts',
      description: 'Starts the child execution of a runTask state and links it to its parent',
      environment: { ...props.environment, STATE_MACHINE_ARN_PREFIX: stateMachineArnPrefix },
    });
    grantTableAccess(this.childStartFunction, props.table, 'write');
    grantStateMachinesByPrefix(
      this.childStartFunction,
      stateMachineArnPrefix,
      ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
      'StartExecution of the child task (any task of this stack may be a child) and, when a retried runTask state finds ' +
        'its child already ended, SendTaskSuccess/SendTaskFailure of the parent\'s new task token',
    );

    this.stateMachines = new Map(
      props.tasks.map((task) => [
        task.id,
        new TaskStateMachine(this, `Task-${task.id}`, {
          task,
          stepFunctions: new Map(lambdaStepsOf(task).map((step) => [step, this.stepFunction])),
          waitFunction: this.waitFunction,
          recordFunction: this.recordFunction,
          childStartFunction: this.childStartFunction,
          ...(props.functions ? { functions: props.functions } : {}),
          stateMachineName: `${props.namePrefix}${task.id}`,
        }).stateMachine,
      ]),
    );
  }
}
