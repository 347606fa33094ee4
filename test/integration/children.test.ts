import { buildTaskCatalogue } from '../../lambdas/tasks/catalogue.js';
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { childExecutionId } from '../../lambdas/domain/children.js';
import { FamilyStore } from '../../lambdas/repository/family-store.js';
import { startChild, type ChildStartDeps, type ChildStartPayload } from '../../lambdas/runtime/child-start.js';
import type { Logger } from '../../lambdas/shared/logger.js';
import { api, start, transitions, waitFor, waitForStatus, type Execution } from './client.js';
import { tasks } from './test-tasks.js';

// The child-start function runs here, in process, against the test stack's own DynamoDB Local and
// local Step Functions: until the compiler builds runTask states, no state machine invokes it. The
// parent's token is a real one, minted by the local engine for the wait step of `test-child-holder`
// (a .waitForTaskToken state, as a runTask state is); the child runs in the stack, and the stack's
// status-change function answers the token. That wait's record stays `awaiting_input` while its
// state machine goes on, which no runTask parent does, so the answer is read from Step Functions.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const sfn = new SFNClient({ endpoint: inject('sfnEndpoint'), region: 'us-east-1', credentials });
const dynamo = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials });
const repository = new FamilyStore(DynamoDBDocumentClient.from(dynamo), { tableName: inject('tableName'), cursorSecret: 'unused-here' });
const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };
const TENANT = 'default';

afterAll(() => {
  sfn.destroy();
  dynamo.destroy();
});

function executionArnOf(execution: Execution): string {
  return decodeURIComponent(execution.console_url.split('/details/')[1]!);
}

/** A waiting `test-child-holder` execution: its wait's task token, and the child-start dependencies of the stack. */
async function holder(): Promise<{ parent: Execution; token: string; deps: ChildStartDeps }> {
  const created = await start('test-child-holder', {});
  const parent = await waitForStatus(created.id, 'awaiting_input');
  const token = (await repository.get(TENANT, parent.id)).waitToken!;
  // `arn:…:execution:<stack>-test-child-holder:<id>` → the stack's state machine ARN prefix `arn:…:stateMachine:<stack>-`.
  const machine = executionArnOf(parent).replace(':execution:', ':stateMachine:');
  const prefix = machine.slice(0, machine.length - `test-child-holder:${parent.id}`.length);
  const deps: ChildStartDeps = {
    repository,
    sfn,
    logger: silent,
    tasks: new Map(buildTaskCatalogue(tasks).tasks.map((task) => [task.id, task])),
    stateMachineArn: (taskId) => `${prefix}${taskId}`,
  };
  return { parent, token, deps };
}

function payload(parent: Execution, overrides: Partial<ChildStartPayload>): ChildStartPayload {
  return {
    execution_id: parent.id,
    tenant: TENANT,
    task_id: parent.task_id,
    child_task_id: 'test-noop',
    input: { n: 1 },
    instance: 'children-it/#1',
    attempt: 0,
    task_token: `AQ${randomBytes(96).toString('base64url')}`,
    ...overrides,
  };
}

