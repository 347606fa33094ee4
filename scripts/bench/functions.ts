import { tasks as defaultTasks } from '../../examples/tasks/index.js';
import type { TaskImports } from '../../infra/constructs/service-function.js';
import { writeTaskCatalogue } from '../../infra/task-catalogue.js';
import { DEFAULT_TASKS_MODULE } from '../../infra/tasks-module.js';
import type { Client } from './bundle.js';

/** A deployed function: its entry under `lambdas/`, the AWS SDK clients it constructs (its floor) and what it bundles of the tasks. */
export interface FunctionSpec {
  readonly name: string;
  readonly entry: string;
  readonly clients: readonly Client[];
  /** `code`: the tasks module as `#tasks` (it runs steps); `catalogue`: the task catalogue as `#task-catalogue`. */
  readonly tasks?: 'code' | 'catalogue';
}

/** Every Lambda function of the stack (infra/), as the benchmark measures them. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'create', entry: 'api/executions-create.ts', clients: ['dynamodb', 'sfn'], tasks: 'catalogue' },
  { name: 'read', entry: 'api/executions-read.ts', clients: ['dynamodb'] },
  { name: 'control', entry: 'api/executions-control.ts', clients: ['dynamodb', 'sfn'], tasks: 'catalogue' },
  { name: 'catalogue', entry: 'api/catalogue.ts', clients: [], tasks: 'catalogue' },
  { name: 'authorizer', entry: 'api/authorizer.ts', clients: ['dynamodb'] },
  { name: 'step-runner', entry: 'runtime/step-handler.ts', clients: ['dynamodb'], tasks: 'code' },
  { name: 'wait-for-input', entry: 'runtime/wait-handler.ts', clients: ['dynamodb'], tasks: 'code' },
  { name: 'recorder', entry: 'runtime/record-handler.ts', clients: ['dynamodb'], tasks: 'code' },
  { name: 'child-start', entry: 'runtime/child-start-handler.ts', clients: ['dynamodb', 'sfn'], tasks: 'code' },
  { name: 'status-change', entry: 'runtime/status-change-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'reconciler', entry: 'runtime/reconciler-handler.ts', clients: ['dynamodb', 'sfn'] },
];

/**
 * What `fn` bundles of the default tasks (the example tasks, which the benchmark measures), as the
 * stack gives it (infra/): the tasks module, or their catalogue, written into `outDir`.
 */
export function taskImportsOf(fn: FunctionSpec, outDir: string): TaskImports {
  if (fn.tasks === 'code') return { tasksModule: DEFAULT_TASKS_MODULE };
  if (fn.tasks === 'catalogue') return { taskCatalogue: writeTaskCatalogue(outDir, defaultTasks) };
  return {};
}

/** Environment a bundle of the default tasks needs to load (its module scope reads these, as at a cold start). */
export const LOAD_ENV: Readonly<Record<string, string>> = {
  TABLE_NAME: 'bench',
  CURSOR_SECRET: 'bench',
  STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:000000000000:stateMachine:Bench-',
  STATE_MACHINE_ARN: `arn:aws:states:us-east-1:000000000000:stateMachine:Bench-${defaultTasks[0]?.id ?? 'task'}`,
  TASK_IDS: defaultTasks.map((task) => task.id).join(','),
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  LOG_LEVEL: 'error',
};
