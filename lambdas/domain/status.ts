import { ConflictError } from './errors.js';

/** Every status an execution can be in. */
export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'awaiting_input',
  'succeeded',
  'failed',
  'cancelled',
] as const;

/** A status an execution can be in. */
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses that end an execution; only `failed` can be left, by a `retry` (see {@link TRANSITION_TABLE}). */
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Every kind of transition row. */
export const TRANSITION_TYPES = [
  'init',
  'start',
  'step',
  'init_branch',
  'finish_branch',
  'wait',
  'resume',
  'finish',
  'error',
  'cancel',
  'retry',
] as const;

/** A kind of transition row. */
export type TransitionType = (typeof TRANSITION_TYPES)[number];

interface Rule {
  readonly from: readonly ExecutionStatus[];
  readonly to: ExecutionStatus;
}

// The `from` lists several rows share, written once: every step function bundles this table, and
// their bundles are at their size budget.
const RUNNING: readonly ExecutionStatus[] = ['running'];
const LIVE: readonly ExecutionStatus[] = ['queued', 'running', 'awaiting_input'];

/**
 * The status machine (DESIGN §3). `init` has no source status: it creates the record.
 * Every writer asks {@link nextStatus}; nothing else decides what may follow what.
 */
export const TRANSITION_TABLE: Readonly<Record<TransitionType, Rule>> = {
  init: { from: [], to: 'queued' },
  start: { from: ['queued'], to: 'running' },
  step: { from: RUNNING, to: 'running' },
  // A parallel branch, map item or choice case opening and closing (Julep's types): nested work of a running execution.
  init_branch: { from: RUNNING, to: 'running' },
  finish_branch: { from: RUNNING, to: 'running' },
  wait: { from: RUNNING, to: 'awaiting_input' },
  resume: { from: ['awaiting_input'], to: 'running' },
  finish: { from: RUNNING, to: 'succeeded' },
  error: { from: LIVE, to: 'failed' },
  cancel: { from: LIVE, to: 'cancelled' },
  // The one way out of a terminal status: a failed execution resumed from the step that failed
  // (Step Functions' RedriveExecution). `succeeded` and `cancelled` stay final.
  retry: { from: ['failed'], to: 'running' },
};

/** Aliases accepted from clients of the older API (seed Task 75). */
export const STATUS_ALIASES: Readonly<Record<string, ExecutionStatus>> = {
  pending: 'queued',
  completed: 'succeeded',
};

/** True when `type` may be applied to an execution currently in `from`. */
export function canTransition(type: TransitionType, from: ExecutionStatus): boolean {
  return TRANSITION_TABLE[type].from.includes(from);
}

/**
 * The status an execution in `from` reaches through `type`.
 * @throws ConflictError when the table does not allow it (HTTP 409).
 */
export function nextStatus(type: TransitionType, from: ExecutionStatus): ExecutionStatus {
  if (!canTransition(type, from)) {
    throw new ConflictError(
      TERMINAL_STATUSES.has(from)
        ? `The execution is already ${from}; nothing can change it.`
        : `A ${type} transition is not allowed while the execution is ${from}.`,
    );
  }
  return TRANSITION_TABLE[type].to;
}

/** True for `succeeded`, `failed` and `cancelled`. */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Resolves a status or one of its aliases; undefined when it is neither. */
export function parseStatus(value: string): ExecutionStatus | undefined {
  if ((EXECUTION_STATUSES as readonly string[]).includes(value)) return value as ExecutionStatus;
  // Own keys only: `STATUS_ALIASES['valueOf']` would be Object.prototype's function, not a status.
  return Object.hasOwn(STATUS_ALIASES, value) ? STATUS_ALIASES[value] : undefined;
}
