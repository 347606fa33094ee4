import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** The development key of the stacks these tests start. */
export const PROCESS_API_KEY = 'process-test-key';

/** The `--json` ready line of `local/start.ts`. */
export interface ReadyLine {
  readonly url: string;
  readonly dynamodb: string;
  readonly sfn: string;
  readonly table: string;
  readonly pid: number;
  readonly dynamodbPid: number;
  /** What it reports as its startup time, in seconds (one decimal). */
  readonly seconds: string;
}

/** A `local/start.ts` child process and what it printed. */
export interface StackProcess {
  readonly child: ChildProcess;
  /** The API's URL, as soon as its port is open (the stack is still starting). */
  readonly starting: Promise<string>;
  readonly ready: Promise<ReadyLine>;
  /** True once the ready line has been read. */
  isReady(): boolean;
  /** When the ready line was read, in ms since it was spawned. */
  readyAfterMs(): number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stderr so far. */
  errors(): string;
}

const started = new Set<StackProcess>();

/**
 * Starts the local stack in a child process exactly as `npm start` does (same CLI, `--json`), on
 * the integration template (its tasks module, test-tasks.ts) unless `options.template` names
 * another, on free ports, keeping its files in `localDir`.
 */
export function spawnStack(
  localDir: string,
  args: readonly string[] = [],
  options: { readonly ownProcessGroup?: boolean; /** Another synthesized template (default: the suite's). */ readonly template?: string } = {},
): StackProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', '--template', options.template ?? inject('templatePath'), '--port', '0', '--json', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOCAL_DIR: localDir, LOCAL_API_KEY: PROCESS_API_KEY },
      // As a terminal's job is: a kill of its process group reaches the stack and nothing of the tests.
      detached: options.ownProcessGroup === true,
    },
  );
  const spawnedAt = performance.now();
  let stderr = '';
  let ready = false;
  let readyAfterMs: number | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout! });
  const line = <T>(key: string): Promise<T> =>
    new Promise<T>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${key}" line from the stack in 90 s:\n${stderr}`)), 90_000);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the stack exited (${code ?? signal}) before its "${key}" line:\n${stderr}`));
      });
      lines.on('line', (text) => {
        if (!text.startsWith('{')) return;
        // Functions log JSON lines to stdout too.
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return;
        }
        if (parsed[key] !== true) return;
        clearTimeout(timer);
        if (key === 'ready') {
          ready = true;
          readyAfterMs = performance.now() - spawnedAt;
        }
        resolveLine(parsed as T);
      });
    });
  const stack: StackProcess = {
    child,
    starting: line<{ url: string }>('starting').then((parsed) => parsed.url),
    ready: line<ReadyLine>('ready'),
    isReady: () => ready,
    readyAfterMs: () => readyAfterMs,
    exited,
    errors: () => stderr,
  };
  // A test may only look at one of them; a rejection of the other must not go unhandled.
  stack.starting.catch(() => undefined);
  stack.ready.catch(() => undefined);
  started.add(stack);
  return stack;
}

/** True while `pid` runs (a zombie, dead but not yet reaped, counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    // ps exits 1 when there is no such process.
    return false;
  }
}

/** The process group of a running process (undefined when there is none). */
export function processGroup(pid: number): number | undefined {
  try {
    return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

/** The command line of a running process ('' when there is none). */
export function commandLine(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Polls until `condition` holds; returns the ms it took, or throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const since = performance.now();
  while (!condition()) {
    if (performance.now() - since > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - since;
}

/**
 * Stops what these tests started and is still alive: the stack processes, and their Java processes
 * should one have survived (which the tests would then have reported).
 */
export async function killStartedStacks(): Promise<void> {
  for (const stack of started) {
    const ready = await Promise.race([stack.ready, Promise.resolve(undefined)]).catch(() => undefined);
    if (stack.child.exitCode === null && stack.child.signalCode === null) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
    if (ready && isRunning(ready.dynamodbPid) && commandLine(ready.dynamodbPid).includes('DynamoDBLocal.jar')) {
      process.kill(ready.dynamodbPid, 'SIGKILL');
    }
  }
  started.clear();
}
