import { createHash } from 'node:crypto';
import {
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { canonicalJson } from '../domain/canonical-json.js';
import { callbackHash, isCallbackToken, tokenMatches, type CallbackLookup } from '../domain/callbacks.js';
import { ConflictError, GoneError, NotFoundError, ServiceUnavailableError, type DomainError } from '../domain/errors.js';
import type { ExecutionRecord, Metadata } from '../domain/execution.js';
import { newExecutionId } from '../domain/ids.js';
import type { CallbackStore } from '../repository/callback-store.js';
import type { CreateStore } from '../repository/create-store.js';
import type { ExecutionStore } from '../repository/execution-store.js';
import type { Logger } from '../shared/logger.js';
import { stepAt, type TaskOutline } from '../tasks/task-catalogue.js';
import { progress } from './progression.js';
import { countTransition } from './execution-metrics.js';
import { unstartedFailure } from '../domain/transition.js';
import { errorName } from '../shared/dependency-errors.js';

/** What starting, resuming and cancelling need. */
export interface ControlDeps {
  readonly repository: ExecutionStore;
  readonly sfn: SFNClient;
  readonly logger: Logger;
  /** ARN of a task's state machine. */
  stateMachineArn(taskId: string): string;
}

/** What starting needs: the store that can create. */
export interface CreateDeps extends ControlDeps {
  readonly repository: CreateStore;
}

/** A validated request to start a task. */
export interface StartRequest {
  readonly tenant: string;
  readonly task: TaskOutline;
  readonly input: unknown;
  readonly metadata: Metadata;
  /** The caller's Idempotency-Key header, if any. */
  readonly idempotencyKey?: string;
  /** Where the execution's own webhooks go, checked already, with the new secret that signs them. */
  readonly webhook?: { readonly url: string; readonly secret: string };
  /** Its tags, checked already (`lambdas/domain/tags.ts`). */
  readonly tags?: readonly string[];
  /** The batch that creates it (`POST /executions/batch`). */
  readonly batchId?: string;
  /** The execution this one replays (`POST /executions/{id}/replay`). */
  readonly replayedFrom?: string;
  /** The recurring schedule this execution is a run of (`schedule_id`, listed by `GET /executions?schedule_id=`). */
  readonly scheduleId?: string;
  /** 1 (lowest) to 5 (highest); admission takes `DEFAULT_PRIORITY` when absent. */
  readonly priority?: number;
  /** The caller's concurrency key. */
  readonly concurrencyKey?: string;
  /** When to start (ISO 8601, in the future): the execution waits `queued` until then. */
  readonly startAt?: string;
  /**
   * The tenant has concurrency limits: the execution waits in its tenant's queue and admission
   * starts it when a slot is free, rather than this request. Callers outside the API read it with
   * `AdmissionStore.limited`; the API's authorizer tells the create function.
   */
  readonly limited?: boolean;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** The ARN of execution `id` of a state machine (execution name = execution id). */
export const executionArnOf = (stateMachineArn: string, id: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;

/**
 * The record of a new execution, `queued` at its first step: an API create's (a new id) or a child
 * execution's (an id derived from its parent). An arrow function, like {@link executionArnOf}: the
 * create function's bundle is at its size budget, and `keepNames` wraps a declaration in more bytes.
 */
export const queuedRecord = (
  request: Omit<StartRequest, 'idempotencyKey'>,
  stateMachineArn: string,
  id: string = newExecutionId(),
  now: string = new Date().toISOString(),
): ExecutionRecord => ({
  tenant: request.tenant,
  id,
  taskId: request.task.id,
  status: 'queued',
  input: request.input,
  metadata: request.metadata,
  transitionCount: 1,
  stepIndex: 0,
  stepName: stepAt(request.task, 0)!.name,
  stepsCompleted: 0,
  totalSteps: request.task.steps.length,
  stepFraction: 0,
  executionArn: executionArnOf(stateMachineArn, id),
  createdAt: now,
  updatedAt: now,
  scheduleId: request.scheduleId,
  ...(request.webhook ? { webhookUrl: request.webhook.url, webhookSecret: request.webhook.secret } : {}),
  tags: request.tags,
  batchId: request.batchId,
  replayedFrom: request.replayedFrom,
  priority: request.priority,
  concurrencyKey: request.concurrencyKey,
  startAt: request.startAt,
});

/**
 * Creates the record (+ `init` row + Idempotency-Key, one transaction), then starts the state
 * machine with execution name = execution id. When Step Functions refuses, the record is failed
 * with the cause (never left `queued`) and the caller gets 503. A replay (same Idempotency-Key and
 * request) of an execution still queued starts it too: its first attempt may have stalled after
 * the write, and a retry with the key must then run it rather than return it stranded.
 */
export async function startExecution(
  deps: CreateDeps,
  request: StartRequest,
): Promise<{ record: ExecutionRecord; replayed: boolean }> {
  const stateMachineArn = deps.stateMachineArn(request.task.id);
  // One clock reading for the id and created_at: a list bounded by an execution's own created_at
  // (`created_after`) must find it, whose id carries its creation time.
  const nowMs = Date.now();
  const record = queuedRecord(request, stateMachineArn, newExecutionId(nowMs), new Date(nowMs).toISOString());
  const idempotency =
    request.idempotencyKey === undefined
      ? undefined
      : {
          keyHash: sha256(request.idempotencyKey),
          // The webhook URL only when given, so keys stored before it existed still match their requests.
          requestHash: sha256(
            canonicalJson({
              task: request.task.id,
              input: request.input,
              metadata: request.metadata,
              ...(request.webhook ? { webhook_url: request.webhook.url } : {}),
              // A replay's key covers what it replays: the same key on a create, or on another replay, is a different request.
              replayed_from: request.replayedFrom,
            }),
          ),
        };
  // Held work (a delayed start, or a tenant with limits) waits for admission, which starts it; so
  // does a replay of it (same request, so held too), whose first attempt left it waiting on purpose.
  const held = request.limited || !!record.startAt;
  const created = await deps.repository.create(record, idempotency, held);
  if (held || (created.replayed && created.record.status !== 'queued')) return created;
  // The stored input of a replay: the same text the first attempt sent, so Step Functions takes a
  // second StartExecution for a running execution as the same one.
  const { id: startedId, input } = created.record;

  try {
    await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: startedId,
        input: JSON.stringify({ tenant: request.tenant, input }),
      }),
    );
  } catch (error) {
    // The name is this execution's id: whoever started it first was an attempt of this request.
    if (errorName(error) === 'ExecutionAlreadyExists') return created;
    deps.logger.error('StartExecution failed; failing the execution', { execution_id: startedId, error });
    const cause = errorName(error) || 'Error';
    const planned = unstartedFailure(created.record, cause, new Date().toISOString());
    // One conditional write, not `progress`'s read-and-retry loop: nothing runs this execution
    // (Step Functions refused it), so a lost race is to a concurrent retry of this same request
    // (same Idempotency-Key), whose outcome stands.
    try {
      await deps.repository.applyTransition(created.record, planned);
      countTransition(created.record, planned.row);
    } catch (lost) {
      if (!(lost instanceof ConflictError)) throw lost;
    }
    throw new ServiceUnavailableError(
      `The execution could not be started (${cause}); it is recorded as failed. Retry it: the same Idempotency-Key then starts a new execution.`,
      { execution_id: startedId },
    );
  }
  return created;
}

