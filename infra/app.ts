import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExecutionsStack } from './executions-stack.js';
import { chooseTasksModule, loadTasksModule, TASKS_CONTEXT_KEY } from './tasks-module.js';

/** The context key of CDK's per-stack resource limit (`0`: no limit). */
const STACK_RESOURCE_LIMIT_CONTEXT = '@aws-cdk/core:stackResourceLimit';

const app = new App();
// Every synth (and so every deploy) runs the AWS Solutions checks: an unacknowledged finding fails
// it, listed in cdk.out/validation-report.json. Acknowledgements live in the constructs.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
const context: unknown = app.node.tryGetContext(TASKS_CONTEXT_KEY);
if (context !== undefined && typeof context !== 'string') throw new Error(`-c ${TASKS_CONTEXT_KEY}= must name a file, got ${JSON.stringify(context)}`);
const stack = new ExecutionsStack(app, 'AsyncExecutions', {
  description: 'Serverless async execution service (HTTP API, Step Functions, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  // -c tasks=<file>, else TASKS_MODULE, else the example tasks.
  tasksModule: await loadTasksModule(chooseTasksModule(context)),
});
// `npm start` synthesizes with -c @aws-cdk/core:stackResourceLimit=0 (its own stack is never
// deployed; a tasks module past CloudFormation's 500 resources must still run locally): CDK then
// skips its own count, and the CloudFormation validation that repeats it is acknowledged with it.
if (String(app.node.tryGetContext(STACK_RESOURCE_LIMIT_CONTEXT)) === '0') {
  Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::F0007', reason: 'Local synth (npm start): the 500-resource limit binds deployments only' });
}
app.synth();
