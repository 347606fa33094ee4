import type { SFNClient } from '@aws-sdk/client-sfn';
import { CHILD_ERRORS, childExecutionId } from '../domain/children.js';
import { ConflictError, DomainError } from '../domain/errors.js';
import type { FamilyRecord } from '../domain/execution.js';
import { checkPayload } from '../domain/payload-limits.js';
import { isTerminal } from '../domain/status.js';
import { validateWith } from '../api/validation.js';
import type { FamilyStore } from '../repository/family-store.js';
import type { Logger } from '../shared/logger.js';
import type { CatalogueTask } from '../tasks/task-catalogue.js';
import { queuedRecord, startStateMachine } from './execution-control.js';
import { answerParent, type AnswerOutcome } from './family.js';
import { ExecutionEndedError, StepRuntimeError, guarded } from './payload.js';

/**
 * What a parent's `runTask` state sends the child-start function (`lambda:invoke.waitForTaskToken`).
 * The state waits until the child's end answers `task_token`.
 */
export interface ChildStartPayload {
  /** The parent execution (`$$.Execution.Name`, or `$.execution.id` inside map items and branches). */
  readonly execution_id: string;
  /** The parent's tenant (from its execution input, or `$.execution.tenant`): the child runs in it. */
  readonly tenant: string;
  /** The parent's task. */
  readonly task_id: string;
  /** The task the child runs. */
  readonly child_task_id: string;
  /** The child's input, checked against the child task's input schema. */
  readonly input: unknown;
  /**
   * Unique within the parent execution for this `runTask` step instance (e.g. `research[2]/#3`) and
   * the same on every Step Functions retry of it: the child's id is derived from it.
   */
  readonly instance: string;
  /** `$$.State.RetryCount`: 0 on the first attempt. */
  readonly attempt: number;
  /** `$$.Task.Token`: a new one per attempt. */
  readonly task_token: string;
}

/** What the child-start function returns (Step Functions ignores it; for logs and tests). */
export interface ChildStartResult {
  readonly child_execution_id: string;
  /** False when an earlier attempt had created the child. */
  readonly created: boolean;
  /** Set when the child had already ended, so this call answered the token itself. */
  readonly answered?: AnswerOutcome;
}

/** What the child-start function needs. */
export interface ChildStartDeps {
  readonly repository: FamilyStore;
  readonly sfn: SFNClient;
  readonly logger: Logger;
  /** The tasks this stack deploys, by id, as the task catalogue describes them (schemas, no code). */
  readonly tasks: ReadonlyMap<string, CatalogueTask>;
  /** ARN of a task's state machine. */
  stateMachineArn(taskId: string): string;
}

/** `ChildTaskNotFound`: no such task is deployed. */
export class ChildTaskNotFoundError extends Error {
  override readonly name = CHILD_ERRORS.taskNotFound;
}

/**
 * `ChildStartFailed`: DynamoDB or Step Functions failed while starting the child. The one error the
 * `runTask` state retries (a retry finds the child it created, and starts it if it is still queued);
 * a name of its own, so a child's failure (answered with the child's error name) never matches it.
 */
export class ChildStartFailedError extends Error {
  override readonly name = CHILD_ERRORS.startFailed;
}

/** Runs the child-start function's own work: its failures are {@link ChildStartFailedError}. */
async function startGuarded<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await guarded(logger, work);
  } catch (error) {
    if (error instanceof StepRuntimeError) throw new ChildStartFailedError('Starting the child execution failed; the details are in the logs. The step retries it.');
    throw error;
  }
}

/** `ChildInputInvalid`: the input fails the child task's schema (or its size limit). */
export class ChildInputInvalidError extends Error {
  override readonly name = CHILD_ERRORS.inputInvalid;
}

function checkShape(payload: ChildStartPayload): void {
  const strings = ['execution_id', 'tenant', 'task_id', 'child_task_id', 'instance', 'task_token'] as const;
  const missing = strings.filter((field) => typeof payload[field] !== 'string' || payload[field] === '');
  if (missing.length > 0 || !Number.isInteger(payload.attempt) || payload.attempt < 0) {
    // A deployment error (a state machine built for another contract), not bad input.
    throw new Error(`Malformed child-start payload (${[...missing, ...(Number.isInteger(payload.attempt) ? [] : ['attempt'])].join(', ')}): redeploy the state machine`);
  }
}

