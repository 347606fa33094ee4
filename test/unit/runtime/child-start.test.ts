import { buildTaskCatalogue } from '../../../lambdas/tasks/catalogue.js';
import {
  ExecutionAlreadyExists,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { childExecutionId } from '../../../lambdas/domain/children.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { handler, instanceOf } from '../../../lambdas/runtime/child-start-handler.js';
import { ChildInputInvalidError, ChildStartFailedError, ChildTaskNotFoundError, startChild, type ChildStartDeps, type ChildStartPayload } from '../../../lambdas/runtime/child-start.js';
import { ExecutionEndedError } from '../../../lambdas/runtime/payload.js';
import { repository } from '../../../lambdas/shared/dynamodb.js';
import { sfn as sfnClient } from '../../../lambdas/shared/sfn.js';
import { TASKS } from '../../../lambdas/tasks/registry.js';
import { lambdaContext } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import {
  STATE_MACHINE_ARN_PREFIX,
  TENANT,
  executionArnFor,
  executionPk,
  executionRecord,
  seed,
  spyLogger,
  storedPayload,
  storedRecord,
  storedRows,
  transitionRecord,
} from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;
/** The unit project's tasks as the child-start function knows them: their catalogue (schemas, no code). */
const CATALOGUE_TASKS = new Map(buildTaskCatalogue([...TASKS.values()]).tasks.map((task) => [task.id, task]));
let deps: ChildStartDeps;
let parent: ExecutionRecord;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
  deps = { repository, sfn: sfnClient, logger: spyLogger(), tasks: CATALOGUE_TASKS, stateMachineArn: (taskId) => `${STATE_MACHINE_ARN_PREFIX}${taskId}` };
  parent = executionRecord({ status: 'running', transitionCount: 2, startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, parent, [transitionRecord(parent)]);
});

function payload(overrides: Partial<ChildStartPayload> = {}): ChildStartPayload {
  return {
    execution_id: parent.id,
    tenant: TENANT,
    task_id: parent.taskId,
    child_task_id: 'unit-echo',
    input: { text: 'hello' },
    instance: 'research[2]/#3',
    attempt: 0,
    task_token: 'token-0',
    ...overrides,
  };
}

const childId = (instance = 'research[2]/#3') => childExecutionId(parent.id, instance);
const child = () => storedRecord(table, { tenant: TENANT, id: childId() });

function named<T extends Error>(error: T, name: string): T {
  return Object.assign(error, { name });
}

/** Ends the stored child as its status-change event would have. */
function endChild(fields: Record<string, unknown>): void {
  table.put({ ...child(), ...fields });
}

