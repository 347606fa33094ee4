import { AlreadyRecordedError } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { payloadKey } from '../domain/payload-limits.js';
import { isTerminal } from '../domain/status.js';
import type { TransitionRequest } from '../domain/transition.js';
import type { ExecutionStore } from '../repository/execution-store.js';
import type { RuntimeStore } from '../repository/runtime-store.js';
import type { Logger } from '../shared/logger.js';
import { sequencesOf, type LambdaStep, type StepContext, type StepShape, type TaskDefinition, type TaskShape } from '../tasks/dsl.js';
import { stepAt } from '../tasks/task-catalogue.js';
import { progress } from './progression.js';
import type { PayloadStore } from '../shared/payload-store.js';
import { ExecutionEndedError, guarded, type StepAddress, type StepPayload } from './payload.js';
import { scopeLevels, type ScopeLevel } from './scope.js';

/** How often a step's progress reports are written at most (the latest of a window wins). */
export const PROGRESS_WINDOW_MS = 1_000;

/** What the step runner needs. */
export interface StepRunnerDeps {
  readonly repository: RuntimeStore;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly logger: Logger;
  /** Reads the step's input when it arrives as a reference, and writes its output when large. */
  readonly payloads: PayloadStore;
}

/** A step of a task and where it sits. */
export interface LocatedStep<S extends StepShape = StepShape, T extends TaskShape = TaskShape> {
  readonly task: T;
  readonly step: S;
  /** Index within its own sequence. */
  readonly index: number;
  /** Index of the top-level step it is, or is nested in. */
  readonly topIndex: number;
  readonly nested: boolean;
}

