import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { ANSWER_RESERVE_MS, MAX_WAIT_SECONDS, POLL_GRACE_MS } from '../../lambdas/api/long-poll.js';
import { DASHBOARD_ROUTE, PUBLIC_ROUTES, ROUTES, type RouteGroup, type RouteKey } from '../../lambdas/api/routes.js';
import { childOf, logicalIdOf, onlyResource, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);
const [apiId] = onlyResource(template, 'AWS::ApiGatewayV2::Api');
const groups = Object.keys(ROUTES) as RouteGroup[];
/** What an HTTP API integration without `TimeoutInMillis` waits for its function: 30 s, the most HTTP APIs allow. */
const HTTP_API_DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000;
const CALLBACK_ROUTE: RouteKey = 'POST /callbacks/{token}';
const routeKeys = groups.flatMap((group) => ROUTES[group].map((key): [RouteGroup, string] => [group, key]));

/** Logical id of the integration that proxies to a group's function. */
function integrationOf(group: RouteGroup): string {
  const functionId = logicalIdOf(stack, api.functions[group]);
  const matches = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Integration')).filter(
    ([, integration]) => JSON.stringify(integration.Properties?.IntegrationUri) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
  );
  expect(matches, group).toHaveLength(1);
  return matches[0]![0];
}

describe('HTTP API', () => {
  it('is a single HTTP (API Gateway v2) API', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  });

  it('has one route per route key of ROUTES, $default included, and the dashboard page, and no other', () => {
    expect(routeKeys.map(([, key]) => key)).toContain('$default');
    template.resourceCountIs('AWS::ApiGatewayV2::Route', routeKeys.length + 1);
    const keys = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map((route) => route.Properties?.RouteKey);
    expect(keys.sort()).toEqual([...routeKeys.map(([, key]) => key), DASHBOARD_ROUTE].sort());
  });

  it.each(routeKeys)('%s route "%s" is served by its group function', (group, routeKey) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: apiId },
      RouteKey: routeKey,
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationOf(group) }]] },
    });
  });

  it('proxies to Lambda with payload format 2.0, one integration per route group and one of the dashboard page', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', groups.length + 1);
    for (const integration of Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Integration'))) {
      expect(integration.Properties).toMatchObject({ ApiId: { Ref: apiId }, IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    }
    for (const group of groups) integrationOf(group);
  });

  it("answers a held GET (Prefer: wait) from the read function: it outlasts the longest wait, and API Gateway's integration timeout (30 s by default) outlasts the function", () => {
    const readFunction = resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, api.functions.read)];
    const timeoutMs = (readFunction?.Properties?.Timeout as number) * 1000;
    const integration = resourcesOf(template, 'AWS::ApiGatewayV2::Integration')[integrationOf('read')];
    const integrationTimeoutMs = (integration?.Properties?.TimeoutInMillis as number | undefined) ?? HTTP_API_DEFAULT_INTEGRATION_TIMEOUT_MS;

    // The handler ends a hold ANSWER_RESERVE_MS before the function would be stopped: 25 s must fit.
    expect(timeoutMs - ANSWER_RESERVE_MS).toBeGreaterThanOrEqual(MAX_WAIT_SECONDS * 1000 + POLL_GRACE_MS);
    expect(timeoutMs).toBeLessThanOrEqual(integrationTimeoutMs);
  });

  it('lets API Gateway invoke each group function through one permission for any route of this API (not one per route: a stack has at most 500 resources)', () => {
    for (const group of groups) {
      const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter(
        (permission) =>
          permission.Properties?.Principal === 'apigateway.amazonaws.com' &&
          JSON.stringify(permission.Properties.FunctionName) ===
            JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, api.functions[group]), 'Arn'] }),
      );
      expect(permissions, group).toHaveLength(1);
      expect(JSON.stringify(permissions[0]!.Properties?.SourceArn), group).toContain(`"Ref":"${apiId}"`);
      expect(JSON.stringify(permissions[0]!.Properties?.SourceArn), group).toMatch(/\/\*\/\*"/);
    }
  });

  it('deploys automatically to a single $default stage throttled at 1000 rps, 2000 burst by default', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: apiId },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 }),
    });
  });
});

