import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { stateName } from '../../infra/constructs/task-state-machine.js';
import { newExecutionId } from '../../lambdas/domain/ids.js';
import { MAX_PAYLOAD_BYTES, STATES_PAYLOAD_QUOTA_BYTES, jsonBytes } from '../../lambdas/domain/payload-limits.js';
import { StepOutputTooLargeError } from '../../lambdas/runtime/payload.js';
import { defineTask, step as lambdaStep, waitForInput } from '../../lambdas/tasks/dsl.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { childOf, logicalIdOf, resourcesOf, SAMPLE_TASKS, STACK_NAME, stateMachinesByName, synthService, type AslState } from './support.js';

const { stack, template } = synthService();
const machines = stateMachinesByName(template);
const runtime = childOf(stack, 'Runtime', TaskRuntime);
/** The ARN of a Lambda step's own function, as the definitions hold it. */
const stepFunctionArn = (taskId: string, stepName: string) => `\${GetAtt:${logicalIdOf(stack, runtime.stepFunctions.get(`${taskId}/${stepName}`)!)}.Arn}`;
const waitFunctionArn = `\${GetAtt:${logicalIdOf(stack, runtime.waitFunction)}.Arn}`;

function machineOf(taskId: string) {
  const machine = machines.get(`${STACK_NAME}-${taskId}`);
  if (!machine) throw new Error(`No state machine named ${STACK_NAME}-${taskId}; found ${[...machines.keys()].join(', ')}`);
  return machine;
}

function stateOf(taskId: string, name: string): AslState {
  const state = machineOf(taskId).definition.States[name];
  if (!state) throw new Error(`${taskId} has no state ${name}`);
  return state;
}

/** The payload the step or wait function receives: a Lambda step's Parameters, or a wait step's Parameters.Payload. */
function payloadOf(state: AslState): Record<string, unknown> {
  const parameters = state.Parameters ?? {};
  return (state.Resource?.endsWith('.waitForTaskToken') ? parameters.Payload : parameters) as Record<string, unknown>;
}

const tasks = [...TASKS.values()];

