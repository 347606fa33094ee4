import { DescribeExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { ConflictError } from '../domain/errors.js';
import type { ExecutionError } from '../domain/execution.js';
import { RETRY_NOT_STARTED, isEarlierAttempt, planRetryLapsed } from '../domain/recovery.js';
import { idTimestamp } from '../domain/ids.js';
import { isTerminal } from '../domain/status.js';
import type { ActiveExecution, ReconcileStore } from '../repository/reconcile-store.js';
import { ACTIVE_SHARDS } from '../repository/keys.js';
import { reconcileHeld, repairTenant, type AdmissionDeps } from './admission.js';
import { hasFamily, settleFamily } from './family.js';
import { progress } from './progression.js';
import { applyStatusChange, type SfnTerminalStatus, type StatusChangeDeps, type StatusChangeDetail } from './status-change.js';
import { errorName } from '../shared/dependency-errors.js';
import { withLogKeys } from '../shared/logger.js';

/** Limits of one reconciler run. */
export interface ReconcileOptions {
  /** Executions younger than this (by their time-ordered id) are not looked at: their events may still be on the way. */
  readonly minAgeMs: number;
  /** A non-terminal execution that Step Functions does not know is failed once it is this old. */
  readonly startGraceMs: number;
  /** Most executions checked (`DescribeExecution` calls) in one run, shared evenly by the shards. */
  readonly maxChecks: number;
  /**
   * Items read per Query of the index.
   * @default 100
   */
  readonly pageSize?: number;
}

/** What the reconciler needs: the status-change dependencies, a clock and the time left. */
export interface ReconcileDeps extends StatusChangeDeps {
  /** The whole repository: the reconciler queries the `by-open` index and keeps its positions. */
  readonly repository: ReconcileStore;
  /**
   * The current time in ms since the epoch.
   * @default Date.now
   */
  readonly now?: () => number;
  /** Time left in this invocation, ms; the run stops checking when it gets short. */
  readonly remainingMs?: () => number;
  /**
   * Admission (concurrency limits, delays): `queued` records that wait for it are left alone, lost
   * placements and starts are made, and each tenant with limits gets its slots repaired.
   */
  readonly admission?: AdmissionDeps;
}

/** What one run did. */
export interface ReconcileSummary {
  /** Executions checked against Step Functions. */
  readonly checked: number;
  /** Records healed with the terminal transition of a state machine execution that had ended. */
  readonly healed: number;
  /** Records failed because Step Functions has no execution for them (never started, or gone). */
  readonly failedMissing: number;
  /** Executions still running in Step Functions (left alone). */
  readonly running: number;
  /** Executions whose state machine had ended but whose record had followed meanwhile. */
  readonly unchanged: number;
  /**
   * Ended executions whose family follow-ups (answer the parent, cancel the children) were left
   * undone by a lost or failed event, and are done now.
   */
  readonly settled: number;
  /**
   * `queued` executions that wait for admission (a start time, a slot): left alone, or placed and
   * started when the event that should have done it was lost.
   */
  readonly held: number;
  /** Slots of ended executions given back, and counters set to their holders, by the repair of tenants with limits. */
  readonly slotsRepaired: number;
  /** Checks that failed (logged); the next run tries again. */
  readonly errors: number;
  /** True when Step Functions throttled the run or time ran short, so it stopped early. */
  readonly stoppedEarly: boolean;
}

type Outcome = 'healed' | 'failedMissing' | 'running' | 'unchanged' | 'settled' | 'held';

/** Stop checking when less than this is left of the invocation. */
const SAFETY_MS = 10_000;
const THROTTLES = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

/** The status-change detail an EventBridge event would have carried, rebuilt from `DescribeExecution`. */
export function detailFromDescription(candidate: ActiveExecution, described: DescribeExecutionCommandOutput): StatusChangeDetail {
  return {
    executionArn: described.executionArn ?? candidate.executionArn,
    stateMachineArn: described.stateMachineArn ?? '',
    // Execution name = execution id.
    name: candidate.id,
    status: described.status as SfnTerminalStatus,
    input: described.input ?? null,
    output: described.output ?? null,
    ...(described.inputDetails ? { inputDetails: { included: described.inputDetails.included } } : {}),
    ...(described.outputDetails ? { outputDetails: { included: described.outputDetails.included } } : {}),
    error: described.error ?? null,
    cause: described.cause ?? null,
    redriveCount: described.redriveCount ?? 0,
  };
}

/**
 * Fails again a retry that Step Functions never took up: the record is `running` with more retries
 * counted than Step Functions reports (the recovery function stopped between its `retry` write and
 * `RedriveExecution`, or that call's answer was lost and it did not redrive), and has been so for
 * `startGraceMs`. Its `redrive_count` goes back to Step Functions' count, so it can be retried again.
 * @returns 'healed' when failed now, 'running' while within the grace period, undefined when the
 * record is not such a retry (the usual status change applies).
 */
async function lapsedRetry(
  deps: ReconcileDeps,
  candidate: ActiveExecution,
  detail: StatusChangeDetail,
  now: number,
  options: ReconcileOptions,
): Promise<Outcome | undefined> {
  const record = await deps.repository.find(candidate.tenant, candidate.id);
  if (!record || record.status !== 'running' || !isEarlierAttempt(record, detail.redriveCount)) return undefined;
  if (now - Date.parse(record.updatedAt) < options.startGraceMs) return 'running';
  const error: ExecutionError = {
    name: RETRY_NOT_STARTED,
    message: 'The retry was recorded but Step Functions did not restart the execution. Retry it again.',
    step: { index: record.stepIndex, name: record.stepName },
  };
  try {
    await deps.repository.applyTransition(record, planRetryLapsed(record, error, detail.redriveCount, detail.status, new Date(now).toISOString()));
  } catch (failure) {
    // Something changed it meanwhile (the redrive did start after all): the next run looks again.
    if (failure instanceof ConflictError) return 'unchanged';
    throw failure;
  }
  return 'healed';
}

/**
 * Fails a record whose Step Functions execution does not exist, once it is past the grace period
 * (counted from its `created_at`: a child's id carries its parent's creation time, not its own).
 * A failed child answers its parent at once.
 */
async function failMissing(deps: ReconcileDeps, candidate: ActiveExecution, now: number, options: ReconcileOptions): Promise<Outcome> {
  const { record, applied } = await progress(deps.repository, candidate.tenant, candidate.id, (current) => {
    if (isTerminal(current.status) || now - Date.parse(current.createdAt) < options.startGraceMs) return undefined;
    const error: ExecutionError =
      current.status === 'queued'
        ? {
            name: 'ExecutionNotStarted',
            message: 'The execution was never started in Step Functions (its start request did not complete). Start a new execution.',
          }
        : {
            name: 'ExecutionLost',
            message: 'Step Functions has no record of this execution any more, so it cannot continue. Start a new execution.',
            step: { index: current.stepIndex, name: current.stepName },
          };
    return { type: 'error', error, output: error };
  });
  if (applied && hasFamily(record)) await settleFamily(deps, record.tenant, record.id);
  return applied ? 'failedMissing' : isTerminal(record.status) ? 'unchanged' : 'running';
}

/**
 * Repairs the slots of every tenant with limits ({@link repairTenant}): slots of ended executions
 * whose release was lost are given back, counters that disagree with their holders are set (only
 * after `minAgeMs` without a change, past any lag of the index the holders are read from), admitted
 * executions whose start was lost are started, and waiting work is admitted.
 */
async function repairSlots(deps: ReconcileDeps, admission: AdmissionDeps, counts: Record<string, number>, options: ReconcileOptions): Promise<number> {
  let repaired = 0;
  let tenants: string[];
  try {
    tenants = await admission.store.limitedTenants();
  } catch (error) {
    counts.errors!++;
    deps.logger.error('reading the tenants with limits failed', { error });
    return 0;
  }
  for (const tenant of tenants) {
    try {
      const repair = await repairTenant(admission, tenant, options.minAgeMs);
      repaired += repair.released + repair.repaired;
      if (repair.released > 0) deps.logger.warn('slots of ended executions given back: their release was lost', { tenant, released: repair.released });
    } catch (error) {
      counts.errors!++;
      deps.logger.error('repairing the slots of a tenant failed', { tenant, error });
    }
  }
  return repaired;
}

/** Checks one candidate against Step Functions and heals its record when the two disagree. */
async function check(deps: ReconcileDeps, candidate: ActiveExecution, now: number, options: ReconcileOptions): Promise<Outcome> {
  if (candidate.followUp) {
    // A follow-up item: only the record says whether the execution has ended (and what it owes).
    const outcome = await settleFamily(deps, candidate.tenant, candidate.id);
    return outcome === 'active' ? 'running' : outcome === 'settled' ? 'settled' : 'unchanged';
  }
  // The index does not carry the status (it changes at every step): the record says it.
  const record = await deps.repository.find(candidate.tenant, candidate.id);
  if (!record || isTerminal(record.status)) return 'unchanged';
  // Held for admission: waiting is no loss (and needs no Step Functions call); a lost placement or
  // start is made now.
  if (record.status === 'queued' && deps.admission && (await reconcileHeld(deps.admission, candidate.tenant, candidate.id))) return 'held';
  let described: DescribeExecutionCommandOutput;
  try {
    described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: candidate.executionArn }));
  } catch (error) {
    if (errorName(error) !== 'ExecutionDoesNotExist') throw error;
    // Not (yet) started: the create function may still be between its write and StartExecution.
    if (now - idTimestamp(candidate.id) < options.startGraceMs) return 'running';
    return failMissing(deps, candidate, now, options);
  }
  if (!['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'].includes(described.status ?? '')) return 'running';
  const detail = detailFromDescription(candidate, described);
  const lapsed = await lapsedRetry(deps, candidate, detail, now, options);
  if (lapsed) return lapsed;
  return (await applyStatusChange(deps, detail)) ? 'healed' : 'unchanged';
}

