import { stateMachineArnResolver } from '../api/context.js';
import { createLogger } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { familyStore } from '../shared/stores.js';
import { TASKS } from '../tasks/registry.js';
import { startChild, type ChildStartPayload, type ChildStartResult } from './child-start.js';

const deps = {
  repository: familyStore(),
  sfn,
  logger: createLogger('child-start'),
  tasks: TASKS,
  stateMachineArn: stateMachineArnResolver(),
};

/**
 * Lambda entry of every `runTask` state (`lambda:invoke.waitForTaskToken`): starts the child
 * execution; the child's end answers the state's task token.
 */
export const handler = (payload: ChildStartPayload): Promise<ChildStartResult> => startChild(deps, payload);