describe('create route throttling', () => {
  const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
  const settings = stage.Properties?.RouteSettings as Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> | undefined;

  it('throttles each create route (and the batch route, per request) at 75 rps, 400 burst by default: the single creates together within the smallest StartExecution quota (150/s, 800)', () => {
    expect(Object.keys(settings ?? {}).sort()).toEqual([...ROUTES.create, 'POST /executions/batch', CALLBACK_ROUTE].sort());
    for (const key of [...ROUTES.create, 'POST /executions/batch']) expect(settings?.[key], key).toEqual({ ThrottlingRateLimit: 75, ThrottlingBurstLimit: 400 });
    const together = ROUTES.create.map((key) => settings![key]!);
    expect(together.reduce((sum, route) => sum + route.ThrottlingRateLimit, 0)).toBeLessThanOrEqual(150);
    expect(together.reduce((sum, route) => sum + route.ThrottlingBurstLimit, 0)).toBeLessThanOrEqual(800);
  });

  it('deploys the stage after the create routes it throttles (CloudFormation refuses settings of a route that does not exist)', () => {
    const routes = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => (ROUTES.create as readonly string[]).includes(String(route.Properties?.RouteKey)))
      .map(([id]) => id);
    const [stageId] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
    const dependsOn = (template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> }).Resources[stageId]?.DependsOn ?? [];
    expect(routes).toHaveLength(ROUTES.create.length);
    expect(dependsOn).toEqual(expect.arrayContaining(routes));
  });

  it('takes the create routes\' limits from the stack props', () => {
    const { template: custom } = synthService({ createRateLimit: 20, createBurstLimit: 50 });
    const [, customStage] = onlyResource(custom, 'AWS::ApiGatewayV2::Stage');
    for (const key of ROUTES.create) {
      expect((customStage.Properties?.RouteSettings as Record<string, unknown>)[key], key).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 50 });
    }
    expect(customStage.Properties?.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 });
  });

  it('takes the stage\'s limits from the stack props apiRateLimit and apiBurstLimit, leaving the create routes\' own', () => {
    const { template: custom } = synthService({ apiRateLimit: 4000, apiBurstLimit: 5000 });
    const [, customStage] = onlyResource(custom, 'AWS::ApiGatewayV2::Stage');

    expect(customStage.Properties?.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 4000, ThrottlingBurstLimit: 5000 });
    for (const key of ROUTES.create) {
      expect((customStage.Properties?.RouteSettings as Record<string, unknown>)[key], key).toEqual({ ThrottlingRateLimit: 75, ThrottlingBurstLimit: 400 });
    }
  });

  it('refuses a stage limit API Gateway would not take, at synth', () => {
    expect(() => synthService({ apiRateLimit: 0 })).toThrow('The rate limit of the stage must be a positive number, got 0');
    expect(() => synthService({ apiBurstLimit: 1.5 })).toThrow('The burst limit of the stage must be a positive integer, got 1.5');
  });
});

