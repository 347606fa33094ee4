import { Aws, Duration, Fn, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Dashboard, GraphWidget, Metric, TextWidget, type IMetric, type IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { EXECUTION_METRICS } from '../../lambdas/runtime/execution-metrics.js';
import { NAMESPACE } from '../../lambdas/shared/metrics.js';

/** Props of {@link OperationsDashboard}. */
export interface OperationsDashboardProps {
  /** The HTTP API: its requests, 4xx and 5xx answers and latency. */
  readonly httpApi: IHttpApi;
  /**
   * Each task's state machine by task id: its failed and timed-out executions. The task ids are
   * also the `TaskId` of the executions' own metrics.
   */
  readonly stateMachines: ReadonlyMap<string, IStateMachine>;
  /**
   * Where the functions and queues to show are: every Lambda function (errors, throttles) and SQS
   * queue (messages waiting) under it, found as the dashboard is built. Build it last, once they
   * all exist: one added later would be missing.
   */
  readonly resources: IConstruct;
}

/** Graph metrics per widget at most: more lines than this are split over several widgets, each still readable. */
export const MAX_METRICS_PER_WIDGET = 40;

const FIVE_MINUTES = Duration.minutes(5);
/** Widgets are laid out in rows of 24 units, as the console does. */
const HALF = 12;
const QUARTER = 6;
const HEIGHT = 6;

/** `items` in runs of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const runs: T[][] = [];
  for (let start = 0; start < items.length; start += size) runs.push(items.slice(start, start + size));
  return runs;
}

/** A graph of `metrics`, split into as many widgets as it takes (titled `1/2`, `2/2`…). */
function graphs(title: string, metrics: readonly IMetric[], width: number): GraphWidget[] {
  const parts = chunks(metrics, MAX_METRICS_PER_WIDGET);
  return parts.map(
    (part, index) =>
      new GraphWidget({
        title: parts.length > 1 ? `${title} (${index + 1}/${parts.length})` : title,
        left: part,
        width,
        height: HEIGHT,
      }),
  );
}

/** Where a construct is in its stack (`Webhooks/DeadLetters`): how a widget names a function or a queue. */
function labelOf(construct: IConstruct): string {
  const stack = Stack.of(construct);
  return construct.node.path.slice(stack.node.path.length + 1);
}

/**
 * The CloudWatch dashboard of the service: the executions (started, succeeded, failed and cancelled
 * per task and in all, their duration and waits for input at p50 and p95, from the metrics the
 * functions write), the HTTP API (requests, 4xx, 5xx, latency), the state machines (executions
 * failed and timed out), every queue's depth (the dead-letter queues among them) and every
 * function's errors and throttles.
 */
export class OperationsDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: Dashboard;
  /** The dashboard's page in the CloudWatch console. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const tasks = [...props.stateMachines.keys()];
    // Dashboards are global to the account: the region in the name lets a stack of the same name
    // be deployed in two regions.
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: Fn.join('-', [Aws.STACK_NAME, 'operations', Aws.REGION]),
      defaultInterval: Duration.hours(3),
    });
    this.url = Fn.join('', [
      'https://',
      Aws.REGION,
      '.console.aws.amazon.com/cloudwatch/home?region=',
      Aws.REGION,
      '#dashboards/dashboard/',
      this.dashboard.dashboardName,
    ]);

    const execution = (metricName: string, statistic: string, taskId?: string, label?: string): Metric =>
      new Metric({
        namespace: NAMESPACE,
        metricName,
        ...(taskId === undefined ? {} : { dimensionsMap: { TaskId: taskId } }),
        statistic,
        period: FIVE_MINUTES,
        label: label ?? taskId ?? 'all tasks',
      });
    /** A metric of every task, then the service's (no dimension). */
    const perTask = (metricName: string, statistic: string, suffix = '') => [
      ...tasks.map((task) => execution(metricName, statistic, task, `${task}${suffix}`)),
      execution(metricName, statistic, undefined, `all tasks${suffix}`),
    ];
    const percentiles = (metricName: string) => [...perTask(metricName, 'p50', ' p50'), ...perTask(metricName, 'p95', ' p95')];

    const functions = props.resources.node.findAll().filter((construct): construct is LambdaFunction => construct instanceof LambdaFunction);
    const queues = props.resources.node.findAll().filter((construct): construct is Queue => construct instanceof Queue);
    const machines = [...props.stateMachines];

    const widgets: IWidget[][] = [
      [
        new TextWidget({
          markdown:
            '## Async executions\nExecutions by task (namespace `AsyncExecutions`, written by the functions as they record each start, end and wait), ' +
            'then the HTTP API, the state machines, the queues (dead-letter queues included) and every function.',
          width: 24,
          height: 2,
        }),
      ],
      [
        ...graphs('Executions started', perTask(EXECUTION_METRICS.started, 'Sum'), QUARTER),
        ...graphs('Executions succeeded', perTask(EXECUTION_METRICS.succeeded, 'Sum'), QUARTER),
        ...graphs('Executions failed', perTask(EXECUTION_METRICS.failed, 'Sum'), QUARTER),
        ...graphs('Executions cancelled', perTask(EXECUTION_METRICS.cancelled, 'Sum'), QUARTER),
      ],
      [
        ...graphs('Execution duration, start to end (ms)', percentiles(EXECUTION_METRICS.duration), HALF),
        ...graphs('Waiting for input, wait to resume or end (ms)', percentiles(EXECUTION_METRICS.waiting), HALF),
      ],
      [
        ...graphs(
          'API requests and errors',
          [
            props.httpApi.metricCount({ period: FIVE_MINUTES, statistic: 'Sum', label: 'requests' }),
            props.httpApi.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum', label: '4xx' }),
            props.httpApi.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum', label: '5xx' }),
          ],
          HALF,
        ),
        ...graphs(
          'API latency (ms)',
          [
            ...['p50', 'p95', 'p99'].map((statistic) => props.httpApi.metricLatency({ period: FIVE_MINUTES, statistic, label: `latency ${statistic}` })),
            props.httpApi.metricIntegrationLatency({ period: FIVE_MINUTES, statistic: 'p95', label: 'integration p95' }),
          ],
          HALF,
        ),
      ],
      [
        ...graphs(
          'Step Functions executions failed and timed out',
          machines.flatMap(([task, machine]) => [
            machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum', label: `${task} failed` }),
            machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum', label: `${task} timed out` }),
          ]),
          HALF,
        ),
        ...graphs(
          'Messages waiting in the queues (dead-letter queues: should be 0)',
          queues.map((queue) => queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: labelOf(queue) })),
          HALF,
        ),
      ],
      // Each function's errors beside its throttles, as many rows as the functions take.
      ...chunks(functions, MAX_METRICS_PER_WIDGET).map((group, index, all) => {
        const part = all.length > 1 ? ` (${index + 1}/${all.length})` : '';
        return [
          ...graphs(`Function errors${part}`, group.map((fn) => fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: labelOf(fn) })), HALF),
          ...graphs(`Function throttles${part}`, group.map((fn) => fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum', label: labelOf(fn) })), HALF),
        ];
      }),
    ];
    for (const row of widgets) this.dashboard.addWidgets(...row);
  }
}
