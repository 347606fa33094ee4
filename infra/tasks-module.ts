import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';
import { tasksOf } from '../lambdas/tasks/task-list.js';

/** The checkout (or installed package) root: relative tasks module paths in templates start here. */
export const PROJECT_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The tasks module used when none is chosen: the example tasks. */
export const DEFAULT_TASKS_MODULE = resolve(PROJECT_DIR, 'examples/tasks/index.ts');

/** Environment variable choosing the tasks module, for `cdk synth/deploy` and `npm start` alike. */
export const TASKS_MODULE_ENV = 'TASKS_MODULE';

/** CDK context key choosing the tasks module: `cdk deploy -c tasks=<file>`. */
export const TASKS_CONTEXT_KEY = 'tasks';

/** A tasks module and the tasks it exports, as the stack deploys them. */
export interface TasksModule {
  /** Absolute path of the module; every function bundles it as `#tasks`. */
  readonly path: string;
  /** Its `tasks`, checked (definitions with distinct ids). */
  readonly tasks: readonly TaskDefinition[];
}

/**
 * The tasks module to use, as an absolute path: `explicit` (`--tasks`, `-c tasks=`) first, then
 * `TASKS_MODULE`, then the example tasks. Relative paths are taken from the working directory,
 * as a shell user means them.
 */
export function chooseTasksModule(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit || env[TASKS_MODULE_ENV];
  return chosen ? resolve(chosen) : DEFAULT_TASKS_MODULE;
}

/**
 * Imports a tasks module and checks its `tasks` export.
 * @throws Error naming the file when it does not exist, fails to load, exports no `tasks` array or
 * repeats a task id.
 */
export async function loadTasksModule(path: string): Promise<TasksModule> {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new Error(`Tasks module ${absolute} does not exist (chosen with --tasks, -c ${TASKS_CONTEXT_KEY}= or ${TASKS_MODULE_ENV})`);
  }
  let module: unknown;
  try {
    module = await import(pathToFileURL(absolute).href);
  } catch (error) {
    throw new Error(`Tasks module ${absolute} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { path: absolute, tasks: tasksOf(module, absolute) };
}

/** `path` as the template records it: relative to the project root with `/`, so templates do not depend on the checkout's location. */
export function templatePathOf(path: string): string {
  const relativePath = relative(PROJECT_DIR, path);
  return isAbsolute(relativePath) ? path : relativePath.split(sep).join('/');
}

/** The absolute path of a tasks module as a template records it. */
export function resolveTemplatePath(recorded: string): string {
  return resolve(PROJECT_DIR, recorded);
}
