import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ExecutionRecord } from '../../lambdas/domain/execution.js';
import { newExecutionId } from '../../lambdas/domain/ids.js';
import { CreateStore } from '../../lambdas/repository/create-store.js';
import { api, start, transitions, waitFor, waitForStatus, type Execution } from './client.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const sfn = new SFNClient({ endpoint: inject('sfnEndpoint'), region: 'us-east-1', credentials });
const dynamo = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials });
/** The repository, pointed at DynamoDB Local: to plant a record no request could create. */
const repository = new CreateStore(DynamoDBDocumentClient.from(dynamo), {
  tableName: inject('tableName'),
  cursorSecret: 'unused-here',
});
const MIN_AGE_MS = inject('reconcileMinAgeMs');
/** Time for the reconciler to act once an execution is old enough: a few runs. */
const HEAL_WITHIN_MS = MIN_AGE_MS + 5 * inject('reconcileEveryMs') + 5_000;

afterAll(() => {
  sfn.destroy();
  dynamo.destroy();
});

function executionArnOf(execution: Execution): string {
  return decodeURIComponent(execution.console_url.split('/details/')[1]!);
}

async function sfnStatusOf(arn: string): Promise<string | undefined> {
  return (await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status;
}

async function waitForSfn(arn: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await sfnStatusOf(arn)) !== status) {
    if (Date.now() > deadline) throw new Error(`state machine execution ${arn} never reached ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('lost status-change events', () => {
  it('leaves the record running when the SUCCEEDED event is lost, until the reconciler heals it with a finish', async () => {
    const created = await start('test-lost-event', { n: 7 });
    const createdAt = Date.parse(created.created_at);

    await waitForSfn(executionArnOf(created), 'SUCCEEDED');
    const stranded = await api<Execution>('GET', `/executions/${created.id}`);

    // The reconciler may not touch it yet: the record is what the lost event left behind.
    expect(Date.now() - createdAt).toBeLessThan(MIN_AGE_MS);
    expect(stranded.body.status).toBe('running');
    expect((await transitions(created.id)).map((row) => row.type)).toEqual(['init', 'start', 'step']);

    const healed = await waitForStatus(created.id, 'succeeded', HEAL_WITHIN_MS);

    expect(Date.parse(healed.created_at) + MIN_AGE_MS).toBeLessThanOrEqual(Date.now());
    expect(healed.output).toEqual({ n: 7 });
    const rows = await transitions(created.id);
    expect(rows.map((row) => row.type)).toEqual(['init', 'start', 'step', 'finish']);
    expect(rows.at(-1)).toMatchObject({ seq: 4, type: 'finish', from: 'running', to: 'succeeded', output: { n: 7 } });
    expect(healed.transition_count).toBe(4);
  });

  it('still records events of other tasks at once: the drop switch only touches the chosen state machine', async () => {
    const created = await start('test-noop', { n: 3 });

    const done = await waitForStatus(created.id, 'succeeded', MIN_AGE_MS - 500);

    expect(Date.now() - Date.parse(created.created_at)).toBeLessThan(MIN_AGE_MS);
    expect(done.output).toEqual({ n: 3 });
  });
});

describe('executions that were never started', () => {
  it('fails a queued record whose state machine execution does not exist once past the grace period', async () => {
    // A record as the create function leaves it when it dies between its write and StartExecution,
    // created 10 minutes ago (the grace period is 5).
    const sibling = await start('test-noop', { n: 1 });
    const createdMs = Date.now() - 10 * 60_000;
    const id = newExecutionId(createdMs);
    const at = new Date(createdMs).toISOString();
    const record: ExecutionRecord = {
      tenant: 'default',
      id,
      taskId: 'test-noop',
      status: 'queued',
      input: { n: 1 },
      metadata: {},
      transitionCount: 1,
      stepIndex: 0,
      stepName: 'echo',
      stepsCompleted: 0,
      totalSteps: 1,
      stepFraction: 0,
      executionArn: executionArnOf(sibling).replace(sibling.id, id),
      createdAt: at,
      updatedAt: at,
    };
    await repository.create(record);

    const failed = await waitFor(id, (execution) => execution.status === 'failed', HEAL_WITHIN_MS);

    expect(failed.error).toContain('never started');
    expect(failed.error_details).toMatchObject({ name: 'ExecutionNotStarted', message: failed.error });
    const rows = await transitions(id);
    expect(rows.map((row) => [row.type, row.from, row.to])).toEqual([
      ['init', null, 'queued'],
      ['error', 'queued', 'failed'],
    ]);
  });
});