describe('startChild: a new child', () => {
  it('creates the child in its parent\'s tenant, linked to the parent, and starts its state machine named by its id', async () => {
    const result = await startChild(deps, payload());

    expect(result).toEqual({ child_execution_id: childId(), created: true });
    expect(child()).toMatchObject({
      tenant: TENANT,
      task_id: 'unit-echo',
      status: 'queued',
      parent_execution_id: parent.id,
      parent_token: 'token-0',
      parent_attempt: 0,
      execution_arn: executionArnFor('unit-echo', childId()),
    });
    expect(storedPayload(child().input)).toEqual({ text: 'hello' });
    expect(storedRows(table, { tenant: TENANT, id: childId() }).map((row) => row.type)).toEqual(['init']);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}unit-echo`,
      name: childId(),
      input: JSON.stringify({ tenant: TENANT, input: { text: 'hello' } }),
    });
  });

  it('starts a child under a waiting parent too', async () => {
    table.put({ ...storedRecord(table, parent), status: 'awaiting_input' });

    await expect(startChild(deps, payload())).resolves.toMatchObject({ created: true });
  });

  it('is the Lambda handler of runTask states: the step instance is the step\'s place and name', async () => {
    const { instance: _instance, ...compiled } = payload();
    const sent = { ...compiled, step: 'investigate', step_index: 0, scope: { name: 'research', index: 2, total: 5 }, segments: [{ name: 'both', index: 1, total: 2 }] };

    await expect(handler(sent, lambdaContext())).resolves.toEqual({ child_execution_id: childId('research[2]/both[1]/investigate'), created: true });
  });

  it('names a top-level runTask step instance by its step name alone', () => {
    const { instance: _instance, ...compiled } = payload();

    expect(instanceOf({ ...compiled, step: 'investigate', step_index: 3 })).toBe('investigate');
  });
});

describe('startChild: retries of the same runTask step instance', () => {
  it('never creates a second child: a retry with a new token stores the token on the child that runs', async () => {
    await startChild(deps, payload());
    table.put({ ...child(), status: 'running' });

    const retried = await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(retried).toEqual({ child_execution_id: childId(), created: false });
    expect(child()).toMatchObject({ parent_token: 'token-1', parent_attempt: 1 });
    expect(storedRecord(table, parent).child_count).toBe(1);
    expect(table.all().filter((item) => item.sk === 'META' && item.parent_execution_id === parent.id)).toHaveLength(1);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('starts a child that an earlier attempt created but never started (it died in between)', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(named(new Error('stalled'), 'TimeoutError'));
    await expect(startChild(deps, payload())).rejects.toBeInstanceOf(ChildStartFailedError);
    expect(child().status).toBe('queued');

    const retried = await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(retried).toEqual({ child_execution_id: childId(), created: false });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
    expect(child()).toMatchObject({ status: 'queued', parent_token: 'token-1' });
  });

  it('takes ExecutionAlreadyExists as started (an earlier attempt started it)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

    await expect(startChild(deps, payload())).resolves.toMatchObject({ created: true });
  });

  it('answers the new token at once with the output of a child that has already succeeded', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await startChild(deps, payload());
    endChild({ status: 'succeeded', output: JSON.stringify({ text: 'HELLO' }) });

    const retried = await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(retried).toEqual({ child_execution_id: childId(), created: false, answered: 'answered' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1', output: '{"text":"HELLO"}' });
    expect(child().parent_token).toBe('token-0');
  });

  it('answers the new token at once with the error of a child that has already failed', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await startChild(deps, payload());
    endChild({ status: 'failed', error: { name: 'EchoFailed', message: 'no echo' } });

    await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'token-1', error: 'EchoFailed', cause: 'no echo' });
  });

  it('answers the new token when the child ends between the read and the token\'s write', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await startChild(deps, payload());
    table.put({ ...child(), status: 'running' });
    // The child's finish lands just before this retry stores its token: the token's write finds it ended.
    ddb.on(UpdateCommand).callsFakeOnce(async () => {
      endChild({ status: 'succeeded', output: JSON.stringify({ late: true }) });
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    });

    const retried = await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(retried).toMatchObject({ answered: 'answered' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1', output: '{"late":true}' });
    expect(child().parent_token).toBe('token-0');
  });

  it('drops the answer when the new token is already gone, without failing', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskDoesNotExist({ message: 'gone', $metadata: {} }));
    await startChild(deps, payload());
    endChild({ status: 'succeeded', output: '{}' });

    await expect(startChild(deps, payload({ attempt: 1, task_token: 'token-1' }))).resolves.toMatchObject({ answered: 'gone' });
  });

  it('changes nothing for a late call of an older attempt', async () => {
    await startChild(deps, payload({ attempt: 2, task_token: 'token-2' }));
    table.put({ ...child(), status: 'running' });

    const late = await startChild(deps, payload({ attempt: 1, task_token: 'token-1' }));

    expect(late).toEqual({ child_execution_id: childId(), created: false });
    expect(child()).toMatchObject({ parent_token: 'token-2', parent_attempt: 2 });
  });

  it('gives each runTask step instance its own child', async () => {
    await startChild(deps, payload({ instance: 'a' }));
    await startChild(deps, payload({ instance: 'b' }));

    expect(storedRecord(table, parent).child_count).toBe(2);
    expect(childId('a')).not.toBe(childId('b'));
  });
});

describe('startChild: refusals', () => {
  it('fails the state with ChildTaskNotFound for a task that is not deployed, writing nothing', async () => {
    const before = table.all();

    const error = await startChild(deps, payload({ child_task_id: 'no-such-task' })).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChildTaskNotFoundError);
    expect((error as Error).name).toBe('ChildTaskNotFound');
    expect((error as Error).message).toContain('no-such-task');
    expect(table.all()).toEqual(before);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails the state with ChildInputInvalid, naming what is wrong, for an input the child task refuses', async () => {
    const before = table.all();

    const error = await startChild(deps, payload({ input: { text: 42, extra: true } })).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChildInputInvalidError);
    expect((error as Error).name).toBe('ChildInputInvalid');
    expect((error as Error).message).toMatch(/input of task unit-echo is not valid/);
    expect((error as Error).message).toContain('/input/text must be a string');
    expect(table.all()).toEqual(before);
  });

  it('fails the state with ChildInputInvalid for an input over the payload limit', async () => {
    const error = await startChild(deps, payload({ input: { text: 'x'.repeat(260 * 1024) } })).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChildInputInvalidError);
    expect((error as Error).message).toMatch(/bytes of JSON/);
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)('fails the state with ExecutionEnded when the parent is %s, writing nothing', async (status) => {
    table.put({ ...storedRecord(table, parent), status });
    const before = table.all();

    const error = await startChild(deps, payload()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ExecutionEndedError);
    expect((error as Error).name).toBe('ExecutionEnded');
    expect(table.all()).toEqual(before);
  });

  it('fails the state with ExecutionEnded when the parent ends between its read and the child\'s write', async () => {
    table.beforeNextTransaction(() => table.put({ ...storedRecord(table, parent), status: 'cancelled' }));

    await expect(startChild(deps, payload())).rejects.toBeInstanceOf(ExecutionEndedError);
    expect(table.item(executionPk(TENANT, childId()), 'META')).toBeUndefined();
  });

  it('fails the state with ChildStartFailed (the one error its state retries) when Step Functions refuses the start, leaving the child queued', async () => {
    sfn.on(StartExecutionCommand).rejects(named(new Error('Rate exceeded'), 'ThrottlingException'));

    await expect(startChild(deps, payload())).rejects.toBeInstanceOf(ChildStartFailedError);
    expect(child().status).toBe('queued');
  });

  it('fails the state with ChildStartFailed for a malformed payload (a state machine built for another contract)', async () => {
    const malformed = { ...payload(), instance: undefined } as unknown as ChildStartPayload;

    await expect(startChild(deps, malformed)).rejects.toBeInstanceOf(ChildStartFailedError);
    await expect(startChild(deps, payload({ attempt: -1 }))).rejects.toBeInstanceOf(ChildStartFailedError);
    expect(table.item(executionPk(TENANT, childId()), 'META')).toBeUndefined();
  });
});
