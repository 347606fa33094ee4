import { ConflictError } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { planTransition, type TransitionRequest } from '../domain/transition.js';
import type { ExecutionStore } from '../repository/execution-store.js';

/** Lost races re-read and retry this many times before giving up. */
const ATTEMPTS = 5;

/**
 * Applies a status change to the latest record. `decide` sees the record as stored and returns the
 * change to make, or undefined when there is nothing to do (already done, or moot). When a
 * concurrent writer wins the race, the record is read again and `decide` asked again, so retried
 * or duplicated callers converge on one row per change.
 *
 * @returns the record after the change (or as found when nothing was done) and whether this call wrote.
 * @throws ConflictError when the status table forbids the change `decide` asked for.
 */
export async function progress(
  repository: ExecutionStore,
  tenant: string,
  executionId: string,
  decide: (record: ExecutionRecord) => TransitionRequest | undefined,
  initial?: ExecutionRecord,
): Promise<{ record: ExecutionRecord; applied: boolean }> {
  let record = initial ?? (await repository.get(tenant, executionId));
  for (let attempt = 1; ; attempt++) {
    const request = decide(record);
    if (!request) return { record, applied: false };
    const planned = planTransition(record, request, new Date().toISOString());
    try {
      return { record: await repository.applyTransition(record, planned), applied: true };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      record = await repository.get(tenant, executionId);
    }
  }
}
