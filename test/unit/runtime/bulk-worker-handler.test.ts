import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { newBulkJobId } from '../../../lambdas/domain/bulk.js';
import { handler } from '../../../lambdas/runtime/bulk-worker-handler.js';
import { handler as sweep } from '../../../lambdas/runtime/bulk-sweep-handler.js';
import { bulkMessageBody } from '../../../lambdas/runtime/bulk-worker.js';
import { lambdaContext } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  new FakeTable().install(ddb);
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

describe('the bulk sweep\'s schedule entry', () => {
  it('queues nothing when no job is active', async () => {
    expect(await sweep({}, lambdaContext())).toEqual({ queued: 0 });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});
