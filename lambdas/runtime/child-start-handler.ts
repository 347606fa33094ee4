import { stateMachineArnResolver } from '../api/context.js';
import { createLogger, logged } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { familyStore } from '../shared/stores.js';
import { CATALOGUE } from '../tasks/catalogue-registry.js';
import { startChild, type ChildStartResult } from './child-start.js';
import { payloadKeys, type StepPayload } from './payload.js';
import { scopeLevels } from './scope.js';

const deps = {
  repository: familyStore(),
  sfn,
  logger: createLogger('child-start'),
  tasks: CATALOGUE,
  stateMachineArn: stateMachineArnResolver(),
};

/**
 * Lambda entry of every `runTask` state (`lambda:invoke.waitForTaskToken`): starts the child
 * execution; the child's end answers the state's task token.
 */
export const handler = logged(payloadKeys, (payload: RunTaskPayload): Promise<ChildStartResult> => startChild(deps, { ...payload, instance: instanceOf(payload) }));

/** What a compiled `runTask` state sends: its step's place, the child task, its input and the token. */
export interface RunTaskPayload extends StepPayload {
  readonly child_task_id: string;
  readonly task_token: string;
}

/**
 * The step instance a `runTask` state runs as, unique in the execution and the same on every
 * retry: its place (map items and branches) and its step name, e.g. `research[2]/both[0]/investigate`.
 */
export function instanceOf(payload: RunTaskPayload): string {
  const place = scopeLevels(payload.scope, payload.segments).at(-1)?.path;
  return place ? `${place}/${payload.step ?? payload.step_index}` : String(payload.step ?? payload.step_index);
}
