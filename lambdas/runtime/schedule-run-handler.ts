import { stateMachineArnResolver } from '../api/context.js';
import { deployedTasks } from '../api/deployed-tasks.js';
import { tenantLimited } from '../repository/tenant-limits.js';
import { ScheduleStore } from '../repository/schedule-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { sfn } from '../shared/sfn.js';
import { createStore } from '../shared/stores.js';
import { runSchedule, type ScheduleRunDeps, type ScheduleRunOutcome } from './schedule-run.js';
import type { ScheduleRunEvent } from './schedule-sync.js';

const logger = createLogger('schedule-run');
const deps: ScheduleRunDeps = {
  repository: createStore(),
  schedules: new ScheduleStore(documentClient, repositoryOptions),
  sfn,
  logger,
  stateMachineArn: stateMachineArnResolver(),
  tasks: deployedTasks(),
  limited: (tenant) => tenantLimited(documentClient, repositoryOptions.tableName, tenant),
};

/**
 * Lambda entry EventBridge Scheduler invokes for each run of a recurring schedule (its target
 * input: `ScheduleRunEvent`): starts the run's execution, once per (schedule, scheduled time).
 */
export const handler = logged(
  (event: ScheduleRunEvent) => ({ tenant: event?.tenant, schedule_id: event?.schedule_id, scheduled_time: event?.scheduled_time }),
  async (event: ScheduleRunEvent): Promise<ScheduleRunOutcome> => {
    const result = await runSchedule(deps, event);
    if (result.outcome === 'skipped') logger.warn('scheduled run skipped', { reason: result.reason });
    else logger.info(result.outcome === 'started' ? 'scheduled run started' : 'scheduled run replayed', { execution_id: result.executionId });
    return result;
  },
);