describe('per-key rate limits', () => {
  const environmentOf = (source: typeof template, group: RouteGroup, stackOf = stack) => {
    const functionId = logicalIdOf(stackOf, childOf(stackOf, 'Api', ExecutionsApi).functions[group]);
    return (resourcesOf(source, 'AWS::Lambda::Function')[functionId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
  };

  it('gives the create, recovery (replays), read and events functions the service\'s defaults: 1,000 creates a minute and 100 reads a second per key', () => {
    for (const group of ['create', 'recovery', 'read', 'events'] as const) {
      expect(environmentOf(template, group), group).toMatchObject({ RATE_LIMIT_CREATE: '1000/60', RATE_LIMIT_READ: '100/1' });
    }
    expect(environmentOf(template, 'control')).not.toHaveProperty('RATE_LIMIT_CREATE');
  });

  it('takes the defaults from the stack props', () => {
    const custom = synthService({ perKeyCreateRate: '20/s', perKeyReadRate: '6000/min' });

    expect(environmentOf(custom.template, 'create', custom.stack)).toMatchObject({ RATE_LIMIT_CREATE: '20/1', RATE_LIMIT_READ: '6000/60' });
  });

  it.each([['perKeyCreateRate', 'fast'], ['perKeyReadRate', '0/s'], ['perKeyCreateRate', '10/2d']] as const)('refuses %s %s at synth', (prop, value) => {
    expect(() => synthService({ [prop]: value })).toThrow(new RegExp(`${prop} must be`));
  });
});

describe('resume links', () => {
  const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
  const settings = stage.Properties?.RouteSettings as Record<string, unknown> | undefined;
  const route = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).find(([, candidate]) => candidate.Properties?.RouteKey === CALLBACK_ROUTE);

  it('POST /callbacks/{token} exists, served by the control function, without any authorizer (the token is the credential)', () => {
    expect(route).toBeDefined();
    expect(ROUTES.control).toContain(CALLBACK_ROUTE);
    expect(PUBLIC_ROUTES).toContain(CALLBACK_ROUTE);
    expect(route![1].Properties?.AuthorizationType ?? 'NONE').toBe('NONE');
    expect(route![1].Properties).not.toHaveProperty('AuthorizerId');
  });

  it('is throttled on its own, at 50 rps and a burst of 100 by default, and from the stack props', () => {
    expect(settings?.[CALLBACK_ROUTE]).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const { template: custom } = synthService({ callbackRateLimit: 5, callbackBurstLimit: 10 });
    const [, customStage] = onlyResource(custom, 'AWS::ApiGatewayV2::Stage');
    expect((customStage.Properties?.RouteSettings as Record<string, unknown>)[CALLBACK_ROUTE]).toEqual({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
  });

  it('deploys the stage after the link route it throttles', () => {
    const [stageId] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
    const dependsOn = (template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> }).Resources[stageId]?.DependsOn ?? [];
    expect(dependsOn).toContain(route![0]);
  });
});

describe('stack outputs', () => {
  it('exports the API URL as ApiUrl', () => {
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] } });
  });

  it('exports the table name as TableName', () => {
    const [tableId] = onlyResource(template, 'AWS::DynamoDB::GlobalTable');
    template.hasOutput('TableName', { Value: { Ref: tableId } });
  });
});

