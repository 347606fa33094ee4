import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExecutionsStack } from './executions-stack.js';

const app = new App();
// Every synth (and so every deploy) runs the AWS Solutions checks: an unacknowledged finding fails
// it, listed in cdk.out/validation-report.json. Acknowledgements live in the constructs.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
new ExecutionsStack(app, 'AsyncExecutions', {
  description: 'Serverless async execution service (HTTP API, Step Functions, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
