import { RedriveExecutionCommand } from '@aws-sdk/client-sfn';
import { ConflictError, ServiceUnavailableError } from '../domain/errors.js';
import type { ExecutionRecord, Metadata } from '../domain/execution.js';
import { planRetry, planRetryLapsed, retryRefusedError } from '../domain/recovery.js';
import type { RecoveryStore } from '../repository/recovery-store.js';
import { errorName } from '../shared/dependency-errors.js';
import type { TaskOutline } from '../tasks/task-catalogue.js';
import { startExecution, type ControlDeps } from './execution-control.js';

/** What retrying and replaying need. */
export interface RecoveryDeps extends ControlDeps {
  readonly repository: RecoveryStore;
}

/**
 * Step Functions' answers that refuse a redrive for good (for this request): nothing was redriven.
 * Any other answer under 500 (a malformed ARN, a validation error) is a refusal too.
 */
const REFUSALS = new Set(['ExecutionNotRedrivable', 'ExecutionDoesNotExist']);
/** Refusals that may pass later (a quota, throttling): 503, retry later. */
const BUSY = new Set(['ExecutionLimitExceeded', 'ThrottlingException', 'TooManyRequestsException']);

/** How many times the record is read again to close a refused retry when something else wrote first. */
const CLOSE_ATTEMPTS = 3;

/**
 * Retries a failed execution from the step that failed (Step Functions' `RedriveExecution`: the
 * steps that completed keep their results and are not run again).
 *
 * The `retry` transition comes first, ONE conditional transaction (of two concurrent retries
 * exactly one wins; the other gets 409), then the redrive. In that order, a crash between the two
 * leaves a record `running` with one more retry counted than Step Functions has: the status events
 * and `DescribeExecution` report that count (`redriveCount`), so the late FAILED of the earlier
 * attempt cannot fail it again, and the reconciler fails it (`RetryNotStarted`) once its grace
 * period passes, after which it can be retried again. The other order would let the redriven steps
 * find the record `failed` and stop (`ExecutionEnded`).
 *
 * When Step Functions refuses (not redrivable, e.g. past its 14 days; no such execution; a quota),
 * the record is failed again (`RetryRefused`, its count restored) and the caller gets 409 (503 for
 * a quota or throttling). When the answer is lost, the record stays `running` and 503 says so: the
 * redrive's client token is the retry's own, so Step Functions takes a repeat of it as the same.
 */
export async function retryExecution(deps: RecoveryDeps, record: ExecutionRecord): Promise<ExecutionRecord> {
  const planned = planRetry(record, new Date().toISOString());
  let retried: ExecutionRecord;
  try {
    retried = await deps.repository.reopen(record, planned);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    throw new ConflictError('Another request retried or changed this execution first. Read it again.');
  }
  try {
    await deps.sfn.send(new RedriveExecutionCommand({ executionArn: record.executionArn, clientToken: `${record.id}.${retried.redriveCount}` }));
    return retried;
  } catch (error) {
    const name = errorName(error) || 'Error';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const refused = REFUSALS.has(name) || BUSY.has(name) || (status !== undefined && status < 500);
    if (!refused) {
      deps.logger.error('RedriveExecution outcome unknown; the reconciler settles it', { execution_id: record.id, error });
      throw new ServiceUnavailableError(
        'The retry was recorded but Step Functions\' answer was lost. Read the execution to see how it settles.',
        { execution_id: record.id },
      );
    }
    deps.logger.warn('RedriveExecution refused; failing the execution again', { execution_id: record.id, error });
    const cause = `${name}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
    await closeRefused(deps, retried, record, cause);
    if (BUSY.has(name)) {
      throw new ServiceUnavailableError(`Step Functions cannot retry the execution now (${name}); it is still failed. Retry later.`, { execution_id: record.id });
    }
    throw new ConflictError(`Step Functions cannot retry this execution (${cause}); it is still failed. Replay it to run it again.`, { execution_id: record.id });
  }
}

/** Fails a refused retry again, unless something else has already changed the record since. */
async function closeRefused(deps: RecoveryDeps, retried: ExecutionRecord, previous: ExecutionRecord, cause: string): Promise<void> {
  let current = retried;
  for (let attempt = 1; ; attempt++) {
    const error = retryRefusedError(previous.error, cause);
    try {
      await deps.repository.applyTransition(current, planRetryLapsed(current, error, previous.redriveCount, cause, new Date().toISOString()));
      return;
    } catch (failure) {
      if (!(failure instanceof ConflictError) || attempt >= CLOSE_ATTEMPTS) throw failure;
      current = await deps.repository.get(retried.tenant, retried.id);
      // Only this retry's own attempt is closed here; anything newer has its own course.
      if (current.status !== 'running' || current.redriveCount !== retried.redriveCount) return;
    }
  }
}

/** What a replay may change of the execution it replays. */
export interface ReplayOverrides {
  /** A new input (checked by the caller against the task's input schema); absent: the same input. */
  readonly input?: unknown;
  /** New metadata; absent: the same metadata. */
  readonly metadata?: Metadata;
}

/**
 * Starts a NEW execution of `record`'s task with its input and metadata (or the overrides), linked to
 * it by `replayed_from`. Any status may be replayed, a running one too: the replay is independent of
 * it. Goes through {@link startExecution}, as every create does (an Idempotency-Key, which covers
 * the replayed execution's id, is honoured the same way); `limited`: the tenant has concurrency
 * limits, so the replay waits for admission as a create would.
 */
export async function replayExecution(
  deps: RecoveryDeps,
  record: ExecutionRecord,
  task: TaskOutline,
  overrides: ReplayOverrides,
  idempotencyKey: string | undefined,
  limited = false,
): Promise<{ record: ExecutionRecord; replayed: boolean }> {
  return startExecution(deps, {
    tenant: record.tenant,
    task,
    input: Object.hasOwn(overrides, 'input') ? overrides.input : record.input,
    metadata: overrides.metadata ?? record.metadata,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    replayedFrom: record.id,
    limited,
  });
}
