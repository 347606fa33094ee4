import type { SFNClient } from '@aws-sdk/client-sfn';
import { planAdmission, scopesOf, type QueueEntry, type Scope } from '../domain/admission.js';
import { isTerminal } from '../domain/status.js';
import type { AdmissionStore } from '../repository/admission-store.js';
import type { Logger } from '../shared/logger.js';
import { startStateMachine } from './execution-control.js';

/** What admission needs. */
export interface AdmissionDeps {
  readonly store: AdmissionStore;
  readonly sfn: SFNClient;
  readonly logger: Logger;
  /** ARN of a task's state machine. */
  stateMachineArn(taskId: string): string;
  /**
   * The current time in ms since the epoch.
   * @default Date.now
   */
  readonly now?: () => number;
}

/**
 * Waiting executions one admission run looks at per tenant, from the head of its queue: the window
 * in which priority order and fairness between keys hold exactly, and in which work of a full task
 * or key is passed over (docs/architecture.md, "Admission").
 */
export const ADMISSION_WINDOW = 500;

/** What one admission run of a tenant did. */
export interface TenantAdmission {
  /** Executions admitted and started (or left for the reconciler to start), in order. */
  readonly admitted: readonly string[];
  /** Waiting executions the run saw and left waiting. */
  readonly waiting: number;
}

/**
 * Admits a tenant's waiting work while its limits allow: reads the head of its queue and the
 * counters of the scopes it touches, plans the order ({@link planAdmission}: priority, then fair
 * between keys, passing over full tasks and keys), then admits each planned execution in its own
 * transaction (counters conditioned on their limits) and starts its state machine (execution name =
 * execution id, so a repeated start is harmless). A transaction refused for a full scope means a
 * concurrent admission took the slot: the run stops, and the event that frees the next slot runs
 * admission again. A start Step Functions refuses is left admitted: the reconciler starts it.
 */
export async function admitTenant(deps: AdmissionDeps, tenant: string, window = ADMISSION_WINDOW): Promise<TenantAdmission> {
  const { entries: waiting, ended } = await deps.store.waiting(tenant, window);
  // Ended while queued, and the stream record that takes them out was lost: out now.
  for (const id of ended) await deps.store.dropWaiting(tenant, id);
  if (waiting.length === 0) return { admitted: [], waiting: 0 };
  const limits = await deps.store.limits(tenant);
  const scopes = [...new Set(waiting.flatMap((entry) => scopesOf(entry.taskId, entry.key)))];
  const running = limits ? await deps.store.running(tenant, scopes) : new Map<Scope, number>();
  const plan = planAdmission(waiting, limits ?? {}, running);
  const admitted: string[] = [];
  for (const entry of plan.admit) {
    const now = deps.now?.() ?? Date.now();
    const outcome = await deps.store.admit(tenant, entry, limits, now);
    if (!outcome.admitted) {
      if (outcome.full) break;
      continue;
    }
    admitted.push(entry.id);
    await startAdmitted(deps, tenant, entry);
  }
  if (admitted.length > 0) deps.logger.info('admitted', { tenant, admitted: admitted.length, waiting: waiting.length - admitted.length });
  return { admitted, waiting: waiting.length - admitted.length };
}

/** Starts the state machine of an admitted execution that may not have started (also the reconciler's repair). */
export async function startAdmitted(deps: AdmissionDeps, tenant: string, entry: Pick<QueueEntry, 'id'>): Promise<boolean> {
  const record = await deps.store.find(tenant, entry.id);
  // Cancelled between its admission and now: nothing to start; the stream gives its slot back.
  if (record?.status !== 'queued') return false;
  try {
    await startStateMachine(deps, record);
    return true;
  } catch (error) {
    deps.logger.error('StartExecution of an admitted execution failed; the reconciler starts it', { execution_id: entry.id, error });
    return false;
  }
}

/** Pages of due entries one scheduled run moves per shard (of `maxPerShard` each): 8,000 a minute by default. */
const DUE_PAGES = 10;

/** What one scheduled run did. */
export interface ScheduledAdmission {
  /** Delayed executions that became due and went into their queues. */
  readonly due: number;
  /** Executions admitted. */
  readonly admitted: number;
}

/**
 * The schedule's run (every minute): moves delayed executions whose start time has come into their
 * tenants' queues, then runs admission for those tenants and for every tenant with limits (which
 * also admits what a lost stream record left waiting).
 */
