import { RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Function as LambdaFunction, type CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, IntegrationPattern, JsonPath, StateMachine, TaskInput } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExecutionsApi, type ExecutionsApiProps } from '../../infra/constructs/executions-api.js';
import { ENTRY_METADATA_KEY, ServiceFunction } from '../../infra/constructs/service-function.js';
import { StatusEvents } from '../../infra/constructs/status-events.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { TaskStateMachine } from '../../infra/constructs/task-state-machine.js';
import { Schedules } from '../../infra/constructs/schedules.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { writeTaskCatalogue } from '../../infra/task-catalogue.js';
import { lambdaStepsOf, type TaskDefinition } from '../../lambdas/tasks/dsl.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { SAMPLE_TASKS, testApp } from './support.js';

const task: TaskDefinition = TASKS.get('sample-pipeline')!;

function scratch(): { stack: Stack; fn: IFunction } {
  const stack = new Stack(testApp(), 'Scratch');
  const fn = LambdaFunction.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:us-east-1:123456789012:function:step');
  return { stack, fn };
}

function stateMachine(stateMachineName: string): () => TaskStateMachine {
  const { stack, fn } = scratch();
  return () => new TaskStateMachine(stack, 'Machine', { task, stepFunctions: new Map(lambdaStepsOf(task).map((step) => [step, fn])), waitFunction: fn, recordFunction: fn, stateMachineName });
}

describe('ExecutionsStack props', () => {
  it.each([0, -1, 1.5, Number.NaN])('rejects retentionDays %s', (retentionDays) => {
    expect(() => new ExecutionsStack(testApp(), 'X', { tasksModule: SAMPLE_TASKS, retentionDays })).toThrow(/retentionDays must be a positive integer/);
  });

  describe('with retentionDays, tableRemovalPolicy and tasks given', () => {
    let template: Template;
    beforeAll(() => {
      template = Template.fromStack(
        new ExecutionsStack(testApp(), 'X', { retentionDays: 7, tableRemovalPolicy: RemovalPolicy.DESTROY, tasksModule: { ...SAMPLE_TASKS, tasks: [task] } }),
      );
    });

    it('passes retentionDays to the functions', () => {
      const functions = Object.values(
        template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>,
      );
      const retention = functions.map((fn) => fn.Properties.Environment.Variables.RETENTION_DAYS).filter((value) => value !== undefined);
      expect(retention.length).toBeGreaterThan(0);
      expect(new Set(retention)).toEqual(new Set(['7']));
    });

    it('destroys the table with the stack', () => {
      template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    });

    it('deploys only the tasks it is given', () => {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'X-sample-pipeline' });
    });
  });

  it('rejects a stack name that makes a state machine name longer than 80 characters', () => {
    const id = 'S'.repeat(80 - '-sample-pipeline'.length + 1);
    expect(() => new ExecutionsStack(testApp(), id, { tasksModule: SAMPLE_TASKS })).toThrow(/longer than 80 characters/);
  });
});

describe('TaskStateMachine', () => {
  it('rejects a state machine name longer than 80 characters', () => {
    expect(stateMachine('x'.repeat(81))).toThrow(/State machine name is longer than 80 characters/);
  });

  it('accepts a name of exactly 80 characters', () => {
    expect(stateMachine('x'.repeat(80))).not.toThrow();
  });
});

describe('TaskRuntime', () => {
  it('rejects an empty task list', () => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    expect(() => new TaskRuntime(stack, 'Runtime', { table, tasks: [], namePrefix: 'P-', environment: {}, taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, []) })).toThrow(
      /TaskRuntime needs at least one task/,
    );
  });

  it('exposes the child-start function, which a state machine of the runtime can invoke without a dependency cycle', () => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    const runtime = new TaskRuntime(stack, 'Runtime', { table, tasks: [task], namePrefix: 'Scratch-', environment: {}, taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, [task]) });
    // What the compiler of runTask states does: a state machine of the stack invoking the function,
    // while the function may start (and answer) every state machine of the stack.
    new StateMachine(stack, 'Parent', {
      stateMachineName: 'Scratch-parent',
      definitionBody: DefinitionBody.fromChainable(
        new LambdaInvoke(stack, 'RunChild', {
          lambdaFunction: runtime.childStartFunction,
          integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: TaskInput.fromObject({ task_token: JsonPath.taskToken }),
        }),
      ),
    });

    // CDK validates the template as it synthesizes: a dependency cycle would throw here.
    const template = Template.fromStack(stack);

    expect(runtime.childStartFunction).toBeInstanceOf(ServiceFunction);
    expect((runtime.childStartFunction.node.defaultChild as CfnFunction).getMetadata(ENTRY_METADATA_KEY)).toBe('runtime/child-start-handler.ts');
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('child execution of a runTask') });
  });

  it('would make a dependency cycle with a grant naming the state machines (why the grant names them by prefix)', () => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    const runtime = new TaskRuntime(stack, 'Runtime', { table, tasks: [task], namePrefix: 'Scratch-', environment: {}, taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, [task]) });
    const parent = new StateMachine(stack, 'Parent', {
      definitionBody: DefinitionBody.fromChainable(
        new LambdaInvoke(stack, 'RunChild', {
          lambdaFunction: runtime.childStartFunction,
          integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: TaskInput.fromObject({ task_token: JsonPath.taskToken }),
        }),
      ),
    });
    parent.grantStartExecution(runtime.childStartFunction);

    expect(() => Template.fromStack(stack)).toThrow(/Circular dependency/);
  });
});

