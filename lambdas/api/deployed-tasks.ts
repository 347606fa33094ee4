import { CATALOGUE } from '../tasks/catalogue-registry.js';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import { deployedTaskIds } from './context.js';

/**
 * The tasks this stack deployed (`TASK_IDS`), by id, as the task catalogue describes them (no task
 * code, and no zod, reaches an API function). Call it once per container, at module load: both
 * only change with a deployment.
 */
export function deployedTasks(): ReadonlyMap<string, CatalogueTask> {
  const deployed = deployedTaskIds();
  return new Map([...CATALOGUE].filter(([id]) => deployed.has(id)));
}
