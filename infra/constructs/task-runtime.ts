import { Aws, Duration, Stage } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { allSteps, lambdaStepsOf, type LambdaStep, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { stepTasksModule } from '../task-bundles.js';
import type { TaskExport } from '../tasks-module.js';
import { ServiceFunction } from './service-function.js';
import { grantStateMachinesByPrefix } from './execution-access.js';
import { grantTableAccess } from './table-access.js';
import { stateName, TaskStateMachine } from './task-state-machine.js';
import { stepKey, TaskStepFunction } from './task-step-function.js';

/** Props of {@link TaskRuntime}. */
export interface TaskRuntimeProps {
  /** The executions table. */
  readonly table: ITableV2;
  /** Tasks to compile; each gets a state machine, and each of their Lambda steps a function. */
  readonly tasks: readonly TaskDefinition[];
  /** State machine names are this prefix plus the task id. */
  readonly namePrefix: string;
  /** Environment shared by the service's functions (table name, retention…). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The task catalogue of `tasks` (`writeTaskCatalogue`): the wait, recorder and child-start
   * functions bundle it as `#task-catalogue` and so know the tasks' structure and schemas without
   * their code.
   */
  readonly taskCatalogue: string;
  /**
   * Functions `invoke` steps may name instead of an ARN.
   * @default - none
   */
  readonly functions?: Readonly<Record<string, IFunction>>;
  /**
   * Where each task is exported from the file that defined it (`TasksModule.taskExports`, found by
   * `loadTasksModule`): the step functions of such a task bundle that export, not the whole tasks module.
   * @default - none: every step function bundles the whole tasks module
   */
  readonly taskExports?: ReadonlyMap<TaskDefinition, TaskExport>;
  /**
   * Grants that need CDK objects, by Lambda step (`'<task id>/<step name>'`): each is called once
   * with that step's function, e.g. `{ 'document-pipeline/extract': (fn) => bucket.grantRead(fn) }`.
   * Statements that are plain data belong in the step's own `permissions`.
   * @default - none
   * @throws at synth when a key names no Lambda step of the tasks.
   */
  readonly stepGrants?: Readonly<Record<string, (fn: IFunction) => void>>;
  /**
   * Reserved concurrency by Lambda step (`'<task id>/<step name>'`), e.g.
   * `{ 'document-pipeline/extract': 200 }`: the step always has that many concurrent executions,
   * whatever else the account runs, and never more (docs/capacity.md).
   * @default - none: every step function shares the account's unreserved concurrency
   * @throws at synth when a key names no Lambda step of the tasks, or a value is not a positive integer.
   */
  readonly stepConcurrency?: Readonly<Record<string, number>>;
}

/**
 * The Step Functions side of the service: one function per Lambda step of every task (its own
 * role, memory, timeout, environment and log group), the wait, recorder and child-start functions
 * shared by every task, and one state machine per task.
 */
export class TaskRuntime extends Construct {
  /** The function of each Lambda step, by `<task id>/<step name>`. */
  readonly stepFunctions: ReadonlyMap<string, TaskStepFunction>;
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
    // A child task that is not deployed here would fail every execution that reaches it: refuse it now.
    const deployed = new Set(props.tasks.map((task) => task.id));
    for (const task of props.tasks) {
      for (const child of allSteps(task.steps).filter((step) => step.kind === 'run-task')) {
        if (!deployed.has(child.taskId)) {
          throw new Error(`Task ${task.id}: runTask "${child.name}" runs task ${child.taskId}, which is not among the tasks deployed (${[...deployed].join(', ')})`);
        }
      }
    }
    const steps = props.tasks.flatMap((task) => lambdaStepsOf(task).map((step) => ({ task, step, key: stepKey(task.id, step.name) })));
    const unknown = Object.keys(props.stepGrants ?? {}).filter((key) => !steps.some((candidate) => candidate.key === key));
    if (unknown.length > 0) {
      throw new Error(`stepGrants names no Lambda step: ${unknown.join(', ')} (the Lambda steps are ${steps.map((candidate) => candidate.key).join(', ') || 'none'})`);
    }
    const unknownConcurrency = Object.keys(props.stepConcurrency ?? {}).filter((key) => !steps.some((candidate) => candidate.key === key));
    if (unknownConcurrency.length > 0) {
      throw new Error(`stepConcurrency names no Lambda step: ${unknownConcurrency.join(', ')} (the Lambda steps are ${steps.map((candidate) => candidate.key).join(', ') || 'none'})`);
    }
    for (const [key, reserved] of Object.entries(props.stepConcurrency ?? {})) {
      if (!Number.isInteger(reserved) || reserved < 1) throw new Error(`stepConcurrency of ${key} must be a positive integer, got ${reserved}`);
    }
    const ids = new Map<string, string>();
    for (const { task, step, key } of steps) {
      const functionId = stepFunctionId(task.id, step.name);
      const other = ids.get(functionId);
      if (other !== undefined) throw new Error(`Lambda steps ${other} and ${key} would both be function ${functionId}: rename one`);
      ids.set(functionId, key);
    }

    this.waitFunction = new ServiceFunction(this, 'WaitForInput', {
      entry: 'runtime/wait-handler.ts',
      description: 'Stores the task token of a wait step and records the wait transition',
      environment: props.environment,
      // Its wait step's prompt and timeout, from the catalogue.
      taskCatalogue: props.taskCatalogue,
    });
    this.recordFunction = new ServiceFunction(this, 'Recorder', {
      entry: 'runtime/record-handler.ts',
      description: 'Records the parallel, map, choice, invoke and runTask steps of a task, and begins its sleeps',
      environment: props.environment,
      // Branches and map items recording at once take turns on the record (up to 7.8 s of backoff).
      timeout: Duration.seconds(30),
      // It finds the step it records in the tasks' structure, from the catalogue.
      taskCatalogue: props.taskCatalogue,
    });
    grantTableAccess(this.waitFunction, props.table, 'write');
    grantTableAccess(this.recordFunction, props.table, 'write');

    // Built from the names, not the state machines: they invoke this function, so a reference to
    // them from its policy would make a dependency cycle.
    const stateMachineArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${props.namePrefix}`;
    this.childStartFunction = new ServiceFunction(this, 'ChildStart', {
      entry: 'runtime/child-start-handler.ts',
      description: 'Starts the child execution of a runTask state and links it to its parent',
      // Children of many map items start at once and take turns on the parent's record.
      timeout: Duration.seconds(30),
      environment: { ...props.environment, STATE_MACHINE_ARN_PREFIX: stateMachineArnPrefix },
      // It checks a child's input against its task's schema, from the catalogue, as create does.
      taskCatalogue: props.taskCatalogue,
    });
    grantTableAccess(this.childStartFunction, props.table, 'write');
    grantStateMachinesByPrefix(
      this.childStartFunction,
      stateMachineArnPrefix,
      ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
      'StartExecution of the child task (any task of this stack may be a child) and, when a retried runTask state finds ' +
        'its child already ended, SendTaskSuccess/SendTaskFailure of the parent\'s new task token',
    );

    const stepFunctions = new Map<string, TaskStepFunction>();
    const stateMachines = new Map<string, StateMachine>();
    // Generated per-task modules go in the cloud assembly (cdk.out), inside the project.
    const outdir = Stage.of(this)?.outdir;
    for (const task of props.tasks) {
      const bundledTasksModule = outdir === undefined ? undefined : stepTasksModule(outdir, task, props.taskExports);
      const functions = new Map<LambdaStep, IFunction>();
      for (const step of lambdaStepsOf(task)) {
        const key = stepKey(task.id, step.name);
        const fn = new TaskStepFunction(this, stepFunctionId(task.id, step.name), {
          taskId: task.id,
          step,
          table: props.table,
          environment: props.environment,
          ...(bundledTasksModule === undefined ? {} : { bundledTasksModule }),
          ...(props.stepConcurrency?.[key] === undefined ? {} : { reservedConcurrency: props.stepConcurrency[key] }),
        });
        props.stepGrants?.[key]?.(fn);
        functions.set(step, fn);
        stepFunctions.set(key, fn);
      }
      stateMachines.set(
        task.id,
        new TaskStateMachine(this, `Task-${task.id}`, {
          task,
          stepFunctions: functions,
          waitFunction: this.waitFunction,
          recordFunction: this.recordFunction,
          childStartFunction: this.childStartFunction,
          ...(props.functions ? { functions: props.functions } : {}),
          stateMachineName: `${props.namePrefix}${task.id}`,
        }).stateMachine,
      );
    }
    this.stepFunctions = stepFunctions;
    this.stateMachines = stateMachines;
  }
}

/** Construct id (and so the readable start of the logical id) of a Lambda step's function: `Step<Task><Step>`. */
function stepFunctionId(taskId: string, stepName: string): string {
  return `Step${stateName(taskId)}${stateName(stepName)}`;
}
