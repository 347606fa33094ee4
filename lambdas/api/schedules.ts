import { randomUUID } from 'node:crypto';
import { NotFoundError, ResourceConflictError, ServiceUnavailableError, ValidationError } from '../domain/errors.js';
import { checkPayload } from '../domain/payload-limits.js';
import { SCHEDULE_ID_PATTERN, checkScheduleSpec, toScheduleView, type ScheduleRecord } from '../domain/schedules.js';
import { ScheduleStore } from '../repository/schedule-store.js';
import { pushSchedule, removeSchedule } from '../runtime/schedule-sync.js';
import { errorName, isDependencyUnavailable } from '../shared/dependency-errors.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { addLogKeys, createLogger } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { scheduler, schedulerTargetFromEnv } from '../shared/scheduler.js';
import { bodyOf, scheduleBody } from './bodies.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { scheduleListParams } from './queries.js';
import { cut, invalid, validateWith } from './validation.js';

const store = new ScheduleStore(documentClient, repositoryOptions);
const logger = createLogger('schedules');
const TARGET = schedulerTargetFromEnv();
const TASKS = deployedTasks();
const SCHEDULE_BODY = scheduleBody(new Set(TASKS.keys()));

function scheduleIdOf(event: ApiEvent): string {
  const id = param(event, 'id');
  if (!SCHEDULE_ID_PATTERN.test(id)) throw new NotFoundError(`No schedule ${id.slice(0, 64)} exists.`);
  return id;
}

const viewOf = (event: ApiEvent, schedule: ScheduleRecord) => toScheduleView(schedule, linksOf(event, '').apiBaseUrl);

/**
 * What a refusal of EventBridge Scheduler means to the caller: its ValidationException is the
 * request's fault (an expression or date it takes otherwise than the checks here), a 400 in its
 * words; anything else (throttling, its quota, an outage) is a 503 with `what` was done.
 */
function schedulerFailure(error: unknown, what: string): Error {
  if (errorName(error) === 'ValidationException') {
    return new ValidationError(`EventBridge Scheduler refused the schedule: ${cut(error instanceof Error ? error.message : String(error))}`, [
      { path: '', message: 'was refused by EventBridge Scheduler' },
    ]);
  }
  logger.error('EventBridge Scheduler call failed', { error });
  const cause = isDependencyUnavailable(error) ? 'timed out or throttled' : `refused (${errorName(error) || 'Error'})`;
  return new ServiceUnavailableError(`EventBridge Scheduler ${cause}; ${what}`);
}

/**
 * Creates a schedule: the item first (unsynced, counted against the tenant's limit), then its
 * Scheduler schedule, then the item marked synced. When Scheduler refuses, the item is removed
 * again; when this function dies in between, the item stays unsynced (`synced: false`) and a
 * pause, resume or delete of it pushes it again.
 */
