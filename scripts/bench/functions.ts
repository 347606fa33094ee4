import { tasks as defaultTasks } from '../../examples/tasks/index.js';
import { join } from 'node:path';
import type { TaskImports } from '../../infra/constructs/service-function.js';
import { stepTasksModule } from '../../infra/task-bundles.js';
import { writeDashboardPage } from '../../infra/dashboard-page.js';
import { writeOpenApiDocument } from '../../infra/openapi-document.js';
import { writeTaskCatalogue } from '../../infra/task-catalogue.js';
import { DEFAULT_TASKS_MODULE, loadTasksModule } from '../../infra/tasks-module.js';
import { lambdaStepsOf } from '../../lambdas/tasks/dsl.js';
import { bundle, ROOT, type Bundle, type Client } from './bundle.js';

/** A deployed function: its entry under `lambdas/`, the AWS SDK clients it constructs (its floor) and what it bundles of the tasks. */
export interface FunctionSpec {
  readonly name: string;
  readonly entry: string;
  readonly clients: readonly Client[];
  /** `code`: a tasks module as `#tasks` (it runs steps); `catalogue`: the task catalogue as `#task-catalogue`. */
  readonly tasks?: 'code' | 'catalogue';
  /** It bundles the built dashboard page as `#dashboard-page`. */
  readonly page?: true;
  /** It bundles the OpenAPI document computed at synth (API key auth, as the default stack) as `#openapi-document`. */
  readonly document?: true;
  /**
   * With `tasks: 'code'`, the module its bundle takes as `#tasks`.
   * @default - the default tasks module (the example tasks)
   */
  readonly tasksModule?: string;
}

/** The service's own functions (infra/), as the benchmark measures them; each Lambda step adds one ({@link stepFunctionsOf}). */
export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'create', entry: 'api/executions-create.ts', clients: ['dynamodb', 'sfn', 's3'], tasks: 'catalogue' },
  { name: 'batch', entry: 'api/executions-batch.ts', clients: ['dynamodb', 'sfn'], tasks: 'catalogue' },
  { name: 'read', entry: 'api/executions-read.ts', clients: ['dynamodb', 's3'] },
  { name: 'events', entry: 'api/executions-events.ts', clients: ['dynamodb'] },
  { name: 'control', entry: 'api/executions-control.ts', clients: ['dynamodb', 'sfn', 's3'], tasks: 'catalogue' },
  { name: 'recovery', entry: 'api/executions-recovery.ts', clients: ['dynamodb', 'sfn', 's3'], tasks: 'catalogue' },
  { name: 'catalogue', entry: 'api/catalogue.ts', clients: [], tasks: 'catalogue', document: true },
  { name: 'dashboard', entry: 'api/dashboard.ts', clients: [], page: true },
  { name: 'authorizer', entry: 'api/authorizer.ts', clients: ['dynamodb'] },
  { name: 'events-stream', entry: 'api/events-stream-handler.ts', clients: ['dynamodb'] },
  { name: 'wait-for-input', entry: 'runtime/wait-handler.ts', clients: ['dynamodb'], tasks: 'catalogue' },
  { name: 'recorder', entry: 'runtime/record-handler.ts', clients: ['dynamodb'], tasks: 'catalogue' },
  { name: 'child-start', entry: 'runtime/child-start-handler.ts', clients: ['dynamodb', 'sfn'], tasks: 'catalogue' },
  { name: 'status-change', entry: 'runtime/status-change-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'reconciler', entry: 'runtime/reconciler-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'admission', entry: 'runtime/admission-handler.ts', clients: ['dynamodb', 'sfn'] },
  { name: 'webhooks', entry: 'api/webhooks.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'tag-index', entry: 'runtime/tag-index-handler.ts', clients: ['dynamodb'] },
  { name: 'webhook-dispatch', entry: 'webhooks/dispatch-handler.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'webhook-deliver', entry: 'webhooks/deliver-handler.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'webhook-redrive', entry: 'webhooks/redrive-handler.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'bulk', entry: 'api/bulk-actions.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'bulk-worker', entry: 'runtime/bulk-worker-handler.ts', clients: ['dynamodb', 'sfn', 'sqs'], tasks: 'catalogue' },
  { name: 'bulk-sweep', entry: 'runtime/bulk-sweep-handler.ts', clients: ['dynamodb', 'sqs'] },
  { name: 'schedules', entry: 'api/schedules.ts', clients: ['dynamodb', 'scheduler'], tasks: 'catalogue' },
  { name: 'schedule-run', entry: 'runtime/schedule-run-handler.ts', clients: ['dynamodb', 'sfn'], tasks: 'catalogue' },
];

