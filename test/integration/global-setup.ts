import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { Duration } from 'aws-cdk-lib';
import { loadTasksModule } from '../../infra/tasks-module.js';
import { spawnLocalStack, stopLocalStack, type SpawnedLocalStack } from '../../local/spawn-stack.js';
import { synthForLocal } from '../../local/synth.js';
import { STAND_IN_ARGS } from './stand-ins.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The suite's tasks module: the local stack serves exactly its tasks. */
export const TASKS_MODULE = join(ROOT, 'test/integration/test-tasks.ts');
/** The development key of tenant `default` in the test stack. */
const API_KEY = 'integration-default-tenant-key';
/** Status-change events of this test task's state machine are dropped (fault injection). */
const LOST_EVENT_TASK = 'test-lost-event';
/** The reconciler leaves executions younger than this to their events. */
const RECONCILE_MIN_AGE = Duration.seconds(5);
/**
 * How long an event stream request waits for events (25 s deployed): short, so the tests and the
 * fuzzing of Julep's streams (answered whole, or 408 when the window ends first) of waiting
 * executions do not wait 25 s per request. The behaviour is the same at any length.
 */
const EVENTS_WINDOW = Duration.seconds(2);
/**
 * Webhook attempts 1 s apart, three in all, each given 1 s to answer (deployed: the Standard Webhooks
 * schedule over 27.6 h, 10 s each): a retry, a timeout and the dead-letter queue in seconds.
 */
const WEBHOOK_RETRIES = [Duration.seconds(1), Duration.seconds(1)];
const WEBHOOK_TIMEOUT = Duration.seconds(1);
/** The reconciler runs every minute, scaled to every second locally. */
const SCHEDULE_SCALE = 60;

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    sfnEndpoint: string;
    /** The local S3 server (s3rver) holding the payload bucket. */
    s3Endpoint: string;
    dynamoDbEndpoint: string;
    tableName: string;
    apiKey: string;
    /** The synthesized test template (the suite's tasks module), for tests that start stacks of their own. */
    templatePath: string;
    /** How old an execution must be before the reconciler looks at it, in ms. */
    reconcileMinAgeMs: number;
    /** How often the reconciler runs, in ms. */
    reconcileEveryMs: number;
    /** How long an event stream request waits for events, in ms. */
    eventsWindowMs: number;
    /** The streaming events Function URL (its own port). */
    eventsStreamUrl: string;
    /** The webhook dead-letter queue's URL on the local SQS (its host is the SQS endpoint). */
    webhookDeadLetterUrl: string;
    /** Where everything the stack prints goes, the functions' JSON log lines included. */
    stackOutputPath: string;
  }
}

let stack: SpawnedLocalStack | undefined;
let outdir: string | undefined;

/**
 * Synthesizes the stack with the suite's tasks module (`test-tasks.ts`), then starts the local
 * stack on free ports in a child process, exactly as `npm start` does (same CLI), with the
 * reconciler running every second and the status events of `test-lost-event` dropped.
 */
export async function setup(project: TestProject): Promise<void> {
  outdir = mkdtempSync(join(tmpdir(), 'executions-it-'));
  const template = synthForLocal(outdir, await loadTasksModule(TASKS_MODULE), {
    reconcileEvery: Duration.minutes(1),
    reconcileMinAge: RECONCILE_MIN_AGE,
    eventsWindow: EVENTS_WINDOW,
    webhookRetrySchedule: WEBHOOK_RETRIES,
    webhookTimeout: WEBHOOK_TIMEOUT,
  });

  const stackOutputPath = join(outdir, 'stack-output.log');
  stack = spawnLocalStack(['--template', template, '--tasks', TASKS_MODULE, ...STAND_IN_ARGS, '--port', '0'], {
    outputFile: stackOutputPath,
    env: {
      // The functions' info lines are what some tests observe the functions by.
      LOG_LEVEL: 'info',
      // Its state file goes with the template, not into the checkout's .local/.
      LOCAL_DIR: outdir,
      LOCAL_API_KEY: API_KEY,
      LOCAL_SCHEDULE_SCALE: String(SCHEDULE_SCALE),
      LOCAL_DROP_STATUS_EVENTS: LOST_EVENT_TASK,
    },
    timeoutMs: 60_000,
    echoErrors: process.env.LOCAL_STACK_LOGS === '1',
  });
  // A stack that never gets ready is stopped before this rejects: it cannot outlive the failed run.
  const ready = await stack.ready;
  project.provide('baseUrl', ready.url);
  project.provide('sfnEndpoint', ready.sfn);
  project.provide('s3Endpoint', ready.s3 ?? '');
  project.provide('dynamoDbEndpoint', ready.dynamodb);
  project.provide('tableName', ready.table);
  project.provide('apiKey', API_KEY);
  project.provide('templatePath', template);
  project.provide('reconcileMinAgeMs', RECONCILE_MIN_AGE.toMilliseconds());
  project.provide('reconcileEveryMs', 60_000 / SCHEDULE_SCALE);
  project.provide('eventsWindowMs', EVENTS_WINDOW.toMilliseconds());
  const [eventsStreamUrl] = ready.streamingUrls;
  if (!eventsStreamUrl) throw new Error('The local stack serves no streaming Function URL');
  project.provide('eventsStreamUrl', eventsStreamUrl);
  const deadLetters = Object.entries(ready.queues).find(([logicalId]) => logicalId.startsWith('WebhooksDeadLetters'))?.[1];
  if (!deadLetters) throw new Error('The local stack serves no webhook dead-letter queue');
  project.provide('webhookDeadLetterUrl', deadLetters);
  project.provide('stackOutputPath', stackOutputPath);
}

/** Stops the stack (SIGTERM, so it drains event deliveries and DynamoDB Local first) and removes its files. */
export async function teardown(): Promise<void> {
  if (stack) await stopLocalStack(stack, 20_000);
  if (outdir) rmSync(outdir, { recursive: true, force: true });
}
