import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLIENT_CONFIG } from './client-config.js';

/** How the document client turns items into DynamoDB attribute values (tests marshal with the same). */
export const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

/**
 * The DynamoDB document client, built once at module load, with bounded calls ({@link CLIENT_CONFIG}).
 * It honours `AWS_ENDPOINT_URL_DYNAMODB`, which is how the local stack points the same code at
 * DynamoDB Local.
 */
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient(CLIENT_CONFIG), {
  // A copy: the document client adds its own defaults to the object it is given.
  marshallOptions: { ...MARSHALL_OPTIONS },
});
