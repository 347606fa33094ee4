import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { definitionSiteOf } from '../lambdas/tasks/definition-site.js';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';

/** The checkout (or installed package) root: relative tasks module paths in templates start here. */
export const PROJECT_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The tasks module used when none is chosen: the example tasks. */
export const DEFAULT_TASKS_MODULE = resolve(PROJECT_DIR, 'examples/tasks/index.ts');

/** Environment variable choosing the tasks module, for `cdk synth/deploy` and `npm start` alike. */
export const TASKS_MODULE_ENV = 'TASKS_MODULE';

/** CDK context key choosing the tasks module: `cdk deploy -c tasks=<file>`. */
export const TASKS_CONTEXT_KEY = 'tasks';

/** Where a task is exported from the file that defined it: what its step functions bundle. */
export interface TaskExport {
  /** Absolute path of the file that called `defineTask` for it. */
  readonly file: string;
  /** The name it is exported under there (`default` for a default export). */
  readonly name: string;
}

/** A tasks module and the tasks it exports, as the stack deploys them. */
export interface TasksModule {
  /** Absolute path of the module; the step functions bundle it (or their task's export of it) as `#tasks`. */
  readonly path: string;
  /** Its `tasks`, checked (definitions with distinct ids). */
  readonly tasks: readonly TaskDefinition[];
  /**
   * Where each task is exported from the file that defined it, found by `loadTasksModule`: the
   * step functions of such a task bundle only that export (see `docs/architecture.md`).
   * @default - none: every step function bundles the whole tasks module
   */
  readonly taskExports?: ReadonlyMap<TaskDefinition, TaskExport>;
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
  const tasks = tasksOf(module, absolute);
  return { path: absolute, tasks, taskExports: await findTaskExports(tasks) };
}

/**
 * Where each task is exported from the file that defined it (`defineTask` records the file): the
 * export holding that very definition, else one holding a task with its id (a file loaded twice
 * under two URLs holds equal definitions, not the same objects). Tasks with no recorded file, a
 * file that no longer loads, or no such export (a task defined inline in an array, or through a
 * helper in another file) are left out: their step functions bundle the whole tasks module.
 * Importing a defining file again is free: it was loaded when the tasks module was.
 */
export async function findTaskExports(tasks: readonly TaskDefinition[]): Promise<ReadonlyMap<TaskDefinition, TaskExport>> {
  const found = new Map<TaskDefinition, TaskExport>();
  const modules = new Map<string, Promise<Record<string, unknown> | undefined>>();
  for (const task of tasks) {
    const file = definitionSiteOf(task);
    if (file === undefined || !existsSync(file)) continue;
    let loading = modules.get(file);
    if (!loading) {
      loading = import(pathToFileURL(file).href).then(
        (namespace: Record<string, unknown>) => namespace,
        () => undefined,
      );
      modules.set(file, loading);
    }
    const namespace = await loading;
    if (!namespace) continue;
    const names = Object.keys(namespace);
    const name =
      names.find((candidate) => namespace[candidate] === task) ??
      names.find((candidate) => {
        const value = namespace[candidate];
        return isTask(value) && value.id === task.id;
      });
    if (name !== undefined) found.set(task, { file, name });
  }
  return found;
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
