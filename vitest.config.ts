import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { tasks as sampleTasks } from './test/support/sample-tasks.js';

/**
 * Unit, fuzz and infra tests load the test-owned sample tasks as `#tasks` (the functions' tasks
 * module), so no product test depends on the example tasks.
 */
const TASKS_ALIAS = { '#tasks': fileURLToPath(new URL('test/support/sample-tasks.ts', import.meta.url)) };
const SAMPLE_IDS = sampleTasks.map((task) => task.id);

/** Environment of the functions under unit and in-process fuzz tests (read at module load). */
const UNIT_ENV = { TABLE_NAME: 'executions-test', CURSOR_SECRET: 'test-secret', STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:123456789012:stateMachine:Test-', TASK_IDS: [...SAMPLE_IDS, 'unit-task', 'wait-first'].join(','), AWS_REGION: 'us-east-1', LOG_LEVEL: 'error' };

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
        resolve: { alias: TASKS_ALIAS },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          env: UNIT_ENV,
        },
      },
      {
        resolve: { alias: TASKS_ALIAS },
        test: {
          // Property-based fuzzing of the HTTP handlers in process (fast-check; seeds and case counts are printed).
          name: 'fuzz',
          include: ['test/fuzz/**/*.fuzz.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          env: { ...UNIT_ENV, TASK_IDS: [...SAMPLE_IDS, 'fuzz-open-wait'].join(',') },
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
        resolve: { alias: TASKS_ALIAS },
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
