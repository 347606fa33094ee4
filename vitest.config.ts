import { defineConfig } from 'vitest/config';

/** Environment of the functions under unit and in-process fuzz tests (read at module load). */
const UNIT_ENV = { TABLE_NAME: 'executions-test', CURSOR_SECRET: 'test-secret', STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:123456789012:stateMachine:Test-', TASK_IDS: 'document-pipeline,approval-flow,unit-task,wait-first', AWS_REGION: 'us-east-1', LOG_LEVEL: 'error' };

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
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          env: UNIT_ENV,
        },
      },
      {
        test: {
          // Property-based fuzzing of the HTTP handlers in process (fast-check; seeds and case counts are printed).
          name: 'fuzz',
          include: ['test/fuzz/**/*.fuzz.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          env: { ...UNIT_ENV, TASK_IDS: 'document-pipeline,approval-flow,fuzz-open-wait' },
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
          name: 'bench',
          include: ['test/bench/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env: { LOG_LEVEL: 'warn' },
        },
      },
      {
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