async function createSchedule(event: ApiEvent) {
  const body = bodyOf(SCHEDULE_BODY, event.json);
  const checked = checkScheduleSpec(body);
  if ('errors' in checked) throw invalid('request body', checked.errors);
  const task = TASKS.get(body.task_id)!;
  validateWith(task.input, body.input, '/input', `input of task ${task.id}`);
  checkPayload(body.input, 'The input');
  const now = new Date().toISOString();
  const schedule: ScheduleRecord = {
    id: `sch_${randomUUID().replaceAll('-', '')}`,
    tenant: tenantOf(event),
    taskId: task.id,
    ...checked.spec,
    input: body.input,
    metadata: body.metadata ?? {},
    ...(body.description ? { description: body.description } : {}),
    state: 'active',
    synced: false,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  addLogKeys({ schedule_id: schedule.id, task_id: task.id });
  await store.create(schedule);
  try {
    await pushSchedule(scheduler, schedule, TARGET, true);
  } catch (error) {
    // Never leave a schedule the caller was told failed: take the item (and its place) back.
    await store.delete(schedule.tenant, schedule.id).catch((undo: unknown) => logger.error('could not remove the unscheduled item', { error: undo }));
    throw schedulerFailure(error, 'the schedule was not created. Retry.');
  }
  // A change made between the item and the push (the list shows it at once) is pushed after it.
  const latest = await pushLatest(schedule, false);
  logger.info('schedule created', { expression: schedule.expression });
  const view = viewOf(event, latest ?? schedule);
  return json(201, view, { location: `${linksOf(event, '').apiBaseUrl}/schedules/${schedule.id}` });
}

/**
 * Pauses or resumes: the item's state first (conditional on its version; a concurrent change makes
 * it read and write again), then Scheduler's schedule (ENABLED/DISABLED), then synced. Asking for
 * the state it already has answers it as it is, or pushes it again when it is not synced.
 */
async function setState(event: ApiEvent, state: 'active' | 'paused') {
  const changed = await changeTo(tenantOf(event), scheduleIdOf(event), state);
  if (changed.synced) return json(200, viewOf(event, changed));
  let pushed: ScheduleRecord | undefined;
  try {
    pushed = await pushLatest(changed);
  } catch (error) {
    throw schedulerFailure(error, `the schedule is recorded as ${state} (runs ${state === 'paused' ? 'are skipped' : 'wait for Scheduler'}); repeat the request to finish.`);
  }
  logger.info(state === 'paused' ? 'schedule paused' : 'schedule resumed', { schedule_id: changed.id });
  // Deleted meanwhile: the delete that won answers for it.
  if (!pushed) throw new NotFoundError(`No schedule ${changed.id} exists.`);
  return json(200, viewOf(event, pushed));
}

/** Pushes before a request stops looking for a newer version of the schedule (each push is cheap and idempotent). */
const MAX_PUSHES = 3;

/**
 * Pushes `record` to Scheduler, then reads the item again: when a concurrent change wrote a newer
 * version meanwhile (its own push may have landed before this one), that version is pushed too, so
 * Scheduler ends with the latest state whichever push landed last; when the schedule was deleted or
 * is being deleted meanwhile, its Scheduler schedule is deleted (a late push may have created it
 * again). Marks synced the version Scheduler was last given. `pushFirst: false`: `record` was pushed already.
 * @returns the schedule as pushed and marked, or undefined when it is deleted or being deleted.
 */
async function pushLatest(record: ScheduleRecord, pushFirst = true): Promise<ScheduleRecord | undefined> {
  let current = record;
  for (let push = 1; ; push++) {
    if (push > 1 || pushFirst) await pushSchedule(scheduler, current, TARGET);
    const now = await store.find(current.tenant, current.id);
    if (!now || now.state === 'deleting') {
      await removeSchedule(scheduler, current.id, TARGET);
      return undefined;
    }
    if (now.version === current.version || push >= MAX_PUSHES) {
      const synced = now.version === current.version && (await store.markSynced(current.tenant, current.id, current.version));
      return { ...now, synced };
    }
    current = now;
  }
}

/** Conditional writes a schedule's state gets before a request gives up on concurrent changes (503). */
const MAX_STATE_WRITES = 5;

/**
 * Sets a schedule's wanted state in the table (unsynced), re-reading and writing again when a
 * concurrent change of it came first (the version condition), so the request's intent is applied
 * to the schedule as it now is. A schedule that already has the state is returned as it is.
 * @throws ResourceConflictError (409) to pause or resume a schedule being deleted; NotFoundError (404).
 */
async function changeTo(tenant: string, id: string, state: 'active' | 'paused' | 'deleting'): Promise<ScheduleRecord> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(tenant, id);
    if (current.state === state) return current;
    if (current.state === 'deleting') throw new ResourceConflictError('This schedule is being deleted; DELETE it again to finish.');
    try {
      return await store.setState(current, state, new Date().toISOString());
    } catch (error) {
      if (!(error instanceof ResourceConflictError) || attempt >= MAX_STATE_WRITES) {
        throw error instanceof ResourceConflictError ? new ServiceUnavailableError('The schedule kept changing under this request; retry.') : error;
      }
    }
  }
}

/**
 * Deletes: the item is marked `deleting` first (runs from then on are skipped), then Scheduler's
 * schedule is deleted, then the item (giving its place back). A delete that stops in between leaves
 * `deleting`, which a repeated DELETE finishes.
 */
async function deleteSchedule(event: ApiEvent) {
  const marked = await changeTo(tenantOf(event), scheduleIdOf(event), 'deleting');
  try {
    await removeSchedule(scheduler, marked.id, TARGET);
  } catch (error) {
    throw schedulerFailure(error, 'the schedule is marked deleting and runs nothing; repeat the DELETE to finish.');
  }
  await store.delete(marked.tenant, marked.id);
  logger.info('schedule deleted', { schedule_id: marked.id });
  return { status: 204 };
}

const routes: Record<string, Route> = {
  'POST /schedules': createSchedule,
  'GET /schedules': async (event) => {
    const params = scheduleListParams(event.queryStringParameters);
    const page = await store.list(tenantOf(event), params.limit, params.cursor);
    return json(200, { items: page.items.map((schedule) => viewOf(event, schedule)), next_cursor: page.nextCursor ?? null });
  },
  'GET /schedules/{id}': async (event) => json(200, viewOf(event, await store.get(tenantOf(event), scheduleIdOf(event)))),
  'POST /schedules/{id}/pause': (event) => setState(event, 'paused'),
  'POST /schedules/{id}/resume': (event) => setState(event, 'active'),
  'DELETE /schedules/{id}': deleteSchedule,
};

/** Lambda entry of the schedule routes: recurring runs of a task on EventBridge Scheduler. */
export const handler = httpHandler(routes, logger);
