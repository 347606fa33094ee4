import { describe, expect, it } from 'vitest';
import { Admission } from '../../infra/constructs/admission.js';
import { ADMISSION_STREAM_FILTERS } from '../../lambdas/runtime/admission-filters.js';
import { compileFilters } from '../../local/event-filter.js';
import { childOf, logicalIdOf, onlyResource, resourcesOf, type CfnResource } from './support.js';
import { synthService } from './support.js';

const { stack, template } = synthService();
const admission = childOf(stack, 'Admission', Admission);
const functionId = logicalIdOf(stack, admission.handler);
const [tableId] = onlyResource(template, 'AWS::DynamoDB::GlobalTable');

function mappingOf(id: string): CfnResource {
  const found = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping')).filter(
    (mapping) => JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify({ Ref: id }),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** A stream record of an execution record with this new image (attribute values as DynamoDB sends them). */
const change = (eventName: string, image: Record<string, unknown>) => ({ eventName, dynamodb: { Keys: { pk: { S: 'EXEC#t#1' }, sk: { S: 'META' } }, NewImage: image } });

describe('admission', () => {
  it('reads the table\'s stream from its start, filtered as the code says, with bisection, retries and an on-failure queue', () => {
    const mapping = mappingOf(functionId).Properties!;

    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(stack, admission.lostChanges), 'Arn'] } } },
    });
    const filters = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((filter) => JSON.parse(filter.Pattern) as unknown);
    expect(filters).toEqual(ADMISSION_STREAM_FILTERS);
  });

  it('is invoked for held inserts and for ends of records in admission, never for a step\'s progress or an unheld create', () => {
    const matches = compileFilters(ADMISSION_STREAM_FILTERS, 'admission');
    const held = { status: { S: 'queued' }, held: { BOOL: true } };

    expect(matches(change('INSERT', held))).toBe(true);
    expect(matches(change('INSERT', { status: { S: 'queued' } }))).toBe(false);
    expect(matches(change('MODIFY', { status: { S: 'running' }, admission_key: { S: 'S#t' } }))).toBe(false);
    expect(matches(change('MODIFY', { status: { S: 'succeeded' }, admission_key: { S: 'S#t' } }))).toBe(true);
    expect(matches(change('MODIFY', { status: { S: 'cancelled' }, admission_key: { S: 'Q#t' } }))).toBe(true);
    expect(matches(change('MODIFY', { status: { S: 'cancelled' }, held: { BOOL: true } }))).toBe(true);
    expect(matches(change('MODIFY', { status: { S: 'succeeded' } }))).toBe(false);
    expect(matches({ eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'EXEC#t#1' }, sk: { S: 'TR#0000000001' } }, NewImage: held } })).toBe(false);
  });

  it('runs every minute on an EventBridge schedule, and knows the state machines it starts', () => {
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule')).filter((rule) => JSON.stringify(rule.Properties?.Targets).includes(functionId));
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    const variables = (resourcesOf(template, 'AWS::Lambda::Function')[functionId]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(variables.STATE_MACHINE_ARN_PREFIX)).toContain(':stateMachine:');
  });

  it('alarms while a batch of changes could not be handled', () => {
    const alarm = resourcesOf(template, 'AWS::CloudWatch::Alarm')[logicalIdOf(stack, admission.lostChangesAlarm)]!;
    expect(alarm.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });
});
