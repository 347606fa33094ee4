import { runtimeStore } from '../shared/stores.js';
import { createLogger } from '../shared/logger.js';
import { TASKS } from '../tasks/registry.js';
import type { StepPayload } from './payload.js';
import { runStep } from './step-runner.js';

const repository = runtimeStore();
const deps = { repository, tasks: TASKS, logger: createLogger('step-runner') };

/** Lambda entry of every step function (the state machines pass the task id and the step's name and index). */
export const handler = (payload: StepPayload): Promise<unknown> => runStep(deps, payload);
