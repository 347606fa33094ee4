import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { STACK_NAME, stateMachinesByName, synthService, type AslDefinition } from './support.js';

/**
 * The synthesized definitions run in the local engine (`aws-local-stepfunctions`, as `npm start`
 * runs them, validation on) with every Task state refused by Lambda a number of times in a row.
 * Retry delays are overridden to 0 ms; the retriers' order and attempt counts are what is tested.
 */
const { template } = synthService();
const machines = stateMachinesByName(template);
const taskIds = [...TASKS.keys()];

/** A task's definition, its function ARNs (template tokens) replaced by an ARN of the right shape, as the local stack resolves them. */
function definitionOf(taskId: string): AslDefinition {
  const machine = machines.get(`${STACK_NAME}-${taskId}`);
  if (!machine) throw new Error(`No state machine for ${taskId}`);
  const text = JSON.stringify(machine.definition).replace(/\$\{GetAtt:[^}]+\}/g, 'arn:aws:lambda:us-east-1:123456789012:function:local');
  return JSON.parse(text) as AslDefinition;
}

/** Lambda's answer when the account's or the function's concurrency is used up. */
function throttled(): Error {
  const error = new Error('Rate Exceeded.');
  error.name = 'Lambda.TooManyRequestsException';
  return error;
}

/** Runs a task's definition; every Task state is throttled `refusals` times, then returns `{ state }`. */
async function runThrottled(taskId: string, refusals: number): Promise<{ result: Promise<unknown>; invocations: Map<string, number> }> {
  const definition = definitionOf(taskId);
  const engine = new StateMachine(definition as unknown as StateMachineDefinition, { validationOptions: { checkArn: false } });
  const taskStates = Object.entries(definition.States)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name]) => name);
  const invocations = new Map<string, number>();
  const handler = (name: string) => async () => {
    const count = (invocations.get(name) ?? 0) + 1;
    invocations.set(name, count);
    if (count <= refusals) throw throttled();
    return { state: name };
  };
  const { result } = engine.run(
    { tenant: 'acme', input: {} },
    {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(taskStates.map((name) => [name, handler(name)])),
        retryIntervalOverrides: Object.fromEntries(taskStates.map((name) => [name, 0])),
      },
      context: {
        Execution: { Id: `arn:aws:states:us-east-1:123456789012:execution:${taskId}:e1`, Name: 'e1', StartTime: new Date().toISOString() },
        State: { Name: '', EnteredTime: '', RetryCount: 0 },
        Task: { Token: 'token' },
      },
    },
  );
  return { result, invocations };
}

describe('task state machines under Lambda throttling (local engine)', () => {
  it.each(taskIds)('%s succeeds when Lambda refuses every Task state 8 times in a row before accepting it', async (taskId) => {
    const { result, invocations } = await runThrottled(taskId, 8);

    await expect(result).resolves.toBeDefined();
    const taskStates = Object.entries(definitionOf(taskId).States).filter(([, state]) => state.Type === 'Task');
    expect([...invocations.keys()].sort()).toEqual(taskStates.map(([name]) => name).sort());
    for (const [name, count] of invocations) expect(count, name).toBe(9);
  });

  it.each(taskIds)('%s fails at its first step, with Lambda\'s error, when Lambda refuses it a 9th time', async (taskId) => {
    const { result, invocations } = await runThrottled(taskId, 9);

    await expect(result).rejects.toMatchObject({ cause: { name: 'Lambda.TooManyRequestsException' } });
    expect([...invocations.values()]).toEqual([9]);
  });
});
