import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/api/executions-recovery.js';
import { MAX_CREATE_INPUT_BYTES, OFFLOAD_THRESHOLD_BYTES, jsonBytes } from '../../../lambdas/domain/payload-limits.js';
import type { ExecutionView } from '../../../lambdas/domain/views.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, expectProblem, lambdaContext, parse } from '../support/api-events.js';
import { TENANT, executionRecord, seed, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  s3.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
});

/** A succeeded `unit-echo` execution to replay. */
function ended() {
  const record = executionRecord({ taskId: 'unit-echo', status: 'succeeded', input: { text: 'a' }, output: { text: 'a' }, completedAt: '2026-01-02T03:05:00.000Z' });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

const replay = (id: string, body: unknown) => handler(apiEvent('POST /executions/{id}/replay', { pathParameters: { id }, body }), lambdaContext());
const textOf = (bytes: number) => ({ text: 'x'.repeat(bytes - jsonBytes({ text: '' })) });

describe('POST /executions/{id}/replay with a new input', () => {
  it('writes an input over the offload threshold to the payload bucket and starts the replay with its reference', async () => {
    const input = textOf(OFFLOAD_THRESHOLD_BYTES * 4);

    const response = parse<ExecutionView>(await replay(ended().id, { input }));

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ input: null, input_url: null });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'payloads-test', Body: JSON.stringify(input) });
    const started = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!) as { input: { $payload: { key: string; bytes: number } } };
    expect(started.input.$payload).toMatchObject({ bytes: jsonBytes(input) });
    expect(started.input.$payload.key.startsWith(`${TENANT}/inputs/`)).toBe(true);
  });

  it('keeps a small new input inline, calling no S3', async () => {
    const response = parse<ExecutionView>(await replay(ended().id, { input: { text: 'b' } }));

    expect(response.status).toBe(201);
    expect(response.body.input).toEqual({ text: 'b' });
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('refuses a new input over 5 MiB with 413, starting nothing', async () => {
    const problem = expectProblem(await replay(ended().id, { input: textOf(MAX_CREATE_INPUT_BYTES + 1) }), 413);

    expect(problem.detail).toContain(String(MAX_CREATE_INPUT_BYTES));
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('POST /executions/{id}/retry with a body', () => {
  const retry = (id: string, body: unknown) => handler(apiEvent('POST /executions/{id}/retry', { pathParameters: { id }, body }), lambdaContext());

  it.each([
    ['a new input', { input: { text: 'b' } }],
    ['a prototype-named key', JSON.parse('{"__proto__": {"text": "b"}}') as unknown],
    ['a list', [1]],
    ['a number', 42],
  ])('refuses %s with 400 naming replay, reading and retrying nothing', async (_what, body) => {
    const problem = expectProblem(await retry(ended().id, body), 400);

    expect(problem.detail).toContain('Replay');
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
