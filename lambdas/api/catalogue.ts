import { NotFoundError } from '../domain/errors.js';
import { createLogger } from '../shared/logger.js';
import type { TaskView } from '../tasks/catalogue.js';
import { deployedTasks } from './deployed-tasks.js';
import { httpHandler, json, param, type Route } from './http.js';

const logger = createLogger('catalogue');
/** The views were computed at synth (the task catalogue): serving them takes no task code. */
const VIEWS: ReadonlyMap<string, TaskView> = new Map([...deployedTasks().values()].map((task) => [task.id, task.view]));

const health: Route = () => json(200, { status: 'ok' });

const routes: Record<string, Route> = {
  'GET /tasks': () => json(200, { items: [...VIEWS.values()], next_cursor: null }),
  'GET /tasks/{task_id}': (event) => {
    const id = param(event, 'task_id');
    const view = VIEWS.get(id);
    if (!view) throw new NotFoundError(`No task ${id.slice(0, 64)} exists. GET /tasks lists them.`);
    return json(200, view);
  },
  'GET /health': health,
  'GET /healthz': health,
};

/** Lambda entry of the catalogue, health, and the problem+json 404 of unknown routes. */
export const handler = httpHandler(routes, logger);
