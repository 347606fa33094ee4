// `#tasks` is the chosen tasks module: esbuild aliases it to that file in every bundle, the local
// stack resolves it to the same file, and package.json maps it to the example tasks otherwise.
// Its `tasks` were checked when the stack was synthesized from that very file (loadTasksModule),
// so the functions do not pay for the check again (the create, control and catalogue bundles carry this module).
import { tasks } from '#tasks';
import type { TaskDefinition } from './dsl.js';

/** Every task of the chosen tasks module, by id (what this deployment serves). */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(tasks.map((task): [string, TaskDefinition] => [task.id, task]));

/** The step at `index` of `task`, as a reference, or undefined past the last step. */
export function stepAt(task: TaskDefinition, index: number): { index: number; name: string } | undefined {
  const step = task.steps[index];
  return step ? { index, name: step.name } : undefined;
}
