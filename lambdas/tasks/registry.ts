// `#tasks` is the chosen tasks module: esbuild aliases it to that file in the bundles of the
// step functions (the only functions that run task code), the local stack resolves it
// to the same file, and package.json maps it to the example tasks otherwise. Its `tasks` were
// checked when the stack was synthesized from that very file (loadTasksModule), so the functions
// do not pay for the check again. API functions never import this: they get the task catalogue.
import { tasks } from '#tasks';
import type { TaskDefinition } from './dsl.js';


/** Every task of the chosen tasks module, by id (what this deployment serves). */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(tasks.map((task): [string, TaskDefinition] => [task.id, task]));
