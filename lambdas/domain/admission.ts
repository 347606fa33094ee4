import { ValidationError } from './errors.js';

// Concurrency limits, priority and delayed starts (docs/architecture.md, "Admission"): the pure
// rules. The repository (`AdmissionStore`) keeps the queue, the counters and the limits in the
// table; the admission function (lambdas/runtime/admission.ts) applies these rules to them.

/** Priorities run from 1 (lowest) to 5 (highest); work without one gets {@link DEFAULT_PRIORITY}. */
export const PRIORITY = { min: 1, max: 5 } as const;
/** The priority of work created without one: the middle, so callers can go above and below it. */
export const DEFAULT_PRIORITY = 3;
/** The furthest ahead a start may be, in seconds (365 days; Standard workflows run at most a year). */
export const MAX_DELAY_SECONDS = 31_536_000;

/** The scope of a running-executions counter: the whole tenant, one task, or one concurrency key. */
export type Scope = 'TENANT' | `TASK#${string}` | `KEY#${string}`;

/** A tenant's limits of running executions; an absent limit is no limit. */
export interface ConcurrencyLimits {
  /** Running executions of the tenant, all tasks and keys together. */
  readonly tenant?: number;
  /** Running executions of each one concurrency key (the same limit for every key value). */
  readonly perKey?: number;
  /** Running executions of one task, by task id. */
  readonly tasks?: Readonly<Record<string, number>>;
}

/** Most executions a limit may allow (a larger one is no limit in practice). */
export const MAX_LIMIT = 100_000;

/** An execution waiting in its tenant's queue, as admission sees it. */
export interface QueueEntry {
  readonly id: string;
  readonly taskId: string;
  readonly priority: number;
  /** Its concurrency key; the empty string for work without one (one group of its own). */
  readonly key: string;
}

/**
 * The scopes an execution holds a slot in while it runs: its tenant, its task and its key group
 * (work without a key counts in the group `KEY#`, which has no limit but orders fairly).
 */
export function scopesOf(taskId: string, key: string | undefined): Scope[] {
  return ['TENANT', `TASK#${taskId}`, `KEY#${key ?? ''}`];
}

/** The limit of `scope` under `limits`; undefined when the scope is not limited. */
export function limitOf(limits: ConcurrencyLimits, scope: Scope): number | undefined {
  if (scope === 'TENANT') return limits.tenant;
  if (scope.startsWith('TASK#')) {
    const taskId = scope.slice(5);
    return limits.tasks && Object.hasOwn(limits.tasks, taskId) ? limits.tasks[taskId] : undefined;
  }
  // The group of work without a key is never limited: a key limit is per key the caller chose.
  return scope === 'KEY#' ? undefined : limits.perKey;
}

/**
 * Sort key of a queued execution in its tenant's queue: highest priority first (`5 - priority`,
 * so 5 sorts first), then by id, which is time-ordered (UUIDv7): first in, first out.
 */
export function queueSort(priority: number, id: string): string {
  return `${PRIORITY.max - priority}#${id}`;
}

/** The priority and id a {@link queueSort} holds. */
export function fromQueueSort(sort: string): { priority: number; id: string } {
  return { priority: PRIORITY.max - Number(sort.slice(0, 1)), id: sort.slice(2) };
}

/**
 * The start time of a create that asked for one (`start_at` or `delay_seconds`, not both), as ISO
 * 8601; undefined when it starts now (none asked, or a time that has passed). An arrow function: the create function's bundle is at its size budget, and
 * `keepNames` wraps a declaration in more bytes.
 * @throws ValidationError when the time is more than {@link MAX_DELAY_SECONDS} ahead, or no real
 * date (the schema checks the form; February 30th has it).
 */
export const startTimeOf = (startAt: string | undefined, delaySeconds: number | undefined, now = Date.now()): string | undefined => {
  // Both given is no time (NaN), as a date that does not exist is (Date.parse reads February 30th
  // as March 2nd: the day must be the one the text names): each fails the bound.
  const [year, month, day] = (startAt ?? '').split('-').map((part) => parseInt(part));
  const at = startAt
    ? delaySeconds === undefined && new Date(Date.UTC(year!, month! - 1, day)).getUTCDate() === day
      ? Date.parse(startAt)
      : NaN
    : now + (delaySeconds ?? 0) * 1000;
  if (!(at - now <= MAX_DELAY_SECONDS * 1000)) throw new ValidationError('start_at must be a real date-time at most 365 days ahead, and not come with delay_seconds.');
  return at > now ? new Date(at).toISOString() : undefined;
};

/** What one admission run decided to try, in order, and what stays waiting (with why). */
export interface AdmissionPlan {
  /** The entries to admit, in this order. */
  readonly admit: readonly QueueEntry[];
  /** The scope that holds each waiting entry back (the first full one of its scopes). */
  readonly blocked: ReadonlyMap<string, Scope>;
}

/**
 * Plans an admission run over a tenant's waiting work (`waiting`, in queue order: priority, then
 * FIFO) given the running counts of its scopes. The rules, in words:
 *
 * 1. Highest priority first: no entry is admitted while an entry of higher priority that could
 *    be admitted (its scopes have room) waits.
 * 2. Within a priority, fair between concurrency keys: the next slot goes to the entry whose key
 *    group runs the fewest executions (counting those this plan admits), first in first out among
 *    groups running equally many; work without a key is one group.
 * 3. Work whose task or key is at its limit is passed over: it never holds back other work.
 * 4. Nothing is admitted beyond a limit: the plan stops when the tenant is at its limit.
 */
export function planAdmission(
  waiting: readonly QueueEntry[],
  limits: ConcurrencyLimits,
  running: ReadonlyMap<Scope, number>,
): AdmissionPlan {
  const counts = new Map(running);
  const count = (scope: Scope) => counts.get(scope) ?? 0;
  const full = (scope: Scope) => {
    const limit = limitOf(limits, scope);
    return limit !== undefined && count(scope) >= limit;
  };
  const admit: QueueEntry[] = [];
  const blocked = new Map<string, Scope>();
  const pending = [...waiting];
  while (pending.length > 0 && !full('TENANT')) {
    let best = -1;
    for (let index = 0; index < pending.length; index++) {
      const entry = pending[index]!;
      const scopes = scopesOf(entry.taskId, entry.key);
      const stop = scopes.find(full);
      if (stop) {
        blocked.set(entry.id, stop);
        continue;
      }
      blocked.delete(entry.id);
      if (best < 0) {
        best = index;
        continue;
      }
      const current = pending[best]!;
      // Queue order is priority first: a lower priority never goes before.
      if (entry.priority !== current.priority) continue;
      if (count(`KEY#${entry.key}`) < count(`KEY#${current.key}`)) best = index;
    }
    if (best < 0) break;
    const [chosen] = pending.splice(best, 1);
    admit.push(chosen!);
    for (const scope of scopesOf(chosen!.taskId, chosen!.key)) counts.set(scope, count(scope) + 1);
  }
  for (const entry of pending) if (!blocked.has(entry.id)) blocked.set(entry.id, 'TENANT');
  return { admit, blocked };
}

/** Checks a limit given to the keys CLI or the admin route: a whole number from 1 to {@link MAX_LIMIT}. */
export function assertLimit(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new ValidationError(`${what} must be a whole number from 1 to ${MAX_LIMIT}, not ${value}.`);
  }
  return value;
}