export async function admitDue(deps: AdmissionDeps, maxPerShard = 100): Promise<ScheduledAdmission> {
  const now = deps.now?.() ?? Date.now();
  const tenants = new Set<string>();
  let due = 0;
  for (let shard = 0; shard < deps.store.delayedShards; shard++) {
    // Page after page: each due entry leaves the shard as it moves, so the next page is the next ones.
    for (let page = 0; page < DUE_PAGES; page++) {
      const entries = await deps.store.due(shard, now, maxPerShard);
      for (const entry of entries) {
        if (isTerminal(entry.status)) {
          // Cancelled while delayed, and the stream record that takes it out was lost.
          await deps.store.dropWaiting(entry.tenant, entry.id);
          continue;
        }
        if (await deps.store.makeDue(entry.tenant, entry.id, entry.priority)) due++;
        tenants.add(entry.tenant);
      }
      if (entries.length < maxPerShard) break;
    }
  }
  for (const tenant of await deps.store.limitedTenants()) tenants.add(tenant);
  let admitted = 0;
  for (const tenant of tenants) {
    try {
      admitted += (await admitTenant(deps, tenant)).admitted.length;
    } catch (error) {
      deps.logger.error('admission of a tenant failed; the next run tries again', { tenant, error });
    }
  }
  if (due > 0 || admitted > 0) deps.logger.info('scheduled admission', { due, admitted });
  return { due, admitted };
}

/** What one repair of a tenant's slots did. */
export interface SlotRepair {
  /** Slots of ended executions given back (their stream record was lost or kept failing). */
  readonly released: number;
  /** Counters set to the count of their holders. */
  readonly repaired: number;
  /** Admitted executions whose state machine was started again (harmless when it runs). */
  readonly restarted: number;
  /** Executions admitted afterwards. */
  readonly admitted: number;
}

/**
 * The reconciler's repair of one tenant's slots: gives back the slots of holders that have ended,
 * sets each counter that disagrees with the count of its holders (only a counter no admission or
 * release has changed for `quietMs`: the holders come from an index, which may lag a write by a
 * moment, and the write is conditioned on the version read, so it never races an admission), starts
 * the holders still `queued` (admitted, their start lost), then runs admission.
 */
export async function repairTenant(deps: AdmissionDeps, tenant: string, quietMs: number): Promise<SlotRepair> {
  const now = deps.now?.() ?? Date.now();
  let released = 0;
  let restarted = 0;
  const holders = await deps.store.holders(tenant);
  for (const holder of holders) {
    if (isTerminal(holder.status)) {
      if (await deps.store.release(tenant, holder.id, now)) released++;
    } else if (holder.status === 'queued' && (await startAdmitted(deps, tenant, holder))) {
      restarted++;
    }
  }
  const live = released > 0 ? await deps.store.holders(tenant) : holders;
  const counts = new Map<Scope, number>();
  for (const holder of live) for (const scope of holder.slot) counts.set(scope, (counts.get(scope) ?? 0) + 1);
  let repaired = 0;
  const counters = await deps.store.counters(tenant);
  const known = new Set(counters.map((counter) => counter.scope));
  const missing = [...counts.keys()].filter((scope) => !known.has(scope)).map((scope) => ({ scope, running: 0, version: 0, updatedAt: 0 }));
  for (const counter of [...counters, ...missing]) {
    const count = counts.get(counter.scope) ?? 0;
    if (count === counter.running || now - counter.updatedAt < quietMs) continue;
    if (await deps.store.repairCounter(tenant, counter, count, now)) {
      repaired++;
      deps.logger.warn('slot counter repaired', { tenant, scope: counter.scope, was: counter.running, now: count });
    }
  }
  const { admitted } = await admitTenant(deps, tenant);
  return { released, repaired, restarted, admitted: admitted.length };
}

/**
 * The reconciler's word on a `queued` record Step Functions does not know: `waiting` when it waits
 * for its start time or a slot (left alone: it is not lost), `started` when it had been admitted
 * and its start was lost (started now), `placed` when the stream record that places a held record
 * was lost (placed now, and its tenant's admission run), undefined when it was never held (the
 * reconciler's old rule applies: fail it after the grace period).
 */
export async function reconcileHeld(deps: AdmissionDeps, tenant: string, id: string): Promise<'waiting' | 'started' | 'placed' | undefined> {
  const state = await deps.store.heldState(tenant, id);
  if (!state || state.status !== 'queued') return undefined;
  switch (state.stage) {
    case 'held': {
      const placed = await deps.store.place(tenant, id, deps.now?.() ?? Date.now());
      if (placed === 'queued') await admitTenant(deps, tenant);
      return 'placed';
    }
    case 'admitted':
      return (await startAdmitted(deps, tenant, { id })) ? 'started' : 'waiting';
    default:
      return 'waiting';
  }
}
