import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ServiceFunction } from './service-function.js';
import { grantTableAccess } from './table-access.js';

/** Props of {@link StatusEvents}. */
export interface StatusEventsProps {
  readonly table: ITableV2;
  /** The state machines whose terminal statuses are recorded. */
  readonly stateMachines: readonly IStateMachine[];
  readonly environment: Readonly<Record<string, string>>;
}

/** Terminal statuses of Step Functions executions. */
export const TERMINAL_SFN_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * Records how executions end: an EventBridge rule on "Step Functions Execution Status Change"
 * for this service's state machines invokes a function that writes `finish`, `error` or `cancel`
 * idempotently.
 */
export class StatusEvents extends Construct {
  /** The function that records terminal statuses. */
  readonly handler: ServiceFunction;
  /** The EventBridge rule. */
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: StatusEventsProps) {
    super(scope, id);
    if (props.stateMachines.length === 0) throw new Error('StatusEvents needs at least one state machine');
    this.handler = new ServiceFunction(this, 'Handler', {
      entry: 'runtime/status-change-handler.ts',
      description: 'Records the terminal status of a Step Functions execution',
      environment: props.environment,
    });
    grantTableAccess(this.handler, props.table, 'write');
    for (const stateMachine of props.stateMachines) {
      // Events leave out payloads over EventBridge's limit; the handler then reads them here.
      stateMachine.grantExecution(this.handler, 'states:DescribeExecution');
    }
    this.rule = new Rule(this, 'Rule', {
      description: 'Terminal status changes of the task state machines',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: TERMINAL_SFN_STATUSES,
          stateMachineArn: props.stateMachines.map((stateMachine) => stateMachine.stateMachineArn),
        },
      },
      targets: [new LambdaFunction(this.handler, { retryAttempts: 10, maxEventAge: Duration.hours(6) })],
    });
  }
}
