import { runtimeStore } from '../shared/stores.js';
import { createLogger, logged } from '../shared/logger.js';
import { TASKS } from '../tasks/registry.js';
import { payloadKeys, type StepPayload } from './payload.js';
import { runStep } from './step-runner.js';

const repository = runtimeStore();
const deps = { repository, tasks: TASKS, logger: createLogger('step-runner') };

/** Lambda entry of every step function (the state machines pass the task id and the step's name and index). */
export const handler = logged(payloadKeys, (payload: StepPayload): Promise<unknown> => runStep(deps, payload));
