import type { ExecutionStatus } from '../client/index.js';

/**
 * What the CLI's exit code says. A command that follows an execution (`start --wait`, `watch`)
 * exits with its outcome; every other command exits 0 when it did what it was asked.
 */
export const EXIT = {
  /** Done; an execution followed to its end succeeded. */
  ok: 0,
  /** The execution failed. */
  failed: 1,
  /** The command line was wrong (unknown command or option, bad JSON, no URL or key). */
  usage: 2,
  /** The execution was cancelled. */
  cancelled: 3,
  /** The execution waits for input (resume it). */
  awaitingInput: 4,
  /** The API refused the request (a problem: 400, 401, 404, 409…) or could not be reached. */
  apiError: 5,
  /** `--timeout` passed while the execution still ran. */
  timedOut: 6,
} as const;

/** The exit code of a command that followed an execution to where it stopped. */
export function exitCodeOf(status: ExecutionStatus): number {
  switch (status) {
    case 'succeeded':
      return EXIT.ok;
    case 'failed':
      return EXIT.failed;
    case 'cancelled':
      return EXIT.cancelled;
    case 'awaiting_input':
      return EXIT.awaitingInput;
    default:
      return EXIT.timedOut;
  }
}

/** A mistake in the command line: exits {@link EXIT.usage} with its message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
