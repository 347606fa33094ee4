import { MAX_PAYLOAD_BYTES, kilobytes } from '../domain/payload-limits.js';
import type { Logger } from '../shared/logger.js';

/**
 * What every state of a task's state machine passes to its Lambda (built by the state machine
 * construct from `$$.Execution` and the state's input).
 */
export interface StepPayload {
  readonly execution_id: string;
  readonly tenant: string;
  readonly task_id: string;
  readonly step_index: number;
  /** `$$.State.RetryCount`: 0 on the first attempt. */
  readonly attempt: number;
  readonly input: unknown;
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
