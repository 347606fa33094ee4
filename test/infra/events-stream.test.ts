import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { childOf, logicalIdOf, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);

describe('streaming events Function URL', () => {
  const urls = resourcesOf(template, 'AWS::Lambda::Url');

  it('is one Function URL in RESPONSE_STREAM mode with auth NONE, on the streaming events function', () => {
    expect(Object.values(urls)).toHaveLength(1);
    const url = Object.values(urls)[0]!.Properties!;
    expect(url).toMatchObject({ InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
    expect(url.TargetFunctionArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack, api.eventsStreamFunction!), 'Arn'] });
  });

  it('lets browsers GET it with Authorization and Last-Event-ID (CORS)', () => {
    const cors = Object.values(urls)[0]!.Properties!.Cors as Record<string, unknown>;
    expect(cors).toMatchObject({ AllowMethods: ['GET'], AllowOrigins: ['*'], AllowHeaders: ['authorization', 'last-event-id'] });
  });

  it('runs the streaming handler for up to 15 minutes, reading the table, linking views to the HTTP API', () => {
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, api.eventsStreamFunction!)]!.Properties!;
    expect(fn.Timeout).toBe(900);
    const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.TABLE_NAME).toBeDefined();
    expect(JSON.stringify(variables.API_BASE_URL)).toContain(logicalIdOf(stack, api.httpApi));
  });

  it("is named to the events function, so a stream token's events_url points at it", () => {
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, api.functions.events)]!.Properties!;
    const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.EVENTS_STREAM_URL).toEqual({ 'Fn::GetAtt': [Object.keys(urls)[0], 'FunctionUrl'] });
  });

  it('is a stack output, EventsStreamUrl', () => {
    const outputs = template.findOutputs('EventsStreamUrl');
    expect(Object.keys(outputs)).toEqual(['EventsStreamUrl']);
    expect(JSON.stringify(outputs.EventsStreamUrl!.Value)).toContain('FunctionUrl');
  });
});
