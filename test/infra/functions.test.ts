import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { Admission } from '../../infra/constructs/admission.js';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { Reconciler } from '../../infra/constructs/reconciler.js';
import { TagIndex } from '../../infra/constructs/tag-index.js';
import { Schedules } from '../../infra/constructs/schedules.js';
import { Webhooks } from '../../infra/constructs/webhooks.js';
import { BulkActions } from '../../infra/constructs/bulk-actions.js';
import { StatusEvents } from '../../infra/constructs/status-events.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { WORST_CASE_CALL_MS } from '../../lambdas/shared/client-config.js';
import { childOf, logicalIdOf, onlyResource, resourcesOf, SAMPLE_TASKS, STACK_NAME, synthService, tokenPlaceholder } from './support.js';

const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);
const runtime = childOf(stack, 'Runtime', TaskRuntime);
const statusEvents = childOf(stack, 'StatusEvents', StatusEvents);
/** The function of each Lambda step, named `step:<task id>/<step name>`. */
const STEP_FUNCTIONS: Record<string, IFunction> = Object.fromEntries([...runtime.stepFunctions].map(([key, fn]) => [`step:${key}`, fn]));
const FUNCTIONS: Record<string, IFunction> = {
  ...api.functions,
  ...STEP_FUNCTIONS,
  waitForInput: runtime.waitFunction,
  recorder: runtime.recordFunction,
  childStart: runtime.childStartFunction,
  statusChange: statusEvents.handler,
  reconciler: childOf(stack, 'Reconciler', Reconciler).handler,
  admission: childOf(stack, 'Admission', Admission).handler,
  authorizer: api.authorizerFunction!,
  eventsStream: api.eventsStreamFunction!,
  dashboard: api.dashboardFunction!,
  webhookDispatch: childOf(stack, 'Webhooks', Webhooks).dispatchFunction,
  webhookDeliver: childOf(stack, 'Webhooks', Webhooks).deliverFunction,
  webhookRedrive: childOf(stack, 'Webhooks', Webhooks).redriveFunction,
  tagIndex: childOf(stack, 'TagIndex', TagIndex).indexFunction,
  bulkWorker: childOf(stack, 'BulkActions', BulkActions).workerFunction,
  bulkSweep: childOf(stack, 'BulkActions', BulkActions).sweepFunction,
  scheduleRun: childOf(stack, 'Schedules', Schedules).runFunction,
};
const functions = resourcesOf(template, 'AWS::Lambda::Function');
const [tableId] = onlyResource(template, 'AWS::DynamoDB::GlobalTable');

