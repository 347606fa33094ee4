import { PayloadTooLargeError } from './errors.js';

/** Step Functions' quota on an execution's input and on every state's input and output: 256 KiB of UTF-8 JSON. */
export const STATES_PAYLOAD_QUOTA_BYTES = 256 * 1024;

/**
 * The most JSON an execution input, a resume input or a step's output may be: 250 KiB. Each step
 * state wraps its input in an envelope (execution id, tenant, task id, step index, attempt; a wait
 * step also its task token and function ARN), at most 2.4 KB, so the 6 KiB of headroom keeps every
 * state's payload under {@link STATES_PAYLOAD_QUOTA_BYTES} with more than 3 KB to spare. Measured on
 * the synthesized definitions with every field at its longest by test/infra/state-machines.test.ts.
 */
export const MAX_PAYLOAD_BYTES = 250 * 1024;

/** The size Step Functions counts for a value: its JSON text in UTF-8 (`undefined` is `null`). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/** Bytes as KB (1024) for messages, rounded up to a tenth so that an excess never reads as the limit. */
export function kilobytes(bytes: number): number {
  return Math.ceil(bytes / 102.4) / 10;
}

/**
 * Refuses a value a step would receive that is larger than {@link MAX_PAYLOAD_BYTES}.
 * @param what what the value is, for the message: `The input`, `The resume input`.
 * @throws PayloadTooLargeError (413) naming both sizes, in bytes: the caller trims to the byte.
 */
export function checkPayload(value: unknown, what: string): void {
  const bytes = jsonBytes(value);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(`${what} is ${bytes} bytes of JSON; a step takes at most ${MAX_PAYLOAD_BYTES}.`);
  }
}
