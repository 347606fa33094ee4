import { callbackKey } from '../domain/callbacks.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { waitStore } from '../shared/stores.js';
import { createLogger, logged } from '../shared/logger.js';
import { CATALOGUE } from '../tasks/catalogue-registry.js';
import { payloadKeys, type WaitPayload } from './payload.js';
import { beginWait } from './wait-for-input.js';

const repository = waitStore();
const tasks = new Map([...CATALOGUE].map(([id, task]) => [id, task.view]));
const deps = { repository, tasks, logger: createLogger('wait-for-input'), callbackKey: callbackKey(repositoryOptions.cursorSecret) };

/** Lambda entry of every wait step (`lambda:invoke.waitForTaskToken`). */
export const handler = logged(payloadKeys, (payload: WaitPayload): Promise<void> => beginWait(deps, payload));
