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
import { flattenCfnReference } from '../../infra/constructs/nag.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import {
  actionCovers,
  actionsOf,
  allStatements,
  allows,
  childOf,
  logicalIdOf,
  onlyResource,
  resourcesOf,
  roleOfFunction,
  statementsOfFunction,
  synthService,
  type PolicyStatement,
} from './support.js';

/** The condition of the one write the read functions may make: UpdateItem of rate counter items (`RATE#…`). */
const RATE_COUNTERS_ONLY = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RATE#*'] } };
const { stack, template } = synthService();
const api = childOf(stack, 'Api', ExecutionsApi);
const runtime = childOf(stack, 'Runtime', TaskRuntime);
/** The function of each Lambda step, named `step:<task id>/<step name>`. */
const STEP_FUNCTIONS = [...runtime.stepFunctions.keys()].map((key) => `step:${key}`);
const FUNCTIONS: Record<string, IFunction> = {
  ...api.functions,
  ...Object.fromEntries([...runtime.stepFunctions].map(([key, fn]) => [`step:${key}`, fn] as const)),
  waitForInput: runtime.waitFunction,
  recorder: runtime.recordFunction,
  childStart: runtime.childStartFunction,
  statusChange: childOf(stack, 'StatusEvents', StatusEvents).handler,
  reconciler: childOf(stack, 'Reconciler', Reconciler).handler,
  admission: childOf(stack, 'Admission', Admission).handler,
  authorizer: api.authorizerFunction!,
  webhookDispatch: childOf(stack, 'Webhooks', Webhooks).dispatchFunction,
  webhookDeliver: childOf(stack, 'Webhooks', Webhooks).deliverFunction,
  webhookRedrive: childOf(stack, 'Webhooks', Webhooks).redriveFunction,
  tagIndex: childOf(stack, 'TagIndex', TagIndex).indexFunction,
  bulkWorker: childOf(stack, 'BulkActions', BulkActions).workerFunction,
  bulkSweep: childOf(stack, 'BulkActions', BulkActions).sweepFunction,
  scheduleRun: childOf(stack, 'Schedules', Schedules).runFunction,
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

  it.each(['read', 'events'])('the %s function can get and query, writes nothing but its callers\' rate counters, and has no Step Functions action', (name) => {
    const statements = statementsOf(name);
    expect(allows(statements, 'dynamodb:GetItem')).toBe(true);
    expect(allows(statements, 'dynamodb:Query')).toBe(true);
    const writing = statements.filter((statement) => DYNAMODB_WRITES.some((action) => allows([statement], action)));
    expect(writing).toHaveLength(1);
    expect(actionsOf(writing)).toEqual(['dynamodb:UpdateItem']);
    expect(writing[0]!.Condition).toEqual(RATE_COUNTERS_ONLY);
    expect(actionsOf(statements).filter((action) => /^states:|^\*$/i.test(action))).toEqual([]);
  });

  it('only create, batch, recovery (replay), the bulk worker (bulk replay), admission and the reconciler (and child start and scheduled runs, by prefix) may start executions by name, and only of this stack\'s state machines', () => {
    expect(rolesAllowing('states:StartExecution')).toEqual([roleOf('create'), roleOf('batch'), roleOf('recovery'), roleOf('bulkWorker'), roleOf('childStart'), roleOf('scheduleRun'), roleOf('admission'), roleOf('reconciler')].sort());
    expect(rolesAllowing('states:StartSyncExecution')).toEqual([]);
    for (const name of ['create', 'batch', 'recovery', 'bulkWorker', 'admission', 'reconciler']) {
      const start = statementsOf(name).filter((statement) => allows([statement], 'states:StartExecution'));
      expect(start, name).toHaveLength(1);
      expect(start[0]!.Resource).toEqual(expect.arrayContaining(stateMachineRefs));
      expect(start[0]!.Resource).toHaveLength(stateMachineRefs.length);
    }
  });

  it('the admission function may only start executions in Step Functions', () => {
    const actions = actionsOf(statementsOf('admission')).filter((action) => /^states:/i.test(action));
    expect([...new Set(actions)]).toEqual(['states:StartExecution']);
  });

  it.each(['recovery', 'bulkWorker'])('only the recovery function and the bulk worker (bulk retry) may redrive executions: %s, only executions of this stack\'s state machines', (name) => {
    expect(rolesAllowing('states:RedriveExecution')).toEqual([roleOf('recovery'), roleOf('bulkWorker')].sort());
    const redrive = statementsOf(name).filter((statement) => allows([statement], 'states:RedriveExecution'));
    expect(redrive).toHaveLength(1);
    expect(actionsOf(redrive)).toEqual(['states:RedriveExecution']);
    const resources = JSON.stringify(redrive[0]!.Resource);
    expect(resources).toContain(':execution:');
    for (const ref of stateMachineRefs) expect(resources).toContain(JSON.stringify(ref));
  });

  it('the recovery function neither stops executions nor answers task tokens (the control function\'s); the bulk worker answers none either', () => {
    expect(actionsOf(statementsOf('recovery')).filter((action) => /^states:/i.test(action)).sort()).toEqual(['states:RedriveExecution', 'states:StartExecution']);
    expect(actionsOf(statementsOf('bulkWorker')).filter((action) => /^states:/i.test(action)).sort()).toEqual([
      'states:RedriveExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
  });

  it('the child-start function may start executions and answer task tokens of this stack\'s state machines, named by prefix (they invoke it)', () => {
    const statements = statementsOf('childStart').filter((statement) => actionsOf([statement]).some((action) => /^states:/i.test(action)));
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements).sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess', 'states:StartExecution']);
    expect(flattenCfnReference(statements[0]!.Resource)).toBe(
      `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${stack.stackName}-*`,
    );
    // No reference to a state machine: they will invoke this function, and a reference back would be a cycle.
    expect(JSON.stringify(statementsOf('childStart'))).not.toMatch(/"Ref":"[^"]*StateMachine/);
  });

  it('only the control, status-change, reconciler and child-start functions may send task results; the first three and the bulk worker stop executions', () => {
    const answering = [roleOf('control'), roleOf('statusChange'), roleOf('reconciler')].sort();
    expect(rolesAllowing('states:SendTaskSuccess')).toEqual([...answering, roleOf('childStart')].sort());
    expect(rolesAllowing('states:SendTaskFailure')).toEqual([...answering, roleOf('childStart')].sort());
    expect(rolesAllowing('states:StopExecution')).toEqual([...answering, roleOf('bulkWorker')].sort());
  });

  it.each(['control', 'statusChange', 'reconciler', 'bulkWorker'])('StopExecution of the %s function is scoped to executions of this stack\'s state machines', (name) => {
    const stop = statementsOf(name).filter((statement) => allows([statement], 'states:StopExecution'));
    expect(stop).toHaveLength(1);
    const resources = JSON.stringify(stop[0]!.Resource);
    expect(resources).toContain(':execution:');
    for (const ref of stateMachineRefs) expect(resources).toContain(JSON.stringify(ref));
  });

  it.each(['statusChange', 'reconciler'])(
    'the %s function may only describe and stop executions and answer task tokens of this stack\'s state machines in Step Functions (the reconciler also starts admitted executions whose start was lost)',
    (name) => {
      const statements = statementsOf(name).filter((statement) => actionsOf([statement]).some((action) => /^states:/i.test(action)));
      expect([...new Set(actionsOf(statements))].sort()).toEqual([
        'states:DescribeExecution',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
        ...(name === 'reconciler' ? ['states:StartExecution'] : []),
        'states:StopExecution',
      ]);
      for (const statement of statements) {
        const resources = JSON.stringify(statement.Resource);
        for (const ref of stateMachineRefs) expect(resources).toContain(JSON.stringify(ref));
      }
      expect(rolesAllowing('states:DescribeExecution')).toEqual([roleOf('statusChange'), roleOf('reconciler')].sort());
    },
  );

  it('the step functions and the wait function have no Step Functions actions', () => {
    for (const name of [...STEP_FUNCTIONS, 'waitForInput']) {
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

  it('no function may write in batches or delete tables; only the webhooks function (subscriptions), the schedules function (schedules), the bulk functions (the markers of active jobs) and the tag index writers (tag items) may delete items', () => {
    const deleting = ['webhooks', 'schedules', 'bulk', 'bulkWorker', 'batch', 'tagIndex'];
    for (const name of NAMES) {
      for (const action of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable']) {
        expect(allows(statementsOf(name), action), `${name} ${action}`).toBe(deleting.includes(name) && action === 'dynamodb:DeleteItem');
      }
    }
  });

  it.each(['batch', 'tagIndex'])('the %s function deletes tag index items only (TAG#), and reads records in batches only to list them', (name) => {
    const deletes = statementsOf(name).filter((statement) => allows([statement], 'dynamodb:DeleteItem'));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TAG#*'] } });
    expect(allows(statementsOf('read'), 'dynamodb:BatchGetItem')).toBe(true);
  });

  it.each(['bulk', 'bulkWorker'])('the %s function deletes bulk items only (a LeadingKeys condition), never an execution', (name) => {
    const deleting = statementsOf(name).filter((statement) => allows([statement], 'dynamodb:DeleteItem'));
    expect(deleting).toHaveLength(1);
    expect(JSON.stringify(deleting[0]!.Condition)).toBe(JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BULK#*', 'BULKITEMS#*', 'BULKACTIVE'] } }));
  });

  it('the bulk API function reads and writes bulk items only: no execution, no Step Functions action', () => {
    const statements = statementsOf('bulk').filter((statement) => actionsOf([statement]).some((action) => /^dynamodb:/i.test(action)));
    for (const statement of statements) expect(JSON.stringify(statement.Condition)).toContain('BULKITEMS#*');
    expect(actionsOf(statementsOf('bulk')).filter((action) => /^states:/i.test(action))).toEqual([]);
  });

  it('the bulk worker writes executions, replay Idempotency-Keys and reads index partitions only under the tenant-scoped keys (EXEC#, IDEM#, T#)', () => {
    const writing = statementsOf('bulkWorker').filter((statement) => allows([statement], 'dynamodb:UpdateItem'));
    expect(writing.map((statement) => JSON.stringify(statement.Condition)).sort()).toEqual(
      [
        JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BULK#*', 'BULKITEMS#*', 'BULKACTIVE'] } }),
        JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EXEC#*', 'IDEM#*', 'T#*'] } }),
      ].sort(),
    );
  });

  it('the bulk worker reads the tag index (TAG#) and records in batches, and only reads them', () => {
    const reading = statementsOf('bulkWorker').filter((statement) => allows([statement], 'dynamodb:BatchGetItem'));
    expect(reading.map((statement) => JSON.stringify(statement.Condition))).toEqual([
      JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LIMITS#*', 'TAG#*', 'A#*', 'EXEC#*'] } }),
    ]);
    expect(actionsOf(reading).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
  });

  it('DynamoDB grants are scoped to the executions table and its indexes', () => {
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    const authorizerRole = roleOf('authorizer');
    const streamReaders = [roleOf('webhookDispatch'), roleOf('admission'), roleOf('tagIndex')];
    for (const { role, statement } of allStatements(template)) {
      const actions = actionsOf([statement]);
      if (!actions.some((action) => /^dynamodb:/i.test(action))) continue;
      // The dispatch and admission functions' stream mappings read the table's stream, and nothing else with these actions.
      if (actions.some((action) => /Stream|GetRecords|GetShardIterator/.test(action))) {
        expect(streamReaders).toContain(role);
        expect(actions.every((action) => /^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(action)), role).toBe(true);
        continue;
      }
      // The authorizer's key lookups and the read functions' rate counters are items of the table, never of an index.
      const itemsOnly = role === authorizerRole || JSON.stringify(statement.Condition) === JSON.stringify(RATE_COUNTERS_ONLY);
      const expected = itemsOnly ? tableArn : [tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }];
      expect(statement.Resource, role).toEqual(expected);
    }
  });

  it('the authorizer may only GetItem API key items: no execution of any tenant is readable to it', () => {
    const statements = statementsOf('authorizer').filter((statement) => actionsOf([statement]).some((a) => a.startsWith('dynamodb:')));

    expect(statements).toHaveLength(1);
    expect(actionsOf(statements)).toEqual(['dynamodb:GetItem']);
    expect(statements[0]?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APIKEY#*'] } });
  });

  it('writers get exactly the item actions the repository\'s transactions need', () => {
    for (const name of ['create', 'batch', 'control', ...STEP_FUNCTIONS, 'waitForInput', 'recorder', 'childStart', 'statusChange', 'reconciler', 'admission']) {
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

describe('IAM least privilege: roles and wildcards', () => {
  const roles = resourcesOf(template, 'AWS::IAM::Role');
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const serviceOf = (role: string) =>
    JSON.stringify((roles[role]?.Properties?.AssumeRolePolicyDocument as { Statement: { Principal?: unknown }[] }).Statement.map((s) => s.Principal));
  const XRAY = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
  const STATE_MACHINE_STAR = [
    ...XRAY,
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ];
  const resourceList = (statement: PolicyStatement): unknown[] =>
    Array.isArray(statement.Resource) ? [...(statement.Resource as unknown[])] : [statement.Resource];

  it('no role has an AWS managed policy attached', () => {
    expect(Object.keys(roles).length).toBeGreaterThan(0);
    for (const [id, role] of Object.entries(roles)) expect(role.Properties?.ManagedPolicyArns, id).toBeUndefined();
  });

  it('every function may write logs only to its own log group, and create none', () => {
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const id of Object.keys(functions)) {
      const logGroup = (functions[id]?.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref;
      expect(logGroup, id).toBeDefined();
      const statements = statementsOfFunction(template, id);
      expect(allows(statements, 'logs:CreateLogGroup'), id).toBe(false);
      const writes = statements.filter((statement) => allows([statement], 'logs:PutLogEvents'));
      expect(writes.flatMap(resourceList), id).toEqual([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]);
    }
  });

  it('"*" resources carry only X-Ray actions for functions, and X-Ray plus log delivery for state machines', () => {
    for (const { role, statement } of allStatements(template)) {
      if (!resourceList(statement).includes('*')) continue;
      const allowed = serviceOf(role).includes('states.amazonaws.com') ? STATE_MACHINE_STAR : XRAY;
      for (const action of actionsOf([statement])) expect(allowed, `${role}: ${action} on *`).toContain(action);
    }
  });

  it('every other wildcard resource is a table index, an execution of this stack\'s state machines, a function qualifier, (child start, scheduled runs) this stack\'s state machines by name, (schedules) this stack\'s schedule group, or (steps, create, recovery, control, read) the payload bucket\'s objects', () => {
    const [bucketId] = onlyResource(template, 'AWS::S3::Bucket');
    const payloadObjects = `<${bucketId}.Arn>/*`;
    const payloadRoles = new Set([...STEP_FUNCTIONS, 'create', 'recovery', 'control', 'read'].map(roleOf));
    const group = childOf(stack, 'Schedules', Schedules).group;
    const groupSchedules = `arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${stack.resolve(group.scheduleGroupName) as string}/*`;
    const tableIndexes = `<${tableId}.Arn>/index/*`;
    const stackMachines = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${stack.stackName}-*`;
    const machines = stateMachineRefs.map((ref) => ref.Ref);
    const functionQualifiers = Object.keys(functions).map((id) => `<${id}.Arn>:*`);
    const wildcards = allStatements(template).flatMap(({ role, statement }) =>
      resourceList(statement)
        .filter((resource) => resource !== '*')
        .map((resource) => ({ role, resource: flattenCfnReference(resource) }))
        .filter(({ resource }) => resource.includes('*')),
    );
    expect(wildcards.length).toBeGreaterThan(0);
    for (const { role, resource } of wildcards) {
      const execution = /^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:(.+):\*$/.exec(resource);
      const ok =
        resource === tableIndexes ||
        (resource === stackMachines && (role === roleOf('childStart') || role === roleOf('scheduleRun'))) ||
        (resource === groupSchedules && role === roleOf('schedules')) ||
        (resource === payloadObjects && payloadRoles.has(role)) ||
        functionQualifiers.includes(resource) ||
        (execution !== null && machines.some((machine) => execution[1] === `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}`));
      expect(ok, `${role}: ${resource}`).toBe(true);
    }
  });
});