/**
 * One reconciler run: finds executions whose record is not terminal and checks each against Step
 * Functions. A state machine that ended without the record following (its status-change event was
 * lost, or its handler kept failing) gets the transition the event would have written, through
 * {@link applyStatusChange}: SUCCEEDED → `finish`, FAILED / TIMED_OUT → `error`, ABORTED → `cancel`.
 * A record whose execution Step Functions does not know after `startGraceMs` (the create function
 * died between its write and `StartExecution`) is failed with a clear error, and so is a retry
 * Step Functions never took up (its `redriveCount` is below the record's `redrive_count`).
 *
 * The index also holds the follow-up items of executions with a family (`FOLLOW_UP_SK`) until their
 * follow-ups are done: one whose execution has ended gets them now ({@link settleFamily}), so a
 * child whose end was recorded still answers its parent, and a parent's children are still
 * cancelled, when the event that should have done it was lost or kept failing.
 *
 * Candidates come from the sparse, sharded `by-open` index (no Scan, no list of tenants), by
 * tenant then oldest first, and only older than `minAgeMs`; each candidate's record is read
 * (strongly consistent) for its status, which the index does not carry. Each shard gets an equal share of `maxChecks`; where
 * a shard's share runs out the run records its position, and the next run continues from there, so
 * every candidate is reached however many long-running executions there are.
 */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileSummary> {
  const now = deps.now?.() ?? Date.now();
  const perShard = Math.max(1, Math.ceil(options.maxChecks / ACTIVE_SHARDS));
  const stored = await deps.repository.reconcilePositions();
  const positions: Record<string, string> = { ...stored };
  const counts: Record<Outcome | 'errors', number> = { healed: 0, failedMissing: 0, running: 0, unchanged: 0, settled: 0, held: 0, errors: 0 };
  let checked = 0;
  let stoppedEarly = false;
  const outOfTime = () => deps.remainingMs !== undefined && deps.remainingMs() < SAFETY_MS;

  for (let shard = 0; shard < ACTIVE_SHARDS && !stoppedEarly; shard++) {
    const from = positions[shard];
    let last: string | undefined;
    let lastId: string | undefined;
    let exhausted = true;
    let shardChecks = 0;
    try {
      for await (const candidate of deps.repository.activeExecutions({
        shard,
        createdBefore: now - options.minAgeMs,
        ...(from === undefined ? {} : { from }),
        pageSize: options.pageSize ?? 100,
      })) {
        // The position is inclusive: that execution was checked by the previous run.
        if (candidate.position === from) continue;
        // A follow-up item right after its own record (same id): that check did what it could.
        if (candidate.followUp && candidate.id === lastId) continue;
        if (shardChecks >= perShard || outOfTime()) {
          exhausted = false;
          stoppedEarly ||= outOfTime();
          break;
        }
        shardChecks++;
        checked++;
        // The check's own lines (a status change's, the family's) name the execution too.
        const keys = { execution_id: candidate.id, task_id: candidate.taskId, tenant: candidate.tenant };
        const logger = deps.logger.child(keys);
        try {
          const outcome = await withLogKeys(keys, () => check(deps, candidate, now, options));
          counts[outcome]++;
          if (outcome === 'healed') logger.warn('record healed from Step Functions: its status event was lost');
          if (outcome === 'failedMissing') logger.warn('record failed: Step Functions has no such execution');
          if (outcome === 'settled') logger.warn('family follow-ups of an ended execution done (parent answered, children cancelled)');
        } catch (error) {
          if (THROTTLES.has(errorName(error))) {
            // Back off until the next run; this candidate is checked again then.
            logger.warn('Step Functions throttled the reconciler; stopping this run', { error });
            checked--;
            exhausted = false;
            stoppedEarly = true;
            break;
          }
          counts.errors++;
          logger.error('reconciling an execution failed', { error });
        }
        last = candidate.position;
        lastId = candidate.id;
      }
    } catch (error) {
      // The index could not be read (e.g. throttled): leave this shard's position for the next run.
      counts.errors++;
      deps.logger.error('reading the active executions failed', { shard, error });
      continue;
    }
    if (exhausted) delete positions[shard];
    else if (last !== undefined) positions[shard] = last;
  }

  if (JSON.stringify(positions) !== JSON.stringify(stored)) {
    await deps.repository.saveReconcilePositions(positions, new Date(now).toISOString());
  }
  const slotsRepaired = deps.admission && !stoppedEarly ? await repairSlots(deps, deps.admission, counts, options) : 0;
  const summary: ReconcileSummary = { checked, ...counts, slotsRepaired, stoppedEarly };
  if (checked > 0 || counts.errors > 0) deps.logger.info('reconcile run', { ...summary });
  else deps.logger.debug('reconcile run: nothing to check');
  return summary;
}
