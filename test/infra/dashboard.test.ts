import { Stack } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { MAX_METRICS_PER_WIDGET, OperationsDashboard } from '../../infra/constructs/operations-dashboard.js';
import { EXECUTION_METRICS } from '../../lambdas/runtime/execution-metrics.js';
import { NAMESPACE } from '../../lambdas/shared/metrics.js';
import { onlyResource, resourcesOf, SAMPLE_TASKS, stateMachinesByName, synthService, testApp, tokenPlaceholder } from './support.js';

/** A metric of a graph widget as the dashboard body holds it: namespace, name, dimension pairs, then its options. */
type MetricEntry = readonly unknown[];

interface Widget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { readonly title?: string; readonly metrics?: readonly MetricEntry[] };
}

/** The dashboard body (an `Fn::Join` of JSON text and tokens), each token as its placeholder (`${Ref:Id}`). */
function bodyOf(dashboardBody: unknown): { widgets: readonly Widget[] } {
  const join = (dashboardBody as { 'Fn::Join': [string, readonly unknown[]] })['Fn::Join'];
  return JSON.parse(join[1].map((part) => (typeof part === 'string' ? part : tokenPlaceholder(part))).join(join[0])) as { widgets: readonly Widget[] };
}

const { template } = synthService();
const [dashboardId, dashboard] = onlyResource(template, 'AWS::CloudWatch::Dashboard');
const { widgets } = bodyOf(dashboard.Properties?.DashboardBody);
const graphs = widgets.filter((widget) => widget.type === 'metric');
/** Every metric of every graph, without its options: `[namespace, name, dimension, value, …]`. */
const metrics = graphs.flatMap((widget) => (widget.properties.metrics ?? []).map((entry) => entry.filter((part) => typeof part === 'string')));
/** The graph titles that show `metric`. */
const titlesShowing = (metric: readonly string[]) =>
  graphs.filter((widget) => (widget.properties.metrics ?? []).some((entry) => JSON.stringify(entry.filter((part) => typeof part === 'string')) === JSON.stringify(metric))).map((widget) => widget.properties.title);
const TASK_IDS = SAMPLE_TASKS.tasks.map((task) => task.id);

