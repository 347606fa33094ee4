import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import type { TaskDefinition } from './lambdas/tasks/dsl.js';
import { tasks as fuzzTasks } from './test/support/fuzz-tasks.js';
import { tasks as unitTasks } from './test/support/unit-tasks.js';

/**
 * Unit, fuzz and infra tests load a test-owned tasks module as `#tasks` (the functions' tasks
 * module), so no product test depends on the example tasks: the sample tasks for infra, and the
 * sample tasks plus what their tests need for unit and fuzz (so no test adds a task at run time).
 */
const tasksAlias = (module: string) => ({ '#tasks': fileURLToPath(new URL(module, import.meta.url)) });
/** `TASK_IDS` as CDK sets it: every task of the module deployed. */
const taskIds = (tasks: readonly TaskDefinition[]) => tasks.map((task) => task.id).join(',');

/** Environment of the functions under unit and in-process fuzz tests (read at module load). */
const UNIT_ENV = { TABLE_NAME: 'executions-test', PAYLOAD_BUCKET: 'payloads-test', AWS_ACCESS_KEY_ID: 'unit-test', AWS_SECRET_ACCESS_KEY: 'unit-test', CURSOR_SECRET: 'test-secret', STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:123456789012:stateMachine:Test-', TASK_IDS: taskIds(unitTasks), AWS_REGION: 'us-east-1', LOG_LEVEL: 'error', WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries', BULK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bulk-pages',
  SCHEDULE_GROUP: 'Test-schedules',
  SCHEDULE_TARGET_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:Test-ScheduleRun',
  SCHEDULE_ROLE_ARN: 'arn:aws:iam::123456789012:role/Test-SchedulerInvoke',
  SCHEDULE_DEAD_LETTER_ARN: 'arn:aws:sqs:us-east-1:123456789012:Test-ScheduleDeadLetters',
};

export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['lambdas/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        'lambdas/domain/**': { lines: 90 },
        'lambdas/repository/**': { lines: 90 },
      },
    },
    projects: [
      {
        resolve: { alias: tasksAlias('test/support/unit-tasks.ts') },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          env: UNIT_ENV,
        },
      },
      {
        resolve: { alias: tasksAlias('test/support/fuzz-tasks.ts') },
        test: {
          // Property-based fuzzing of the HTTP handlers in process (fast-check; seeds and case counts are printed).
          name: 'fuzz',
          include: ['test/fuzz/**/*.fuzz.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          // The keys' default rate limits as large as they go: thousands of cases a second would use up
          // any real default and turn most reads into 429s. The other tenant's key has small limits of
          // its own (handlers.fuzz.test.ts), so 429s are fuzzed too.
          env: { ...UNIT_ENV, TASK_IDS: taskIds(fuzzTasks), RATE_LIMIT_CREATE: '1000000/1', RATE_LIMIT_READ: '1000000/1' },
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The example tasks, what `npm start` and `cdk deploy` use by default; their tests may name them.
          name: 'examples',
          include: ['test/examples/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'bench',
          include: ['test/bench/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env: { LOG_LEVEL: 'warn' },
        },
      },
      {
        resolve: { alias: tasksAlias('test/support/sample-tasks.ts') },
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          // One process for all infra files: later synths reuse the loaded aws-cdk-lib (11 s → 3 s).
          isolate: false,
          globals: true,
          setupFiles: ['aws-cdk-lib/testhelpers/jest-autoclean'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
