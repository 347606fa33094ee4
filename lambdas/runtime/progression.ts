import { ConflictError } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { planTransition, type TransitionRequest } from '../domain/transition.js';
import type { ExecutionStore } from '../repository/execution-store.js';
import { countTransition } from './execution-metrics.js';

/**
 * Attempts at a change whose races are lost (so 29 retries) before giving up. Concurrent writers
 * of one execution (branches and map items, up to 40 at once) serialize on its transition count:
 * each round lets one of them through, so a writer among 10 may lose 10 rounds and more in a row
 * (the benchmark's 10 map items lost 291 races over 147 rows, and 12 attempts ran out 3 times).
 * The jittered pauses spread the losers out so they do not collide again in lockstep: at most
 * 7.8 s of pauses in all (about half that on average), within the 30 s of the functions that
 * record steps; a step function's attempt also has its state's timeout, and a retried attempt
 * finds what the first one recorded.
 */
const ATTEMPTS = 30;
/** Cap of the pause before a retry, in milliseconds. */
const MAX_PAUSE_MS = 300;

/** Full jitter: a pause drawn below min(cap, 10 ms × 2^attempt). */
function pause(attempt: number): Promise<void> {
  const ceiling = Math.min(MAX_PAUSE_MS, 10 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * Applies a status change to the latest record. `decide` sees the record as stored and returns the
 * change to make, or undefined when there is nothing to do (already done, or moot). When a
 * concurrent writer wins the race, the record is read again and `decide` asked again, so retried
 * or duplicated callers converge on one row per change. The writer whose transaction applied a
 * change, and only that one, writes its metrics (started, ended, waited: `countTransition`) after it.
 *
 * @returns the record after the change (or as found when nothing was done), whether this call
 * wrote, and how many races it lost on the way (contention, for logs and the benchmark).
 * @throws ConflictError when the status table forbids the change `decide` asked for, or when the
 * races are still lost after {@link ATTEMPTS} tries; AlreadyRecordedError when the change's marker exists.
 */
export async function progress(
  repository: ExecutionStore,
  tenant: string,
  executionId: string,
  decide: (record: ExecutionRecord) => TransitionRequest | undefined,
  initial?: ExecutionRecord,
): Promise<{ record: ExecutionRecord; applied: boolean; conflicts: number }> {
  let record = initial ?? (await repository.get(tenant, executionId));
  for (let attempt = 1; ; attempt++) {
    const request = decide(record);
    if (!request) return { record, applied: false, conflicts: attempt - 1 };
    const planned = planTransition(record, request, new Date().toISOString());
    try {
      const written = await repository.applyTransition(record, planned);
      // It cannot throw (a metric line that fails is dropped): the write stands, as written.
      countTransition(record, planned.row);
      return { record: written, applied: true, conflicts: attempt - 1 };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      // The first retry re-reads at once: most losses are to a single writer that has finished.
      if (attempt > 1) await pause(attempt);
      record = await repository.get(tenant, executionId);
    }
  }
}
