import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { CLIENT_CONFIG } from './client-config.js';
import { requireEnv } from './env.js';
import type { SchedulerTarget } from '../runtime/schedule-sync.js';

/**
 * The EventBridge Scheduler client, built once, with bounded calls ({@link CLIENT_CONFIG}); honours
 * `AWS_ENDPOINT_URL_SCHEDULER` (the local stack's Scheduler endpoint).
 */
export const scheduler = new SchedulerClient(CLIENT_CONFIG);

/** Where the stack's schedules go and what they invoke, from the environment the stack sets. */
export function schedulerTargetFromEnv(): SchedulerTarget {
  return {
    groupName: requireEnv('SCHEDULE_GROUP'),
    functionArn: requireEnv('SCHEDULE_TARGET_ARN'),
    roleArn: requireEnv('SCHEDULE_ROLE_ARN'),
    deadLetterArn: requireEnv('SCHEDULE_DEAD_LETTER_ARN'),
  };
}
