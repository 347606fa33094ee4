import { App } from 'aws-cdk-lib';
import { ExecutionsStack } from './executions-stack.js';

const app = new App();
new ExecutionsStack(app, 'AsyncExecutions', {
  description: 'Serverless async execution service (HTTP API, Step Functions, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
