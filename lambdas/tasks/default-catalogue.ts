import { tasks } from '#tasks';
import { buildTaskCatalogue } from './catalogue.js';
import type { TaskCatalogue } from './task-catalogue.js';

/**
 * What `#task-catalogue` resolves to where nothing aliases it (package.json `imports`): the
 * catalogue of `#tasks`, built when this module loads. Only typechecking and tests (vitest, whose
 * projects alias `#tasks`) take this path; bundles and the local stack get the JSON the stack
 * wrote at synth, so no deployed API function runs this or loads task code.
 */
const catalogue: TaskCatalogue = buildTaskCatalogue(tasks);

export default catalogue;
