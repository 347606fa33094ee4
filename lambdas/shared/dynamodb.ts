import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ExecutionsRepository } from '../repository/executions-repository.js';
import { intEnv, requireEnv } from './env.js';

/**
 * The repository every function shares, built once at module load from `TABLE_NAME`,
 * `CURSOR_SECRET` and `RETENTION_DAYS`. The client honours `AWS_ENDPOINT_URL_DYNAMODB`, which is
 * how the local stack points the same code at DynamoDB Local.
 */
export const repository = new ExecutionsRepository(
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
  {
    tableName: requireEnv('TABLE_NAME'),
    cursorSecret: requireEnv('CURSOR_SECRET'),
    retentionDays: intEnv('RETENTION_DAYS', 90),
  },
);
