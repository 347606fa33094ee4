// `#task-catalogue` is the task catalogue the stack computed from the tasks module at synth (JSON:
// each task's view, step names and input JSON Schemas). esbuild aliases it in the API bundles, the
// local stack resolves it to the same file, and package.json maps it to a catalogue built from
// `#tasks` for tools that take no alias. No task code, and no zod, reaches an API function.
import catalogue from '#task-catalogue';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import { deployedTaskIds } from './context.js';

/**
 * The tasks this stack deployed (`TASK_IDS`), by id, as the task catalogue describes them. Call it
 * once per container, at module load: both only change with a deployment.
 */
export function deployedTasks(): ReadonlyMap<string, CatalogueTask> {
  const deployed = deployedTaskIds();
  return new Map(catalogue.tasks.filter((task) => deployed.has(task.id)).map((task) => [task.id, task]));
}
