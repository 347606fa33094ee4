import type { LambdaStep, MapStep, Step, TaskDefinition } from '../../lambdas/tasks/dsl.js';

/**
 * The worst case of a task's Step Functions execution history, computed from its steps at synth.
 * Step Functions records at most 25,000 events per execution (a hard quota: the event after the
 * 24,999th fails the execution unless it is `ExecutionSucceeded`), and an inline map or parallel
 * puts its items' and branches' events in the parent's history; so a task that could pass the
 * limit is refused at synth, with the numbers, instead of failing in production on a large input.
 *
 * Events per state, from the history event types of the Step Functions API reference
 * (`HistoryEvent.type`) and the states {@link TaskStateMachine} compiles:
 * - the execution: `ExecutionStarted` and `ExecutionSucceeded`/`Failed`/`TimedOut`/`Aborted` (2);
 * - a Task state: `TaskStateEntered` and `TaskStateExited` (2), and per attempt `TaskScheduled`,
 *   `TaskStarted`, `TaskSucceeded`/`TaskFailed`/`TaskTimedOut` (3), plus `TaskSubmitted` for a
 *   `.waitForTaskToken` task (4); a retry adds an attempt, not a new entry;
 * - a Wait or Choice state: entered and exited (2); a Fail state: `FailStateEntered` (1);
 * - a Parallel state: entered, started, succeeded, exited (4) plus its branches' events;
 * - an inline Map state: entered, started, succeeded, exited (4), and per item
 *   `MapIterationStarted` and `MapIterationSucceeded` (2) plus the item's events;
 * - a Distributed Map state: entered, started, `MapRunStarted`, `MapRunSucceeded`, succeeded,
 *   exited (6); each item is a child execution with a history of its own (2 + its steps' events).
 * Worst case: every retrier of every Task state used to the end (Step Functions counts each
 * retrier's attempts apart, so they add up), every branch run, the costliest case of a choice.
 */

/** Step Functions' hard quota of events in one execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** Retries of Lambda's refusals (throttling, service errors): the first retrier of every Task state. */
export const TRANSIENT_RETRIES = 8;
/** Retries of the service's own functions (the recorder, the wait and child-start functions) after `States.TaskFailed`. */
export const SERVICE_RETRIES = 3;

/** Events of each kind of state (see the module's comment). */
export const EVENTS = {
  execution: 2,
  taskEntry: 2,
  taskAttempt: 3,
  callbackAttempt: 4,
  wait: 2,
  choice: 2,
  fail: 1,
  parallel: 4,
  inlineMap: 4,
  iteration: 2,
  distributedMap: 6,
} as const;

/** A Task state attempted at most `attempts` times. */
const taskEvents = (attempts: number, callback = false) => EVENTS.taskEntry + attempts * (callback ? EVENTS.callbackAttempt : EVENTS.taskAttempt);
/** Attempts of a step's own Task state: the first, Lambda's refusals retried, then its own policy. */
const ownAttempts = (retry: LambdaStep['retry']) => 1 + TRANSIENT_RETRIES + (retry ? retry.maxAttempts : 0);
/** A Task state of the service's own functions: the first attempt, Lambda's refusals, then `States.TaskFailed`. */
const SERVICE_TASK = taskEvents(1 + TRANSIENT_RETRIES + SERVICE_RETRIES);

/** Worst-case events of each step, and the items counted for each inline map (its `maxItems`, else 1). */
export interface Counting {
  /** Items assumed per map, by name (the check's search for the items that fit overrides one). */
  readonly items: ReadonlyMap<string, number>;
  /** Every Task state succeeds at its first attempt (a run without failures), instead of the worst case. */
  readonly firstAttempts?: boolean;
}

function itemsOf(step: MapStep, counting: Counting): number {
  return counting.items.get(step.name) ?? step.maxItems ?? 1;
}

/** Events of an execution of a sequence (the task's steps), with `counting`'s items and attempts. */
export function executionEvents(steps: readonly Step[], counting: Counting): number {
  return EVENTS.execution + sequenceEvents(steps, counting);
}

/** Worst-case events of a sequence of steps in the history it runs in. */
function sequenceEvents(steps: readonly Step[], counting: Counting): number {
  return steps.reduce((sum, step) => sum + stepEvents(step, counting), 0);
}

/** Worst-case events a step adds to the history it runs in (its nested steps included, unless they run as child executions). */
export function stepEvents(step: Step, counting: Counting = { items: new Map() }): number {
  const first = counting.firstAttempts === true;
  const RECORD = first ? taskEvents(1) : SERVICE_TASK;
  const CALLBACK = taskEvents(first ? 1 : 1 + TRANSIENT_RETRIES + SERVICE_RETRIES, true);
  switch (step.kind) {
    case 'step':
      return taskEvents(first ? 1 : ownAttempts(step.retry));
    case 'invoke':
      return taskEvents(first ? 1 : ownAttempts(step.retry)) + RECORD;
    case 'wait':
      return CALLBACK;
    case 'run-task':
      // The child execution has a history of its own: here only the callback Task and the record.
      return CALLBACK + RECORD;
    case 'sleep':
      return RECORD + EVENTS.wait;
    case 'parallel':
      return EVENTS.parallel + step.branches.reduce((sum, branch) => sum + sequenceEvents(branch, counting), 0) + RECORD;
    case 'choice': {
      const cases = step.cases.map((entry) => sequenceEvents(entry.steps, counting));
      const otherwise = step.otherwise ? sequenceEvents(step.otherwise, counting) : EVENTS.fail;
      return EVENTS.choice + Math.max(otherwise, ...cases) + RECORD;
    }
    case 'map':
      if (step.distributed) return EVENTS.distributedMap + RECORD;
      return EVENTS.inlineMap + itemsOf(step, counting) * (EVENTS.iteration + sequenceEvents(step.steps, counting)) + RECORD;
  }
}

