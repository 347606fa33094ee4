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

/**
 * Above this many bytes of JSON a value is not carried inline but written to the payload bucket
 * (S3), and the state, the record and the transition rows carry a {@link PayloadReference}: 64 KiB.
 * Chosen well under {@link STATES_PAYLOAD_QUOTA_BYTES} so that a state holding a few inline values
 * (a parallel's branches, a step's envelope) stays under it, and so that an execution record with
 * an inline input and an inline output (128 KiB) keeps far from DynamoDB's 400 KB item limit.
 */
export const OFFLOAD_THRESHOLD_BYTES = 64 * 1024;

/**
 * The most JSON an execution input may be at create: 5 MiB. It is written to S3 and the execution
 * carries a reference; API Gateway's HTTP API takes bodies up to 10 MB and Lambda's synchronous
 * request up to 6 MB, so 5 MiB leaves room for the rest of the body and its base64 encoding is not used.
 */
export const MAX_CREATE_INPUT_BYTES = 5 * 1024 * 1024;

/** What the state, the record and the rows carry in place of an offloaded value. */
export interface PayloadReference {
  readonly $payload: {
    /** The object's key in the payload bucket: `<tenant>/<execution or input id>/<what>`. */
    readonly key: string;
    /** Size of the value's JSON in UTF-8. */
    readonly bytes: number;
  };
}

/** Whether `value` has the shape of a {@link PayloadReference} (exactly one `$payload` key holding a key and a size). */
export function isPayloadReference(value: unknown): value is PayloadReference {
  // Short on purpose: every function that shows an execution bundles it.
  const inner = (value as { $payload?: { key?: unknown; bytes?: unknown } } | null)?.$payload;
  return typeof inner?.key === 'string' && typeof inner.bytes === 'number' && Object.keys(value as object).length === 1;
}

/**
 * Whether a value must go to the payload bucket: larger than {@link OFFLOAD_THRESHOLD_BYTES}, or
 * shaped like a reference (a caller's or a handler's value that merely looks like one is stored as
 * data, so nothing can pass a forged reference along).
 */
export function mustOffload(value: unknown, bytes: number = jsonBytes(value)): boolean {
  return bytes > OFFLOAD_THRESHOLD_BYTES || isPayloadReference(value);
}

/** The prefix of every key a tenant's values are stored under; a reference outside it is refused. */
export function tenantPrefix(tenant: string): string {
  return `${encodeURIComponent(tenant)}/`;
}

/**
 * The key of an offloaded value: `<tenant>/<owner>/<what>`, each part URI-encoded. A step's output
 * key is fixed by its execution and step, so a retried step overwrites its own object.
 */
export function payloadKey(tenant: string, owner: string, what: string): string {
  return `${tenantPrefix(tenant)}${encodeURIComponent(owner)}/${encodeURIComponent(what)}.json`;
}

/**
 * Refuses an execution input larger than {@link MAX_CREATE_INPUT_BYTES}.
 * @throws PayloadTooLargeError (413) naming both sizes, in bytes.
 */
export function checkCreateInput(value: unknown): number {
  const bytes = jsonBytes(value);
  if (bytes > MAX_CREATE_INPUT_BYTES) {
    throw new PayloadTooLargeError(`The input is ${bytes} bytes of JSON; an execution takes at most ${MAX_CREATE_INPUT_BYTES}.`);
  }
  return bytes;
}
