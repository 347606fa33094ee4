import { CreateScheduleCommand, DeleteScheduleCommand, UpdateScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { ScheduleRecord } from '../domain/schedules.js';
import { errorName } from '../shared/dependency-errors.js';

/** Where the service's EventBridge Scheduler schedules go and what they invoke (set by the stack). */
export interface SchedulerTarget {
  /** The schedule group of the stack. */
  readonly groupName: string;
  /** The run function's ARN. */
  readonly functionArn: string;
  /** The role Scheduler assumes to invoke it. */
  readonly roleArn: string;
  /** The SQS queue that receives invocations that failed after their retries. */
  readonly deadLetterArn: string;
}

/**
 * Retries of a failed invocation of the run function: a few, within an hour. The run is
 * deduplicated by (schedule, scheduled time), so a retry after an invocation that did start the
 * execution replays it (the Idempotency-Key is kept 24 hours, longer than this window).
 */
export const RUN_RETRY_POLICY = { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600 } as const;

/** The event the run function receives: which schedule, and the time Scheduler scheduled this run for. */
export interface ScheduleRunEvent {
  readonly tenant: string;
  readonly schedule_id: string;
  /** `<aws.scheduler.scheduled-time>`, replaced by Scheduler with the run's scheduled time (ISO 8601). */
  readonly scheduled_time: string;
}

/** The Scheduler schedule of a record: its expression, zone, dates and state, targeting the run function. */
export function schedulerInput(schedule: ScheduleRecord, target: SchedulerTarget) {
  const input: ScheduleRunEvent = { tenant: schedule.tenant, schedule_id: schedule.id, scheduled_time: '<aws.scheduler.scheduled-time>' };
  return {
    Name: schedule.id,
    GroupName: target.groupName,
    ScheduleExpression: schedule.expression,
    ScheduleExpressionTimezone: schedule.timezone,
    ...(schedule.startDate ? { StartDate: new Date(schedule.startDate) } : {}),
    ...(schedule.endDate ? { EndDate: new Date(schedule.endDate) } : {}),
    // What the schedule is for; the API's description is the caller's and stays in the table.
    Description: `${schedule.taskId} for tenant ${schedule.tenant}`.slice(0, 512),
    State: schedule.state === 'active' ? ('ENABLED' as const) : ('DISABLED' as const),
    // Exactly at the scheduled time: a run is an execution its caller expects at that time.
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    Target: {
      Arn: target.functionArn,
      RoleArn: target.roleArn,
      Input: JSON.stringify(input),
      RetryPolicy: { ...RUN_RETRY_POLICY },
      DeadLetterConfig: { Arn: target.deadLetterArn },
    },
  };
}

const named = (error: unknown, name: string): boolean => errorName(error) === name;

/**
 * Makes Scheduler's schedule say what the record says: an update, or a create when it does not exist
 * (a create whose call was lost), or an update again when a concurrent push created it first; a
 * `fresh` record (just created) tries the create first. Idempotent: pushing the same record twice
 * leaves one schedule.
 */
export async function pushSchedule(client: SchedulerClient, schedule: ScheduleRecord, target: SchedulerTarget, fresh = false): Promise<void> {
  const input = schedulerInput(schedule, target);
  const create = () => client.send(new CreateScheduleCommand(input));
  const update = () => client.send(new UpdateScheduleCommand(input));
  try {
    await (fresh ? create() : update());
  } catch (error) {
    if (fresh ? !named(error, 'ConflictException') : !named(error, 'ResourceNotFoundException')) throw error;
    try {
      await (fresh ? update() : create());
    } catch (again) {
      // Between the two calls another push created it (or a delete removed it): once more settles it.
      if (!named(again, fresh ? 'ResourceNotFoundException' : 'ConflictException')) throw again;
      await (fresh ? create() : update());
    }
  }
}

/** Deletes a record's Scheduler schedule; one already gone counts as deleted. */
export async function removeSchedule(client: SchedulerClient, scheduleId: string, target: Pick<SchedulerTarget, 'groupName'>): Promise<void> {
  try {
    await client.send(new DeleteScheduleCommand({ Name: scheduleId, GroupName: target.groupName }));
  } catch (error) {
    if (!named(error, 'ResourceNotFoundException')) throw error;
  }
}
