import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { LocalStackState } from './state-file.js';

/**
 * Starts `local/start.ts --json` in a child process and reads its two announcement lines, for
 * whatever drives a local stack from outside (the integration tests, scripts). One reader, so the
 * line format `start.ts` prints is parsed in one place.
 */

const ROOT = resolve(import.meta.dirname, '..');
const START = join(ROOT, 'local', 'start.ts');

/** The `{"starting":true,…}` line: the API's port is open and answers 503 until the stack is ready. */
export interface LocalStackStarting {
  readonly url: string;
  readonly pid: number;
}

/**
 * The `{"ready":true,…}` line: what the state file records (a stack that printed it always knows
 * both pids), plus the startup time it reports.
 */
export type LocalStackReady = Required<LocalStackState> & {
  /** Seconds from the stack's process start to ready, one decimal. */
  readonly seconds: string;
  /** The streaming Function URLs (the events stream), each on its own port. */
  readonly streamingUrls: readonly string[];
  /** The template's SQS queues: their URLs on the local SQS endpoint (`sqs`), by logical id. */
  readonly queues: Readonly<Record<string, string>>;
};

/** How a spawned stack process ended. */
export interface LocalStackExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link spawnLocalStack}. */
export interface SpawnLocalStackOptions {
  /** Added to the parent's environment (LOCAL_DIR, LOCAL_API_KEY, …). */
  readonly env?: NodeJS.ProcessEnv;
  /** In a process group of its own, as a terminal's job is: a kill of that group reaches nothing of the caller. */
  readonly ownProcessGroup?: boolean;
  /** How long it may take to print its ready line before it is stopped and `ready` rejects (default 90 s). */
  readonly timeoutMs?: number;
  /** Also copy its stderr to this process's stderr as it arrives (it is kept for {@link SpawnedLocalStack.errors} either way). */
  readonly echoErrors?: boolean;
  /**
   * Also append everything it prints (stdout, where the functions' JSON log lines go, and stderr)
   * to this file as it arrives, for whoever needs to read what the functions logged.
   */
  readonly outputFile?: string;
}

/** A `local/start.ts --json` child process and what it announced. */
export interface SpawnedLocalStack {
  readonly child: ChildProcess;
  /** Its starting line. Rejects as `ready` does when the stack fails before printing it. */
  readonly starting: Promise<LocalStackStarting>;
  /**
   * Its ready line. Rejects when the stack exits first or is not ready within the timeout; the
   * child has then been stopped (exited) by the time it rejects.
   */
  readonly ready: Promise<LocalStackReady>;
  readonly exited: Promise<LocalStackExit>;
  /** Everything it wrote to stderr so far. */
  errors(): string;
}

/** How long a stack that failed to get ready has, after SIGTERM, before SIGKILL. */
const FAILED_STOP_GRACE_MS = 5000;

/**
 * Spawns the local stack exactly as `npm start -- --json …args` would (same CLI, from the
 * repository root) and follows its stdout for the starting and ready lines. A stack that exits or
 * times out before its ready line is stopped, so a failed start never leaves one running.
 *
 * `starting` and `ready` never reject unhandled: a caller may await only one of them.
 */
export function spawnLocalStack(args: readonly string[], options: SpawnLocalStackOptions = {}): SpawnedLocalStack {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const child = spawn(process.execPath, ['--import', 'tsx', START, '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    detached: options.ownProcessGroup === true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (options.echoErrors) process.stderr.write(chunk);
  });
  if (options.outputFile !== undefined) {
    const output = createWriteStream(options.outputFile, { flags: 'a' });
    child.stdout!.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => output.write(chunk));
    // After its pipes have closed ('close', not 'exit'), so no last line is written after the end.
    child.once('close', () => output.end());
    output.on('error', () => undefined);
  }
  const stderrClosed = new Promise((done) => child.stderr!.once('close', done));
  const exited = new Promise<LocalStackExit>((done) => {
    child.once('exit', (code, signal) => done({ code, signal }));
    // A process that could not be spawned emits no exit: it has ended all the same.
    child.once('error', () => {
      if (child.pid === undefined) done({ code: null, signal: null });
    });
  });

  let announceStarting!: (line: LocalStackStarting) => void;
  let refuseStarting!: (error: Error) => void;
  const starting = new Promise<LocalStackStarting>((resolveStarting, reject) => {
    announceStarting = resolveStarting;
    refuseStarting = reject;
  });
  const ready = new Promise<LocalStackReady>((resolveReady, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      refuseStarting(new Error(`${reason}:\n${stderr}`));
      // Rejected only once the child is gone: a caller that gives up on it then exits leaves nothing behind.
      void stopLocalStack({ child, exited }, FAILED_STOP_GRACE_MS)
        // Its last words may still be in the pipe when it exits (not long: a grandchild may hold it open).
        .then(() => Promise.race([stderrClosed, new Promise((done) => setTimeout(done, 1000))]))
        .then(() => reject(new Error(`${reason}:\n${stderr}`)));
    };
    const timer = setTimeout(() => fail(`the local stack printed no ready line in ${timeoutMs / 1000} s`), timeoutMs);
    void exited.then(({ code, signal }) => fail(`the local stack exited (${code ?? signal}) before its ready line`));
    child.once('error', (error) => fail(`the local stack could not be started (${error.message})`));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      // Functions log JSON lines to stdout too: only a parsed `starting` or `ready` flag counts.
      if (settled || !text.startsWith('{')) return;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (parsed.starting === true) announceStarting(parsed as unknown as LocalStackStarting);
      if (parsed.ready !== true) return;
      settled = true;
      clearTimeout(timer);
      resolveReady(parsed as unknown as LocalStackReady);
    });
  });
  starting.catch(() => undefined);
  ready.catch(() => undefined);
  return { child, starting, ready, exited, errors: () => stderr };
}

/**
 * Stops a spawned stack: SIGTERM (it drains event deliveries and stops DynamoDB Local first), then
 * SIGKILL when it has not exited after `graceMs`. Resolves once it has exited.
 */
export async function stopLocalStack(stack: Pick<SpawnedLocalStack, 'child' | 'exited'>, graceMs = 20_000): Promise<LocalStackExit> {
  const { child } = stack;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([stack.exited, new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), graceMs)))]);
    clearTimeout(timer);
    if (!waited && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  return stack.exited;
}
