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
import { deliveryListParams } from './queries.js';
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
  const synced = await store.markSynced(schedule.tenant, schedule.id, schedule.version);
  logger.info('schedule created', { expression: schedule.expression });
  const view = viewOf(event, { ...schedule, synced });
  return json(201, view, { location: `${linksOf(event, '').apiBaseUrl}/schedules/${schedule.id}` });
}

/**
 * Pauses or resumes: the item's state first (conditional on its version: of two concurrent changes
 * one wins, the other gets 409), then Scheduler's schedule (ENABLED/DISABLED), then synced. Asking
 * for the state it already has answers it as it is, or pushes it again when it is not synced.
 */
async function setState(event: ApiEvent, state: 'active' | 'paused') {
  const current = await store.get(tenantOf(event), scheduleIdOf(event));
  if (current.state === 'deleting') throw new ResourceConflictError('This schedule is being deleted; DELETE it again to finish.');
  if (current.state === state && current.synced) return json(200, viewOf(event, current));
  const changed = current.state === state ? current : await store.setState(current, state, new Date().toISOString());
  try {
    await pushSchedule(scheduler, changed, TARGET);
  } catch (error) {
    throw schedulerFailure(error, `the schedule is recorded as ${state} (runs ${state === 'paused' ? 'are skipped' : 'wait for Scheduler'}); repeat the request to finish.`);
  }
  const synced = await store.markSynced(changed.tenant, changed.id, changed.version);
  logger.info(state === 'paused' ? 'schedule paused' : 'schedule resumed', { schedule_id: changed.id });
  return json(200, viewOf(event, { ...changed, synced }));
}

/**
 * Deletes: the item is marked `deleting` first (runs from then on are skipped), then Scheduler's
 * schedule is deleted, then the item (giving its place back). A delete that stops in between leaves
 * `deleting`, which a repeated DELETE finishes.
 */
async function deleteSchedule(event: ApiEvent) {
  const current = await store.get(tenantOf(event), scheduleIdOf(event));
  const marked = current.state === 'deleting' ? current : await store.setState(current, 'deleting', new Date().toISOString());
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
    const params = deliveryListParams(event.queryStringParameters);
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
