import { tasks as defaultTasks } from '../../examples/tasks/index.js';
import type { Client } from './bundle.js';

/** A deployed function: its entry under `lambdas/` and the AWS SDK clients it constructs (its floor). */
export interface FunctionSpec {
  readonly name: string;
  readonly entry: string;
  readonly clients: readonly Client[];
}

/** Every Lambda function of the stack (infra/), as the benchmark measures them. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'create', entry: 'api/executions-create.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'read', entry: 'api/executions-read.ts', clients: ['dynamodb'] },
  { name: 'control', entry: 'api/executions-control.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'catalogue', entry: 'api/catalogue.ts', clients: [] },
  { name: 'authorizer', entry: 'api/authorizer.ts', clients: ['dynamodb'] },
  { name: 'step-runner', entry: 'runtime/step-handler.ts', clients: ['dynamodb'] },
  { name: 'wait-for-input', entry: 'runtime/wait-handler.ts', clients: ['dynamodb'] },
  { name: 'recorder', entry: 'runtime/record-handler.ts', clients: ['dynamodb'] },
  { name: 'child-start', entry: 'runtime/child-start-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'status-change', entry: 'runtime/status-change-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'reconciler', entry: 'runtime/reconciler-handler.ts', clients: ['dynamodb', 'sfn'] },
];

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
