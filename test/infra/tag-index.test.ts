import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { TagIndex } from '../../infra/constructs/tag-index.js';
import type { ExecutionRecord } from '../../lambdas/domain/execution.js';
import { MARSHALL_OPTIONS } from '../../lambdas/shared/dynamodb-client.js';
import { compileFilters } from '../../local/event-filter.js';
import { executionRecord, recordItem } from '../unit/support/records.js';
import { childOf, logicalIdOf, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService();
const tagIndex = childOf(stack, 'TagIndex', TagIndex);
const writerId = logicalIdOf(stack, tagIndex.indexFunction);
const mapping = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping')).find(
  (candidate) => JSON.stringify(candidate.Properties?.FunctionName).includes(writerId),
);
const patterns = ((mapping?.Properties?.FilterCriteria as { Filters: { Pattern: string }[] } | undefined)?.Filters ?? []).map((filter) => JSON.parse(filter.Pattern) as unknown);
/** The mapping's filters, as the local stack (which follows Lambda's pattern language) evaluates them. */
const invokes = compileFilters(patterns, 'tag index');

const image = (record: ExecutionRecord) => marshall(recordItem(record), MARSHALL_OPTIONS);
const change = (eventName: string, before?: ExecutionRecord, after?: ExecutionRecord, sk = 'META') => ({
  eventName,
  dynamodb: {
    Keys: { pk: { S: 'EXEC#t#1' }, sk: { S: sk } },
    ...(before ? { OldImage: image(before) } : {}),
    ...(after ? { NewImage: image(after) } : {}),
  },
});

describe('the tag index writer', () => {
  it('reads the table\'s stream from its start, in batches, retried and bisected, lost batches to an alarmed queue', () => {
    expect(mapping?.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(stack, tagIndex.lostChanges), 'Arn'] } } },
    });
    expect(patterns).toHaveLength(2);
  });

  it('is invoked for records created with tags and records removed with tags, never for a step\'s progress', () => {
    const tagged = executionRecord({ tags: ['nightly'] });
    const running = { ...tagged, status: 'running' as const, transitionCount: 2 };
    const untagged = executionRecord();

    expect(invokes(change('INSERT', undefined, tagged))).toBe(true);
    expect(invokes(change('REMOVE', running, undefined))).toBe(true);
    expect(invokes(change('MODIFY', tagged, running))).toBe(false);
    expect(invokes(change('MODIFY', running, { ...running, stepsCompleted: 1 }))).toBe(false);
    expect(invokes(change('INSERT', undefined, untagged))).toBe(false);
    expect(invokes(change('INSERT', undefined, executionRecord({ tags: [] })))).toBe(false);
    expect(invokes(change('REMOVE', untagged, undefined))).toBe(false);
    expect(invokes(change('INSERT', undefined, tagged, 'TR#0000000001'))).toBe(false);
  });
});
