import { MAX_PAYLOAD_BYTES, kilobytes } from '../domain/payload-limits.js';
import type { Logger, LogKeys } from '../shared/logger.js';
import type { ScopeChain, ScopeSegment } from './scope.js';

/**
 * What every state of a task's state machine passes to its Lambda (built by the state machine
 * construct from `$$.Execution` and the state's input).
 */
export interface StepPayload {
  readonly execution_id: string;
  readonly tenant: string;
  readonly task_id: string;
  /** Index of the step within its sequence (the task's steps, a branch, a map's or a case's steps). */
  readonly step_index: number;
  /** The step's name (unique in its task); absent in payloads of top-level steps compiled before nesting existed. */
  readonly step?: string;
  /** `$$.State.RetryCount`: 0 on the first attempt. */
  readonly attempt: number;
  readonly input: unknown;
  /** The map item the step runs in (`$.scope` of the state data); null or absent at the top level. */
  readonly scope?: ScopeChain | null;
  /** Parallel branches and choice cases below `scope`, outermost first. */
  readonly segments?: readonly ScopeSegment[];
  /** How many of the innermost levels of its place this state is the first to reach: it opens them (`init_branch`). */
  readonly opens?: number;
  /** How many of the innermost levels this state is the last of: it closes them (`finish_branch`) after its row. */
  readonly closes?: number;
}

/** Which step of which execution a payload is about, and where it runs: a payload without the step's input. */
export type StepAddress = Omit<StepPayload, 'input'>;

/** What every log line of an invocation for `payload` carries: its execution, task and tenant. */
export const payloadKeys = (payload: StepAddress): LogKeys => ({ execution_id: payload.execution_id, task_id: payload.task_id, tenant: payload.tenant });

/** What the state machine passes to the recorder after a parallel, map, choice, invoke or runTask step. */
export interface RecordPayload extends StepAddress {
  readonly action: 'record';
  /** The step's output (for parallel and map, the array of each branch's or item's output). */
  readonly output: unknown;
  /** Inside map items and parallel branches: `{ id, tenant }` of the execution, handed back in the state data. */
  readonly execution?: unknown;
}

/** What the state machine passes to the recorder before a sleep's Wait state. */
export interface SleepPayload extends StepPayload {
  readonly action: 'sleep';
  readonly seconds?: number;
  /** Dotted path of the seconds in the input. */
  readonly seconds_path?: string;
}

/** Payload of a `.waitForTaskToken` state. */
export interface WaitPayload extends StepPayload {
  readonly task_token: string;
}

/** The error a step raises when the execution ended (e.g. was cancelled) while it ran. */
export class ExecutionEndedError extends Error {
  override readonly name = 'ExecutionEnded';
}

/**
 * A step returned more JSON than {@link MAX_PAYLOAD_BYTES}. Passed on, Step Functions would fail
 * the execution with `States.DataLimitExceeded`, which no Retry or Catch handles; this error is
 * raised before anything is recorded, caught like any step failure, and never retried (the same
 * handler would return the same output). The execution's error names the step and both sizes.
 */
export class StepOutputTooLargeError extends Error {
  override readonly name = 'StepOutputTooLarge';

  constructor(step: string, bytes: number) {
    super(`Step "${step}" returned ${kilobytes(bytes)} KB of JSON; the limit is ${kilobytes(MAX_PAYLOAD_BYTES)} KB.`);
  }
}

/** A sleep whose seconds, read from its input, are not a whole number from 0 to a year. */
export class SleepSecondsInvalidError extends Error {
  override readonly name = 'SleepSecondsInvalid';
}

/**
 * What an execution shows when the runtime itself (not the step's handler) fails: the details of
 * an infrastructure error (ARNs, table names, IAM messages) stay in the logs.
 */
export class StepRuntimeError extends Error {
  override readonly name = 'StepRuntimeError';
}

/** Runs runtime work; any failure but {@link ExecutionEndedError} is logged and replaced by a {@link StepRuntimeError}. */
export async function guarded<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ExecutionEndedError) throw error;
    logger.error('step runtime failed', { error });
    throw new StepRuntimeError('The step runtime failed; the details are in its logs. The step is retried by its policy.');
  }
}
