import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestProject } from 'vitest/node';
import { Duration } from 'aws-cdk-lib';
import { loadTasksModule } from '../../infra/tasks-module.js';
import { synthForLocal } from '../../local/synth.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The suite's tasks module: the local stack serves exactly its tasks. */
export const TASKS_MODULE = join(ROOT, 'test/integration/test-tasks.ts');
/** The development key of tenant `default` in the test stack. */
const API_KEY = 'integration-default-tenant-key';
/** Status-change events of this test task's state machine are dropped (fault injection). */
const LOST_EVENT_TASK = 'test-lost-event';
/** The reconciler leaves executions younger than this to their events. */
const RECONCILE_MIN_AGE = Duration.seconds(5);
/** The reconciler runs every minute, scaled to every second locally. */
const SCHEDULE_SCALE = 60;

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    sfnEndpoint: string;
    dynamoDbEndpoint: string;
    tableName: string;
    apiKey: string;
    /** The synthesized test template (the suite's tasks module), for tests that start stacks of their own. */
    templatePath: string;
    /** How old an execution must be before the reconciler looks at it, in ms. */
    reconcileMinAgeMs: number;
    /** How often the reconciler runs, in ms. */
    reconcileEveryMs: number;
  }
}

let child: ChildProcess | undefined;
let outdir: string | undefined;

/**
 * Synthesizes the stack with the suite's tasks module (`test-tasks.ts`), then starts the local
 * stack on free ports in a child process, exactly as `npm start` does (same CLI), with the
 * reconciler running every second and the status events of `test-lost-event` dropped.
 */
export async function setup(project: TestProject): Promise<void> {
  outdir = mkdtempSync(join(tmpdir(), 'executions-it-'));
  const template = synthForLocal(outdir, await loadTasksModule(TASKS_MODULE), { reconcileEvery: Duration.minutes(1), reconcileMinAge: RECONCILE_MIN_AGE });

  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'local/start.ts',
      '--template',
      template,
      '--tasks',
      TASKS_MODULE,
      '--port',
      '0',
      '--json',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // Its state file goes with the template, not into the checkout's .local/.
        LOCAL_DIR: outdir,
        LOCAL_API_KEY: API_KEY,
        LOCAL_SCHEDULE_SCALE: String(SCHEDULE_SCALE),
        LOCAL_DROP_STATUS_EVENTS: LOST_EVENT_TASK,
      },
    },
  );
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
    if (process.env.LOCAL_STACK_LOGS === '1') process.stderr.write(chunk);
  });
  const readiness = new Promise<{ url: string; sfn: string; dynamodb: string; table: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack not ready in 60 s:\n${errors}`)), 60_000);
    child!.once('exit', (code) => reject(new Error(`local stack exited (${code}):\n${errors}`)));
    createInterface({ input: child!.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      // Functions log JSON lines to stdout too; only the ready line says so.
      let parsed: { ready?: boolean; url: string; sfn: string; dynamodb: string; table: string };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        return;
      }
      if (parsed.ready !== true) return;
      clearTimeout(timer);
      resolveReady(parsed);
    });
  });
  // A stack that never got ready must not outlive the failed run.
  const ready = await readiness.catch((error: unknown) => {
    child?.kill('SIGTERM');
    throw error;
  });
  project.provide('baseUrl', ready.url);
  project.provide('sfnEndpoint', ready.sfn);
  project.provide('dynamoDbEndpoint', ready.dynamodb);
  project.provide('tableName', ready.table);
  project.provide('apiKey', API_KEY);
  project.provide('templatePath', template);
  project.provide('reconcileMinAgeMs', RECONCILE_MIN_AGE.toMilliseconds());
  project.provide('reconcileEveryMs', 60_000 / SCHEDULE_SCALE);
}

export async function teardown(): Promise<void> {
  if (child && child.exitCode === null) {
    const exited = new Promise((done) => child!.once('exit', done));
    child.kill('SIGTERM');
    // Stopping drains pending event deliveries and DynamoDB Local first; SIGKILL only as a last resort.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((done) => (timer = setTimeout(done, 20_000)))]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (outdir) rmSync(outdir, { recursive: true, force: true });
}
