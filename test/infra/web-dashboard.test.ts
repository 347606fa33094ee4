import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { ENTRY_METADATA_KEY } from '../../infra/constructs/service-function.js';
import { buildDashboardPage } from '../../infra/dashboard-page.js';
import { DASHBOARD_ROUTE } from '../../lambdas/api/routes.js';
import { childOf, logicalIdOf, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);

describe('web dashboard', () => {
  it('serves GET /dashboard without an authorizer from a function of its own (the page bundle)', () => {
    const functionId = logicalIdOf(stack, api.dashboardFunction!);
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionId]!;
    const resource = template.toJSON().Resources[functionId] as { Metadata?: Record<string, unknown> };
    expect(resource.Metadata?.[ENTRY_METADATA_KEY]).toBe('api/dashboard.ts');
    expect(fn.Properties?.MemorySize).toBe(128);

    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).filter((route) => route.Properties?.RouteKey === DASHBOARD_ROUTE);
    expect(routes).toHaveLength(1);
    expect(routes[0]!.Properties?.AuthorizationType ?? 'NONE').toBe('NONE');
    const [integrationId] = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Integration')).find(
      ([, integration]) => JSON.stringify(integration.Properties?.IntegrationUri) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    )!;
    expect(routes[0]!.Properties?.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
  });

  it('has no page with IAM auth, where a browser could not sign its calls', () => {
    const { template: iamTemplate } = synthService({ auth: 'iam' });
    const keys = Object.values(resourcesOf(iamTemplate, 'AWS::ApiGatewayV2::Route')).map((route) => route.Properties?.RouteKey);
    expect(keys).not.toContain(DASHBOARD_ROUTE);
  });

  it('builds one page with its script and styles inline, admitted by hash, loading nothing from anywhere else', () => {
    const { html, csp } = buildDashboardPage();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

    expect(csp).toContain(`script-src ${hash(script)}`);
    expect(csp).toContain(`style-src ${hash(style)}`);
    expect(csp).toContain("connect-src 'self'");
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
  });
});
