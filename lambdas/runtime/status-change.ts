import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { PayloadTooLargeError } from '../domain/errors.js';
import type { ExecutionError, ExecutionRecord } from '../domain/execution.js';
import { isEarlierAttempt } from '../domain/recovery.js';
import { isTerminal } from '../domain/status.js';
import type { TransitionRequest } from '../domain/transition.js';
import type { FamilyStore } from '../repository/family-store.js';
import { addLogKeys, type Logger } from '../shared/logger.js';
import { hasFamily, settleFamily } from './family.js';
import { progress } from './progression.js';

/** The terminal statuses Step Functions reports. */
export type SfnTerminalStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** `detail` of an EventBridge "Step Functions Execution Status Change" event. */
export interface StatusChangeDetail {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: SfnTerminalStatus | 'RUNNING' | 'PENDING_REDRIVE';
  readonly input?: string | null;
  readonly output?: string | null;
  readonly inputDetails?: { readonly included?: boolean };
  readonly outputDetails?: { readonly included?: boolean };
  readonly error?: string | null;
  readonly cause?: string | null;
  /**
   * Times the execution had been redriven when this status was reached (0 or absent: never), as
   * EventBridge and `DescribeExecution` report it: a report with a lower count than the record's
   * `redrive_count` is of an attempt before the latest retry.
   */
  readonly redriveCount?: number;
}

/** What the status-change handler needs (the family store: an ended execution may owe its parent or children). */
export interface StatusChangeDeps {
  readonly repository: FamilyStore;
  readonly sfn: SFNClient;
  readonly logger: Logger;
}

function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A short, safe message from a Step Functions failure cause. Lambda causes are JSON with the
 * error's message and stack; only the message is kept.
 */
export function messageOf(cause: string | null | undefined, fallback: string): string {
  const parsed = parseJson(cause);
  if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string') {
    return parsed.errorMessage.slice(0, 1000);
  }
  const text = (cause ?? '').trim();
  // A timeout's cause is empty, or (locally) just its error name: neither tells the caller anything.
  return text && !/^States\.[A-Za-z]+$/.test(text) ? text.slice(0, 1000) : fallback;
}

/** The error name: a Lambda's own error type when the cause carries one. */
function nameOf(detail: StatusChangeDetail): string {
  const parsed = parseJson(detail.cause);
  if (parsed && typeof parsed === 'object' && 'errorType' in parsed && typeof parsed.errorType === 'string') {
    return parsed.errorType;
  }
  return detail.error || (detail.status === 'TIMED_OUT' ? 'States.Timeout' : 'States.TaskFailed');
}

/** The failure of an execution, naming the step it was at. */
export function failureOf(detail: StatusChangeDetail, record: ExecutionRecord): ExecutionError {
  const step = { index: record.stepIndex, name: record.stepName };
  const name = nameOf(detail);
  const fallback =
    record.status === 'awaiting_input' || name === 'States.Timeout'
      ? record.status === 'awaiting_input'
        ? `No input arrived before the wait "${step.name}" timed out.`
        : `Step "${step.name}" timed out.`
      : `Step "${step.name}" failed.`;
  const message = detail.status === 'TIMED_OUT' ? 'The execution exceeded its time limit.' : messageOf(detail.cause, fallback);
  return { name, message, step };
}

async function describe(deps: StatusChangeDeps, executionArn: string) {
  return deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
}

/**
 * Writes the terminal transition a state machine's end calls for: `finish` (SUCCEEDED), `error`
 * (FAILED, TIMED_OUT) or `cancel` (ABORTED). Idempotent: duplicate, late and out-of-order events
 * find the record terminal and change nothing; a cancel through the API wins over a later ABORTED;
 * the end of an attempt before the record's latest retry (a lower `redriveCount`) changes nothing.
 * The reconciler calls it too, with a detail built from `DescribeExecution`.
 *
 * Then, written now or before (a cancel through the API is recorded first, its ABORTED event after),
 * an execution with a family gets its follow-ups ({@link settleFamily}): a child answers its parent's
 * `runTask` state, a parent cancels its children that still run. They are idempotent too, so a
 * failure throws and the event's retry (or the reconciler) does them again.
 *
 * @returns true when this call wrote the terminal transition.
 */
export async function applyStatusChange(deps: StatusChangeDeps, detail: StatusChangeDetail): Promise<boolean> {
  if (!['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'].includes(detail.status)) return false;
  const logger = deps.logger.child({ execution_id: detail.name, sfn_status: detail.status });

  let input = parseJson(detail.input) as { tenant?: unknown } | undefined;
  let output: unknown = parseJson(detail.output);
  if (typeof input?.tenant !== 'string' || (detail.status === 'SUCCEEDED' && output === undefined)) {
    // Payloads over EventBridge's size limit are left out of the event: read them from the source.
    const described = await describe(deps, detail.executionArn);
    input = parseJson(described.input) as { tenant?: unknown } | undefined;
    output = parseJson(described.output);
  }
  if (typeof input?.tenant !== 'string') {
    logger.warn('status change of an execution without a tenant; ignored');
    return false;
  }
  const record = await deps.repository.find(input.tenant, detail.name);
  if (!record) {
    logger.warn('status change of an unknown execution; ignored');
    return false;
  }
  // Every later line of this change (the family follow-ups' too) names the execution's tenant and task.
  addLogKeys({ tenant: record.tenant, task_id: record.taskId });
  const decide =
    (finalOutput: unknown) =>
    (current: ExecutionRecord): TransitionRequest | undefined => {
      if (isTerminal(current.status)) return undefined;
      // A late or duplicated end of the attempt a retry replaced (the record runs the next one).
      if (isEarlierAttempt(current, detail.redriveCount)) return undefined;
      switch (detail.status) {
        case 'SUCCEEDED':
          if (current.status !== 'running') {
            // Step Functions ended while the record says otherwise (e.g. a resume whose delivery
            // was in doubt). The record must still end: `error` is allowed from every live status.
            const error = {
              name: 'InconsistentState',
              message: `Step Functions reports the execution succeeded while its record was ${current.status}.`,
            };
            return { type: 'error', error, output: { ...error, result: finalOutput ?? null } };
          }
          return { type: 'finish', result: finalOutput ?? null, output: finalOutput ?? null };
        case 'ABORTED':
          return {
            type: 'cancel',
            reason: detail.cause || 'Stopped outside the API',
            output: { reason: detail.cause || 'Stopped outside the API' },
            stopped: true,
          };
        default: {
          const error = failureOf(detail, current);
          return { type: 'error', error, output: error };
        }
      }
    };
  let result;
  try {
    result = await progress(deps.repository, record.tenant, record.id, decide(output), record);
  } catch (error) {
    if (!(error instanceof PayloadTooLargeError)) throw error;
    // Input and output together exceed DynamoDB's item limit: the execution still ends, with a
    // marker in place of the output (the full output stays in the Step Functions console).
    logger.warn('output too large to store; recording a marker instead');
    const marker = { output_too_large: true, bytes: Buffer.byteLength(JSON.stringify(output ?? null)) };
    result = await progress(deps.repository, record.tenant, record.id, decide(marker));
  }
  logger.info(result.applied ? 'terminal status recorded' : 'already terminal; nothing to do', {
    status: result.record.status,
  });
  if (isTerminal(result.record.status) && hasFamily(result.record)) {
    const outcome = await settleFamily(deps, result.record.tenant, result.record.id);
    logger.info('family follow-ups done', { outcome });
  }
  return result.applied;
}
