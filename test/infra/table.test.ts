import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { INDEXES, INDEX_SORT_KEY, OPEN_INDEX, PARENT_INDEX } from '../../lambdas/repository/keys.js';
import { allows, onlyResource, resourcesOf, statementsOfFunction, synthService } from './support.js';

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

  it('has exactly the by-tenant-keys, by-task-keys and by-ended indexes (keys only, sorted by id), by-open, by-completed-keys, by-started, by-parent, by-due, by-group and by-admission', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    expect(indexes.map((index) => index.IndexName).sort()).toEqual([
      'by-admission',
      'by-completed-keys',
      'by-due',
      'by-ended',
      'by-group',
      'by-open',
      'by-parent',
      'by-started',
      'by-task-keys',
      'by-tenant-keys',
    ]);
    expect(indexes.find((index) => index.IndexName === 'by-group')).toMatchObject({
      KeySchema: [
        { AttributeName: 'group_key', KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    expect(INDEX_SORT_KEY).toBe('id');
    for (const { name, partitionKey } of Object.values(INDEXES)) {
      const index = indexes.find((candidate) => candidate.IndexName === name);
      expect(index, name).toBeDefined();
      expect(index?.KeySchema, name).toEqual([
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ]);
      expect(index?.Projection, name).toEqual({ ProjectionType: 'KEYS_ONLY' });
    }
    expect(Object.values(INDEXES).map((index) => [index.name, index.partitionKey])).toEqual([
      ['by-tenant-keys', 'tenant_key'],
      ['by-task-keys', 'task_key'],
      ['by-ended', 'status_key'],
    ]);
    for (const attribute of ['tenant_key', 'task_key', 'status_key', 'open_key', 'open_sort', 'started_at', 'completed_at', 'id']) {
      template.hasResourceProperties(TABLE, {
        AttributeDefinitions: Match.arrayWith([{ AttributeName: attribute, AttributeType: 'S' }]),
      });
    }
  });

  it('has by-completed-keys and by-started keyed by tenant_key, sparse by their sort keys completed_at and started_at, keys only (an execution enters each once)', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    for (const [name, sortKey] of [['by-completed-keys', 'completed_at'], ['by-started', 'started_at']] as const) {
      expect(indexes.find((index) => index.IndexName === name)).toEqual({
        IndexName: name,
        KeySchema: [
          { AttributeName: 'tenant_key', KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      });
    }
  });

  it('has a sparse by-admission index (held executions by stage) that projects only what admission reads', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    expect(indexes.find((index) => index.IndexName === 'by-admission')).toEqual({
      IndexName: 'by-admission',
      KeySchema: [
        { AttributeName: 'admission_key', KeyType: 'HASH' },
        { AttributeName: 'admission_sort', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['id', 'tenant', 'task_id', 'status', 'priority', 'concurrency_key', 'slot'] },
    });
  });

  it('has a sparse by-group index keyed by group_key, sorted by id, projecting everything (a batch\'s page is one Query)', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    const index = indexes.find((candidate) => candidate.IndexName === 'by-group');

    expect(index?.KeySchema).toEqual([
      { AttributeName: 'group_key', KeyType: 'HASH' },
      { AttributeName: 'id', KeyType: 'RANGE' },
    ]);
    expect(index?.Projection).toEqual({ ProjectionType: 'ALL' });
  });

  it('has a sparse by-open index keyed by the tenant\'s shard and <tenant>#<id>, projecting what the reconciler reads but not the status', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[];
    const index = indexes.find((candidate) => candidate.IndexName === 'by-open');

    expect(index?.KeySchema).toEqual([
      { AttributeName: 'open_key', KeyType: 'HASH' },
      { AttributeName: 'open_sort', KeyType: 'RANGE' },
    ]);
    expect(index?.Projection.ProjectionType).toBe('INCLUDE');
    expect([...(index?.Projection.NonKeyAttributes ?? [])].sort()).toEqual(['execution_arn', 'task_id', 'tenant']);
    expect(OPEN_INDEX).toMatchObject({ partitionKey: 'open_key', sortKey: 'open_sort' });
  });

  it('has a sparse by-parent index of the children of an execution, sorted by created_at, projecting everything', () => {
    const [, table] = onlyResource(template, TABLE);
    const indexes = table.Properties?.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    const index = indexes.find((candidate) => candidate.IndexName === PARENT_INDEX.name);

    expect(PARENT_INDEX).toEqual({ name: 'by-parent', partitionKey: 'parent_key', sortKey: 'created_at' });
    expect(index?.KeySchema).toEqual([
      { AttributeName: 'parent_key', KeyType: 'HASH' },
      { AttributeName: 'created_at', KeyType: 'RANGE' },
    ]);
    expect(index?.Projection).toEqual({ ProjectionType: 'ALL' });
    for (const attribute of ['parent_key', 'created_at']) {
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

describe('retention', () => {
  /** RETENTION_DAYS of every function whose role may write the table, by logical id. */
  function retentionOfWriters(stackTemplate: typeof template): Record<string, unknown> {
    const functions = resourcesOf(stackTemplate, 'AWS::Lambda::Function');
    const writers = Object.keys(functions).filter((id) => allows(statementsOfFunction(stackTemplate, id), 'dynamodb:UpdateItem'));
    expect(writers.length).toBeGreaterThan(0);
    return Object.fromEntries(
      writers.map((id) => [id, (functions[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.RETENTION_DAYS]),
    );
  }

  it('every function that can write the table gets RETENTION_DAYS (90 by default), so finished executions get expires_at', () => {
    for (const [id, days] of Object.entries(retentionOfWriters(template))) expect(days, id).toBe('90');
    template.hasResourceProperties(TABLE, { TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true } });
  });

  it('a configured retentionDays reaches every function that can write the table', () => {
    const { template: custom } = synthService({ retentionDays: 30 });
    for (const [id, days] of Object.entries(retentionOfWriters(custom))) expect(days, id).toBe('30');
  });
});
