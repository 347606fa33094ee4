import { runtimeStore } from '../shared/stores.js';
import { createLogger } from '../shared/logger.js';
import { TASKS } from '../tasks/registry.js';
import type { WaitPayload } from './payload.js';
import { beginWait } from './wait-for-input.js';

const repository = runtimeStore();
const deps = { repository, tasks: TASKS, logger: createLogger('wait-for-input') };

/** Lambda entry of every wait step (`lambda:invoke.waitForTaskToken`). */
export const handler = (payload: WaitPayload): Promise<void> => beginWait(deps, payload);