describe('authorization', () => {
  const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
  const authorizers = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer'));
  const [authorizerId, authorizer] = authorizers.find(([, candidate]) => JSON.stringify(candidate.Properties?.IdentitySource) !== '[]')!;
  const [eventsAuthorizerId, eventsAuthorizer] = authorizers.find(([id]) => id !== authorizerId)!;

  it('puts the API key authorizer on every route but the public ones (health, the OpenAPI document, resume links, the dashboard page) and the events route', () => {
    expect(authorizers).toHaveLength(2);
    expect([...PUBLIC_ROUTES].sort()).toEqual(['GET /health', 'GET /healthz', 'GET /openapi.json', CALLBACK_ROUTE].sort());
    for (const route of routes) {
      const key = route.Properties?.RouteKey as RouteKey | typeof DASHBOARD_ROUTE;
      if (key === DASHBOARD_ROUTE || PUBLIC_ROUTES.includes(key)) {
        expect(route.Properties?.AuthorizationType ?? 'NONE', key).toBe('NONE');
      } else if (key === 'GET /executions/{id}/events') {
        expect(route.Properties, key).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: eventsAuthorizerId } });
      } else {
        expect(route.Properties, key).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      }
    }
  });

  it('gives POST /executions/{id}/stream-token the API key authorizer, served by the events function', () => {
    const route = routes.find((candidate) => candidate.Properties?.RouteKey === 'POST /executions/{id}/stream-token');
    expect(route?.Properties).toMatchObject({
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationOf('events') }]] },
    });
  });

  it('gives the events route an authorizer of its own that takes a key or a stream token: no identity source (they are ANDed) and no cache', () => {
    expect(eventsAuthorizer.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: [],
      AuthorizerResultTtlInSeconds: 0,
    });
    expect(eventsAuthorizer.Properties?.AuthorizerUri).toEqual(authorizer.Properties?.AuthorizerUri);
    const onEventsAuthorizer = routes.filter((route) => JSON.stringify(route.Properties?.AuthorizerId) === JSON.stringify({ Ref: eventsAuthorizerId }));
    expect(onEventsAuthorizer.map((route) => route.Properties?.RouteKey)).toEqual(['GET /executions/{id}/events']);
  });

  it('gives the authorizer function the deployment secret its stream token key derives from', () => {
    const variables = (resourcesOf(template, 'AWS::Lambda::Function')[logicalIdOf(stack, api.authorizerFunction!)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(variables.CURSOR_SECRET)).toContain('AWS::StackId');
  });

  it('is a Lambda REQUEST authorizer with simple responses, cached for a minute by the Authorization header', () => {
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 60,
    });
    expect(JSON.stringify(authorizer.Properties?.AuthorizerUri)).toContain(logicalIdOf(stack, api.authorizerFunction!));
  });

  it('uses IAM (SigV4) on every non-public route, and no authorizer function, when auth is iam', () => {
    const { template: iamTemplate } = synthService({ auth: 'iam' });

    const iamRoutes = Object.values(resourcesOf(iamTemplate, 'AWS::ApiGatewayV2::Route'));
    for (const route of iamRoutes) {
      const key = route.Properties?.RouteKey as RouteKey;
      expect(route.Properties?.AuthorizationType ?? 'NONE', key).toBe(PUBLIC_ROUTES.includes(key) ? 'NONE' : 'AWS_IAM');
    }
    iamTemplate.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('has no stream-token route when auth is iam: there is no key for a token to stand in for (a request falls to the 404 of $default)', () => {
    const { template: iamTemplate } = synthService({ auth: 'iam' });

    const keys = Object.values(resourcesOf(iamTemplate, 'AWS::ApiGatewayV2::Route')).map((route) => route.Properties?.RouteKey);
    expect(keys).toContain('GET /executions/{id}/events');
    expect(keys).toContain('$default');
    expect(keys).not.toContain('POST /executions/{id}/stream-token');
  });
});

describe('access logs', () => {
  const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
  const settings = stage.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string } | undefined;

  it('the default stage writes one JSON line per request to its own log group, kept three months', () => {
    const logGroupId = logicalIdOf(stack, api.accessLogs);
    expect(settings?.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(90);
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 90 } });
  });

  it('records request id, caller ip, route, status, latency, tenant and authorizer error', () => {
    const fields = JSON.parse(settings?.Format ?? '{}') as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
      authorizerError: '$context.authorizer.error',
      tenant: '$context.authorizer.tenant',
    });
  });

  it('logs no header, query string or body (API keys and cursors stay out)', () => {
    const values = Object.values(JSON.parse(settings?.Format ?? '{}') as Record<string, string>);
    for (const value of values) expect(value).not.toMatch(/header|querystring|requestOverride|body|authorization/i);
  });

  it('logs no path: a resume link carries its token there (the route key names the route)', () => {
    const values = Object.values(JSON.parse(settings?.Format ?? '{}') as Record<string, string>);
    for (const value of values) expect(value).not.toMatch(/\$context\.(path|resourcePath|http\.path)|pathParameters/i);
  });
});
