// `#task-catalogue` is the task catalogue the stack computed from the tasks module at synth (JSON:
// each task's view, step structure and input JSON Schemas). esbuild aliases it in the bundles of
// the functions that need the tasks' structure but none of their code (the API, the recorder, the
// wait and child-start functions); the local stack resolves it to the same file, and package.json
// maps it to a catalogue built from `#tasks` for tools that take no alias.
import catalogue from '#task-catalogue';
import type { CatalogueTask } from './task-catalogue.js';

/** Every task of the catalogue (what this deployment serves), by id. */
export const CATALOGUE: ReadonlyMap<string, CatalogueTask> = new Map(catalogue.tasks.map((task): [string, CatalogueTask] => [task.id, task]));
