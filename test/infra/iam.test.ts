import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { StatusEvents } from '../../infra/constructs/status-events.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import {
  actionCovers,
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  onlyResource,
  roleOfFunction,
  statementsOfFunction,
  synthService,
} from './support.js';

const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);
const runtime = childOf(stack, 'Runtime', TaskRuntime);
const FUNCTIONS: Record<string, IFunction> = {
  ...api.functions,
  stepRunner: runtime.stepFunction,
  waitForInput: runtime.waitFunction,
  statusChange: childOf(stack, 'StatusEvents', StatusEvents).handler,
  authorizer: api.authorizerFunction!,
};
const NAMES = Object.keys(FUNCTIONS);
const statementsOf = (name: string) => statementsOfFunction(template, logicalIdOf(stack, FUNCTIONS[name]!));
const roleOf = (name: string) => roleOfFunction(template, logicalIdOf(stack, FUNCTIONS[name]!));
/** Roles (any role of the template: functions and state machines) allowed `action`. */
const rolesAllowing = (action: string) =>
  [...new Set(allStatements(template).filter(({ statement }) => allows([statement], action)).map(({ role }) => role))].sort();

const DYNAMODB_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];
const [tableId] = onlyResource(template, 'AWS::DynamoDB::GlobalTable');
const stateMachineRefs = [...runtime.stateMachines.values()].map((machine) => ({ Ref: logicalIdOf(stack, machine) }));

describe('IAM least privilege', () => {
  it('the wildcard matcher used below recognises IAM wildcards', () => {
    expect(actionCovers('dynamodb:*', 'dynamodb:Scan')).toBe(true);
    expect(actionCovers('*', 'states:StartExecution')).toBe(true);
    expect(actionCovers('dynamodb:Sca?', 'dynamodb:Scan')).toBe(true);
    expect(actionCovers('DynamoDB:scan', 'dynamodb:Scan')).toBe(true);
    expect(actionCovers('dynamodb:Query', 'dynamodb:Scan')).toBe(false);
    expect(actionCovers('states:StartExecution', 'states:StartSyncExecution')).toBe(false);
  });

  it.each(NAMES)('%s has its own role with the attached policies found', (name) => {
    expect(statementsOf(name).length).toBeGreaterThan(0);
    expect(NAMES.filter((other) => roleOf(other) === roleOf(name))).toEqual([name]);
  });

  it.each(['read', 'authorizer'])('the %s function can get and query but has no write action and no Step Functions action', (name) => {
    const statements = statementsOf(name);
    expect(allows(statements, 'dynamodb:GetItem')).toBe(true);
    expect(allows(statements, 'dynamodb:Query')).toBe(true);
    for (const action of DYNAMODB_WRITES) expect(allows(statements, action), action).toBe(false);
    expect(actionsOf(statements).filter((action) => /^states:|^\*$/i.test(action))).toEqual([]);
  });

  it('only the create function may start executions, and only of this stack\'s state machines', () => {
    expect(rolesAllowing('states:StartExecution')).toEqual([roleOf('create')]);
    expect(rolesAllowing('states:StartSyncExecution')).toEqual([]);
    const start = statementsOf('create').filter((statement) => allows([statement], 'states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(start[0]!.Resource).toEqual(expect.arrayContaining(stateMachineRefs));
    expect(start[0]!.Resource).toHaveLength(stateMachineRefs.length);
  });

  it('only the control function may send task results and stop executions', () => {
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:StopExecution']) {
      expect(rolesAllowing(action), action).toEqual([roleOf('control')]);
    }
  });

  it('StopExecution is scoped to executions of this stack\'s state machines', () => {
    const stop = statementsOf('control').filter((statement) => allows([statement], 'states:StopExecution'));
    expect(stop).toHaveLength(1);
    const resources = JSON.stringify(stop[0]!.Resource);
    expect(resources).toContain(':execution:');
    for (const ref of stateMachineRefs) expect(resources).toContain(JSON.stringify(ref));
  });

  it('the status-change function may only describe executions, nothing else in Step Functions', () => {
    const actions = actionsOf(statementsOf('statusChange')).filter((action) => /^states:/i.test(action));
    expect(actions).toEqual(['states:DescribeExecution']);
  });

  it('the step runner and the wait function have no Step Functions actions', () => {
    for (const name of ['stepRunner', 'waitForInput']) {
      expect(actionsOf(statementsOf(name)).filter((action) => /^states:|^\*$/i.test(action)), name).toEqual([]);
    }
  });

  it('no policy anywhere grants dynamodb:Scan, dynamodb:* or *', () => {
    const all = allStatements(template);
    expect(all.length).toBeGreaterThan(0);
    for (const { role, statement } of all) {
      const actions = actionsOf([statement]);
      expect(allows([statement], 'dynamodb:Scan'), `${role}: ${actions.join(', ')}`).toBe(false);
      expect(actions, role).not.toContain('*');
      expect(actions.map((action) => action.toLowerCase()), role).not.toContain('dynamodb:*');
      expect(actions.map((action) => action.toLowerCase()), role).not.toContain('states:*');
    }
  });

  it('no function may delete items or write in batches', () => {
    for (const name of NAMES) {
      for (const action of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable']) {
        expect(allows(statementsOf(name), action), `${name} ${action}`).toBe(false);
      }
    }
  });

  it('DynamoDB grants are scoped to the executions table and its indexes', () => {
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    for (const { role, statement } of allStatements(template)) {
      if (!actionsOf([statement]).some((action) => /^dynamodb:/i.test(action))) continue;
      expect(statement.Resource, role).toEqual([tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }]);
    }
  });

  it('writers get exactly the item actions the repository\'s transactions need', () => {
    for (const name of ['create', 'control', 'stepRunner', 'waitForInput', 'statusChange']) {
      const statements = statementsOf(name);
      for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']) {
        expect(allows(statements, action), `${name} ${action}`).toBe(true);
      }
    }
  });

  it('the catalogue function has no DynamoDB or Step Functions actions', () => {
    const actions = actionsOf(statementsOf('catalogue'));
    expect(actions.filter((action) => /^(dynamodb|states):|^\*$/i.test(action))).toEqual([]);
  });
});
