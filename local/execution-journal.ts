import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** An execution's start, as StartExecution took it. */
export interface JournalStart {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  /** Seconds since the epoch, as the API reports it. */
  readonly startDate: number;
}

/** How an execution ended. */
export interface JournalEnd {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly stopDate: number;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * What became of an execution's status-change event: handed to every rule target, or not
 * (dropped by fault injection, or every delivery attempt failed: the dead-letter queue in AWS).
 */
export type JournalDelivery = 'delivered' | 'undelivered';

/** One execution as the journal knows it. */
export interface JournaledExecution {
  readonly start: JournalStart;
  readonly end?: JournalEnd;
  readonly delivery?: JournalDelivery;
}

type Line =
  | ({ readonly op: 'start' } & JournalStart)
  | ({ readonly op: 'end'; readonly executionArn: string } & JournalEnd)
  | { readonly op: JournalDelivery; readonly executionArn: string };

/** How long Step Functions keeps a closed execution (its history): 90 days. */
const CLOSED_RETENTION_SECONDS = 90 * 86_400;

/**
 * The local Step Functions' record of its executions, one JSON line per event (start, end, event
 * delivery), so that a restarted engine knows what its previous process was doing when it
 * stopped. Executions themselves cannot survive a restart: they are promises in that process.
 *
 * Appends are plain writes without fsync: they survive the process being killed (the kernel has
 * them), not the machine losing power.
 */
export class ExecutionJournal {
  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /**
   * Reads what a previous process left and rewrites the file with only what still matters:
   * executions that had not ended, or whose status event was not delivered. Forgets ended
   * executions whose event was delivered, and undelivered ones past Step Functions' retention.
   */
  recover(nowSeconds = Date.now() / 1000): JournaledExecution[] {
    const executions = new Map<string, { start: JournalStart; end?: JournalEnd; delivery?: JournalDelivery }>();
    const text = existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
    for (const raw of text.split('\n')) {
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        // A line cut short when the process died mid-write: nothing was acknowledged for it.
        continue;
      }
      if (line.op === 'start') {
        const { op: _op, ...start } = line;
        executions.set(line.executionArn, { start });
        continue;
      }
      const execution = executions.get(line.executionArn);
      if (!execution) continue;
      if (line.op === 'end') {
        const { op: _op, executionArn: _arn, ...end } = line;
        execution.end = end;
      } else {
        execution.delivery = line.op;
      }
    }
    const kept = [...executions.values()].filter(
      (execution) =>
        execution.delivery !== 'delivered' &&
        !(execution.delivery === 'undelivered' && execution.end && execution.end.stopDate + CLOSED_RETENTION_SECONDS < nowSeconds),
    );
    const lines = kept.flatMap((execution): Line[] => [
      { op: 'start', ...execution.start },
      ...(execution.end ? [{ op: 'end' as const, executionArn: execution.start.executionArn, ...execution.end }] : []),
      ...(execution.delivery ? [{ op: execution.delivery, executionArn: execution.start.executionArn }] : []),
    ]);
    // Written aside and renamed: a kill during the rewrite leaves the old file, never half of one.
    writeFileSync(`${this.path}.tmp`, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    renameSync(`${this.path}.tmp`, this.path);
    return kept;
  }

  /** Records a started execution, before StartExecution answers. */
  started(start: JournalStart): void {
    this.append({ op: 'start', ...start });
  }

  /** Records how an execution ended. */
  ended(executionArn: string, end: JournalEnd): void {
    this.append({ op: 'end', executionArn, ...end });
  }

  /** Records what became of an execution's status-change event. */
  settled(executionArn: string, delivery: JournalDelivery): void {
    this.append({ op: delivery, executionArn });
  }

  private append(line: Line): void {
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
