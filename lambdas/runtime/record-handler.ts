import { createLogger, logged } from '../shared/logger.js';
import { runtimeStore } from '../shared/stores.js';
import { CATALOGUE } from '../tasks/catalogue-registry.js';
import { payloadKeys, type RecordPayload, type SleepPayload } from './payload.js';
import { beginSleep, recordStep, type StateData } from './recorder.js';

const repository = runtimeStore();
// The tasks' structure from their catalogue views: the recorder runs no task code.
const deps = { repository, tasks: new Map([...CATALOGUE].map(([id, task]) => [id, task.view])), logger: createLogger('recorder') };

/**
 * Lambda entry of the recorder, shared by every task: records parallel, map, choice, invoke and
 * runTask steps after they ran, and begins sleeps (the payload's `action` says which).
 */
export const handler = logged(payloadKeys, (payload: RecordPayload | SleepPayload): Promise<StateData | string> =>
  payload.action === 'sleep' ? beginSleep(deps, payload) : recordStep(deps, payload),
);
