import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, type IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ROUTES, type RouteGroup } from '../../lambdas/api/routes.js';
import { ServiceFunction } from './service-function.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link ExecutionsApi}. */
export interface ExecutionsApiProps {
  readonly table: ITableV2;
  /** State machines by task id. */
  readonly stateMachines: ReadonlyMap<string, IStateMachine>;
  /** ARN of a task's state machine minus the task id. */
  readonly stateMachineArnPrefix: string;
  /** Environment shared by the service's functions. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Steady-state requests per second of the default stage.
   * @default 1000
   */
  readonly rateLimit?: number;
  /**
   * Burst of the default stage.
   * @default 2000
   */
  readonly burstLimit?: number;
}

const DESCRIPTIONS: Readonly<Record<RouteGroup, string>> = {
  create: 'Creates executions and starts their state machines',
  read: 'Reads executions and transitions',
  control: 'Resumes and cancels executions',
  catalogue: 'Task catalogue, health, and the 404 of unknown routes',
};

/**
 * The HTTP API: one small function per route group (`lambdas/api/routes.ts`), each granted only
 * what its routes need. Readers cannot write; only the create function may start executions;
 * only the control function may send task tokens and stop executions.
 */
export class ExecutionsApi extends Construct {
  /** The HTTP API. */
  readonly httpApi: IHttpApi;
  /** The function of each route group. */
  readonly functions: Readonly<Record<RouteGroup, IFunction>>;

  constructor(scope: Construct, id: string, props: ExecutionsApiProps) {
    super(scope, id);
    const machines = [...props.stateMachines.values()];
    const withStateMachines = { ...props.environment, STATE_MACHINE_ARN_PREFIX: props.stateMachineArnPrefix };
    const make = (group: RouteGroup, environment: Readonly<Record<string, string>>) =>
      new ServiceFunction(this, `${group.charAt(0).toUpperCase()}${group.slice(1)}Function`, {
        entry: group === 'catalogue' ? 'api/catalogue.ts' : `api/executions-${group}.ts`,
        description: DESCRIPTIONS[group],
        environment,
      });
    const functions = {
      create: make('create', withStateMachines),
      read: make('read', props.environment),
      control: make('control', withStateMachines),
      catalogue: make('catalogue', {}),
    };
    this.functions = functions;

    grantTableAccess(functions.create, props.table, 'write');
    grantTableAccess(functions.read, props.table, 'read');
    grantTableAccess(functions.control, props.table, 'write');
    for (const machine of machines) {
      machine.grantStartExecution(functions.create);
      machine.grantTaskResponse(functions.control);
      machine.grantExecution(functions.control, 'states:StopExecution');
    }

    const api = new HttpApi(this, 'HttpApi', {
      description: 'Async executions: start, follow, list, resume and cancel long-running tasks',
      createDefaultStage: false,
    });
    api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 1000, burstLimit: props.burstLimit ?? 2000 },
    });
    this.httpApi = api;
    for (const group of Object.keys(ROUTES) as RouteGroup[]) {
      const integration = new HttpLambdaIntegration(`${group}Integration`, functions[group]);
      for (const routeKey of ROUTES[group]) {
        const key = routeKey === '$default' ? HttpRouteKey.DEFAULT : parseRouteKey(routeKey);
        new HttpRoute(this, `Route ${routeKey}`, { httpApi: api, routeKey: key, integration });
      }
    }
  }
}

function parseRouteKey(routeKey: string): HttpRouteKey {
  const [method, path] = routeKey.split(' ');
  return HttpRouteKey.with(path!, method as HttpMethod);
}
