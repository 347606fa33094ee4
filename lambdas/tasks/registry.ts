import { approvalFlow } from './approval-flow.js';
import { documentPipeline } from './document-pipeline.js';
import type { TaskDefinition } from './dsl.js';

const registry = new Map<string, TaskDefinition>(
  [documentPipeline, approvalFlow].map((task): [string, TaskDefinition] => [task.id, task]),
);

/** Every task this deployment serves, by id. Add a task here and it gets a state machine and routes. */
export const TASKS: ReadonlyMap<string, TaskDefinition> = registry;

/**
 * Adds tasks at startup of a local stack (test-only tasks); deployed functions never call it.
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
