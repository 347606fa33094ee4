import { runtimeStore } from '../shared/stores.js';
import { createLogger } from '../shared/logger.js';
import { TASKS } from '../tasks/registry.js';
import type { StepPayload } from './payload.js';
import { runStep } from './step-runner.js';

const repository = runtimeStore();
const deps = { repository, tasks: TASKS, logger: createLogger('step-runner') };

/** Lambda entry of every Lambda step of every task (the state machines pass the step index). */
export const handler = (payload: StepPayload): Promise<unknown> => runStep(deps, payload);
