import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { newBulkJobId } from '../../../lambdas/domain/bulk.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { BulkStore, bulkItemsPk, queuedJob } from '../../../lambdas/repository/bulk-store.js';
import { documentClient } from '../../../lambdas/shared/dynamodb-client.js';
import { repositoryOptions } from '../../../lambdas/shared/repository-options.js';
import { handler } from '../../../lambdas/runtime/bulk-worker-handler.js';
import { handler as sweep } from '../../../lambdas/runtime/bulk-sweep-handler.js';
import { bulkMessageBody } from '../../../lambdas/runtime/bulk-worker.js';
import { lambdaContext } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { STATE_MACHINE_ARN_PREFIX, executionRecord, seed } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const sfnMock = mockClient(SFNClient);
let table: FakeTable;

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  table = new FakeTable().install(ddb);
});

const record = (messageId: string, body: string): SQSRecord => ({ messageId, body }) as SQSRecord;

describe('the bulk worker\'s queue entry', () => {
  it('drops a message it did not write, does nothing for a job that is gone, and hands back a message whose page failed', async () => {
    const gone = bulkMessageBody({ tenant: 'default', jobId: newBulkJobId(), version: 0 });
    const failing = bulkMessageBody({ tenant: 'broken', jobId: newBulkJobId(), version: 0 });
    ddb.on(GetCommand, { Key: { pk: 'BULK#broken' } }, false).rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    const event: SQSEvent = { Records: [record('m1', 'not json'), record('m2', gone), record('m3', failing)] };
    const response = await handler(event, lambdaContext());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm3' }]);
  });
});

describe('the bulk worker\'s dependencies', () => {
  it('replays with the deployed task\'s outline (TASK_IDS, the catalogue) on its own state machine, recording the new execution in the item', async () => {
    const now = Date.now();
    const original = executionRecord({ id: newExecutionId(now - 60_000), taskId: 'sample-pipeline', status: 'succeeded', completedAt: new Date(now - 30_000).toISOString() });
    seed(table, original);
    const job = queuedJob({ tenant: 'default', id: newBulkJobId(now), action: 'replay', filter: { taskId: 'sample-pipeline' }, maxItems: 10 }, new Date(now).toISOString());
    await new BulkStore(documentClient, repositoryOptions).create(job);

    const response = await handler({ Records: [record('m1', bulkMessageBody({ tenant: 'default', jobId: job.id, version: 0 }))] }, lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    const [item] = table.partition(bulkItemsPk('default', job.id));
    expect(item).toMatchObject({ sk: original.id, outcome: 'succeeded', result_execution_id: expect.any(String) });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}sample-pipeline`, name: item!.result_execution_id as string });
  });
});

describe('the bulk sweep\'s schedule entry', () => {
  it('queues nothing when no job is active', async () => {
    expect(await sweep({}, lambdaContext())).toEqual({ queued: 0 });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});
