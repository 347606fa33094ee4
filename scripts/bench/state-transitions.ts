import { allSteps, type Step, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { stateName } from '../../infra/constructs/task-state-machine.js';

/** A state machine definition as far as this module reads it. */
interface Definition {
  readonly States: Readonly<Record<string, { readonly Type: string; readonly Branches?: readonly Definition[]; readonly ItemProcessor?: Definition; readonly Iterator?: Definition }>>;
}

/** Names of every state of a definition, nested ones included. */
function stateNames(definition: Definition): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    name,
    ...[...(state.Branches ?? []), ...(state.ItemProcessor ? [state.ItemProcessor] : []), ...(state.Iterator ? [state.Iterator] : [])].flatMap(stateNames),
  ]);
}

/**
 * The states each step of a task enters when it runs once (its nested steps not counted: they
 * are steps of their own), read from the compiled definition: the step's own state and its
 * `Begin`/`Record` companions. Step Functions bills Standard workflows per state transition, so
 * this is a step's cost in transitions. A choice's `<Step>NoMatch` state is only entered on
 * failure and not counted.
 */
export function transitionsPerStep(task: TaskDefinition, definition: Definition): Array<{ readonly step: string; readonly kind: Step['kind']; readonly transitions: number }> {
  const names = new Set(stateNames(definition));
  return allSteps(task.steps).map((step) => {
    const own = stateName(step.name);
    const transitions = [own, `${own}Begin`, `${own}Record`].filter((name) => names.has(name)).length;
    return { step: step.name, kind: step.kind, transitions };
  });
}
