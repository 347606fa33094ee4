import type { LambdaStep, TaskDefinition } from './dsl.js';

/**
 * Every Lambda step of `task`, in definition order: each runs as a function of its own. The one
 * place that collects them (the deployment creates and wires a function per step it returns, and
 * `defineTask` checks their options), so steps nested in other constructs are found wherever this
 * learns to walk into them. Today a task's steps are a flat list.
 */
export function lambdaStepsOf(task: Pick<TaskDefinition, 'steps'>): LambdaStep[] {
  return task.steps.filter((step): step is LambdaStep => step.kind === 'step');
}
