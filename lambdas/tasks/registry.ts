// `#tasks` is the chosen tasks module: esbuild aliases it to that file in every bundle, the local
// stack resolves it to the same file, and package.json maps it to the example tasks otherwise.
// Its `tasks` were checked when the stack was synthesized from that very file (loadTasksModule),
// so the functions do not pay for the check again (the create, control and catalogue bundles carry this module).
import { tasks } from '#tasks';
import type { TaskDefinition } from './dsl.js';

const registry = new Map<string, TaskDefinition>(tasks.map((task): [string, TaskDefinition] => [task.id, task]));

/** Every task of the chosen tasks module, by id (what this deployment serves). */
export const TASKS: ReadonlyMap<string, TaskDefinition> = registry;

/**
 * Adds tasks in unit tests that need a task of their own next to the loaded ones; deployed
 * functions and the local stack never call it.
 * @throws when a task id is taken.
 */
export function registerTasks(tasks: readonly TaskDefinition[]): void {
  for (const task of tasks) {
    if (registry.has(task.id)) throw new Error(`Task ${task.id} is already registered`);
    registry.set(task.id, task);
  }
}

/** The step at `index` of `task`, as a reference, or undefined past the last step. */
export function stepAt(task: TaskDefinition, index: number): { index: number; name: string } | undefined {
  const step = task.steps[index];
  return step ? { index, name: step.name } : undefined;
}
