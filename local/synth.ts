import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { ExecutionsStack, type ExecutionsStackProps } from '../infra/executions-stack.js';
import type { TasksModule } from '../infra/tasks-module.js';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Synthesizes the stack in-process into `outdir` with `tasksModule` (loaded with
 * `loadTasksModule`) and returns the template path. Bundling is
 * skipped: the local stack runs the handler modules, so it needs the template, not the bundles
 * (their asset paths in this template are not deployable). `props` sets other stack props (e.g. a
 * faster reconciler for tests).
 */
export function synthForLocal(outdir: string, tasksModule: TasksModule, props: Omit<ExecutionsStackProps, 'tasksModule'> = {}): string {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  // No resource limit: CloudFormation's 500 per stack binds a deployment (docs/capacity.md), not the
  // local stack, whose test tasks alone would pass it.
  const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new ExecutionsStack(app, 'AsyncExecutions', { ...props, tasksModule });
  Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::F0007', reason: 'Local synth: the 500-resource limit binds CloudFormation deployments only' });
  app.synth();
  return join(outdir, 'AsyncExecutions.template.json');
}
