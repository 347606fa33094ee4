import type { TaskDefinition } from './dsl.js';

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
