import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExecutionJournal } from '../../../local/execution-journal.js';
import type { LambdaHost } from '../../../local/lambda-host.js';
import { AwsServiceError, EXECUTION_LOST, LocalStepFunctions } from '../../../local/step-functions.js';
import type { LocalRule, LocalStateMachine } from '../../../local/template.js';

const dirs: string[] = [];
function journalPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  dirs.push(dir);
  return join(dir, 'step-functions', 'executions.jsonl');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:AsyncExecutions-waits';
const STATUS_FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:status-change';
const start = (name: string, startDate = 1_700_000_000) => ({
  executionArn: `${MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
  stateMachineArn: MACHINE_ARN,
  name,
  input: '{"tenant":"default"}',
  startDate,
});

describe('ExecutionJournal', () => {
  it('recovers executions that never ended and ended ones whose event was not delivered; forgets delivered ones', () => {
    const path = journalPath();
    const journal = new ExecutionJournal(path);
    journal.started(start('running'));
    journal.started(start('ended-undelivered-yet'));
    journal.ended(start('ended-undelivered-yet').executionArn, { status: 'SUCCEEDED', stopDate: 1_700_000_001, output: '{"n":1}' });
    journal.started(start('delivered'));
    journal.ended(start('delivered').executionArn, { status: 'SUCCEEDED', stopDate: 1_700_000_001 });
    journal.settled(start('delivered').executionArn, 'delivered');

    const recovered = new ExecutionJournal(path).recover(1_700_000_100);

    expect(recovered).toEqual([
      { start: start('running') },
      { start: start('ended-undelivered-yet'), end: { status: 'SUCCEEDED', stopDate: 1_700_000_001, output: '{"n":1}' } },
    ]);
    expect(readFileSync(path, 'utf8')).not.toContain('"delivered"');
    expect(new ExecutionJournal(path).recover(1_700_000_100)).toEqual(recovered);
  });

  it('keeps an execution whose event was never delivered for the 90 days Step Functions keeps it, then forgets it', () => {
    const path = journalPath();
    const journal = new ExecutionJournal(path);
    journal.started(start('dropped'));
    journal.ended(start('dropped').executionArn, { status: 'FAILED', stopDate: 1_700_000_000, error: 'Boom' });
    journal.settled(start('dropped').executionArn, 'undelivered');

    const within = new ExecutionJournal(path).recover(1_700_000_000 + 89 * 86_400);
    const after = new ExecutionJournal(path).recover(1_700_000_000 + 91 * 86_400);

    expect(within.map((execution) => execution.delivery)).toEqual(['undelivered']);
    expect(after).toEqual([]);
  });

  it('skips a line cut short when the process died while writing it', () => {
    const path = journalPath();
    new ExecutionJournal(path).started(start('whole'));
    appendFileSync(path, '{"op":"start","executionArn":"arn:aws:sta');

    expect(new ExecutionJournal(path).recover().map((execution) => execution.start.name)).toEqual(['whole']);
  });
});

describe('LocalStepFunctions after a restart', () => {
  const machine: LocalStateMachine = {
    logicalId: 'Waits',
    name: 'AsyncExecutions-waits',
    arn: MACHINE_ARN,
    definition: { StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 3600, End: true } } },
  };
  const rules: LocalRule[] = [{ pattern: { source: ['aws.states'] }, targetArns: [STATUS_FUNCTION] }];
  const env = { region: 'us-east-1', account: '000000000000' };
  function engine(path: string, invoke = vi.fn(async () => null)) {
    const lambdas = { find: () => undefined, invoke } as unknown as LambdaHost;
    return { invoke, sfn: new LocalStepFunctions([machine], rules, lambdas, env, () => undefined, { journalPath: path }) };
  }

  it('fails an execution its previous process was running with ExecutionLost, and sends its FAILED status event', async () => {
    const path = journalPath();
    const before = engine(path).sfn;
    const { executionArn } = (await before.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'waiting', input: '{"tenant":"default"}' })) as {
      executionArn: string;
    };
    const after = engine(path);

    const summary = after.sfn.recover();
    await after.sfn.drain();

    expect(summary).toEqual({ lost: 1, redelivered: 0 });
    expect(after.invoke).toHaveBeenCalledWith(
      STATUS_FUNCTION,
      expect.objectContaining({
        'detail-type': 'Step Functions Execution Status Change',
        detail: expect.objectContaining({ executionArn, name: 'waiting', status: 'FAILED', error: EXECUTION_LOST, cause: expect.stringContaining('was restarted') }),
      }),
    );
    expect(await after.sfn.call('DescribeExecution', { executionArn })).toMatchObject({ status: 'FAILED', error: EXECUTION_LOST });
    await expect(after.sfn.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'waiting', input: '{"tenant":"default"}' })).rejects.toMatchObject({
      code: 'ExecutionAlreadyExists',
    });
    await before.call('StopExecution', { executionArn });
  });

  it('does not fail it again on the next restart once its event was delivered', async () => {
    const path = journalPath();
    const before = engine(path).sfn;
    const { executionArn } = (await before.call('StartExecution', { stateMachineArn: MACHINE_ARN, name: 'once', input: '{}' })) as { executionArn: string };
    const second = engine(path).sfn;
    second.recover();
    await second.drain();
    const third = engine(path);

    const summary = third.sfn.recover();

    expect(summary).toEqual({ lost: 0, redelivered: 0 });
    expect(third.invoke).not.toHaveBeenCalled();
    await before.call('StopExecution', { executionArn });
  });

  it('still answers ExecutionDoesNotExist for an execution no process of it started, as Step Functions does', async () => {
    const { sfn } = engine(journalPath());
    sfn.recover();

    await expect(sfn.call('DescribeExecution', { executionArn: start('never-started').executionArn })).rejects.toBeInstanceOf(AwsServiceError);
    await expect(sfn.call('DescribeExecution', { executionArn: start('never-started').executionArn })).rejects.toMatchObject({
      code: 'ExecutionDoesNotExist',
    });
  });
});
