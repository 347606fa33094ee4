import { ChangeMessageVisibilityCommand, SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toItem } from '../../../lambdas/repository/items.js';
import { MARSHALL_OPTIONS } from '../../../lambdas/shared/dynamodb-client.js';
import type { WebhookMessage } from '../../../lambdas/webhooks/message.js';
import { lambdaContext } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { TENANT, executionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const DEAD_LETTER_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters';

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  new FakeTable().install(ddb);
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  vi.resetModules();
  vi.stubEnv('WEBHOOK_DEAD_LETTER_URL', DEAD_LETTER_URL);
  vi.stubEnv('API_BASE_URL', 'https://abc123.execute-api.us-east-1.amazonaws.com');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** One SQS message of an execution's own webhook_url, whose host resolves nowhere in unit tests. */
function deliveryEvent(): SQSEvent {
  const message: WebhookMessage = {
    messageId: 'msg_e1_2',
    type: 'execution.started',
    target: { kind: 'execution', tenant: TENANT, executionId: 'e1' },
    url: 'https://hooks.example.com/own',
    secret: 'whsec_b3du',
    payload: '{}',
  };
  return {
    Records: [
      {
        messageId: 'sqs-1',
        receiptHandle: 'receipt-1',
        body: JSON.stringify(message),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:deliveries',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

describe('deliver handler', () => {
  it('waits as WEBHOOK_RETRY_SECONDS says after a failed attempt', async () => {
    vi.stubEnv('WEBHOOK_RETRY_SECONDS', '100,200');
    const { handler } = await import('../../../lambdas/webhooks/deliver-handler.js');

    const response = await handler(deliveryEvent(), lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-1' }]);
    const delay = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input.VisibilityTimeout!;
    expect(delay).toBeGreaterThanOrEqual(90);
    expect(delay).toBeLessThanOrEqual(110);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { QueueUrl: QUEUE_URL, ReceiptHandle: 'receipt-1' });
  });

  it('uses the Standard Webhooks schedule without WEBHOOK_RETRY_SECONDS', async () => {
    vi.stubEnv('WEBHOOK_RETRY_SECONDS', '');
    const { handler } = await import('../../../lambdas/webhooks/deliver-handler.js');

    await handler(deliveryEvent(), lambdaContext());

    const delay = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input.VisibilityTimeout!;
    expect(delay).toBeGreaterThanOrEqual(4);
    expect(delay).toBeLessThanOrEqual(6);
  });

  it.each(['5,abc', '5,-1', '1.5'])('fails its cold start on WEBHOOK_RETRY_SECONDS=%s', async (value) => {
    vi.stubEnv('WEBHOOK_RETRY_SECONDS', value);

    await expect(import('../../../lambdas/webhooks/deliver-handler.js')).rejects.toThrow(`WEBHOOK_RETRY_SECONDS must list whole seconds, got ${value}`);
  });

  it('fails its cold start without the dead-letter queue URL', async () => {
    vi.stubEnv('WEBHOOK_DEAD_LETTER_URL', '');

    await expect(import('../../../lambdas/webhooks/deliver-handler.js')).rejects.toThrow(/WEBHOOK_DEAD_LETTER_URL/);
  });
});

describe('dispatch handler', () => {
  it('queues the events of the stream batch, their views linking to API_BASE_URL', async () => {
    const before = executionRecord({ status: 'queued', webhookUrl: 'https://hooks.example.com/own', webhookSecret: 'whsec_b3du' });
    const after = { ...before, status: 'running' as const, transitionCount: 2 };
    const record: DynamoDBRecord = {
      eventName: 'MODIFY',
      dynamodb: {
        OldImage: marshall(toItem(before), MARSHALL_OPTIONS) as NonNullable<DynamoDBRecord['dynamodb']>['OldImage'],
        NewImage: marshall(toItem(after), MARSHALL_OPTIONS) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
      },
    };
    const { handler } = await import('../../../lambdas/webhooks/dispatch-handler.js');

    await handler({ Records: [record] } satisfies DynamoDBStreamEvent, lambdaContext());

    const entries = sqsMock.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!;
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    const message = JSON.parse(entries[0]!.MessageBody!) as WebhookMessage;
    expect(JSON.parse(message.payload).data.status_url).toBe(`https://abc123.execute-api.us-east-1.amazonaws.com/executions/${before.id}`);
  });
});
