import { writeContentAddressed } from './content-addressed.js';
import { buildTaskCatalogue } from '../lambdas/tasks/catalogue.js';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';

/**
 * Writes the task catalogue of `tasks` (`buildTaskCatalogue`: each task's view, step names and
 * input JSON Schemas) into `dir` as JSON, named by its content (`task-catalogue.<hash>.json`), and
 * returns its absolute path (an esbuild alias must not be relative: it would read as a package
 * name). The API functions bundle it as `#task-catalogue` instead of the tasks module.
 * A stack writes it into its cloud assembly, beside its template: the local stack finds it there,
 * and a synth of other tasks writes another file rather than changing one a bundle was built from.
 * @throws Error naming the task when one of its schemas cannot be checked from JSON Schema.
 */
export function writeTaskCatalogue(dir: string, tasks: readonly TaskDefinition[]): string {
  return writeContentAddressed(dir, 'task-catalogue.', '.json', `${JSON.stringify(buildTaskCatalogue(tasks))}\n`);
}
