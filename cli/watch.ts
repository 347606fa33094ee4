import { SingleBar } from 'cli-progress';
import { isTerminal, type AsyncExecutionsClient, type Execution, type ExecutionStatus } from '../client/index.js';

/** Where `watch` writes: the bar and lines go to `stream` (standard error), results to `out`. */
export interface WatchOutput {
  readonly stream: NodeJS.WriteStream;
  readonly out: (line: string) => void;
  readonly json: boolean;
}

/** Elapsed time as `4.2s`, `1m 05s`, `2h 03m`. */
export function formatElapsed(milliseconds: number): string {
  const seconds = Math.max(0, milliseconds) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** How long an execution has run (or ran), from its creation. */
const elapsedOf = (execution: Execution, now = Date.now()) =>
  formatElapsed((execution.completed_at ? Date.parse(execution.completed_at) : now) - Date.parse(execution.created_at));

/** The step part of a line: `step 1/2 work`. */
const stepOf = (execution: Execution) => `step ${Math.min(execution.progress.current_step + 1, execution.progress.total_steps)}/${execution.progress.total_steps} ${execution.progress.step_name}`;

/** One line per change, where no bar can be drawn (not a terminal). */
export const progressLine = (execution: Execution): string =>
  `${execution.status} ${Math.round(execution.progress.percentage)}% ${stepOf(execution)} ${elapsedOf(execution)}${execution.progress.message ? ` (${execution.progress.message})` : ''}`;

/** The last line: how it ended, and its output or error. */
export function summaryLine(execution: Execution): string {
  const took = elapsedOf(execution);
  switch (execution.status) {
    case 'succeeded':
      return `succeeded in ${took}: ${JSON.stringify(execution.output)}`;
    case 'failed':
      return `failed in ${took}: ${execution.error ?? 'no error given'}`;
    case 'cancelled':
      return `cancelled after ${took}${execution.cancel_reason ? `: ${execution.cancel_reason}` : ''}`;
    case 'awaiting_input':
      return `awaiting input at ${stepOf(execution)}: resume it with async-executions resume ${execution.id} --input <json>`;
    default:
      return `${execution.status} after ${took}`;
  }
}

/**
 * Follows an execution's events (the client's `stream`) until it ends or awaits input, drawing a
 * live bar on a terminal (status, percent, step, elapsed), plain lines elsewhere, or every event
 * as a JSON line with `json`. Returns the status it stopped at.
 */
export async function watchExecution(client: AsyncExecutionsClient, id: string, output: WatchOutput, signal?: AbortSignal): Promise<ExecutionStatus> {
  const { stream, out, json } = output;
  const bar = !json && stream.isTTY
    ? new SingleBar({
        stream,
        format: '{status} [{bar}] {percentage}% | {step} | {elapsed}',
        // ASCII, so the bar reads the same in any locale and in a captured screen.
        barCompleteChar: '#',
        barIncompleteChar: '-',
        barsize: 30,
        // The cursor stays visible: a watch stopped with Ctrl-C must not leave the terminal without one.
        hideCursor: false,
        clearOnComplete: false,
        fps: 10,
      })
    : undefined;
  let latest: Execution | undefined;
  // The elapsed time moves on between events.
  const ticker = bar ? setInterval(() => latest && !isTerminal(latest.status) && bar.update({ elapsed: elapsedOf(latest) }), 500) : undefined;
  try {
    for await (const event of client.executions.stream(id, signal ? { signal } : {})) {
      if (json) out(JSON.stringify(event));
      if (event.type === 'end') return event.data.status;
      if (event.type !== 'status') continue;
      const execution = event.data;
      latest = execution;
      const payload = { status: execution.status, step: stepOf(execution), elapsed: elapsedOf(execution) };
      if (bar) {
        if (bar.isActive) bar.update(execution.progress.percentage, payload);
        else bar.start(100, execution.progress.percentage, payload);
      } else if (!json) stream.write(`${progressLine(execution)}\n`);
      if (execution.status === 'awaiting_input') return execution.status;
    }
    // A stream that ends without `end` (a 204: nothing follows its position) is asked how it stands.
    latest = await client.executions.get(id);
    return latest.status;
  } finally {
    if (ticker) clearInterval(ticker);
    bar?.stop();
    if (latest && !json) out(summaryLine(latest));
  }
}
