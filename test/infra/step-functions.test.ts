import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { STEP_METADATA_KEY } from '../../infra/constructs/service-function.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { TaskStateMachine } from '../../infra/constructs/task-state-machine.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { defineTask, step, waitForInput, type StepOptions, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { lambdaStepsOf } from '../../lambdas/tasks/dsl.js';
import {
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  resourcesOf,
  roleOfFunction,
  SAMPLE_TASKS,
  STACK_NAME,
  statementsOfFunction,
  synthService,
  testApp,
  type ServiceProps,
} from './support.js';

const base = { description: 'Step function test.', kind: 'test', input: z.object({}), examples: [{}] };
const echo = (input: unknown) => input;

/** Tasks whose Lambda steps configure their functions, and one that configures nothing. */
const configured = defineTask({
  ...base,
  id: 'configured',
  steps: [
    step('fetch', echo, {
      timeoutSeconds: 120,
      memoryMb: 2048,
      environment: { BUCKET_NAME: 'documents', FETCH_MODE: 'fast' },
      permissions: [
        { actions: ['s3:GetObject', 's3:List*'], resources: ['arn:aws:s3:::documents', 'arn:aws:s3:::documents/*'] },
        { actions: ['s3:DeleteObject'], resources: ['*'], effect: 'Deny' },
      ],
    }),
    waitForInput('approve'),
    step('store', echo, { timeoutSeconds: 900, permissions: [{ actions: ['textract:AnalyzeDocument'], resources: ['*'] }] }),
    step('tiny', echo, { timeoutSeconds: 1, retry: false }),
  ],
});
const plain = defineTask({ ...base, id: 'plain', steps: [step('only', echo)] });
const TASKS: readonly TaskDefinition[] = [configured, plain];

function synth(tasks: readonly TaskDefinition[], props: ServiceProps = {}) {
  const stack = new ExecutionsStack(testApp(), STACK_NAME, { ...props, tasksModule: { path: SAMPLE_TASKS.path, tasks } });
  return { stack, template: Template.fromStack(stack), runtime: childOf(stack, 'Runtime', TaskRuntime) };
}

function withStep(options: StepOptions): TaskDefinition {
  return defineTask({ ...base, id: 'bad-task', steps: [step('bad-step', echo, options)] });
}

describe('one function per Lambda step', () => {
  const { stack, template } = synthService();
  const runtime = childOf(stack, 'Runtime', TaskRuntime);
  const functions = resourcesOf(template, 'AWS::Lambda::Function');

  it('every Lambda step of every task has a function of its own, named Step<Task><Step>, recording its step', () => {
    const steps = SAMPLE_TASKS.tasks.flatMap((task) => lambdaStepsOf(task).map((lambdaStep) => `${task.id}/${lambdaStep.name}`));
    expect([...runtime.stepFunctions.keys()].sort()).toEqual(steps.sort());
    const ids = [...runtime.stepFunctions.values()].map((fn) => logicalIdOf(stack, fn));
    expect(new Set(ids).size).toBe(steps.length);
    expect(logicalIdOf(stack, runtime.stepFunctions.get('sample-pipeline/extract')!)).toMatch(/^RuntimeStepSamplePipelineExtract[0-9A-F]{8}$/);
    for (const [key, fn] of runtime.stepFunctions) {
      const resource = template.toJSON().Resources[logicalIdOf(stack, fn)] as { Metadata?: Record<string, unknown> };
      expect(resource.Metadata?.[STEP_METADATA_KEY], key).toBe(key);
      expect(functions[logicalIdOf(stack, fn)]?.Properties?.Description, key).toBe(`Runs step "${key.split('/')[1]}" of task ${key.split('/')[0]} and records its transition`);
    }
  });

  it('every step function runs as a role of its own', () => {
    const roles = [...runtime.stepFunctions.values()].map((fn) => roleOfFunction(template, logicalIdOf(stack, fn)));
    const others = Object.keys(functions)
      .filter((id) => ![...runtime.stepFunctions.values()].some((fn) => logicalIdOf(stack, fn) === id))
      .map((id) => roleOfFunction(template, id));
    expect(new Set(roles).size).toBe(roles.length);
    for (const role of roles) expect(others).not.toContain(role);
  });

  it('without options, a step function has 1024 MB, its state\'s timeout plus 5 s, and the service\'s environment only', () => {
    const fn = functions[logicalIdOf(stack, runtime.stepFunctions.get('sample-pipeline/analyze')!)];
    const wait = functions[logicalIdOf(stack, runtime.waitFunction)];
    expect(fn?.Properties).toMatchObject({ MemorySize: 1024, Timeout: 125 });
    expect(fn?.Properties?.Environment).toEqual(wait?.Properties?.Environment);
  });
});

describe('a step\'s options configure its function', () => {
  const { stack, template, runtime } = synth(TASKS);
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const idOf = (key: string) => logicalIdOf(stack, runtime.stepFunctions.get(key)!);
  const propsOf = (key: string) => functions[idOf(key)]?.Properties ?? {};
  const variablesOf = (key: string) => (propsOf(key).Environment as { Variables: Record<string, unknown> }).Variables;

  it('memory and timeout: the state\'s timeout plus 5 s, at least 10 s (a stalled SDK call still fails in time) and at most 900 s', () => {
    expect(propsOf('configured/fetch')).toMatchObject({ MemorySize: 2048, Timeout: 125 });
    expect(propsOf('configured/store')).toMatchObject({ MemorySize: 1024, Timeout: 900 });
    expect(propsOf('configured/tiny')).toMatchObject({ Timeout: 10 });
  });

  it('environment: the step\'s variables reach its function, besides the service\'s, and no other function', () => {
    const service = variablesOf('plain/only');
    expect(variablesOf('configured/fetch')).toEqual({ ...service, BUCKET_NAME: 'documents', FETCH_MODE: 'fast' });
    for (const [id, fn] of Object.entries(functions)) {
      if (id === idOf('configured/fetch')) continue;
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect(variables, id).not.toHaveProperty('BUCKET_NAME');
    }
  });

  it('permissions: each declared statement is in the step\'s own role, and in no other role', () => {
    const fetch = statementsOfFunction(template, idOf('configured/fetch'));
    expect(fetch).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: ['s3:GetObject', 's3:List*'], Resource: ['arn:aws:s3:::documents', 'arn:aws:s3:::documents/*'] }),
    );
    const fetchRole = roleOfFunction(template, idOf('configured/fetch'));
    const storeRole = roleOfFunction(template, idOf('configured/store'));
    for (const { role, statement } of allStatements(template)) {
      if (allows([statement], 's3:GetObject')) expect(role).toBe(fetchRole);
      if (allows([statement], 'textract:AnalyzeDocument')) expect(role).toBe(storeRole);
    }
    expect(actionsOf(statementsOfFunction(template, idOf('plain/only'))).filter((action) => /^(s3|textract):/.test(action))).toEqual([]);
  });

  it('permissions: a Deny statement is kept as a Deny on the step\'s own role', () => {
    const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties?.Roles).includes(roleOfFunction(template, idOf('configured/fetch'))),
    );
    const statements = policies.flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: { Effect: string; Action: unknown }[] }).Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }));
  });

  it('leaves no cdk-nag finding: the wildcards a step declares are acknowledged on its own role, by name', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    const findings = report.violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath}`));
    expect(findings).toEqual([]);
  });

  it('each Lambda step state invokes its own step\'s function', () => {
    const machine = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine')).find(
      (resource) => resource.Properties?.StateMachineName === `${STACK_NAME}-configured`,
    );
    const definition = JSON.stringify(machine?.Properties?.DefinitionString);
    for (const key of ['configured/fetch', 'configured/store', 'configured/tiny']) expect(definition).toContain(idOf(key));
    expect(definition).not.toContain(idOf('plain/only'));
  });
});

describe('stepGrants', () => {
  it('calls each grant once with its step\'s function, whose role alone gets what it grants', () => {
    const grant = vi.fn((fn: IFunction) => new Bucket(Stack.of(fn), 'Documents').grantRead(fn));
    const { stack, template, runtime } = synth(TASKS, { stepGrants: { 'configured/store': grant } });
    const store = runtime.stepFunctions.get('configured/store')!;

    expect(grant).toHaveBeenCalledTimes(1);
    expect(grant).toHaveBeenCalledWith(store);
    const storeRole = roleOfFunction(template, logicalIdOf(stack, store));
    const granted = allStatements(template).filter(({ statement }) => allows([statement], 's3:GetObjectVersion'));
    expect(granted.map(({ role }) => role)).toEqual([storeRole]);
  });

  it('throws at synth for a key that names no Lambda step, naming it and the steps', () => {
    expect(() => synth(TASKS, { stepGrants: { 'configured/approve': () => undefined, 'nope/fetch': () => undefined } })).toThrow(
      'stepGrants names no Lambda step: configured/approve, nope/fetch (the Lambda steps are configured/fetch, configured/store, configured/tiny, plain/only)',
    );
  });
});

describe('stepConcurrency', () => {
  const reservedOf = (template: Template, stack: Stack, fn: IFunction) =>
    resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, fn)]?.Properties?.ReservedConcurrentExecutions;

  it('reserves the given concurrency for each named step\'s function, and for no other step', () => {
    const { stack, template, runtime } = synth(TASKS, { stepConcurrency: { 'configured/fetch': 200, 'plain/only': 5 } });

    expect(reservedOf(template, stack, runtime.stepFunctions.get('configured/fetch')!)).toBe(200);
    expect(reservedOf(template, stack, runtime.stepFunctions.get('plain/only')!)).toBe(5);
    for (const key of ['configured/store', 'configured/tiny']) expect(reservedOf(template, stack, runtime.stepFunctions.get(key)!), key).toBeUndefined();
  });

  it('reserves nothing for any step function by default', () => {
    const { stack, template, runtime } = synth(TASKS);
    for (const [key, fn] of runtime.stepFunctions) expect(reservedOf(template, stack, fn), key).toBeUndefined();
  });

  it('throws at synth for a key that names no Lambda step, naming it and the steps', () => {
    expect(() => synth(TASKS, { stepConcurrency: { 'configured/approve': 10 } })).toThrow(
      'stepConcurrency names no Lambda step: configured/approve (the Lambda steps are configured/fetch, configured/store, configured/tiny, plain/only)',
    );
  });

  it.each([0, -3, 2.5, Number.NaN])('throws at synth for a reservation of %s', (reserved) => {
    expect(() => synth(TASKS, { stepConcurrency: { 'plain/only': reserved } })).toThrow(`stepConcurrency of plain/only must be a positive integer, got ${reserved}`);
  });
});

describe('invalid step options fail the synth, naming task and step', () => {
  it.each<[string, StepOptions, string]>([
    ['memory out of range', { memoryMb: 64 }, 'Task bad-task, step bad-step: memoryMb must be an integer from 128 to 10240, got 64'],
    ['a reserved variable', { environment: { AWS_REGION: 'eu-west-1' } }, 'Task bad-task, step bad-step: environment variable AWS_REGION is reserved by Lambda'],
    ['a bad variable name', { environment: { 'my-var': 'x' } }, 'Task bad-task, step bad-step: environment variable "my-var" must be letters'],
    ['a variable of the service', { environment: { TABLE_NAME: 'other' } }, 'Task bad-task, step bad-step: environment may not redefine the service\'s TABLE_NAME'],
    ['NODE_OPTIONS', { environment: { NODE_OPTIONS: '--max-old-space-size=100' } }, 'Task bad-task, step bad-step: environment may not redefine the service\'s NODE_OPTIONS'],
    ['variables that fit alone but not with the service\'s', { environment: { BIG: 'x'.repeat(3900) } }, 'Task bad-task, step bad-step: its environment and the service\'s take about'],
    ['a permission without actions', { permissions: [{ actions: [], resources: ['*'] }] }, 'Task bad-task, step bad-step: permissions[0]: actions must name at least one action'],
    ['the action *', { permissions: [{ actions: ['*'], resources: ['*'] }] }, 'Task bad-task, step bad-step: permissions[0]: the action "*" grants everything'],
  ])('%s', (_what, options, error) => {
    expect(() => synth([withStep(options)])).toThrow(error);
  });

  it('two steps whose function ids would collide', () => {
    const one = defineTask({ ...base, id: 'a-1b', steps: [step('go', echo)] });
    const other = defineTask({ ...base, id: 'a1b', steps: [step('go', echo)] });
    expect(() => synth([one, other])).toThrow('Lambda steps a-1b/go and a1b/go would both be function StepA1bGo: rename one');
  });
});

describe('TaskStateMachine', () => {
  let fn: IFunction;
  let stack: Stack;
  beforeAll(() => {
    stack = new Stack(testApp(), 'Scratch');
    fn = LambdaFunction.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:step');
  });

  it('throws when a Lambda step has no function in stepFunctions, naming task and step', () => {
    const [first] = lambdaStepsOf(configured);
    expect(
      () => new TaskStateMachine(stack, 'Machine', { task: configured, stepFunctions: new Map([[first!, fn]]), waitFunction: fn, recordFunction: fn, stateMachineName: 'scratch-configured' }),
    ).toThrow('Task configured: no function for Lambda step "store" in stepFunctions');
  });
});
