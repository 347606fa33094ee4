/**
 * The service as a CDK construct library (`async-executions/infra`): a CDK app of your own deploys
 * it with your tasks module.
 */
export { ExecutionsStack, type ExecutionsStackProps } from './executions-stack.js';
export type { ApiAuth } from './constructs/executions-api.js';
export { chooseTasksModule, DEFAULT_TASKS_MODULE, loadTasksModule, TASKS_CONTEXT_KEY, TASKS_MODULE_ENV, type TaskExport, type TasksModule } from './tasks-module.js';