function find<S extends StepShape>(steps: readonly S[], name: string): { step: S; index: number } | undefined {
  for (const [index, candidate] of steps.entries()) {
    if (candidate.name === name) return { step: candidate, index };
    for (const sequence of sequencesOf(candidate)) {
      const found = find(sequence, name);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Finds the step a payload names (by name, nested steps included; by top-level index in payloads
 * without a name). A mismatch is a deployment error, not bad input.
 */
export function locateStep<T extends TaskShape>(tasks: ReadonlyMap<string, T>, payload: StepAddress): LocatedStep<T['steps'][number], T> | undefined {
  const task = tasks.get(payload.task_id);
  if (!task) return undefined;
  if (payload.step === undefined) {
    const step = task.steps[payload.step_index];
    return step ? { task, step, index: payload.step_index, topIndex: payload.step_index, nested: false } : undefined;
  }
  const topIndex = task.steps.findIndex((top) => top.name === payload.step || find(sequencesOf(top).flat(), payload.step!) !== undefined);
  const found = find(task.steps, payload.step);
  if (!found || found.index !== payload.step_index) return undefined;
  return { task, step: found.step, index: found.index, topIndex, nested: task.steps[topIndex] !== found.step };
}

/** Finds the Lambda step a payload names; a mismatch is a deployment error, not bad input. */
export function resolveStep(tasks: ReadonlyMap<string, TaskDefinition>, payload: StepPayload): LocatedStep<LambdaStep, TaskDefinition> {
  const located = locateStep(tasks, payload);
  if (located?.step.kind !== 'step') {
    throw new Error(`No Lambda step ${payload.step ?? payload.step_index} in task ${payload.task_id}: redeploy the state machine`);
  }
  return located as LocatedStep<LambdaStep, TaskDefinition>;
}

function ended(record: ExecutionRecord): ExecutionEndedError {
  return new ExecutionEndedError(`Execution ${record.id} is ${record.status}; step not run`);
}

/** Moves a `queued` execution to `running` (the `start` row), once, however many callers race. */
export async function ensureStarted(
  repository: ExecutionStore,
  record: ExecutionRecord,
  task: TaskShape,
): Promise<ExecutionRecord> {
  if (record.status !== 'queued') return record;
  const result = await progress(
    repository,
    record.tenant,
    record.id,
    (current) => (current.status === 'queued' ? { type: 'start', step: stepAt(task, 0) } : undefined),
    record,
  );
  return result.record;
}

/** The marker of a nested step's row: one per step per place. */
const stepMarker = (levels: readonly ScopeLevel[], name: string) => `step:${levels.at(-1)?.path ?? ''}:${name}`;

/**
 * The recording side of a step, shared by the step runner (around a handler) and the recorder
 * (after parallel, map, choice, invoke, runTask and before a sleep): finds out whether the step is
 * already recorded, opens the branches it is the first to reach, records its row, and closes the
 * branches it is the last of. Top-level steps are recorded once by the execution's step counter;
 * nested ones by a marker item written in the same transaction as their row.
 */
export class StepRecording {
  readonly levels: ScopeLevel[];
  private readonly logger: Logger;

  constructor(
    private readonly repository: RuntimeStore,
    readonly located: LocatedStep,
    private readonly payload: StepAddress,
    logger: Logger,
  ) {
    this.levels = located.nested ? scopeLevels(payload.scope, payload.segments) : [];
    this.logger = logger;
  }

  /** The output an earlier invocation recorded for this step, if one did. */
  async recorded(record: ExecutionRecord): Promise<{ output: unknown } | undefined> {
    const { located } = this;
    if (!located.nested) {
      if (record.stepsCompleted <= located.index) return undefined;
      const row = await this.repository.findStepRow(record.tenant, record.id, located.index);
      if (!row) throw new Error(`Step ${located.index} of execution ${record.id} is marked done but has no row`);
      return { output: row.output };
    }
    const row = await this.repository.findMarkedRow(record.tenant, record.id, stepMarker(this.levels, located.step.name));
    return row ? { output: row.output } : undefined;
  }

  /**
   * Reads the execution and gets it ready for the step: `done` with the recorded output when the
   * step was already recorded, else the running record (started if it was queued, its branches opened).
   * @throws ExecutionEndedError when the execution has ended.
   */
  async prepare(): Promise<{ done: unknown } | { record: ExecutionRecord }> {
    const { payload, located } = this;
    let record = await this.repository.get(payload.tenant, payload.execution_id);
    const recorded = await this.recorded(record);
    if (recorded) {
      this.logger.info('step already recorded; returning its output');
      // An earlier attempt may have recorded the row and then failed before closing its branches
      // (a lost or throttled write, a timeout): close them now; their markers keep each close once.
      if (!isTerminal(record.status)) await this.close(record);
      return { done: recorded.output };
    }
    if (isTerminal(record.status)) throw ended(record);
    record = await ensureStarted(this.repository, record, located.task);
    if (record.status !== 'running') throw ended(record);
    for (const level of this.levels.slice(this.levels.length - (payload.opens ?? 0))) {
      record = await this.change(record, { type: 'init_branch', scope: level.path, marker: `open:${level.path}`, output: branchOf(level) });
    }
    return { record };
  }

  /**
   * Records the step's output (once), then closes the branches it ends.
   * @returns the output recorded: this call's, or the one an earlier invocation recorded.
   */
  async finish(record: ExecutionRecord, output: unknown, message?: string): Promise<unknown> {
    const { located, levels } = this;
    const step = { index: located.index, name: located.step.name };
    let recorded = output;
    if (located.nested) {
      const marker = stepMarker(levels, step.name);
      try {
        record = await this.change(record, { type: 'step', step, scope: levels.at(-1)!.path, marker, output, ...(message ? { message } : {}) }, false);
      } catch (error) {
        if (!(error instanceof AlreadyRecordedError)) throw error;
        // The row's output as recorded, null included (`??` would put this call's output in its place).
        const row = await this.repository.findMarkedRow(record.tenant, record.id, marker);
        recorded = row ? row.output : output;
      }
    } else {
      const result = await progress(
        this.repository,
        record.tenant,
        record.id,
        (current) => {
          if (current.stepsCompleted > located.index) return undefined;
          if (isTerminal(current.status)) throw ended(current);
          return { type: 'step', step, advanceTo: stepAt(located.task, located.index + 1), output, ...(message ? { message } : {}) };
        },
        record,
      );
      if (!result.applied) {
        const found = await this.recorded(result.record);
        return found ? found.output : output;
      }
      record = result.record;
      this.logger.info('step recorded', { seq: record.transitionCount, conflicts: result.conflicts });
    }
    await this.close(record);
    return recorded;
  }

  /** Closes the branches this step is the last of, innermost first (each once, by its marker). */
  private async close(record: ExecutionRecord): Promise<void> {
    const { levels } = this;
    const closing = levels.slice(levels.length - (this.payload.closes ?? 0)).reverse();
    for (const level of closing) {
      const top = level === levels[0];
      record = await this.change(record, {
        type: 'finish_branch',
        scope: level.path,
        marker: `close:${level.path}`,
        output: branchOf(level),
        ...(top && level.unit !== 'cases' && level.total !== undefined ? { countsToward: { total: level.total, unit: level.unit } } : {}),
      });
    }
  }

  /**
   * Writes one nested change unless its marker says it happened. With `swallow` false, the
   * caller handles {@link AlreadyRecordedError} itself.
   */
  private async change(record: ExecutionRecord, request: TransitionRequest, swallow = true): Promise<ExecutionRecord> {
    try {
      const result = await progress(
        this.repository,
        record.tenant,
        record.id,
        (current) => {
          if (isTerminal(current.status)) throw ended(current);
          return request;
        },
        record,
      );
      this.logger.info(`${request.type} recorded`, { scope: request.scope, seq: result.record.transitionCount, conflicts: result.conflicts });
      return result.record;
    } catch (error) {
      if (!swallow || !(error instanceof AlreadyRecordedError)) throw error;
      return this.repository.get(record.tenant, record.id);
    }
  }
}

function branchOf(level: ScopeLevel): Record<string, unknown> {
  return { [level.unit === 'items' ? 'map' : level.unit === 'branches' ? 'parallel' : 'choice']: level.name, index: level.index, ...(level.total === undefined ? {} : { total: level.total }) };
}

/**
 * Runs one Lambda step of an execution: records `start` before the first step (and opens the
 * branches it is first in), runs the handler, then records a `step` row with its output (and
 * closes the branches it ends). A retried or duplicated invocation of a step already recorded
 * returns the recorded output without running the handler again, so Lambda and Step Functions
 * retries never write a second row.
 */
export async function runStep(deps: StepRunnerDeps, payload: StepPayload): Promise<unknown> {
  // The execution, task and tenant are on every line of the invocation already (the handler's `payloadKeys`).
  const logger = deps.logger.child({ step: payload.step ?? payload.step_index });
  const recording = await guarded(logger, async () => new StepRecording(deps.repository, resolveStep(deps.tasks, payload), payload, logger));
  const prepared = await guarded(logger, () => recording.prepare());
  if ('done' in prepared) return prepared.done;
  const { record } = prepared;
  const { task, step, index, topIndex, nested } = recording.located as LocatedStep<LambdaStep, TaskDefinition>;

  // Progress is written at most once per window, its latest value last: a step that ends sooner
  // writes none, as its ending transition resets the progress anyway (capacity per execution).
  let latest: (() => Promise<void>) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | undefined;
  const flush = () => {
    timer = undefined;
    writing = latest?.();
    latest = undefined;
  };
  const context: StepContext = {
    executionId: record.id,
    taskId: task.id,
    stepIndex: index,
    stepName: step.name,
    attempt: payload.attempt,
    reportProgress: async (fraction, message) => {
      // A nested step shares the execution's progress with its siblings: the branch and item
      // counts say how far the top-level step is, so its own fraction is only logged.
      if (nested) return logger.info('nested step progress', { fraction, message });
      const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
      const at = new Date().toISOString();
      latest = async () => {
        try {
          await deps.repository.updateProgress(record, topIndex, clamped, message?.slice(0, 200), at);
        } catch (error) {
          // Progress is advisory: losing one update must not fail the step.
          logger.warn('progress update failed', { error });
        }
      };
      timer ??= setTimeout(flush, PROGRESS_WINDOW_MS);
    },
  };
  // The handler sees plain values only: an offloaded input is read back from the payload bucket.
  const input = await guarded(logger, () => deps.payloads.resolve(payload.input, record.tenant));
  logger.info('step started', { attempt: payload.attempt });
  let output: unknown;
  try {
    // The handler's own errors pass through unchanged: they are the step's failure, shown to callers.
    output = (await step.run(input, context)) ?? null;
  } finally {
    clearTimeout(timer);
    latest = undefined;
    // A write under way lands before the step's own transition, never after it.
    await writing;
  }
  // A large output goes to the payload bucket before it is recorded: the row, the record and the
  // next state carry its reference (Step Functions' 256 KB state quota, DynamoDB's 400 KB item).
  // The key is the step's place, so a retried attempt overwrites its own object.
  const place = recording.levels.at(-1)?.path;
  const key = payloadKey(record.tenant, record.id, place ? `${place}/${step.name}` : step.name);
  const carried = await guarded(logger, () => deps.payloads.offload(output, key));
  return guarded(logger, () => recording.finish(record, carried));
}
