import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { acknowledgeWildcardResources } from './nag.js';

/**
 * Grants `action` on the executions of `stateMachines` and acknowledges the one wildcard it
 * needs (`execution:<state machine>:*`: execution ARNs end with an id known only at run time).
 */
export function grantExecutionAction(
  grantee: IGrantable,
  stateMachines: Iterable<IStateMachine>,
  action: 'states:DescribeExecution' | 'states:StopExecution',
  purpose: string,
): void {
  for (const stateMachine of stateMachines) {
    const grant = stateMachine.grantExecution(grantee, action);
    acknowledgeWildcardResources(
      grantee,
      grant.principalStatements.flatMap((statement) => statement.resources),
      '`execution:<state machine>:*` is every execution of one task state machine of this service: execution ARNs end ' +
        `with the execution id, known only at run time. ${action.replace('states:', '')} only (${purpose}).`,
    );
  }
}