describe('StatusEvents', () => {
  it.each([0, -1, 2.5, Number.NaN])('rejects reservedConcurrency %s', (reservedConcurrency) => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    const stateMachines = [StateMachine.fromStateMachineName(stack, 'Machine', 'machine')];
    expect(() => new StatusEvents(stack, 'Events', { table, stateMachines, environment: {}, reservedConcurrency })).toThrow(
      /reservedConcurrency must be a positive integer/,
    );
  });

  it('rejects an empty state machine list', () => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    expect(() => new StatusEvents(stack, 'Events', { table, stateMachines: [], environment: {} })).toThrow(
      /at least one state machine/,
    );
  });
});

describe('ServiceFunction', () => {
  it.each(['/work/main/lambdas/api/catalogue.ts', '/api/catalogue.ts'])('rejects the absolute entry %s', (entry) => {
    const { stack } = scratch();
    expect(() => new ServiceFunction(stack, 'Fn2', { entry, description: 'x' })).toThrow(/relative to lambdas\//);
  });

  it('rejects an entry that is not a .ts module', () => {
    const { stack } = scratch();
    expect(() => new ServiceFunction(stack, 'Fn2', { entry: 'api/catalogue.js', description: 'x' })).toThrow(/\.ts path/);
  });

  it('accepts an entry relative to lambdas/', () => {
    const { stack } = scratch();
    expect(() => new ServiceFunction(stack, 'Fn2', { entry: 'api/catalogue.ts', description: 'x' })).not.toThrow();
  });
});

describe('ExecutionsApi', () => {
  const schedulesOf = (stack: Stack, table: ITableV2) =>
    new Schedules(stack, 'Schedules', {
      table,
      environment: {},
      stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:P-',
      taskIds: '',
      taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, []),
    });

  function api(
    limits: Pick<ExecutionsApiProps, 'rateLimit' | 'burstLimit' | 'createRateLimit' | 'createBurstLimit' | 'callbackRateLimit' | 'callbackBurstLimit'>,
  ): () => ExecutionsApi {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    return () =>
      new ExecutionsApi(stack, 'Api', {
        table,
        stateMachines: new Map(),
        stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:P-',
        environment: {},
        taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, []),
        webhookQueue: new Queue(stack, 'Deliveries'),
        bulkQueue: new Queue(stack, 'BulkPages'),
        schedules: schedulesOf(stack, table),
        ...limits,
      });
  }

  it.each([
    [{ createRateLimit: -1 }, /rate limit of the create routes must be a positive number/],
    [{ createRateLimit: 0 }, /rate limit of the create routes must be a positive number/],
    [{ createRateLimit: Number.NaN }, /rate limit of the create routes must be a positive number/],
    [{ createBurstLimit: -5 }, /burst limit of the create routes must be a positive integer/],
    [{ createBurstLimit: 2.5 }, /burst limit of the create routes must be a positive integer/],
    [{ rateLimit: -1 }, /rate limit of the stage must be a positive number/],
    [{ burstLimit: 0 }, /burst limit of the stage must be a positive integer/],
    [{ callbackRateLimit: 0 }, /rate limit of the resume link route must be a positive number/],
    [{ callbackBurstLimit: 1.5 }, /burst limit of the resume link route must be a positive integer/],
  ] as const)('rejects the throttle %o at synth', (limits, message) => {
    expect(api(limits)).toThrow(message);
  });

  it('throttles its $default stage with the configured limits', () => {
    const { stack } = scratch();
    const table = TableV2.fromTableName(stack, 'Table', 'executions');
    new ExecutionsApi(stack, 'Api', {
      table,
      stateMachines: new Map(),
      stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:P-',
      environment: {},
      taskCatalogue: writeTaskCatalogue(Stage.of(stack)!.outdir, []),
      webhookQueue: new Queue(stack, 'Deliveries'),
      bulkQueue: new Queue(stack, 'BulkPages'),
      schedules: schedulesOf(stack, table),
      rateLimit: 50,
      burstLimit: 100,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });
});
