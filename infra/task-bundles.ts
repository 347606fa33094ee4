import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';
import { writeContentAddressed } from './content-addressed.js';
import type { TaskExport } from './tasks-module.js';

/** Folder, under the cloud assembly's output, of the modules {@link writeTaskModule} generates. */
export const TASK_MODULES_DIR = 'task-modules';

/**
 * The text of the module a task's step functions bundle as `#tasks`, to be written in `folder`: the
 * task, imported from the file that defined it, as a tasks module of one (`export const tasks = [task]`). esbuild follows
 * only that file's imports, so the bundle holds the task's own code and not its neighbours'.
 */
export function taskModuleSource(taskId: string, exported: TaskExport, folder: string): string {
  const binding = /^[A-Za-z_$][\w$]*$/.test(exported.name) ? exported.name : JSON.stringify(exported.name);
  // Relative to the module itself, so its text (and name) does not depend on where the checkout is.
  const fromFolder = relative(folder, exported.file);
  const specifier = isAbsolute(fromFolder) ? exported.file : fromFolder.split(sep).join('/');
  return [
    `// Generated at synth by async-executions: the tasks module of the step functions of "${taskId}".`,
    `import { ${binding} as task } from ${JSON.stringify(specifier.startsWith('.') || isAbsolute(specifier) ? specifier : `./${specifier}`)};`,
    'export const tasks = [task];',
    '',
  ].join('\n');
}

/**
 * Writes {@link taskModuleSource} to `<dir>/task-modules/<task id>-<content hash>.mjs` (kept if
 * already there: the name changes with the content) and returns its absolute path. `dir` is the cloud
 * assembly's output (`cdk.out`), inside the project, so the bundles' source maps name the module
 * by the same relative path on every machine, and their content-hashed assets stay the same.
 */
export function writeTaskModule(dir: string, taskId: string, exported: TaskExport): string {
  // Absolute: esbuild reads a relative alias target as a package name (and `cdk synth` passes `cdk.out`).
  const folder = resolve(dir, TASK_MODULES_DIR);
  const source = taskModuleSource(taskId, exported, folder);
  return writeContentAddressed(folder, `${taskId}-`, '.mjs', source, 12);
}

/**
 * The module the step functions of `task` bundle as `#tasks`: the generated module of `task` alone
 * (written under `dir`, the cloud assembly's output), or undefined, so they bundle the whole tasks
 * module, when the file that defined the task does not export it (or no such file was found). The
 * deployment (`TaskRuntime`) and the benchmark both choose through this.
 */
export function stepTasksModule(dir: string, task: TaskDefinition, taskExports: ReadonlyMap<TaskDefinition, TaskExport> | undefined): string | undefined {
  const exported = taskExports?.get(task);
  return exported ? writeTaskModule(dir, task.id, exported) : undefined;
}