/** The Step Functions status and output of an execution once it has ended. */
async function sfnEnd(execution: Execution): Promise<{ status: string; output: unknown }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: executionArnOf(execution) }));
    if (described.status !== 'RUNNING') return { status: described.status!, output: described.output ? JSON.parse(described.output) : null };
    if (Date.now() > deadline) throw new Error(`${execution.id} still RUNNING in Step Functions`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const childrenOf = async (parentId: string) =>
  (await api<{ items: Execution[]; next_cursor: string | null }>('GET', `/executions?parent_id=${parentId}`)).body;

describe('child executions through the local stack', () => {
  it('starts a child whose end (recorded by the stack) answers the parent\'s state with its output, however often the start is retried', async () => {
    const { parent, token, deps } = await holder();
    const instance = 'research[0]/#1';
    // A child that runs for a while, so the retry below finds it running and the stack answers the token.
    const slow = { child_task_id: 'test-slow', input: { ms: 600 }, instance };

    // Attempt 0 dies after creating the child (its token is never answered); attempt 1 holds the parent's real token.
    const first = await startChild(deps, payload(parent, { ...slow, attempt: 0 }));
    const retried = await startChild(deps, payload(parent, { ...slow, attempt: 1, task_token: token }));

    expect(first).toEqual({ child_execution_id: childExecutionId(parent.id, instance), created: true });
    expect(retried).toEqual({ child_execution_id: first.child_execution_id, created: false });
    const child = await waitForStatus(first.child_execution_id, 'succeeded');
    expect(child).toMatchObject({ task_id: 'test-slow', output: { worked_ms: 600 }, parent_execution_id: parent.id });
    expect(await sfnEnd(parent)).toEqual({ status: 'SUCCEEDED', output: { worked_ms: 600 } });
    const listed = await childrenOf(parent.id);
    expect(listed.items.map((item) => item.id)).toEqual([child.id]);
    expect(listed.next_cursor).toBeNull();
  });

  it('answers a retry\'s token at once when its child has already ended', async () => {
    const { parent, token, deps } = await holder();
    const { child_execution_id: childId } = await startChild(deps, payload(parent, { input: { n: 7 } }));
    await waitForStatus(childId, 'succeeded');

    const retried = await startChild(deps, payload(parent, { input: { n: 7 }, attempt: 1, task_token: token }));

    expect(retried).toEqual({ child_execution_id: childId, created: false, answered: 'answered' });
    expect(await sfnEnd(parent)).toEqual({ status: 'SUCCEEDED', output: { n: 7 } });
  });

  it('refuses an unknown task and an invalid input with named errors, creating nothing', async () => {
    const { parent, deps } = await holder();

    await expect(startChild(deps, payload(parent, { child_task_id: 'no-such-task' }))).rejects.toMatchObject({ name: 'ChildTaskNotFound' });
    await expect(startChild(deps, payload(parent, { input: { n: 'one' } }))).rejects.toMatchObject({
      name: 'ChildInputInvalid',
      message: expect.stringContaining('/input/n'),
    });
    expect((await childrenOf(parent.id)).items).toEqual([]);
  });

  it('cancels the running children of a cancelled parent, and their children in turn', async () => {
    const { parent, deps } = await holder();
    // A child that waits for input, and a grandchild under it (its token: the child's own wait's).
    const { child_execution_id: childId } = await startChild(
      deps,
      payload(parent, { child_task_id: 'sample-approval', input: { title: 'T', body: 'B', reviewer: 'r@example.com' } }),
    );
    const child = await waitForStatus(childId, 'awaiting_input');
    const childToken = (await repository.get(TENANT, child.id)).waitToken!;
    const { child_execution_id: grandchildId } = await startChild(
      deps,
      payload(child, { child_task_id: 'test-child-holder', input: {}, task_token: childToken }),
    );
    await waitForStatus(grandchildId, 'awaiting_input');

    const cancel = await api<Execution>('POST', `/executions/${parent.id}/cancel`, { reason: 'not needed' });

    expect(cancel.status).toBe(200);
    const cancelledChild = await waitForStatus(childId, 'cancelled');
    expect(cancelledChild.cancel_reason).toBe(`Parent execution ${parent.id} was cancelled.`);
    const cancelledGrandchild = await waitForStatus(grandchildId, 'cancelled');
    expect(cancelledGrandchild.cancel_reason).toBe(`Parent execution ${childId} was cancelled.`);
    expect((await sfnEnd(cancelledChild)).status).toBe('ABORTED');
    expect((await sfnEnd(cancelledGrandchild)).status).toBe('ABORTED');
    expect((await transitions(childId)).at(-1)).toMatchObject({ type: 'cancel', from: 'awaiting_input', to: 'cancelled' });
  });

  it('refuses a child under an ended parent with ExecutionEnded', async () => {
    const { parent, deps } = await holder();
    await api('POST', `/executions/${parent.id}/cancel`, {});
    await waitForStatus(parent.id, 'cancelled');

    await expect(startChild(deps, payload(parent, {}))).rejects.toMatchObject({ name: 'ExecutionEnded' });
    expect((await childrenOf(parent.id)).items).toEqual([]);
  });

  it('lists no children of an unknown parent, and answers 400 for a malformed parent_id', async () => {
    expect(await childrenOf('0190a000-0000-7000-8000-000000000000')).toEqual({ items: [], next_cursor: null });
    const malformed = await api<{ errors: { path: string }[] }>('GET', '/executions?parent_id=nope');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors.map((error) => error.path)).toEqual(['query.parent_id']);
  });

  it('shows parent_execution_id as null on executions started through the API', async () => {
    const created = await start('test-noop', { n: 2 });

    expect(created).toHaveProperty('parent_execution_id', null);
    expect((await waitFor(created.id, (execution) => execution.status === 'succeeded')).parent_execution_id).toBeNull();
  });
});
