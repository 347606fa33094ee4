import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { NO_CHOICE_MATCHED, TaskStateMachine } from '../../infra/constructs/task-state-machine.js';
import { transitionsPerStep } from '../../scripts/bench/state-transitions.js';
import {
  choice,
  defineTask,
  invoke,
  lambdaStepsOf,
  map,
  parallel,
  runTask,
  sleep,
  step,
  waitForInput,
  type TaskDefinition,
} from '../../lambdas/tasks/dsl.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { decodeDefinition, onlyResource, SAMPLE_TASKS, testApp, type AslDefinition, type AslState } from './support.js';

const noop = (value: unknown) => value;
const EXTERNAL_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:legacy-scorer';

/** One task using every construct, the way a task author writes it. */
const everything = defineTask({
  id: 'every-construct',
  description: 'Every construct once.',
  kind: 'test',
  input: z.object({ items: z.array(z.number()), size: z.number(), delay: z.int() }),
  examples: [{ items: [1], size: 1, delay: 1 }],
  steps: [
    step('prepare', noop),
    waitForInput('approve', { prompt: 'Go?' }),
    sleep('pause', 5),
    sleep('pause-from-input', { path: 'delay' }),
    invoke('score', EXTERNAL_ARN, { timeoutSeconds: 30, retry: { maxAttempts: 1 } }),
    invoke('enrich', 'enricher'),
    runTask('research', 'child-task', { inputPath: 'items' }),
    parallel('both', [[step('left', noop)], [step('right', noop), step('right-after', noop)]]),
    map('each', { items: 'items', maxConcurrency: 7 }, [step('per-item', noop), parallel('item-both', [[step('item-a', noop)], [step('item-b', noop)]])]),
    map('each-distributed', { items: 'items', distributed: true, maxConcurrency: 500 }, [step('per-far-item', noop)]),
    choice(
      'by-size',
      [
        { when: { and: [{ path: 'size', greaterThan: 1000 }, { not: { path: 'flag', present: true } }] }, steps: [step('big', noop)] },
        { when: { or: [{ path: 'kind', equals: 'pdf' }, { path: 'ok', equals: true }, { path: 'size', equals: 3 }] }, steps: [step('pdf', noop)] },
      ],
      [step('small', noop)],
    ),
    choice('strict', [{ when: { path: 'size', lessThanOrEquals: 0 }, steps: [step('none', noop)] }]),
    step('last', noop),
  ],
});

interface Compiled {
  readonly definition: AslDefinition;
  readonly template: Template;
}

function compile(task: TaskDefinition, props: { childStart?: boolean; functions?: boolean } = {}): Compiled {
  const stack = new Stack(testApp(), 'ControlFlow');
  const fn = (name: string) => LambdaFunction.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
  const stepFunctions = new Map(lambdaStepsOf(task).map((entry) => [entry, fn(`step-${entry.name}`)]));
  const named = new Map<string, IFunction>([
    ['wait', fn('wait')],
    ['record', fn('record')],
    ['child', fn('child')],
    ['enricher', fn('enricher')],
  ]);
  new TaskStateMachine(stack, 'Machine', {
    task,
    stepFunctions,
    waitFunction: named.get('wait')!,
    recordFunction: named.get('record')!,
    ...(props.childStart === false ? {} : { childStartFunction: named.get('child')! }),
    ...(props.functions === false ? {} : { functions: { enricher: named.get('enricher')! } }),
    stateMachineName: `cf-${task.id}`,
  });
  const template = Template.fromStack(stack);
  const [, machine] = onlyResource(template, 'AWS::StepFunctions::StateMachine');
  return { definition: decodeDefinition(machine.Properties?.DefinitionString), template };
}

const { definition } = compile(everything);

/** A state anywhere in the definition (branches and item processors included). */
function find(name: string, from: AslDefinition = definition): AslState | undefined {
  for (const [candidate, state] of Object.entries(from.States)) {
    if (candidate === name) return state;
    for (const nested of [...(state.Branches ?? []), ...(state.ItemProcessor ? [state.ItemProcessor] : [])]) {
      const found = find(name, nested);
      if (found) return found;
    }
  }
  return undefined;
}

function stateOf(name: string): AslState {
  const state = find(name);
  if (!state) throw new Error(`No state ${name}`);
  return state;
}

const payloadOf = (state: AslState) => (state.Parameters?.Payload ?? state.Parameters) as Record<string, unknown>;
/** The function a Task state invokes: its Resource (response-only invokes) or its Parameters' FunctionName. */
const functionOf = (state: AslState) => state.Parameters?.FunctionName ?? state.Resource;

