import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExecutionsStack } from './executions-stack.js';
import { chooseTasksModule, loadTasksModule, TASKS_CONTEXT_KEY } from './tasks-module.js';

const app = new App();
// Every synth (and so every deploy) runs the AWS Solutions checks: an unacknowledged finding fails
// it, listed in cdk.out/validation-report.json. Acknowledgements live in the constructs.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
const context: unknown = app.node.tryGetContext(TASKS_CONTEXT_KEY);
if (context !== undefined && typeof context !== 'string') throw new Error(`-c ${TASKS_CONTEXT_KEY}= must name a file, got ${JSON.stringify(context)}`);
new ExecutionsStack(app, 'AsyncExecutions', {
  description: 'Serverless async execution service (HTTP API, Step Functions, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  // -c tasks=<file>, else TASKS_MODULE, else the example tasks.
  tasksModule: await loadTasksModule(chooseTasksModule(context)),
});
app.synth();
