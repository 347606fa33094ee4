import { ADMISSION_INDEX, META_SK } from '../repository/keys.js';
import { TERMINAL_STATUSES } from '../domain/status.js';

/**
 * The admission function's stream filters (Lambda event filtering), as plain patterns: the CDK
 * construct (infra/constructs/admission.ts) deploys them, the local stack evaluates them as Lambda
 * does, and the tests of the slot accounting pass their generated stream records through them.
 * Only these reach the function:
 * 1. an execution record inserted `held` (create held it: a delay, or a tenant with limits);
 * 2. an execution record whose new image is terminal while it is still in admission (holds a slot,
 *    waits, or is still marked held): its slot is given back, or it leaves the queue.
 * A step's progress, and admission's own writes (which remove the marks before or keep the status
 * live), never match.
 */
export const ADMISSION_STREAM_FILTERS: readonly Record<string, unknown>[] = [
  { eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [META_SK] } }, NewImage: { held: { BOOL: [true] } } } },
  {
    dynamodb: {
      Keys: { sk: { S: [META_SK] } },
      NewImage: { status: { S: [...TERMINAL_STATUSES] }, [ADMISSION_INDEX.partitionKey]: { S: [{ exists: true }] } },
    },
  },
  {
    dynamodb: {
      Keys: { sk: { S: [META_SK] } },
      NewImage: { status: { S: [...TERMINAL_STATUSES] }, held: { BOOL: [true] } },
    },
  },
];