describe('compiled control flow', () => {
  it('runs a top-level Lambda step in its own function, output into $.input, the place left out', () => {
    const state = stateOf('Prepare');
    expect(functionOf(state)).toBe('arn:aws:lambda:us-east-1:123456789012:function:step-prepare');
    expect(payloadOf(state)).toMatchObject({ step: 'prepare', step_index: 0, 'input.$': '$.input', 'execution_id.$': '$$.Execution.Name' });
    expect(payloadOf(state)).not.toHaveProperty('scope');
    expect(state.ResultPath).toBe('$.input');
    expect(state.Next).toBe('Approve');
  });

  it('sleeps with a recorder Task that returns the instant into $.until, then a Wait on that timestamp', () => {
    const begin = stateOf('PauseBegin');
    expect(functionOf(begin)).toBe('arn:aws:lambda:us-east-1:123456789012:function:record');
    expect(payloadOf(begin)).toMatchObject({ action: 'sleep', seconds: 5, step: 'pause' });
    expect(begin.ResultPath).toBe('$.until');
    expect(begin.Next).toBe('Pause');
    expect(stateOf('Pause')).toMatchObject({ Type: 'Wait', TimestampPath: '$.until', Next: 'PauseFromInputBegin' });
    expect(payloadOf(stateOf('PauseFromInputBegin'))).toMatchObject({ action: 'sleep', seconds_path: 'delay' });
  });

  it('invokes an existing function by ARN with the documented payload, its result in place of its input, then records it', () => {
    const call = stateOf('Score');
    expect(functionOf(call)).toBe(EXTERNAL_ARN);
    expect(payloadOf(call)).toEqual({
      'input.$': '$.input',
      'execution_id.$': '$$.Execution.Name',
      task_id: 'every-construct',
      step: 'score',
      'attempt.$': '$$.State.RetryCount',
    });
    // Input and result side by side could pass Step Functions' payload limit: the result replaces the input.
    expect(call).toMatchObject({ ResultPath: '$.input', TimeoutSeconds: 30, Next: 'ScoreRecord' });
    expect(call.Retry?.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 1 });
    expect(payloadOf(stateOf('ScoreRecord'))).toMatchObject({ action: 'record', 'output.$': '$.input', step: 'score' });
    expect(payloadOf(stateOf('ScoreRecord'))).not.toHaveProperty('input.$');
  });

  it('invokes a function given to the stack by name', () => {
    expect(functionOf(stateOf('Enrich'))).toBe('arn:aws:lambda:us-east-1:123456789012:function:enricher');
  });

  it('runs a child task with .waitForTaskToken on the child-start function, the input from its path, then records it', () => {
    const start = stateOf('Research');
    expect(start.Resource).toContain('waitForTaskToken');
    expect(functionOf(start)).toBe('arn:aws:lambda:us-east-1:123456789012:function:child');
    expect(payloadOf(start)).toMatchObject({ child_task_id: 'child-task', 'input.$': '$.input.items', 'task_token.$': '$$.Task.Token' });
    expect(start).toMatchObject({ ResultPath: '$.input', Next: 'ResearchRecord' });
    // Only the function's own failure is retried: a failed child answers with its own error name.
    expect(start.Retry?.at(-1)).toMatchObject({ ErrorEquals: ['ChildStartFailed'], MaxAttempts: 3 });
  });

  it('runs parallel branches on state data that carries the execution, their outputs in place of its input, then records them', () => {
    const state = stateOf('Both');
    expect(state.Type).toBe('Parallel');
    expect(state.Branches).toHaveLength(2);
    // At the top level there is no scope: the branches' steps are told where they are by their segments.
    expect(state.Parameters).toEqual({
      'input.$': '$.input',
      execution: { 'id.$': '$$.Execution.Name', 'tenant.$': '$$.Execution.Input.tenant' },
    });
    expect(state).toMatchObject({ ResultPath: '$.input', Next: 'BothRecord' });
    expect(payloadOf(stateOf('BothRecord'))).toMatchObject({ action: 'record', 'output.$': '$.input' });
    // Each branch's last state hands on its output alone: the array the parallel collects holds outputs only.
    expect(stateOf('Left').OutputPath).toBe('$.input');
    expect(stateOf('RightAfter').OutputPath).toBe('$.input');
    expect(stateOf('Right').OutputPath).toBeUndefined();
  });

  it('tells the first step of each branch to open it and the last to close it, reading the execution from the data', () => {
    expect(payloadOf(stateOf('Left'))).toMatchObject({
      segments: [{ name: 'both', index: 0, total: 2 }],
      opens: 1,
      closes: 1,
      'execution_id.$': '$.execution.id',
      'tenant.$': '$.execution.tenant',
    });
    expect(payloadOf(stateOf('Right'))).toMatchObject({ segments: [{ name: 'both', index: 1, total: 2 }], opens: 1 });
    expect(payloadOf(stateOf('Right'))).not.toHaveProperty('closes');
    expect(payloadOf(stateOf('RightAfter'))).toMatchObject({ closes: 1 });
    expect(payloadOf(stateOf('RightAfter'))).not.toHaveProperty('opens');
  });

  it('maps over the items path with its concurrency, each item carrying its place and the execution', () => {
    const state = stateOf('Each');
    expect(state).toMatchObject({ Type: 'Map', ItemsPath: '$.input.items', MaxConcurrency: 7, ResultPath: '$.input', Next: 'EachRecord' });
    expect(stateOf('ItemBothRecord').OutputPath).toBe('$.input');
    expect(state.ItemProcessor?.ProcessorConfig).toMatchObject({ Mode: 'INLINE' });
    expect(state.ItemSelector).toEqual({
      'input.$': '$$.Map.Item.Value',
      scope: { name: 'each', 'index.$': '$$.Map.Item.Index', 'total.$': 'States.ArrayLength($.input.items)' },
      execution: { 'id.$': '$$.Execution.Name', 'tenant.$': '$$.Execution.Input.tenant' },
    });
    expect(payloadOf(stateOf('PerItem'))).toMatchObject({ 'scope.$': '$.scope', opens: 1 });
    // The item's last step is a parallel: its record closes the item.
    expect(payloadOf(stateOf('ItemBothRecord'))).toMatchObject({ closes: 1, 'execution.$': '$.execution' });
    expect(payloadOf(stateOf('ItemA'))).toMatchObject({ 'scope.$': '$.scope', segments: [{ name: 'item-both', index: 0, total: 2 }], opens: 1, closes: 1 });
  });

  it('compiles a distributed map to a Distributed Map whose items get the parent execution in their data', () => {
    const state = stateOf('EachDistributed');
    expect(state.ItemProcessor?.ProcessorConfig).toMatchObject({ Mode: 'DISTRIBUTED' });
    expect(state.MaxConcurrency).toBe(500);
    expect(state.ItemSelector?.execution).toEqual({ 'id.$': '$$.Execution.Name', 'tenant.$': '$$.Execution.Input.tenant' });
    expect(payloadOf(stateOf('PerFarItem'))).toMatchObject({ 'execution_id.$': '$.execution.id' });
  });

  it('tests a choice with presence and type checks around each comparison, cases joining in one record', () => {
    const state = stateOf('BySize');
    expect(state.Type).toBe('Choice');
    expect(state.Choices?.[0]).toEqual({
      And: [
        { And: [{ Variable: '$.input.size', IsPresent: true }, { Variable: '$.input.size', IsNumeric: true }, { Variable: '$.input.size', NumericGreaterThan: 1000 }] },
        { Not: { Variable: '$.input.flag', IsPresent: true } },
      ],
      Next: 'Big',
    });
    expect(state.Choices?.[1]).toMatchObject({
      Or: [
        { And: [{ Variable: '$.input.kind', IsPresent: true }, { Variable: '$.input.kind', IsString: true }, { Variable: '$.input.kind', StringEquals: 'pdf' }] },
        { And: [{ Variable: '$.input.ok', IsPresent: true }, { Variable: '$.input.ok', IsBoolean: true }, { Variable: '$.input.ok', BooleanEquals: true }] },
        { And: [{ Variable: '$.input.size', IsPresent: true }, { Variable: '$.input.size', IsNumeric: true }, { Variable: '$.input.size', NumericEquals: 3 }] },
      ],
      Next: 'Pdf',
    });
    expect(state.Default).toBe('Small');
    for (const name of ['Big', 'Pdf', 'Small']) expect(stateOf(name).Next, name).toBe('BySizeRecord');
    // A case's last state keeps the state data: the choice's record reads the place from it.
    expect(stateOf('Small').OutputPath).toBeUndefined();
    expect(payloadOf(stateOf('Small'))).toMatchObject({ segments: [{ name: 'by-size', index: 2 }], opens: 1, closes: 1 });
    expect(payloadOf(stateOf('BySizeRecord'))).toMatchObject({ 'output.$': '$.input' });
  });

  it('has the record of a map that opens a branch open it too: an empty map runs no state that would', () => {
    const task = defineTask({
      ...everything,
      id: 'empty-map-first',
      steps: [parallel('outer', [[map('inner', { items: 'items' }, [step('per', noop)]), step('after', noop)], [step('other', noop)]])],
    });
    const compiled = compile(task).definition;
    const record = find('InnerRecord', compiled)!;

    expect(payloadOf(record)).toMatchObject({ opens: 1, segments: [{ name: 'outer', index: 0, total: 2 }] });
    expect(payloadOf(record)).not.toHaveProperty('closes');
  });

  it('fails a choice without otherwise with NoChoiceMatched when no case matches', () => {
    expect(stateOf('Strict').Default).toBe('StrictNoMatch');
    expect(stateOf('StrictNoMatch')).toMatchObject({ Type: 'Fail', Error: NO_CHOICE_MATCHED });
  });

  it('hands the execution only the last output', () => {
    expect(stateOf('Last')).toMatchObject({ OutputPath: '$.input', End: true });
  });

  it('catches nowhere: a Task\'s error fails the execution at that Task (nested ones through their branch, map item and parallel), where a redrive restarts', () => {
    for (const name of ['Prepare', 'PauseBegin', 'Score', 'ScoreRecord', 'Research', 'BothRecord', 'PerItem', 'BySizeRecord']) {
      expect(stateOf(name).Type, name).toBe('Task');
      expect(stateOf(name).Catch, name).toBeUndefined();
    }
    // The one Fail state left is a choice's NoChoiceMatched, which no step reaches by failing.
    const fails = JSON.stringify(definition).match(/"Type":"Fail"/g) ?? [];
    expect(fails).toHaveLength(1);
  });

  it('never retries a sleep whose seconds are invalid, and retries the recorder on TaskFailed', () => {
    const retries = stateOf('PauseFromInputBegin').Retry ?? [];
    expect(retries.find((retry) => retry.ErrorEquals.includes('SleepSecondsInvalid'))).toMatchObject({ MaxAttempts: 0 });
    expect(retries.at(-1)).toMatchObject({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 3 });
  });

  it('costs at most two state transitions per step of any kind', () => {
    const counts = transitionsPerStep(everything, definition);
    const byKind = Object.fromEntries(counts.map((entry) => [entry.kind, entry.transitions]));
    expect(byKind).toEqual({ step: 1, wait: 1, sleep: 2, invoke: 2, 'run-task': 2, parallel: 2, map: 2, choice: 2 });
    expect(counts).toHaveLength(25);
  });

  it('defaults the execution timeout to the Standard maximum when a map makes it depend on the input', () => {
    expect(definition.TimeoutSeconds).toBe(365 * 86_400);
  });

  it('refuses a runTask without a child-start function and an invoke of a function it was not given', () => {
    const child = defineTask({ ...everything, id: 'only-child', steps: [runTask('kid', 'other')] });
    expect(() => compile(child, { childStart: false })).toThrow(/runTask "kid" needs the child-start function/);
    const named = defineTask({ ...everything, id: 'only-named', steps: [invoke('call', 'missing')] });
    expect(() => compile(named)).toThrow(/names function "missing", which the stack was not given/);
  });

  it('lets the state machine start and stop the executions of its Distributed Map', () => {
    const { template } = compile(everything);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const actions = policies.flatMap((policy) =>
      ((policy.Properties as { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }).PolicyDocument.Statement).flatMap((statement) => statement.Action),
    );
    expect(actions).toEqual(expect.arrayContaining(['states:StartExecution']));
  });
});

describe('invoke steps in a stack', () => {
  it('invoke a function given to ExecutionsStack by name, which its state machine may invoke', () => {
    // The function lives elsewhere (here: a reference in a stack of its own, which CloudFormation would find empty).
    const app = testApp({ builtinCloudFormationValidation: false });
    const external = new Stack(app, 'Elsewhere');
    const enricher = LambdaFunction.fromFunctionArn(external, 'Enricher', 'arn:aws:lambda:us-east-1:123456789012:function:enricher');
    const task = defineTask({
      id: 'enrich-orders',
      description: 'Calls an existing function by name.',
      kind: 'test',
      input: z.object({}),
      examples: [{}],
      steps: [invoke('enrich', 'enricher'), step('after', noop)],
    });
    const stack = new ExecutionsStack(app, 'WithFunctions', { tasksModule: { path: SAMPLE_TASKS.path, tasks: [task] }, functions: { enricher } });

    const template = Template.fromStack(stack);
    const [, machine] = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    const state = decodeDefinition(machine.Properties?.DefinitionString).States.Enrich!;
    expect(state.Resource).toBe('arn:aws:lambda:us-east-1:123456789012:function:enricher');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('arn:aws:lambda:us-east-1:123456789012:function:enricher');
  });
});
