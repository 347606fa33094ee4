import { requireEnv } from '../shared/env.js';

/** The AWS region functions run in (set by Lambda), for console links. */
export const REGION = process.env.AWS_REGION ?? 'us-east-1';

/**
 * Ids of the tasks this stack deployed (`TASK_IDS`, set by CDK). A task in the catalogue but not
 * deployed here has no state machine: the API treats it as unknown.
 */
export function deployedTaskIds(): ReadonlySet<string> {
  return new Set(requireEnv('TASK_IDS').split(','));
}

/** Builds the state machine ARN of a task from `STATE_MACHINE_ARN_PREFIX` (state machines are named prefix + task id). */
export function stateMachineArnResolver(): (taskId: string) => string {
  const prefix = requireEnv('STATE_MACHINE_ARN_PREFIX');
  return (taskId) => `${prefix}${taskId}`;
}