/**
 * Starts the state machine of a stored record that may not have started yet: execution name =
 * execution id, and the stored input, so Step Functions takes a repeated start as the same execution,
 * and `ExecutionAlreadyExists` means an earlier attempt started it. Any other refusal is thrown and
 * the record stays `queued` (the child start's retry starts it; see {@link startExecution} for how
 * an API create fails it instead, sending the same request inline: the create function's bundle is
 * at its size budget).
 */
export async function startStateMachine(deps: Pick<ControlDeps, 'sfn' | 'stateMachineArn'>, record: ExecutionRecord): Promise<void> {
  try {
    await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn(record.taskId),
        name: record.id,
        input: JSON.stringify({ tenant: record.tenant, input: record.input }),
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
  }
}

/**
 * Resumes a waiting execution: the conditional `resume` transition comes first, so of two
 * concurrent resumes exactly one wins (the other gets 409); only the winner sends the stored task
 * token to Step Functions. The resume input becomes the next step's input.
 */
export async function resumeExecution(
  deps: ControlDeps,
  record: ExecutionRecord,
  task: TaskOutline,
  input: unknown,
): Promise<ExecutionRecord> {
  const waiting = stepAt(task, record.stepIndex);
  if (record.status !== 'awaiting_input' || !record.waitToken || !waiting) {
    throw new ConflictError(`Only an execution awaiting input can be resumed; this one is ${record.status}.`);
  }
  const token = record.waitToken;
  const { record: resumed } = await progress(
    deps.repository,
    record.tenant,
    record.id,
    (current) => {
      // A lost race re-reads the record: resume only the very wait (step and token) this request saw.
      if (current.status !== 'awaiting_input' || current.stepIndex !== waiting.index || current.waitToken !== token) {
        throw new ConflictError('Another request changed this execution first; it is no longer awaiting this input.');
      }
      return { type: 'resume', step: waiting, advanceTo: stepAt(task, waiting.index + 1), output: input, expectWaitToken: token };
    },
    record,
  );

  try {
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(input ?? null) }));
  } catch (error) {
    const name = errorName(error);
    const metadata = (error as { $metadata?: { attempts?: number; httpStatusCode?: number } }).$metadata ?? {};
    const retried = (metadata.attempts ?? 1) > 1;
    if (['TaskDoesNotExist', 'InvalidToken'].includes(name) && retried) {
      // An earlier attempt of this call may have delivered the token: Step Functions has moved on.
      deps.logger.warn('SendTaskSuccess retry found the task gone; an earlier attempt delivered it', { execution_id: record.id });
      return resumed;
    }
    if (['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(name)) {
      // The wait ended in Step Functions before the resume arrived: record it as the failure it is.
      await progress(deps.repository, record.tenant, record.id, (current) =>
        current.status === 'running' && current.transitionCount === resumed.transitionCount
          ? {
              type: 'error',
              error: { name: 'States.Timeout', message: `The wait "${waiting.name}" expired before the resume arrived.`, step: waiting },
              output: { name, step: waiting },
            }
          : undefined,
      );
      throw new GoneError(`The wait "${waiting.name}" expired before this resume arrived; the execution has failed.`);
    }
    if (metadata.httpStatusCode !== undefined && metadata.httpStatusCode < 500) {
      // Refused outright (e.g. throttled): the token was not taken, so the execution waits again
      // and a retry can win.
      deps.logger.error('SendTaskSuccess refused; restoring the wait', { execution_id: record.id, error });
      await progress(deps.repository, record.tenant, record.id, (current) =>
        current.status === 'running' && current.transitionCount === resumed.transitionCount
          ? {
              type: 'wait',
              step: waiting,
              waitToken: token,
              // The same resume link works again: its lookup item was never touched.
              ...(record.callbackNonce === undefined ? {} : { callback: { nonce: record.callbackNonce } }),
              output: { restored_after: name },
            }
          : undefined,
      );
      throw new ServiceUnavailableError('The resume could not be delivered; the execution is still waiting. Retry.');
    }
    // A server error or a lost connection: the token may or may not have been taken. The record
    // stays running; Step Functions' next event (or its wait timeout) settles it either way.
    deps.logger.error('SendTaskSuccess outcome unknown', { execution_id: record.id, error });
    throw new ServiceUnavailableError(
      'The resume was recorded but its delivery could not be confirmed. Read the execution to see how it settles.',
    );
  }
  return resumed;
}

