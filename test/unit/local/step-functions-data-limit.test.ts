import { describe, expect, it, vi } from 'vitest';
import type { LambdaHost } from '../../../local/lambda-host.js';
import { LocalStepFunctions, STATE_DATA_LIMIT_BYTES } from '../../../local/step-functions.js';
import type { LocalStateMachine } from '../../../local/template.js';

// The local engine refuses a state over 256 KiB with States.DataLimitExceeded, as Step Functions
// does, and no Catch (not even States.ALL) turns it into a handled failure: what makes the payload
// offload necessary shows locally too.

const MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:Limits';
const fn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const params = { 'input.$': '$.input' };

const machine: LocalStateMachine = {
  logicalId: 'Limits',
  name: 'Limits',
  arn: MACHINE_ARN,
  definition: {
    StartAt: 'Big',
    States: {
      Big: {
        Type: 'Task',
        Resource: fn('big'),
        Parameters: params,
        ResultPath: '$.input',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }],
        Next: 'After',
      },
      After: { Type: 'Task', Resource: fn('after'), Parameters: params, OutputPath: '$', End: true },
      Handled: { Type: 'Pass', Result: 'handled', End: true },
    },
  },
};

/** An engine whose `big` function returns `bytes` of JSON. */
function engine(bytes: number) {
  const invoke = vi.fn(async (arn: string) => (arn === fn('big') ? 'x'.repeat(bytes - 2) : { after: true }));
  const lambdas = { find: () => ({}), invoke } as unknown as LambdaHost;
  return { sfn: new LocalStepFunctions([machine], [], lambdas, { region: 'us-east-1', account: '000000000000' }, () => undefined), invoke };
}

async function settled(sfn: LocalStepFunctions, executionArn: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const described = (await sfn.call('DescribeExecution', { executionArn })) as Record<string, unknown>;
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the execution did not end');
}

describe('LocalStepFunctions state data limit', () => {
  it('fails the execution with States.DataLimitExceeded when a task returns more than 256 KiB, past its States.ALL catch', async () => {
    const { sfn, invoke } = engine(STATE_DATA_LIMIT_BYTES + 1);
    const { executionArn } = (await sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'big', input: '{"input":{}}' })) as { executionArn: string };

    const described = await settled(sfn, executionArn);
    await sfn.drain();

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(String(described.cause)).toContain(`${STATE_DATA_LIMIT_BYTES + 1} bytes`);
    expect(invoke.mock.calls.map(([arn]) => arn)).toEqual([fn('big')]);
  });

  it('passes a result under 256 KiB on to the next state', async () => {
    const { sfn, invoke } = engine(STATE_DATA_LIMIT_BYTES - 1024);
    const { executionArn } = (await sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'fits', input: '{"input":{}}' })) as { executionArn: string };

    const described = await settled(sfn, executionArn);
    await sfn.drain();

    expect(described).toMatchObject({ status: 'SUCCEEDED', output: '{"after":true}' });
    expect(invoke.mock.calls.map(([arn]) => arn)).toEqual([fn('big'), fn('after')]);
  });

  it('refuses a task input over 256 KiB (a result that fit, put into a larger state) before invoking the function', async () => {
    const { sfn, invoke } = engine(STATE_DATA_LIMIT_BYTES);
    const { executionArn } = (await sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'grows', input: '{"input":{}}' })) as { executionArn: string };

    const described = await settled(sfn, executionArn);
    await sfn.drain();

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(String(described.cause)).toContain("'After' received an input");
    expect(invoke.mock.calls.map(([arn]) => arn)).toEqual([fn('big')]);
  });
});
