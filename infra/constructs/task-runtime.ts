import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { ServiceFunction } from './service-function.js';
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
}

/**
 * The Step Functions side of the service: the step runner and wait functions shared by every
 * task, and one state machine per task.
 */
export class TaskRuntime extends Construct {
  /** Runs every Lambda step. */
  readonly stepFunction: ServiceFunction;
  /** Stores wait tokens. */
  readonly waitFunction: ServiceFunction;
  /** State machines by task id. */
  readonly stateMachines: ReadonlyMap<string, StateMachine>;

  constructor(scope: Construct, id: string, props: TaskRuntimeProps) {
    super(scope, id);
    if (props.tasks.length === 0) throw new Error('TaskRuntime needs at least one task');
    const longestStep = Math.max(
      ...props.tasks.flatMap((task) => task.steps.map((step) => (step.kind === 'step' ? step.timeoutSeconds : 1))),
    );
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
    grantTableAccess(this.stepFunction, props.table, 'write');
    grantTableAccess(this.waitFunction, props.table, 'write');

    this.stateMachines = new Map(
      props.tasks.map((task) => [
        task.id,
        new TaskStateMachine(this, `Task-${task.id}`, {
          task,
          stepFunction: this.stepFunction,
          waitFunction: this.waitFunction,
          stateMachineName: `${props.namePrefix}${task.id}`,
        }).stateMachine,
      ]),
    );
  }
}
