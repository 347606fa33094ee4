import { approvalFlow } from './approval-flow.js';
import { documentPipeline } from './document-pipeline.js';
import type { TaskDefinition } from './dsl.js';

/** Every task this deployment serves, by id. Add a task here and it gets a state machine and routes. */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(
  [documentPipeline, approvalFlow].map((task): [string, TaskDefinition] => [task.id, task]),
);

/** The step at `index` of `task`, as a reference, or undefined past the last step. */
export function stepAt(task: TaskDefinition, index: number): { index: number; name: string } | undefined {
  const step = task.steps[index];
  return step ? { index, name: step.name } : undefined;
}