/** A wait a resume link leads to, still pending. */
export interface LinkedWait {
  readonly record: ExecutionRecord;
  readonly link: CallbackLookup;
}

/** The one answer to every link that resumes nothing, whatever the reason: a guesser learns nothing. */
export const deadLink = (): NotFoundError =>
  new NotFoundError('This link resumes nothing: it is unknown or has expired, or its wait has ended.');

/**
 * Where a link stands once its wait is not pending: its wait was resumed (through the link or the
 * API; a wait completes only through a resume, unless it failed there) → 409, since a link resumes
 * once; anything else (cancelled, failed, timed out, the execution gone) → the 404 of an unknown link.
 */
function spentLink(record: ExecutionRecord | undefined, link: CallbackLookup): DomainError {
  const resumed =
    record !== undefined &&
    record.stepsCompleted > link.stepIndex &&
    !(record.status === 'failed' && record.error?.step?.index === link.stepIndex);
  return resumed ? new ConflictError('This link was used: its wait has been resumed, and a link resumes its wait once.') : deadLink();
}

/**
 * Follows a resume link's token to the wait it belongs to: by the token's hash to the lookup item,
 * then to that one execution's record (the item names its tenant; nothing in the request does).
 * The token must have its shape, the item must not have expired (TTL removes items late) and must
 * be the one the token was minted for (compared in constant time), and the record must still wait
 * there with the link's nonce.
 * @throws NotFoundError (404, one answer for every cause) or ConflictError (409: already resumed).
 */