describe('operations dashboard', () => {
  it('is one dashboard, named after the stack and its region, whose console page is the DashboardUrl output', () => {
    expect(dashboard.Properties?.DashboardName).toEqual({ 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'operations', { Ref: 'AWS::Region' }]] });
    template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          ['https://', { Ref: 'AWS::Region' }, '.console.aws.amazon.com/cloudwatch/home?region=', { Ref: 'AWS::Region' }, '#dashboards/dashboard/', { Ref: dashboardId }],
        ],
      },
    });
  });

  it.each(['started', 'succeeded', 'failed', 'cancelled'] as const)('counts executions %s per task and for all tasks, from the metrics the functions write', (what) => {
    const name = EXECUTION_METRICS[what];

    for (const task of TASK_IDS) expect(titlesShowing([NAMESPACE, name, 'TaskId', task])).toEqual([`Executions ${what}`]);
    expect(titlesShowing([NAMESPACE, name])).toEqual([`Executions ${what}`]);
    const entries = graphs.find((widget) => widget.properties.title === `Executions ${what}`)!.properties.metrics!;
    for (const entry of entries) expect(entry.at(-1)).toMatchObject({ stat: 'Sum' });
  });

  it.each([
    ['duration', 'Execution duration, start to end (ms)'],
    ['waiting', 'Waiting for input, wait to resume or end (ms)'],
  ] as const)('shows the execution %s at p50 and p95, per task and for all tasks', (what, title) => {
    const entries = graphs.find((widget) => widget.properties.title === title)!.properties.metrics!;
    const shown = entries.map((entry) => [entry[3] ?? 'all tasks', (entry.at(-1) as { stat: string }).stat]);

    for (const task of [...TASK_IDS, 'all tasks']) {
      expect(shown).toContainEqual([task, 'p50']);
      expect(shown).toContainEqual([task, 'p95']);
    }
    for (const entry of entries) expect(entry.slice(0, 2)).toEqual([NAMESPACE, EXECUTION_METRICS[what]]);
  });

  it("shows the HTTP API's requests, 4xx and 5xx answers and latency", () => {
    const [apiId] = onlyResource(template, 'AWS::ApiGatewayV2::Api');
    const api = (name: string) => ['AWS/ApiGateway', name, 'ApiId', `\${Ref:${apiId}}`];

    for (const name of ['Count', '4xx', '5xx']) expect(titlesShowing(api(name))).toEqual(['API requests and errors']);
    expect(titlesShowing(api('Latency'))).toEqual(['API latency (ms)']);
    expect(titlesShowing(api('IntegrationLatency'))).toEqual(['API latency (ms)']);
  });

  it('shows the failed and timed-out executions of every state machine', () => {
    const machines = [...stateMachinesByName(template).values()];

    expect(machines.length).toBe(TASK_IDS.length);
    for (const { logicalId } of machines) {
      for (const name of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
        expect(titlesShowing(['AWS/States', name, 'StateMachineArn', `\${Ref:${logicalId}}`])).toEqual(['Step Functions executions failed and timed out']);
      }
    }
  });

  it('shows the errors and throttles of every function of the stack: a function added without them fails here', () => {
    const functions = Object.keys(resourcesOf(template, 'AWS::Lambda::Function'));

    expect(functions.length).toBeGreaterThan(10);
    for (const id of functions) {
      expect(titlesShowing(['AWS/Lambda', 'Errors', 'FunctionName', `\${Ref:${id}}`]), id).toHaveLength(1);
      expect(titlesShowing(['AWS/Lambda', 'Throttles', 'FunctionName', `\${Ref:${id}}`]), id).toHaveLength(1);
    }
    const shownFunctions = new Set(metrics.filter((metric) => metric[0] === 'AWS/Lambda').map((metric) => metric[3]));
    expect(shownFunctions.size).toBe(functions.length);
  });

  it('shows how many messages wait in every queue, the status-change and webhook dead-letter queues and LostChanges among them', () => {
    const queues = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));
    const depth = (id: string) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${GetAtt:${id}.QueueName}`];

    for (const prefix of ['StatusEventsDeadLetters', 'WebhooksDeadLetters', 'WebhooksLostChanges']) {
      expect(queues.filter((id) => id.startsWith(prefix)), prefix).toHaveLength(1);
    }
    for (const id of queues) expect(titlesShowing(depth(id)), id).toEqual(['Messages waiting in the queues (dead-letter queues: should be 0)']);
  });

  it(`keeps every graph readable (at most ${MAX_METRICS_PER_WIDGET} lines) and on the console's 24-unit grid`, () => {
    for (const widget of graphs) expect(widget.properties.metrics!.length, widget.properties.title).toBeLessThanOrEqual(MAX_METRICS_PER_WIDGET);
    for (const widget of widgets) expect(widget.x + widget.width, widget.properties.title).toBeLessThanOrEqual(24);
  });
});

describe('OperationsDashboard', () => {
  it('spreads many functions over several pairs of graphs, each function shown once', () => {
    const stack = new Stack(testApp(), 'Many');
    const count = MAX_METRICS_PER_WIDGET + 5;
    for (let index = 0; index < count; index++) {
      new LambdaFunction(stack, `Fn${index}`, { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => null;') });
    }
    const machine = new StateMachine(stack, 'Machine', { definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Done')) });
    new OperationsDashboard(stack, 'Operations', { httpApi: new HttpApi(stack, 'Api'), stateMachines: new Map([['only-task', machine]]), resources: stack });

    const [, resource] = onlyResource(Template.fromStack(stack), 'AWS::CloudWatch::Dashboard');
    const errors = bodyOf(resource.Properties?.DashboardBody).widgets.filter((widget) => widget.properties.title?.startsWith('Function errors'));

    expect(errors.map((widget) => widget.properties.title)).toEqual(['Function errors (1/2)', 'Function errors (2/2)']);
    expect(errors.map((widget) => widget.properties.metrics!.length)).toEqual([MAX_METRICS_PER_WIDGET, 5]);
    expect(new Set(errors.flatMap((widget) => widget.properties.metrics!.map((entry) => entry[3]))).size).toBe(count);
  });
});
