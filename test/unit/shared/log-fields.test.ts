import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import type { StatusChangeDetail } from '../../../lambdas/runtime/status-change.js';
import type { WebhookMessage } from '../../../lambdas/webhooks/message.js';
import { apiEvent, lambdaContext } from '../support/api-events.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { captureLines, type CapturedLines, type Line } from '../support/log-lines.js';
import { STATE_MACHINE_ARN_PREFIX, TENANT, executionRecord, seed, transitionRecord } from '../support/records.js';
import { stepPayload } from '../support/unit-task.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

/** The request id `lambdaContext()` gives every invocation. */
const AWS_REQUEST_ID = 'aws-request-1';

let table: FakeTable;
let lines: CapturedLines;

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  sqs.reset();
  table = new FakeTable().install(ddb);
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  // The handlers make their loggers as they load: load them afresh at info level.
  vi.resetModules();
  vi.stubEnv('LOG_LEVEL', 'info');
  vi.stubEnv('WEBHOOK_DEAD_LETTER_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters');
  lines = captureLines();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** Every line written (logger entries and metric lines), each of which must name the invocation and the execution. */
function everyLine(): Line[] {
  const all = [...lines.entries, ...lines.metrics];
  expect(all.length).toBeGreaterThan(0);
  return all;
}

function expectFields(line: Line, record: ExecutionRecord): void {
  expect(line, JSON.stringify(line)).toMatchObject({ aws_request_id: AWS_REQUEST_ID, execution_id: record.id, task_id: record.taskId, tenant: record.tenant });
}

/** A sample-pipeline execution running its last step (not recorded yet). */
function running(): ExecutionRecord {
  const record = executionRecord({ status: 'running', transitionCount: 5, stepIndex: 2, stepName: 'summarize', stepsCompleted: 2, startedAt: '2026-01-02T03:04:06.000Z' });
  seed(table, record, [transitionRecord(record)]);
  return record;
}

describe('every log line names its request, execution, task and tenant', () => {
  it('an API route: the Lambda and API Gateway request ids, the caller\'s tenant, and the execution and task it acts on', async () => {
    const record = running();
    const { handler } = await import('../../../lambdas/api/executions-control.js');

    const response = await handler(apiEvent('POST /executions/{id}/cancel', { pathParameters: { id: record.id }, body: { reason: 'no longer needed' } }), lambdaContext());

    expect(response.statusCode).toBe(200);
    expect(lines.entries.map((entry) => entry.message)).toContain('execution cancelled');
    expect(lines.metrics.map((line) => line.ExecutionsCancelled)).toEqual([1]);
    for (const line of everyLine()) {
      expectFields(line, record);
      expect(line).toMatchObject({ request_id: 'request-1' });
    }
  });

  it('a step: the execution, task and tenant of its payload', async () => {
    const record = executionRecord();
    seed(table, record, [transitionRecord(record)]);
    const { handler } = await import('../../../lambdas/runtime/step-handler.js');

    await handler(stepPayload(record, 0, record.input), lambdaContext());

    expect(lines.entries.map((entry) => entry.message)).toEqual(expect.arrayContaining(['step started', 'step recorded']));
    expect(lines.metrics.map((line) => line.ExecutionsStarted)).toEqual([1]);
    for (const line of everyLine()) expectFields(line, record);
  });

  it('a status change: the execution of its event, and the tenant and task of its record', async () => {
    const record = running();
    const { handler } = await import('../../../lambdas/runtime/status-change-handler.js');
    const detail: StatusChangeDetail = {
      executionArn: record.executionArn,
      stateMachineArn: `${STATE_MACHINE_ARN_PREFIX}${record.taskId}`,
      name: record.id,
      status: 'SUCCEEDED',
      input: JSON.stringify({ tenant: record.tenant, input: record.input }),
      output: '{"summary":"done"}',
    };

    await handler({ detail } as EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>, lambdaContext());

    expect(lines.entries.map((entry) => entry.message)).toContain('terminal status recorded');
    expect(lines.metrics.map((line) => line.ExecutionsSucceeded)).toEqual([1]);
    for (const line of everyLine()) expectFields(line, record);
  });

  it('a webhook delivery: the execution, task and tenant of the message it delivers', async () => {
    const record = running();
    const message: WebhookMessage = {
      messageId: `msg_${record.id}_6`,
      type: 'execution.succeeded',
      target: { kind: 'execution', tenant: TENANT, executionId: record.id },
      url: 'https://hooks.example.com/own',
      secret: 'whsec_b3du',
      executionId: record.id,
      taskId: record.taskId,
      payload: '{}',
    };
    const event = {
      Records: [{ messageId: 'sqs-1', receiptHandle: 'receipt-1', body: JSON.stringify(message), attributes: { ApproximateReceiveCount: '1' } }],
    } as unknown as SQSEvent;
    const { handler } = await import('../../../lambdas/webhooks/deliver-handler.js');

    // Its endpoint resolves nowhere in unit tests: the attempt fails and is retried later.
    await handler(event, lambdaContext());

    expect(lines.entries.map((entry) => entry.message)).toContain('attempt failed; retrying');
    for (const line of everyLine()) {
      expectFields(line, record);
      expect(line).toMatchObject({ sqs_message_id: 'sqs-1', webhook_id: message.messageId });
    }
  });
});