export async function linkedWait(repository: CallbackStore, key: Uint8Array, token: string, now = Date.now()): Promise<LinkedWait> {
  if (!isCallbackToken(token)) throw deadLink();
  const link = await repository.findCallback(callbackHash(token));
  if (!link || link.expiresAt * 1000 <= now || !tokenMatches(key, token, link)) throw deadLink();
  const record = await repository.find(link.tenant, link.executionId);
  if (record?.status === 'awaiting_input' && record.stepIndex === link.stepIndex && record.callbackNonce === link.nonce) {
    return { record, link };
  }
  throw spentLink(record, link);
}

/**
 * Resumes a wait through its link: exactly {@link resumeExecution}, so the same transaction
 * (conditioned on the wait token) decides between this link, the API, a cancel and a timeout. A
 * lost race is answered as the link now stands (409 resumed, else 404), and a wait that Step
 * Functions had already timed out (410 on the API) as the 404 of an expired link.
 */
export async function resumeByLink(deps: ControlDeps, waiting: LinkedWait, task: TaskOutline, input: unknown): Promise<ExecutionRecord> {
  try {
    return await resumeExecution(deps, waiting.record, task, input);
  } catch (error) {
    if (error instanceof GoneError) throw deadLink();
    if (!(error instanceof ConflictError)) throw error;
    throw spentLink(await deps.repository.find(waiting.link.tenant, waiting.link.executionId), waiting.link);
  }
}

/**
 * Cancels an execution: the conditional `cancel` transition decides (a terminal execution gives
 * 409, and a concurrent finish or cancel wins at most once), then the state machine execution is
 * stopped with the reason as its cause. Steps that still run find the record cancelled and stop.
 */
export async function cancelExecution(
  deps: ControlDeps,
  record: ExecutionRecord,
  reason: string | undefined,
): Promise<ExecutionRecord> {
  const text = reason ?? 'Cancelled through the API';
  const { record: cancelled } = await progress(
    deps.repository,
    record.tenant,
    record.id,
    () => ({ type: 'cancel', reason: text, output: { reason: text } }),
    record,
  );
  try {
    await deps.sfn.send(
      new StopExecutionCommand({ executionArn: record.executionArn, error: 'Cancelled', cause: text.slice(0, 32_000) }),
    );
  } catch (error) {
    // The record is authoritative: a still-running step sees `cancelled` and ends the state machine.
    if (errorName(error) !== 'ExecutionDoesNotExist') {
      deps.logger.error('StopExecution failed after cancel', { execution_id: record.id, error });
    }
  }
  return cancelled;
}

/** Looks a record's task up; a record of a task no longer deployed is reported as gone. */
export function taskOf<T extends TaskOutline>(tasks: ReadonlyMap<string, T>, record: ExecutionRecord): T {
  const task = tasks.get(record.taskId);
  if (!task) throw new NotFoundError(`Task ${record.taskId} is no longer deployed.`);
  return task;
}
