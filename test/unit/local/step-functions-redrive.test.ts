import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LambdaHost } from '../../../local/lambda-host.js';
import { LambdaInvocationError } from '../../../local/lambda-host.js';
import { LocalStepFunctions } from '../../../local/step-functions.js';
import type { LocalRule, LocalStateMachine } from '../../../local/template.js';

// The local engine's RedriveExecution: the execution runs again from the top-level state it
// failed in, with that state's input of the failed attempt, under the same ARN, as Step Functions'.

const MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:AsyncExecutions-three';
const STATUS_FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:status-change';
const fn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const params = { 'tenant.$': '$$.Execution.Input.tenant', 'input.$': '$.input' };

const machine: LocalStateMachine = {
  logicalId: 'Three',
  name: 'AsyncExecutions-three',
  arn: MACHINE_ARN,
  definition: {
    StartAt: 'First',
    States: {
      First: { Type: 'Task', Resource: fn('first'), Parameters: params, ResultPath: '$.input', Next: 'Second' },
      Second: { Type: 'Task', Resource: fn('second'), Parameters: params, ResultPath: '$.input', Next: 'Third' },
      Third: { Type: 'Task', Resource: fn('third'), Parameters: params, ResultPath: '$.input', OutputPath: '$.input', End: true },
    },
  },
};
const rules: LocalRule[] = [{ pattern: { source: ['aws.states'] }, targetArns: [STATUS_FUNCTION] }];
const env = { region: 'us-east-1', account: '000000000000' };
const INPUT = JSON.stringify({ tenant: 't1', input: { n: 1 } });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An engine whose `second` step fails until `fixed` is set; every invocation is recorded. */
function engine(journalPath?: string) {
  const state = { fixed: false, hang: false };
  const calls: Array<{ arn: string; payload: { tenant: string; input: { n: number } } }> = [];
  const invoke = vi.fn(async (arn: string, payload: unknown) => {
    if (arn === STATUS_FUNCTION) return null;
    const typed = payload as { tenant: string; input: { n: number } };
    calls.push({ arn, payload: typed });
    if (arn === fn('second') && state.hang) return new Promise(() => undefined);
    if (arn === fn('second') && !state.fixed) throw new LambdaInvocationError('Flaky', 'not yet');
    return { n: typed.input.n + 1 };
  });
  const lambdas = { find: () => ({}), invoke } as unknown as LambdaHost;
  const sfn = new LocalStepFunctions([machine], rules, lambdas, env, () => undefined, journalPath ? { journalPath } : {});
  return { sfn, state, calls, invoke };
}

async function settled(sfn: LocalStepFunctions, executionArn: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const described = (await sfn.call('DescribeExecution', { executionArn })) as Record<string, unknown>;
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the execution did not end');
}

const statusEvents = (invoke: ReturnType<typeof engine>['invoke']) =>
  invoke.mock.calls.filter(([arn]) => arn === STATUS_FUNCTION).map(([, event]) => (event as { detail: Record<string, unknown> }).detail);

describe('LocalStepFunctions RedriveExecution', () => {
  it('runs a failed execution again from the state that failed, with its input, never the states before it', async () => {
    const { sfn, state, calls, invoke } = engine();
    const { executionArn } = (await sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'three', input: INPUT })) as { executionArn: string };
    expect(await settled(sfn, executionArn)).toMatchObject({ status: 'FAILED', error: 'Flaky', redriveCount: 0, redriveStatus: 'REDRIVABLE' });

    state.fixed = true;
    const answer = (await sfn.call('RedriveExecution', { executionArn, clientToken: 'retry-1' })) as { redriveDate: number };
    const described = await settled(sfn, executionArn);
    await sfn.drain();

    expect(described).toMatchObject({ status: 'SUCCEEDED', output: '{"n":4}', redriveCount: 1, redriveDate: answer.redriveDate, input: INPUT });
    expect(described).not.toHaveProperty('error');
    expect(calls.map((call) => call.arn)).toEqual([fn('first'), fn('second'), fn('second'), fn('third')]);
    // The failed state gets the input it had (the first state's output), and the execution's own input is still $$.Execution.Input.
    expect(calls[2]!.payload).toEqual({ tenant: 't1', input: { n: 2 } });
    expect(calls[3]!.payload).toEqual({ tenant: 't1', input: { n: 3 } });
    expect(statusEvents(invoke).map((detail) => [detail.status, detail.redriveCount])).toEqual([
      ['FAILED', 0],
      ['SUCCEEDED', 1],
    ]);
    const history = (await sfn.call('GetExecutionHistory', { executionArn })) as { events: Array<{ type: string; stateEnteredEventDetails?: { name: string } }> };
    expect(history.events.map((event) => event.type)).toContain('ExecutionRedriven');
    expect(history.events.map((event) => event.stateEnteredEventDetails?.name).filter(Boolean)).not.toContain('LocalRedriveStart');
  });

  it('answers a repeated client token with the redrive it started, and refuses running, succeeded and unknown executions as Step Functions does', async () => {
    const { sfn, state } = engine();
    const { executionArn } = (await sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'again', input: INPUT })) as { executionArn: string };
    await settled(sfn, executionArn);
    state.fixed = true;

    const first = await sfn.call('RedriveExecution', { executionArn, clientToken: 'same' });
    const repeat = await sfn.call('RedriveExecution', { executionArn, clientToken: 'same' });
    await expect(sfn.call('RedriveExecution', { executionArn, clientToken: 'other' })).rejects.toMatchObject({ code: 'ExecutionNotRedrivable' });
    await settled(sfn, executionArn);

    expect(repeat).toEqual(first);
    await expect(sfn.call('RedriveExecution', { executionArn })).rejects.toMatchObject({
      code: 'ExecutionNotRedrivable',
      message: 'Execution is SUCCEEDED and cannot be redriven',
    });
    await expect(sfn.call('RedriveExecution', { executionArn: `${executionArn}-nope` })).rejects.toMatchObject({ code: 'ExecutionDoesNotExist' });
    expect(await sfn.call('DescribeExecution', { executionArn })).toMatchObject({ redriveCount: 1 });
    await sfn.drain();
  });

  it('cannot redrive an execution a previous process of the engine ran: its state was lost with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redrive-'));
    dirs.push(dir);
    const path = join(dir, 'executions.jsonl');
    const before = engine(path);
    const { executionArn } = (await before.sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'lost', input: INPUT })) as { executionArn: string };
    await settled(before.sfn, executionArn);
    await before.sfn.drain();

    // The FAILED event was delivered, so the journal forgets it: to a new process it does not exist.
    const after = engine(path);
    after.sfn.recover();
    await expect(after.sfn.call('RedriveExecution', { executionArn })).rejects.toMatchObject({ code: 'ExecutionDoesNotExist' });
  });

  it('cannot redrive an execution a restart lost (ExecutionLost): its state went with the previous process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redrive-'));
    dirs.push(dir);
    const path = join(dir, 'executions.jsonl');
    const before = engine(path);
    before.state.hang = true;
    const { executionArn } = (await before.sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'hung', input: INPUT })) as { executionArn: string };

    const after = engine(path);
    expect(after.sfn.recover()).toEqual({ lost: 1, redelivered: 0 });
    await after.sfn.drain();

    expect(await after.sfn.call('DescribeExecution', { executionArn })).toMatchObject({ status: 'FAILED', redriveStatus: 'NOT_REDRIVABLE' });
    await expect(after.sfn.call('RedriveExecution', { executionArn })).rejects.toMatchObject({ code: 'ExecutionNotRedrivable' });
    await before.sfn.call('StopExecution', { executionArn });
  });
});
