import { approvalFlow } from './approval-flow.js';
import { batchSummarize } from './batch-summarize.js';
import { documentPipeline } from './document-pipeline.js';
import { researchAgent, researchQuestion } from './research-agent.js';

/**
 * The example tasks, the default tasks module (`npm start`, `cdk deploy` without `--tasks`,
 * `-c tasks=` or `TASKS_MODULE`). A tasks module is any file that exports `tasks` like this one.
 */
export const tasks = [documentPipeline, approvalFlow, batchSummarize, researchAgent, researchQuestion];
