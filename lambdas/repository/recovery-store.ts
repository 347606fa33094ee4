import type { ExecutionRecord } from '../domain/execution.js';
import type { PlannedTransition, RecordPatch } from '../domain/transition.js';
import { CreateStore } from './create-store.js';
import { openKey, openSort } from './keys.js';

/**
 * The create store plus reopening a failed record: the recovery function's (retry and replay). A
 * replay creates an execution like the create function; a retry is the one change that takes a
 * record out of a terminal status, so it alone writes what ending one removed.
 */
export class RecoveryStore extends CreateStore {
  /**
   * Writes a planned `retry` (failed → running) in ONE transaction, conditioned like every status
   * change on the status and transition count the plan read, so of two concurrent retries exactly
   * one wins (the other gets ConflictError). Beyond the plan's fields it removes `expires_at` (set
   * when the execution ended: TTL must not delete a running record), takes it out of the sparse
   * `by-ended` index (`status_key`) and puts the `by-open` keys back (that index holds every
   * execution that can still change).
   */
  async reopen(before: ExecutionRecord, planned: PlannedTransition): Promise<ExecutionRecord> {
    // `applyTransition` writes each patch field to its snake_case attribute and removes undefined
    // ones; these two attributes are storage only, so they have no record field of their own.
    const storage = { expiresAt: undefined, statusKey: undefined, openKey: openKey(before.tenant), openSort: openSort(before.tenant, before.id) };
    return this.applyTransition(before, { ...planned, patch: { ...planned.patch, ...storage } as RecordPatch });
  }
}
