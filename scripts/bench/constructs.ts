import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import * as z from 'zod/mini';
import { TaskStateMachine } from '../../infra/constructs/task-state-machine.js';
import { transitionsPerStep } from './state-transitions.js';
import { choice, defineTask, invoke, lambdaStepsOf, map, parallel, runTask, sleep, step, waitForInput, type Step, type TaskDefinition } from '../../lambdas/tasks/dsl.js';

type Definition = Parameters<typeof transitionsPerStep>[1];

/** One step of every kind, so the table covers constructs the example tasks do not use. */
const showcase = defineTask({
  id: 'construct-showcase',
  description: 'One step of every kind.',
  kind: 'bench',
  input: z.object({ items: z.array(z.number()) }),
  examples: [{ items: [1] }],
  steps: [
    step('run', (value: unknown) => value),
    waitForInput('wait'),
    sleep('pause', 1),
    invoke('call', 'arn:aws:lambda:us-east-1:123456789012:function:existing'),
    runTask('child', 'other-task'),
    parallel('together', [[step('left', (value: unknown) => value)], [step('right', (value: unknown) => value)]]),
    map('each', { items: 'items' }, [step('item', (value: unknown) => value)]),
    choice('route', [{ when: { path: 'items', present: true }, steps: [step('routed', (value: unknown) => value)] }]),
  ],
});

/** A `DefinitionString` (text, or an `Fn::Join` of text and tokens) as JSON, tokens as placeholders. */
function parseDefinition(value: unknown): Definition {
  if (typeof value === 'string') return JSON.parse(value) as Definition;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'token')).join(separator)) as Definition;
}

function compileShowcase(): Definition {
  const stack = new Stack(new App(), 'Showcase');
  const fn = LambdaFunction.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:fn');
  const machine = new TaskStateMachine(stack, 'Machine', {
    task: showcase,
    stepFunctions: new Map(lambdaStepsOf(showcase).map((entry) => [entry, fn])),
    waitFunction: fn,
    recordFunction: fn,
    childStartFunction: fn,
    stateMachineName: 'showcase',
  });
  return parseDefinition(stack.resolve((machine.stateMachine.node.defaultChild as { definitionString?: unknown }).definitionString));
}

/**
 * State transitions each step costs, by construct: read from the compiled definitions of the
 * tasks in a synthesized template (their state machines are named `<stack>-<task id>`) and of the
 * showcase task.
 */
export function constructCosts(templatePath: string, tasks: readonly TaskDefinition[]): Map<Step['kind'], number[]> {
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const costs = new Map<Step['kind'], number[]>();
  const add = (task: TaskDefinition, definition: Definition) => {
    for (const { kind, transitions } of transitionsPerStep(task, definition)) costs.set(kind, [...(costs.get(kind) ?? []), transitions]);
  };
  for (const resource of Object.values(template.Resources).filter((candidate) => candidate.Type === 'AWS::StepFunctions::StateMachine')) {
    const name = String(resource.Properties?.StateMachineName);
    const task = tasks.find((candidate) => name.endsWith(`-${candidate.id}`));
    if (task) add(task, parseDefinition(resource.Properties?.DefinitionString));
  }
  add(showcase, compileShowcase());
  return costs;
}
