import { deployedTasks } from '../lambdas/api/deployed-tasks.js';
import { encodeOpenApiTemplate } from './openapi-document.js';

/**
 * What `#openapi-document` resolves to where nothing aliases it (package.json `imports`): the
 * document of the deployed tasks (`#task-catalogue`, `TASK_IDS`) with the auth of `API_AUTH`, built
 * when this module loads from the current sources. Only typechecking and tests take this path; a
 * deployed bundle, and the local stack, get the module the stack wrote at synth, so no deployed
 * function runs openapi.ts.
 */
const document: string = encodeOpenApiTemplate([...deployedTasks().values()], process.env.API_AUTH === 'iam' ? 'iam' : 'api-key');

export default document;