/**
 * Runs as the `.waitForTaskToken` Lambda of a `runTask` state: starts the child execution and
 * returns; the child's end answers the token (see `settleFamily`). The child is created through the
 * same path as an API create (its record, its `init` row, then `StartExecution` named by its id),
 * in one transaction with its link to the parent, and its id is derived from the parent and the
 * step instance, so a retried invocation never creates a second child: it stores its new token on
 * the child that exists (or, when that child has already ended, answers the new token at once), and
 * starts it if an earlier attempt died before doing so.
 *
 * Fails the state (a thrown Lambda error) with `ChildTaskNotFound` or `ChildInputInvalid`, which no
 * retry can cure, `ExecutionEnded` when the parent has ended, and `StepRuntimeError` when DynamoDB or
 * Step Functions failed (the child may or may not exist, unstarted: retry it).
 */
export async function startChild(deps: ChildStartDeps, payload: ChildStartPayload): Promise<ChildStartResult> {
  const logger = deps.logger.child({ execution_id: payload.execution_id, child_task_id: payload.child_task_id, instance: payload.instance });
  const task = await startGuarded(logger, async () => {
    checkShape(payload);
    return deps.tasks.get(payload.child_task_id);
  });
  if (!task) throw new ChildTaskNotFoundError(`No task ${payload.child_task_id.slice(0, 64)} is deployed; runTask cannot start it.`);
  let input: unknown;
  try {
    // The same check, with the same words, as POST /tasks/{id}/executions makes.
    input = payload.input;
    validateWith(task.input, input, '/input', `input of task ${task.id}`);
    checkPayload(input, `The input of task ${task.id}`);
  } catch (error) {
    if (error instanceof DomainError) throw new ChildInputInvalidError(error.message);
    throw error;
  }
  return startGuarded(logger, () => start(deps, payload, task, input, logger));
}

async function start(deps: ChildStartDeps, payload: ChildStartPayload, task: CatalogueTask, input: unknown, logger: Logger): Promise<ChildStartResult> {
  const parent = await deps.repository.get(payload.tenant, payload.execution_id);
  const ended = () => new ExecutionEndedError(`Parent execution ${parent.id} has ended; it starts no child.`);
  if (isTerminal(parent.status)) throw ended();
  const record = queuedRecord(
    { tenant: parent.tenant, task, input, metadata: {} },
    deps.stateMachineArn(task.id),
    childExecutionId(parent.id, payload.instance),
  );
  let child: FamilyRecord;
  let created: boolean;
  try {
    ({ record: child, created } = await deps.repository.createChild(record, { parent, token: payload.task_token, attempt: payload.attempt }));
  } catch (error) {
    if (error instanceof ConflictError) throw ended();
    throw error;
  }
  if (!created) {
    // An earlier attempt of this step instance created it (its id says so; the link must agree).
    if (child.parentExecutionId !== parent.id) throw new Error(`Execution ${child.id} exists and is not a child of ${parent.id}`);
    if (!isTerminal(child.status) && child.parentToken !== payload.task_token) {
      const replaced = await deps.repository.replaceParentToken(child, payload.task_token, payload.attempt);
      if (!replaced) child = await deps.repository.get(child.tenant, child.id);
      else logger.info('new attempt: the child answers its token', { child_execution_id: child.id, attempt: payload.attempt });
      if (!replaced && !isTerminal(child.status)) {
        // A newer attempt's token is stored: this call is a late one, whose state has moved on.
        logger.warn('a newer attempt holds the child; this late call changes nothing', { child_execution_id: child.id });
        return { child_execution_id: child.id, created };
      }
    }
    if (isTerminal(child.status)) {
      // Its end answered an older token (or will): this attempt's token is answered here.
      return { child_execution_id: child.id, created, answered: await answerParent(deps, child, payload.task_token) };
    }
  }
  // A new child, or one whose creator died before starting it; the retry of a refusal starts it.
  if (child.status === 'queued') await startStateMachine(deps, child);
  logger.info(created ? 'child execution started' : 'child execution found', { child_execution_id: child.id, status: child.status });
  return { child_execution_id: child.id, created };
}
