import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';

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
 * `TASKS_MODULE`, then the example tasks. A relative path is taken from the directory the user
 * typed the command in: npm runs scripts in the project root and says where it was called in
 * `INIT_CWD`.
 */
export function chooseTasksModule(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit || env[TASKS_MODULE_ENV];
  return chosen ? resolve(env.INIT_CWD ?? process.cwd(), chosen) : DEFAULT_TASKS_MODULE;
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

function isTask(value: unknown): value is TaskDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof TaskDefinition, unknown>>;
  return typeof candidate.id === 'string' && Array.isArray(candidate.steps) && typeof candidate.input === 'object';
}

/**
 * The `tasks` export of a tasks module, checked: an array of task definitions (`defineTask`) with
 * distinct ids, at least one. The CDK app and the local stack's synthesis run it on the module
 * the functions then bundle, so a bad module fails the synth, never a cold start.
 * @param source names the module in the error (its path).
 * @throws Error naming `source` and what is wrong.
 */
export function tasksOf(module: unknown, source: string): readonly TaskDefinition[] {
  const tasks = typeof module === 'object' && module !== null ? (module as { tasks?: unknown }).tasks : undefined;
  if (!Array.isArray(tasks)) {
    throw new Error(`Tasks module ${source} must export "tasks", an array of task definitions (defineTask); it exports ${tasks === undefined ? 'no "tasks"' : `"tasks" as ${typeof tasks}`}`);
  }
  if (tasks.length === 0) throw new Error(`Tasks module ${source} exports an empty "tasks" array: a stack needs at least one task`);
  const seen = new Set<string>();
  for (const [index, task] of tasks.entries()) {
    if (!isTask(task)) throw new Error(`Tasks module ${source}: tasks[${index}] is not a task definition (defineTask)`);
    if (seen.has(task.id)) throw new Error(`Tasks module ${source}: task id "${task.id}" is used twice`);
    seen.add(task.id);
  }
  return tasks as readonly TaskDefinition[];
}