function environmentOf(name: string): Record<string, unknown> {
  const fn = functions[logicalIdOf(stack, FUNCTIONS[name]!)];
  if (!fn) throw new Error(`No function ${name} in the template`);
  return ((fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
}

/** A `Fn::Join` value as text, tokens replaced by placeholders. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, readonly unknown[]] })['Fn::Join'];
  if (!join) return tokenPlaceholder(value);
  return join[1].map((part) => (typeof part === 'string' ? part : tokenPlaceholder(part))).join(join[0]);
}

describe('Lambda functions', () => {
  it('are exactly the ten route group functions, the authorizer, the streaming events function, the dashboard page function, one function per Lambda step, the wait function, the recorder, the child-start function, the status-change function, the reconciler, the three webhook functions, the bulk worker and sweep, the schedule run function, the admission function and the tag index writer', () => {
    expect(Object.keys(functions).sort()).toEqual(Object.values(FUNCTIONS).map((fn) => logicalIdOf(stack, fn)).sort());
    expect(Object.keys(api.functions).sort()).toEqual(['batch', 'bulk', 'catalogue', 'control', 'create', 'events', 'read', 'recovery', 'schedules', 'webhooks']);
  });

  it.each(Object.keys(FUNCTIONS))('%s runs Node.js 24 on arm64 with active tracing and handler index.handler', (name) => {
    expect(functions[logicalIdOf(stack, FUNCTIONS[name]!)]?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
  });

  it.each(Object.keys(FUNCTIONS))('%s logs to its own log group with a retention', (name) => {
    const config = functions[logicalIdOf(stack, FUNCTIONS[name]!)]?.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined;
    const logGroupId = config?.LogGroup?.Ref;
    expect(logGroupId).toBeDefined();
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId!]?.Properties?.RetentionInDays).toBeGreaterThan(0);
    const others = Object.keys(FUNCTIONS).filter((other) => other !== name);
    for (const other of others) {
      const otherConfig = functions[logicalIdOf(stack, FUNCTIONS[other]!)]?.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } };
      expect(otherConfig.LogGroup?.Ref, other).not.toBe(logGroupId);
    }
  });

  it.each(Object.keys(FUNCTIONS))('%s enables source maps in stack traces', (name) => {
    expect(environmentOf(name).NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it.each(['create', 'batch', 'read', 'control', 'recovery', 'events', 'webhooks', 'schedules', ...Object.keys(STEP_FUNCTIONS), 'waitForInput', 'recorder', 'childStart', 'statusChange', 'reconciler', 'admission', 'webhookDispatch', 'webhookDeliver', 'webhookRedrive', 'tagIndex', 'bulk', 'bulkWorker', 'bulkSweep', 'scheduleRun'])(
    '%s gets the table name, cursor secret and retention it needs at cold start',
    (name) => {
      const environment = environmentOf(name);
      expect(environment.TABLE_NAME).toEqual({ Ref: tableId });
      expect(environment.CURSOR_SECRET).toBeDefined();
      expect(JSON.stringify(environment.CURSOR_SECRET)).toContain('AWS::StackId');
      expect(environment.RETENTION_DAYS).toBe('90');
    },
  );

  it.each(['create', 'batch', 'control', 'recovery', 'childStart', 'scheduleRun'])('%s gets a state machine ARN prefix that names this stack\'s state machines', (name) => {
    const prefix = joined(environmentOf(name).STATE_MACHINE_ARN_PREFIX);
    expect(prefix).toMatch(/^arn:\$\{Ref:AWS::Partition\}:states:\$\{Ref:AWS::Region\}:\$\{Ref:AWS::AccountId\}:stateMachine:/);
    const namePrefix = prefix.slice(prefix.lastIndexOf(':') + 1);
    expect(namePrefix).toBe(`${STACK_NAME}-`);
    for (const machine of runtime.stateMachines.values()) {
      const resource = resourcesOf(template, 'AWS::StepFunctions::StateMachine')[logicalIdOf(stack, machine)];
      expect(String(resource?.Properties?.StateMachineName).startsWith(namePrefix)).toBe(true);
    }
  });

  it('the catalogue function gets no table, secret or state machine settings: only the deployed task ids, and for the OpenAPI document the auth and the streaming URL', () => {
    const environment = environmentOf('catalogue');
    expect(Object.keys(environment).sort()).toEqual(['API_AUTH', 'EVENTS_STREAM_URL', 'NODE_OPTIONS', 'TASK_IDS']);
    expect(environment.API_AUTH).toBe('api-key');
    expect(environment.TASK_IDS).toBe(SAMPLE_TASKS.tasks.map((task) => task.id).join(','));
  });

  it('only create, batch, control, recovery, child start, the bulk worker (its actions take the control dependencies), the schedule run function, admission and the reconciler (which start executions) know the state machine ARN prefix', () => {
    const withPrefix = Object.keys(FUNCTIONS).filter((name) => 'STATE_MACHINE_ARN_PREFIX' in environmentOf(name));
    expect(withPrefix.sort()).toEqual(['admission', 'batch', 'bulkWorker', 'childStart', 'control', 'create', 'reconciler', 'recovery', 'scheduleRun']);
  });

  it('the batch function runs up to API Gateway\'s 29 s with 1 GB (1,000 creates per request)', () => {
    expect(functions[logicalIdOf(stack, api.functions.batch)]?.Properties).toMatchObject({ Timeout: 29, MemorySize: 1024 });
  });
});

describe('the events function', () => {
  it('waits 25 s per response by default and runs up to API Gateway\'s 29 s, at 256 MB (a watcher mostly sleeps)', () => {
    const properties = functions[logicalIdOf(stack, api.functions.events)]?.Properties;

    expect(environmentOf('events').EVENTS_WINDOW_SECONDS).toBe('25');
    expect(properties).toMatchObject({ Timeout: 29, MemorySize: 256 });
  });

  it('takes the window from the stack prop eventsWindow, and refuses one API Gateway could not wait for', () => {
    const { stack: short, template: shortTemplate } = synthService({ eventsWindow: Duration.seconds(3) });
    const shortApi = childOf(short, 'Api', ExecutionsApi);
    const variables = resourcesOf(shortTemplate, 'AWS::Lambda::Function')[logicalIdOf(short, shortApi.functions.events)]?.Properties
      ?.Environment as { Variables: Record<string, string> };

    expect(variables.Variables.EVENTS_WINDOW_SECONDS).toBe('3');
    expect(() => synthService({ eventsWindow: Duration.seconds(26) })).toThrow('eventsWindow must be whole seconds from 1 to 25, got 26');
    expect(() => synthService({ eventsWindow: Duration.millis(1500) })).toThrow('eventsWindow must be whole seconds');
  });
});

describe('AWS SDK call bounds', () => {
  it.each(Object.keys(FUNCTIONS))('%s runs at least twice as long as one SDK call can stall, so a stalled call still gets its 503', (name) => {
    const timeoutSeconds = functions[logicalIdOf(stack, FUNCTIONS[name]!)]?.Properties?.Timeout as number;

    expect(timeoutSeconds * 1000).toBeGreaterThanOrEqual(2 * WORST_CASE_CALL_MS);
  });
});