describe('task state machines', () => {
  it('has one state machine per task, named <stack name>-<task id>', () => {
    expect(tasks.length).toBeGreaterThan(0);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', TASKS.size);
    expect([...machines.keys()].sort()).toEqual(tasks.map((task) => `${STACK_NAME}-${task.id}`).sort());
  });

  it.each(tasks.map((task) => [task.id]))('%s is a Standard JSONPath state machine with X-Ray tracing and ALL-level logging', (taskId) => {
    const { resource, definition } = machineOf(taskId);
    expect(resource.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    expect(definition.QueryLanguage).toBe('JSONPath');
  });

  it.each(tasks.map((task) => [task.id, task]))('%s logs to its own log group', (taskId) => {
    const { resource } = machineOf(taskId);
    const destinations = (resource.Properties?.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] })
      .Destinations;
    expect(destinations).toHaveLength(1);
    const logGroupId = destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties).toMatchObject({
      LogGroupName: `/aws/vendedlogs/states/${STACK_NAME}-${taskId}`,
    });
  });

  it.each(tasks.map((task) => [task.id, task]))('%s has one Task state per step, chained in step order, and no Fail state', (_id, task) => {
    const { definition } = machineOf(task.id);
    const names = task.steps.map((step) => stateName(step.name));
    expect(definition.StartAt).toBe(names[0]);
    expect(Object.keys(definition.States).sort()).toEqual([...names].sort());
    names.forEach((name, index) => {
      const state = stateOf(task.id, name);
      expect(state.Type, name).toBe('Task');
      if (index < names.length - 1) expect(state.Next, name).toBe(names[index + 1]);
      else expect(state.End, name).toBe(true);
    });
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: no step catches, so an error fails the execution at the step itself (where a redrive restarts), and each has its timeout', (_id, task) => {
    for (const step of task.steps) {
      const name = stateName(step.name);
      const state = stateOf(task.id, name);
      expect(state.TimeoutSeconds, name).toBe('timeoutSeconds' in step ? step.timeoutSeconds : undefined);
      expect(state.Catch, name).toBeUndefined();
    }
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: every step takes $.input and puts its output there for the next', (_id, task) => {
    task.steps.forEach((step, index) => {
      const state = stateOf(task.id, stateName(step.name));
      const payload = payloadOf(state);
      expect(payload['input.$'], step.name).toBe('$.input');
      // The last step hands the execution its output alone; the others keep the state data around it.
      expect(state.ResultPath, step.name).toBe('$.input');
      expect(state.OutputPath, step.name).toBe(index === task.steps.length - 1 ? '$.input' : undefined);
      expect(payload).toMatchObject({
        'execution_id.$': '$$.Execution.Name',
        'tenant.$': '$$.Execution.Input.tenant',
        'attempt.$': '$$.State.RetryCount',
        task_id: task.id,
        step_index: index,
      });
    });
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: each Lambda step invokes its own function and never sees a task token', (_id, task) => {
    for (const step of task.steps.filter((candidate) => candidate.kind === 'step')) {
      const state = stateOf(task.id, stateName(step.name));
      expect(state.Resource, step.name).toBe(stepFunctionArn(task.id, step.name));
      expect(JSON.stringify(state.Parameters), step.name).not.toContain('Task.Token');
    }
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: wait steps invoke the wait function with .waitForTaskToken and pass the token', (_id, task) => {
    for (const step of task.steps.filter((candidate) => candidate.kind === 'wait')) {
      const state = stateOf(task.id, stateName(step.name));
      expect(state.Resource, step.name).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
      expect(state.Parameters?.FunctionName, step.name).toBe(waitFunctionArn);
      expect(payloadOf(state)['task_token.$'], step.name).toBe('$$.Task.Token');
    }
  });

  it.each(tasks.map((task) => [task.id, task]))(
    '%s: every Task state first retries Lambda throttling and transient service errors, 8 times with full jitter from 2 s up to 60 s',
    (_id, task) => {
      for (const step of task.steps) {
        const name = stateName(step.name);
        const retry = stateOf(task.id, name).Retry ?? [];
        expect(retry[0], name).toEqual({
          ErrorEquals: [
            'Lambda.TooManyRequestsException',
            'Lambda.ServiceException',
            'Lambda.AWSLambdaException',
            'Lambda.SdkClientException',
            'Lambda.ClientExecutionTimeoutException',
          ],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxDelaySeconds: 60,
          MaxAttempts: 8,
          JitterStrategy: 'FULL',
        });
        // No later retrier may name a Lambda error: Step Functions would never reach it for these.
        expect(retry.slice(1).flatMap((retrier) => retrier.ErrorEquals).filter((error) => error.startsWith('Lambda.')), name).toEqual([]);
      }
    },
  );

  it.each(tasks.map((task) => [task.id, task]))('%s: steps compile their retry policy, after a no-retry rule for ended executions', (_id, task) => {
    for (const step of task.steps) {
      const name = stateName(step.name);
      const retry = stateOf(task.id, name).Retry ?? [];
      const ended = retry.findIndex((retrier) => retrier.ErrorEquals.includes('ExecutionEnded'));
      expect(ended, name).toBeGreaterThanOrEqual(0);
      expect(retry[ended]?.MaxAttempts, name).toBe(0);
      // ASL: a retrier naming States.ALL must be the last one (and comes after the ExecutionEnded rule).
      const all = retry.findIndex((retrier) => retrier.ErrorEquals.includes('States.ALL'));
      if (all >= 0) {
        expect(all, name).toBe(retry.length - 1);
        expect(retry[all]?.ErrorEquals, name).toEqual(['States.ALL']);
        expect(all, name).toBeGreaterThan(ended);
      }
      if (step.kind === 'step' && step.retry) {
        expect(retry, name).toContainEqual({
          ErrorEquals: [...step.retry.errors],
          MaxAttempts: step.retry.maxAttempts,
          IntervalSeconds: step.retry.intervalSeconds,
          BackoffRate: step.retry.backoffRate,
          MaxDelaySeconds: step.retry.maxDelaySeconds,
        });
      }
    }
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: the overall timeout outlasts every step timeout combined', (_id, task) => {
    const total = task.steps.reduce((sum, step) => sum + ('timeoutSeconds' in step ? step.timeoutSeconds : 0), 0);
    expect(machineOf(task.id).definition.TimeoutSeconds).toBeGreaterThan(total);
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: each step\'s function may run at least as long as its state allows', (_id, task) => {
    for (const step of task.steps.filter((candidate) => candidate.kind === 'step')) {
      const fn = resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, runtime.stepFunctions.get(`${task.id}/${step.name}`)!)];
      expect(fn?.Properties?.Timeout, step.name).toBeGreaterThanOrEqual(step.timeoutSeconds);
    }
  });

  describe('sample-approval', () => {
    it('waits for a human at review: .waitForTaskToken with task_token.$ = $$.Task.Token', () => {
      const waits = Object.entries(machineOf('sample-approval').definition.States).filter(([, state]) =>
        state.Resource?.endsWith('lambda:invoke.waitForTaskToken'),
      );
      expect(waits.map(([name]) => name)).toEqual(['Review']);
      const payload = waits[0]![1].Parameters?.Payload as Record<string, unknown>;
      expect(payload['task_token.$']).toBe('$$.Task.Token');
      expect(waits[0]![1].TimeoutSeconds).toBe(7 * 86_400);
    });

    it('retries a failed attempt to record the wait, but not a wait timeout', () => {
      const retry = stateOf('sample-approval', 'Review').Retry ?? [];
      expect(retry).toContainEqual({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 3, IntervalSeconds: 1, BackoffRate: 2 });
      expect(retry.flatMap((retrier) => retrier.ErrorEquals)).not.toContain('States.ALL');
      expect(retry.flatMap((retrier) => retrier.ErrorEquals)).not.toContain('States.Timeout');
    });
  });

  describe('sample-pipeline', () => {
    it('has exactly 3 Task states (Extract, Analyze, Summarize) and nothing else', () => {
      const states = Object.entries(machineOf('sample-pipeline').definition.States);
      expect(states.filter(([, state]) => state.Type === 'Task').map(([name]) => name)).toEqual(['Extract', 'Analyze', 'Summarize']);
      expect(states).toHaveLength(3);
    });

    it('summarize retries 3 times from a 2 s interval; analyze keeps the default policy', () => {
      expect(stateOf('sample-pipeline', 'Summarize').Retry).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 2 }),
      );
      expect(stateOf('sample-pipeline', 'Analyze').Retry).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 2, IntervalSeconds: 1 }),
      );
      expect(stateOf('sample-pipeline', 'Analyze').TimeoutSeconds).toBe(120);
    });
  });

  it.each(tasks.map((task) => [task.id, task]))('%s: a step whose output is over the payload limit is not retried', (_id, task) => {
    const name = new StepOutputTooLargeError('step', MAX_PAYLOAD_BYTES + 1).name;
    for (const step of task.steps.filter((candidate) => candidate.kind === 'step')) {
      const retry = stateOf(task.id, stateName(step.name)).Retry ?? [];
      const refused = retry.findIndex((retrier) => retrier.ErrorEquals.includes(name));
      expect(refused, step.name).toBeGreaterThanOrEqual(0);
      expect(retry[refused]?.MaxAttempts, step.name).toBe(0);
    }
  });
});