/**
 * What `fn` bundles of the default tasks (the example tasks, which the benchmark measures), as the
 * stack gives it (infra/): the tasks module, or their catalogue (and the catalogue function its
 * OpenAPI document), written into `outDir`.
 */
export function taskImportsOf(fn: FunctionSpec, outDir: string): TaskImports {
  if (fn.page) return { dashboardPage: writeDashboardPage(outDir) };
  if (fn.tasks === 'code') return { tasksModule: fn.tasksModule ?? DEFAULT_TASKS_MODULE };
  if (fn.tasks === 'catalogue') {
    return { taskCatalogue: writeTaskCatalogue(outDir, defaultTasks), ...(fn.document ? { openApiDocument: writeOpenApiDocument(outDir, defaultTasks, 'api-key') } : {}) };
  }
  return {};
}

/**
 * The function of every Lambda step of a tasks module, `step:<task id>/<step name>`, bundled as the
 * deployment bundles it: with its task's generated module (written under `dir`, as the deployment
 * writes it under cdk.out) when the file that defined the task exports it, else the whole module.
 * The steps of one task share one bundle.
 */
export async function stepFunctionsOf(tasksModulePath: string, dir: string): Promise<FunctionSpec[]> {
  const { path, tasks, taskExports } = await loadTasksModule(tasksModulePath);
  return tasks.flatMap((task) => {
    const tasksModule = stepTasksModule(dir, task, taskExports) ?? path;
    return lambdaStepsOf(task).map((step) => ({ name: `step:${task.id}/${step.name}`, entry: 'runtime/step-handler.ts', clients: ['dynamodb', 's3'] as const, tasks: 'code' as const, tasksModule }));
  });
}

/**
 * Bundles every function of `specs` into `outDir` (each `<name>`), by name; functions with the same
 * entry and tasks module (the steps of one task) share one build, as CDK builds them once.
 */
export async function bundleFunctions(specs: readonly FunctionSpec[], outDir: string): Promise<Map<string, Bundle>> {
  const builds = new Map<string, Bundle>();
  const byName = new Map<string, Bundle>();
  for (const spec of specs) {
    const key = `${spec.entry}\0${spec.tasks ?? ''}\0${spec.tasksModule ?? ''}`;
    let built = builds.get(key);
    if (!built) {
      built = await bundle(spec.name.replace(/[:/]/g, '-'), join(ROOT, 'lambdas', spec.entry), outDir, taskImportsOf(spec, outDir));
      builds.set(key, built);
    }
    byName.set(spec.name, built);
  }
  return byName;
}

/** Environment a bundle of the default tasks needs to load (its module scope reads these, as at a cold start). */
export const LOAD_ENV: Readonly<Record<string, string>> = {
  TABLE_NAME: 'bench',
  PAYLOAD_BUCKET: 'bench-payloads',
  API_BASE_URL: 'https://bench.execute-api.us-east-1.amazonaws.com',
  CURSOR_SECRET: 'bench',
  STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:000000000000:stateMachine:Bench-',
  STATE_MACHINE_ARN: `arn:aws:states:us-east-1:000000000000:stateMachine:Bench-${defaultTasks[0]?.id ?? 'task'}`,
  TASK_IDS: defaultTasks.map((task) => task.id).join(','),
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-deliveries',
  WEBHOOK_DEAD_LETTER_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-dead-letters',
  BULK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-bulk-pages',
  SCHEDULE_GROUP: 'Bench-schedules',
  SCHEDULE_TARGET_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:Bench-ScheduleRun',
  SCHEDULE_ROLE_ARN: 'arn:aws:iam::000000000000:role/Bench-SchedulerInvoke',
  SCHEDULE_DEAD_LETTER_ARN: 'arn:aws:sqs:us-east-1:000000000000:Bench-ScheduleDeadLetters',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  LOG_LEVEL: 'error',
};
