import { NotFoundError } from '../domain/errors.js';
import { createLogger } from '../shared/logger.js';
import { toTaskView, type TaskView } from '../tasks/catalogue.js';
import { TASKS } from '../tasks/registry.js';
import { deployedTaskIds } from './context.js';
import { httpHandler, json, param, type Route } from './http.js';

const logger = createLogger('catalogue');
/** Built once per container: the catalogue only changes with a deployment. */
const DEPLOYED = deployedTaskIds();
const VIEWS: ReadonlyMap<string, TaskView> = new Map(
  [...TASKS.values()].filter((task) => DEPLOYED.has(task.id)).map((task) => [task.id, toTaskView(task)]),
);

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
