import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';

/**
 * Where `npm start` keeps what it writes: the state file, and with `--persist` the data.
 * `LOCAL_DIR` moves it (tests, or a second stack in the same checkout).
 */
export const LOCAL_DIR = resolve(process.env.LOCAL_DIR || join(import.meta.dirname, '..', '.local'));

/** Where a running `npm start` records its endpoints, table and key, for the keys CLI. */
export const STATE_FILE = join(LOCAL_DIR, 'stack.json');

/** What {@link STATE_FILE} holds. */
export interface LocalStackState {
  readonly url: string;
  readonly dynamodb: string;
  readonly sfn: string;
  readonly table: string;
  readonly apiKey: string;
  /** The stack process (absent in files written before it was recorded). */
  readonly pid?: number;
  /** DynamoDB Local's Java process. */
  readonly dynamodbPid?: number;
  /** The local SQS endpoint (absent in files written before it existed). */
  readonly sqs?: string;
  /** The local EventBridge Scheduler endpoint (absent in files written before it existed). */
  readonly scheduler?: string;
  /** The local S3 server's endpoint (the payload bucket; absent in files written before it existed). */
  readonly s3?: string;
}

/**
 * Records a ready stack in {@link STATE_FILE}: written aside, then renamed, so a kill mid-write
 * leaves the old file or the new one, never half of one.
 */
export function writeStackState(state: LocalStackState, file = STATE_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * The recorded state, or undefined when there is none: no state file, or one that does not parse
 * (a stack killed while writing it recorded nothing usable).
 */
export function readStackState(file = STATE_FILE): LocalStackState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalStackState;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id exists (EPERM: it does, but belongs to someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True while `pid` runs. A zombie (exited, not yet reaped) counts as gone: it holds no port, file
 * or lock any more, and DynamoDB Local's Java, orphaned when its stack dies, stays one for good
 * where the init process does not reap (as in some containers), so a wait for it to go would
 * never end.
 */
export function isRunning(pid: number): boolean {
  if (!processExists(pid)) return false;
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

/** The state letter of a process (R, S, Z, …), or undefined when there is no such process. */
function processState(pid: number): string | undefined {
  try {
    // Linux: the state follows the command name, which is in parentheses and may hold anything.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    // No /proc (macOS), or the process ended meanwhile; ps exits 1 when there is no such process.
    try {
      return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().charAt(0) || undefined;
    } catch {
      return undefined;
    }
  }
}

function answers(url: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const finish = (result: boolean) => {
      socket.destroy();
      done(result);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/**
 * Why the recorded stack is not running (its process is gone, or its DynamoDB endpoint does not
 * answer: a stack killed with SIGKILL cannot remove its state file), or undefined when it runs.
 */
export async function staleReason(state: LocalStackState, timeoutMs = 1000): Promise<string | undefined> {
  if (state.pid !== undefined && !isRunning(state.pid)) return `its process ${state.pid} has exited`;
  if (!(await answers(state.dynamodb, timeoutMs))) return `nothing answers at ${state.dynamodb}`;
  return undefined;
}
