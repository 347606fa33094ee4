// The create handler as it is commonly written without attention to cold starts: classic zod,
// middy, the document client and the Step Functions client, all at module scope. It is the
// benchmark's "naive baseline": never deployed, only bundled and imported.
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sfn = new SFNClient({});

const body = z.object({
  input: z.object({ document_url: z.string().url(), language: z.enum(['en', 'de', 'fr', 'es']).optional() }),
  metadata: z.record(z.string(), z.string()).optional(),
});

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
  const parsed = body.safeParse(JSON.parse(event.body ?? '{}'));
  if (!parsed.success) return { statusCode: 400, body: JSON.stringify(parsed.error.issues) };
  const id = randomUUID();
  await ddb.send(new PutCommand({ TableName: process.env.TABLE_NAME, Item: { pk: id, status: 'queued', ...parsed.data } }));
  await sfn.send(new StartExecutionCommand({ stateMachineArn: process.env.STATE_MACHINE_ARN, name: id, input: JSON.stringify(parsed.data) }));
  return { statusCode: 201, body: JSON.stringify({ id }) };
});
