import { requireEnv } from '../shared/env.js';
import { PayloadStore } from '../shared/payload-store.js';
import { s3 } from '../shared/s3.js';
import { runtimeStore } from '../shared/stores.js';
import { createLogger, logged } from '../shared/logger.js';
import { TASKS } from '../tasks/registry.js';
import { payloadKeys, type StepPayload } from './payload.js';
import { runStep } from './step-runner.js';

const repository = runtimeStore();
const deps = { repository, tasks: TASKS, logger: createLogger('step-runner'), payloads: new PayloadStore(s3, requireEnv('PAYLOAD_BUCKET')) };

/** Lambda entry of every step function (the state machines pass the task id and the step's name and index). */
export const handler = logged(payloadKeys, (payload: StepPayload): Promise<unknown> => runStep(deps, payload));
