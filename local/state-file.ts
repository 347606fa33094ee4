import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

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

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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
  if (state.pid !== undefined && !processExists(state.pid)) return `its process ${state.pid} has exited`;
  if (!(await answers(state.dynamodb, timeoutMs))) return `nothing answers at ${state.dynamodb}`;
  return undefined;
}
