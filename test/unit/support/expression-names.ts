import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type Input = {
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  [key: string]: unknown;
};

/** The placeholders (`#name`, `:value`) a request declares that none of its expressions uses: DynamoDB refuses such a request (ValidationException). */
function unusedIn(input: Input): string[] {
  const text = ['KeyConditionExpression', 'FilterExpression', 'ConditionExpression', 'UpdateExpression', 'ProjectionExpression']
    .map((name) => (typeof input[name] === 'string' ? (input[name] as string) : ''))
    .join(' ');
  const used = (placeholder: string) => new RegExp(`${placeholder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`).test(text);
  return [...Object.keys(input.ExpressionAttributeNames ?? {}), ...Object.keys(input.ExpressionAttributeValues ?? {})].filter((placeholder) => !used(placeholder));
}

/**
 * Every placeholder declared but unused in the requests `stub` received, by command (transactions
 * item by item): the fake table does not refuse them as DynamoDB does.
 */
export function unusedPlaceholders(stub: AwsClientStub<DynamoDBDocumentClient>): string[] {
  const found: string[] = [];
  for (const call of stub.calls()) {
    const input = (call.args[0] as { input: Input }).input;
    const items = (input.TransactItems as Array<Record<string, Input>> | undefined) ?? [input];
    for (const item of items) {
      for (const part of Object.values(item)) {
        if (typeof part === 'object' && part !== null) for (const name of unusedIn(part as Input)) found.push(`${call.args[0].constructor.name}: ${name}`);
      }
      if (!input.TransactItems) for (const name of unusedIn(input)) found.push(`${call.args[0].constructor.name}: ${name}`);
    }
  }
  return [...new Set(found)];
}
