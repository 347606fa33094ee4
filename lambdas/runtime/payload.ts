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
