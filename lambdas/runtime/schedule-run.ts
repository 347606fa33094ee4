import { ValidationError } from '../domain/errors.js';
import { SCHEDULE_ID_PATTERN, runIdempotencyKey } from '../domain/schedules.js';
import type { ScheduleStore } from '../repository/schedule-store.js';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import { validateWith } from '../api/validation.js';
import { startExecution, type CreateDeps } from './execution-control.js';
import type { ScheduleRunEvent } from './schedule-sync.js';

/** What a scheduled run needs: what starting an execution needs, the schedules, and the deployed tasks. */
export interface ScheduleRunDeps extends CreateDeps {
  readonly schedules: Pick<ScheduleStore, 'find'>;
  readonly tasks: ReadonlyMap<string, CatalogueTask>;
}

/** What became of one invocation. */
export type ScheduleRunOutcome =
  | { readonly outcome: 'started' | 'replayed'; readonly executionId: string }
  /** Nothing started: the schedule is gone, paused or being deleted, its task is no longer deployed, or its input no longer fits the task. */
  | { readonly outcome: 'skipped'; readonly reason: string };

/** An instant as Scheduler sends `<aws.scheduler.scheduled-time>`: ISO 8601 in UTC. */
const SCHEDULED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * Runs a schedule once: reads its item (the source of truth, strongly consistent) and starts an
 * ordinary execution of its task with its input, through {@link startExecution} (so concurrency
 * limits and the other create rules apply), linked by `schedule_id`, with metadata naming the
 * schedule and the scheduled time. The Idempotency-Key is (schedule id, scheduled time): Scheduler
 * delivers at least once, and a duplicated or retried invocation replays the first run instead of
 * starting a second. A schedule that is missing, paused or being deleted runs nothing: Scheduler may
 * still fire between a pause or delete written to the table and the same change reaching it.
 * @throws what starting throws (Step Functions or DynamoDB unavailable): Scheduler then retries
 * the invocation, and its dead-letter queue keeps it once the retries run out.
 */
export async function runSchedule(deps: ScheduleRunDeps, event: ScheduleRunEvent): Promise<ScheduleRunOutcome> {
  if (typeof event?.tenant !== 'string' || typeof event.schedule_id !== 'string' || !SCHEDULE_ID_PATTERN.test(event.schedule_id)) {
    return { outcome: 'skipped', reason: 'the event names no schedule' };
  }
  if (typeof event.scheduled_time !== 'string' || !SCHEDULED_TIME.test(event.scheduled_time)) {
    return { outcome: 'skipped', reason: 'the event has no scheduled time' };
  }
  const schedule = await deps.schedules.find(event.tenant, event.schedule_id);
  if (!schedule) return { outcome: 'skipped', reason: 'the schedule does not exist (deleted)' };
  if (schedule.state !== 'active') return { outcome: 'skipped', reason: `the schedule is ${schedule.state}` };
  const task = deps.tasks.get(schedule.taskId);
  if (!task) return { outcome: 'skipped', reason: `task ${schedule.taskId} is no longer deployed` };
  try {
    // Checked at create; a deployment may have changed the task's schema since.
    validateWith(task.input, schedule.input, '/input', `input of task ${task.id}`);
  } catch (error) {
    if (error instanceof ValidationError) return { outcome: 'skipped', reason: `its input no longer fits task ${task.id}: ${error.message}` };
    throw error;
  }
  const { record, replayed } = await startExecution(deps, {
    tenant: schedule.tenant,
    task,
    input: schedule.input,
    metadata: { ...schedule.metadata, schedule_id: schedule.id, scheduled_time: event.scheduled_time },
    idempotencyKey: runIdempotencyKey(schedule.id, event.scheduled_time),
    scheduleId: schedule.id,
  });
  return { outcome: replayed ? 'replayed' : 'started', executionId: record.id };
}
