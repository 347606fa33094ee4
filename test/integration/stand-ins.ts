import { join, resolve } from 'node:path';
import { LEGACY_SCORER_ARN } from './flow-tasks.js';

/**
 * What every local stack of the suite's template is started with besides its template: a stand-in
 * for the existing function the `test-invoke` task calls (the stack refuses to start without one).
 */
export const STAND_IN_ARGS: readonly string[] = [
  '--function',
  `${LEGACY_SCORER_ARN}=${join(resolve(import.meta.dirname), 'stand-ins/legacy-scorer.ts')}`,
];
