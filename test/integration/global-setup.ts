import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { App } from 'aws-cdk-lib';
import type { TestProject } from 'vitest/node';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { TASKS } from '../../lambdas/tasks/registry.js';
import { tasks as testTasks } from './test-tasks.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The development key of tenant `default` in the test stack. */
const API_KEY = 'integration-default-tenant-key';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    sfnEndpoint: string;
    dynamoDbEndpoint: string;
    tableName: string;
    apiKey: string;
  }
}

let child: ChildProcess | undefined;
let outdir: string | undefined;

/**
 * Synthesizes the stack with the product tasks plus the test-only tasks, then starts the local
 * stack on free ports in a child process, exactly as `npm start` does (same CLI).
 */
export async function setup(project: TestProject): Promise<void> {
  outdir = mkdtempSync(join(tmpdir(), 'executions-it-'));
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  // Bundling is skipped: the local stack runs the handler modules, not the bundles.
  const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  new ExecutionsStack(app, 'AsyncExecutions', { tasks: [...TASKS.values(), ...testTasks] });
  app.synth();

  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'local/start.ts',
      '--template',
      join(outdir, 'AsyncExecutions.template.json'),
      '--tasks-module',
      'test/integration/test-tasks.ts',
      '--port',
      '0',
      '--json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOCAL_API_KEY: API_KEY } },
  );
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
    if (process.env.LOCAL_STACK_LOGS === '1') process.stderr.write(chunk);
  });
  const ready = await new Promise<{ url: string; sfn: string; dynamodb: string; table: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack not ready in 60 s:\n${errors}`)), 60_000);
    child!.once('exit', (code) => reject(new Error(`local stack exited (${code}):\n${errors}`)));
    createInterface({ input: child!.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      resolveReady(JSON.parse(line) as { url: string; sfn: string; dynamodb: string; table: string });
    });
  });
  project.provide('baseUrl', ready.url);
  project.provide('sfnEndpoint', ready.sfn);
  project.provide('dynamoDbEndpoint', ready.dynamodb);
  project.provide('tableName', ready.table);
  project.provide('apiKey', API_KEY);
}

export async function teardown(): Promise<void> {
  if (child && child.exitCode === null) {
    const exited = new Promise((done) => child!.once('exit', done));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (outdir) rmSync(outdir, { recursive: true, force: true });
}
