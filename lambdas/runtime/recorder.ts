import { MAX_PAYLOAD_BYTES, jsonBytes } from '../domain/payload-limits.js';
import { StepOutputTooLargeError, SleepSecondsInvalidError, guarded, type RecordPayload, type SleepPayload } from './payload.js';
import type { ScopeChain } from './scope.js';
import type { RuntimeStore } from '../repository/runtime-store.js';
import type { Logger } from '../shared/logger.js';
import { MAX_EXECUTION_SECONDS, type TaskShape } from '../tasks/dsl.js';
import { StepRecording, locateStep } from './step-runner.js';

/** The state data the recorder hands back: the step's output as the next step's input, and the place. */
export interface StateData {
  readonly input: unknown;
  readonly scope: ScopeChain | null;
  /** Inside map items and parallel branches: the execution's id and tenant (see the compiler's `Place`). */
  readonly execution?: unknown;
}

/** What the recorder needs: the tasks' structure (their catalogue views), not their code. */
export interface RecorderDeps {
  readonly repository: RuntimeStore;
  readonly tasks: ReadonlyMap<string, TaskShape>;
  readonly logger: Logger;
}


async function recordingOf(deps: RecorderDeps, payload: RecordPayload | SleepPayload, kinds: readonly string[]): Promise<{ recording: StepRecording; logger: Logger }> {
  // The execution, task and tenant are on every line of the invocation already (the handler's `payloadKeys`).
  const logger = deps.logger.child({ step: payload.step });
  const recording = await guarded(logger, async () => {
    const located = locateStep(deps.tasks, payload);
    if (!located || !kinds.includes(located.step.kind)) {
      throw new Error(`No ${kinds.join('/')} step ${payload.step ?? payload.step_index} in task ${payload.task_id}: redeploy the state machine`);
    }
    return new StepRecording(deps.repository, located, payload, logger);
  });
  return { recording, logger };
}

/** Records `output` as the step's, once: the output recorded (this call's, or an earlier invocation's). */
async function recordOnce(recording: StepRecording, logger: Logger, output: unknown, message?: string): Promise<unknown> {
  const prepared = await guarded(logger, () => recording.prepare());
  return 'done' in prepared ? prepared.done : guarded(logger, () => recording.finish(prepared.record, output, message));
}

/**
 * Records a step whose work ran in Step Functions rather than in a step function of its own: a
 * parallel or map (its output is the array of the branches' or items' results), a choice (the
 * output of the case that ran), an invoke of an existing function, or a child task. The output
 * is the state's `$.input`: the step's own input is not sent (it is not recorded, and both together
 * could pass the payload limit). Idempotent
 * like a Lambda step: a retried call finds the row and writes nothing.
 */
export async function recordStep(deps: RecorderDeps, payload: RecordPayload): Promise<StateData> {
  const { recording, logger } = await recordingOf(deps, payload, ['parallel', 'map', 'choice', 'invoke', 'run-task']);
  const output = payload.output ?? null;
  const bytes = jsonBytes(output);
  if (bytes > MAX_PAYLOAD_BYTES) throw new StepOutputTooLargeError(recording.located.step.name, bytes);
  const recorded = await recordOnce(recording, logger, output);
  return { input: recorded, scope: payload.scope ?? null, ...(payload.execution === undefined ? {} : { execution: payload.execution }) };
}

function secondsOf(payload: SleepPayload): number {
  let seconds: unknown = payload.seconds;
  if (payload.seconds_path !== undefined) {
    seconds = payload.seconds_path.split('.').reduce<unknown>(
      (value, key) => (value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined),
      payload.input,
    );
  }
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > MAX_EXECUTION_SECONDS) {
    throw new SleepSecondsInvalidError(
      `Sleep "${payload.step}": ${payload.seconds_path ? `input.${payload.seconds_path}` : 'seconds'} must be a whole number of seconds from 0 to ${MAX_EXECUTION_SECONDS}, got ${JSON.stringify(seconds) ?? 'nothing'}`,
    );
  }
  return seconds;
}

/**
 * Starts a sleep: records its row (output `{ sleep_until }`) and shows "sleeping until …" as the
 * execution's progress, then returns the instant the Wait state sleeps until. A retried call
 * returns the instant first recorded, so a retry never extends the sleep.
 */
export async function beginSleep(deps: RecorderDeps, payload: SleepPayload): Promise<string> {
  const { recording, logger } = await recordingOf(deps, payload, ['sleep']);
  const seconds = secondsOf(payload);
  const until = new Date(Date.now() + seconds * 1000).toISOString();
  const recorded = await recordOnce(recording, logger, { sleep_until: until }, `${payload.step}: sleeping until ${until}`);
  const instant = recorded !== null && typeof recorded === 'object' ? (recorded as { sleep_until?: unknown }).sleep_until : undefined;
  return typeof instant === 'string' ? instant : until;
}