describe('state payloads', () => {
  /** A task at the edge of what defineTask allows: the longest id, Lambda and wait steps at two-digit indexes. */
  const longest = defineTask({
    id: 'x'.repeat(40),
    description: 'Every field of its states at its longest.',
    kind: 'test',
    input: z.object({}),
    examples: [{}],
    steps: Array.from({ length: 12 }, (_, index) =>
      index % 2 === 0 ? lambdaStep(`step-${index}`, (input: unknown) => input) : waitForInput(`wait-${index}`),
    ),
  });
  const { template: edgeTemplate } = synthService({ tasksModule: { ...SAMPLE_TASKS, tasks: [...tasks, longest] } });
  const edgeMachines = stateMachinesByName(edgeTemplate);

  /** The longest value of each context field a step state reads. */
  const LONGEST: Readonly<Record<string, unknown>> = {
    '$$.Execution.Name': newExecutionId(),
    // assertTenant allows 48 characters; IAM tenants (aws-<account>) are 16.
    '$$.Execution.Input.tenant': 'x'.repeat(48),
    // The largest MaxAttempts ASL accepts.
    '$$.State.RetryCount': 99_999_999,
    // SendTaskSuccess accepts task tokens of up to 2048 characters.
    '$$.Task.Token': 'x'.repeat(2048),
  };
  /** The longest Lambda ARN: the longest partition and region, a 64-character function name. */
  const LONGEST_FUNCTION_ARN = `arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:${'x'.repeat(64)}`;

  /** A state's effective input as Step Functions builds it from Parameters, every field at its longest. */
  function effectiveInput(parameters: unknown, input: unknown): unknown {
    if (typeof parameters === 'string') return parameters.startsWith('${') ? LONGEST_FUNCTION_ARN : parameters;
    if (parameters === null || typeof parameters !== 'object') return parameters;
    return Object.fromEntries(
      Object.entries(parameters).map(([key, value]) => {
        if (!key.endsWith('.$')) return [key, effectiveInput(value, input)];
        const path = String(value);
        if (path === '$' || path === '$.input') return [key.slice(0, -2), input];
        if (!(path in LONGEST)) throw new Error(`No longest value for ${path}: add one`);
        return [key.slice(0, -2), LONGEST[path]];
      }),
    );
  }

  /** A JSON value whose text is exactly `bytes` long. */
  const valueOf = (bytes: number): string => 'x'.repeat(bytes - 2);

  it('measures the value it builds exactly', () => {
    expect(jsonBytes(valueOf(MAX_PAYLOAD_BYTES))).toBe(MAX_PAYLOAD_BYTES);
  });

  it.each([...edgeMachines.keys()])(
    '%s: every step state, given the largest input or step output the API and step runner let through, stays under the 256 KiB quota',
    (name) => {
      const states = Object.entries(edgeMachines.get(name)!.definition.States).filter(([, state]) => state.Type === 'Task');
      expect(states.length).toBeGreaterThan(0);
      for (const [stateName, state] of states) {
        const bytes = jsonBytes(effectiveInput(state.Parameters, valueOf(MAX_PAYLOAD_BYTES)));
        expect(bytes, stateName).toBeLessThanOrEqual(STATES_PAYLOAD_QUOTA_BYTES);
      }
    },
  );

  it('an execution input of the largest size stays under the quota with the tenant around it', () => {
    expect(jsonBytes({ tenant: LONGEST['$$.Execution.Input.tenant'], input: valueOf(MAX_PAYLOAD_BYTES) })).toBeLessThanOrEqual(
      STATES_PAYLOAD_QUOTA_BYTES,
    );
  });
});