/** The worst case of one execution's history. */
export interface HistoryEstimate {
  /** Events of the execution, every retry taken (undeclared inline maps counted with one item). */
  readonly events: number;
  readonly limit: number;
  /** Each top-level step's share, in order. */
  readonly steps: ReadonlyArray<{ readonly step: string; readonly events: number }>;
  /** Inline maps without `maxItems`, with the most items the task stays under the limit with (the others at one item or their bound). */
  readonly undeclaredMaps: ReadonlyArray<{ readonly step: string; readonly itemsThatFit: number }>;
  /** Each distributed map's child execution (one item): its own history's worst case. */
  readonly childExecutions: ReadonlyArray<{ readonly step: string; readonly events: number }>;
}

/** Every map of a sequence, nested ones included, with the sequences above it. */
function mapsOf(steps: readonly Step[]): MapStep[] {
  return steps.flatMap((step): MapStep[] => {
    const nested = step.kind === 'parallel' ? step.branches : step.kind === 'map' ? [step.steps] : step.kind === 'choice' ? [...step.cases.map((entry) => entry.steps), step.otherwise ?? []] : [];
    return [...(step.kind === 'map' ? [step] : []), ...nested.flatMap(mapsOf)];
  });
}

/** The largest item count of `map` that keeps the history within the limit (0 when none does; capped at 1,000,000). */
function itemsThatFit(steps: readonly Step[], map: MapStep): number {
  const total = (items: number) => EVENTS.execution + sequenceEvents(steps, { items: new Map([[map.name, items]]) });
  if (total(1) > HISTORY_EVENT_LIMIT) return 0;
  let low = 1;
  let high = 1_000_000;
  if (total(high) <= HISTORY_EVENT_LIMIT) return high;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (total(middle) <= HISTORY_EVENT_LIMIT) low = middle;
    else high = middle;
  }
  return low;
}

/** The worst case of an execution of `task` and of its distributed maps' child executions. */
export function historyEstimate(task: Pick<TaskDefinition, 'steps'>): HistoryEstimate {
  const counting: Counting = { items: new Map() };
  const steps = task.steps.map((step) => ({ step: step.name, events: stepEvents(step, counting) }));
  const maps = mapsOf(task.steps);
  return {
    events: EVENTS.execution + steps.reduce((sum, entry) => sum + entry.events, 0),
    limit: HISTORY_EVENT_LIMIT,
    steps,
    undeclaredMaps: maps.filter((map) => !map.distributed && map.maxItems === undefined).map((map) => ({ step: map.name, itemsThatFit: itemsThatFit(task.steps, map) })),
    childExecutions: maps.filter((map) => map.distributed).map((map) => ({ step: map.name, events: EVENTS.execution + sequenceEvents(map.steps, counting) })),
  };
}

/** The advice of every refusal: where the events can go instead. */
const ADVICE =
  'Run the items as a Distributed Map (map(…, { distributed: true }): each item is a child execution with a history of its own) or move the work into a child task (runTask), which also has its own history.';

/**
 * Refuses, at synth, a task whose execution could record more than {@link HISTORY_EVENT_LIMIT}
 * history events, or whose distributed map's child execution could; names the worst case, the
 * limit and the step responsible.
 * @throws Error with the numbers.
 */
export function checkHistoryEvents(task: Pick<TaskDefinition, 'id' | 'steps'>): HistoryEstimate {
  const estimate = historyEstimate(task);
  const { limit } = estimate;
  if (estimate.events > limit) {
    const worst = estimate.steps.reduce((a, b) => (b.events > a.events ? b : a));
    const step = task.steps.find((entry) => entry.name === worst.step)!;
    const detail = step.kind === 'map' && !step.distributed ? ` (${itemsOf(step, { items: new Map() })} items × ${EVENTS.iteration + sequenceEvents(step.steps, { items: new Map() })} events each)` : '';
    throw new Error(
      `Task ${task.id}: an execution could record ${estimate.events} Step Functions history events in the worst case (every retry taken), over the limit of ${limit} per execution; step "${worst.step}" accounts for ${worst.events}${detail}. ${ADVICE}`,
    );
  }
  for (const child of estimate.childExecutions) {
    if (child.events > limit) {
      throw new Error(`Task ${task.id}: each item of distributed map "${child.step}" could record ${child.events} history events in its child execution, over the limit of ${limit}. Split its steps with a nested distributed map or a child task (runTask).`);
    }
  }
  return estimate;
}

/** Checks a map's declared `maxItems`: a whole number of at least 1. */
export function checkMaxItems(task: Pick<TaskDefinition, 'id' | 'steps'>): void {
  for (const map of mapsOf(task.steps)) {
    if (map.maxItems !== undefined && (!Number.isInteger(map.maxItems) || map.maxItems < 1)) {
      throw new Error(`Task ${task.id}: map "${map.name}": maxItems must be a whole number of at least 1, got ${map.maxItems}`);
    }
  }
}
