import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { acknowledgeWildcardResources } from './nag.js';

/**
 * Grants `action` on the executions of `stateMachines` and acknowledges the one wildcard it
 * needs (`execution:<state machine>:*`: execution ARNs end with an id known only at run time).
 */
export function grantExecutionAction(
  grantee: IGrantable,
  stateMachines: Iterable<IStateMachine>,
  action: 'states:DescribeExecution' | 'states:StopExecution' | 'states:RedriveExecution',
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

/**
 * Grants `actions` on every state machine of this stack by name prefix (`stateMachine:<prefix>*`),
 * for a function the state machines themselves invoke: naming them would make its policy depend on
 * them while they depend on it, a dependency cycle CloudFormation refuses. The one wildcard is
 * acknowledged with `purpose`.
 */
export function grantStateMachinesByPrefix(
  grantee: IGrantable,
  stateMachineArnPrefix: string,
  actions: readonly ('states:StartExecution' | 'states:SendTaskSuccess' | 'states:SendTaskFailure')[],
  purpose: string,
): void {
  const resources = [`${stateMachineArnPrefix}*`];
  grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: [...actions], resources }));
  acknowledgeWildcardResources(
    grantee,
    resources,
    '`stateMachine:<stack name>-*` is every task state machine of this stack (they are named <stack name>-<task id>), ' +
      `and nothing else: named by prefix because they invoke this function, so referencing them would make a dependency cycle. ${purpose}.`,
  );
}

/**
 * What doing an ended execution's family follow-ups needs (`lambdas/runtime/family.ts`): answering a
 * parent's `runTask` state (SendTaskSuccess/SendTaskFailure on the state machines) and stopping the
 * children it cancels (StopExecution on their executions).
 */
export function grantFamilyFollowUps(grantee: IGrantable, stateMachines: readonly IStateMachine[], purpose: string): void {
  for (const stateMachine of stateMachines) stateMachine.grantTaskResponse(grantee);
  grantExecutionAction(grantee, stateMachines, 'states:StopExecution', `${purpose}: children of an ended parent`);
}
