import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { INDEXES, INDEX_SORT_KEY } from '../../lambdas/repository/keys.js';
import { onlyResource, synthService } from './support.js';

const { template } = synthService();
const TABLE = 'AWS::DynamoDB::GlobalTable';

describe('executions table', () => {
  it('is a single table keyed by pk (hash) and sk (range), both strings', () => {
    template.resourceCountIs(TABLE, 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResourceProperties(TABLE, {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    });
  });

  it('has exactly the by-tenant, by-task and by-status indexes, each sorted by id and projecting all attributes', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    expect(indexes.map((index) => index.IndexName).sort()).toEqual(['by-status', 'by-task', 'by-tenant']);
    expect(INDEX_SORT_KEY).toBe('id');
    for (const { name, partitionKey } of Object.values(INDEXES)) {
      const index = indexes.find((candidate) => candidate.IndexName === name);
      expect(index, name).toBeDefined();
      expect(index?.KeySchema, name).toEqual([
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ]);
      expect(index?.Projection, name).toEqual({ ProjectionType: 'ALL' });
    }
    for (const attribute of ['tenant_key', 'task_key', 'status_key', 'id']) {
      template.hasResourceProperties(TABLE, {
        AttributeDefinitions: Match.arrayWith([{ AttributeName: attribute, AttributeType: 'S' }]),
      });
    }
  });

  it('bills on demand', () => {
    template.hasResourceProperties(TABLE, { BillingMode: 'PAY_PER_REQUEST' });
    const [, table] = onlyResource(template, TABLE);
    expect(table.Properties).not.toHaveProperty('WriteProvisionedThroughputSettings');
  });

  it('has point-in-time recovery and deletion protection on its replica', () => {
    template.hasResourceProperties(TABLE, {
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('is encrypted at rest', () => {
    template.hasResourceProperties(TABLE, { SSESpecification: Match.objectLike({ SSEEnabled: true }) });
  });

  it('expires records through TTL on expires_at', () => {
    template.hasResourceProperties(TABLE, { TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true } });
  });

  it('is retained when the stack is deleted or the table replaced', () => {
    template.hasResource(TABLE, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
