import { execFileSync } from 'node:child_process';
import { inject } from 'vitest';
import { spawnLocalStack, type SpawnedLocalStack } from '../../local/spawn-stack.js';
import { isRunning } from '../../local/state-file.js';
import { STAND_IN_ARGS } from './stand-ins.js';

/** The development key of the stacks these tests start. */
export const PROCESS_API_KEY = 'process-test-key';

/** A `local/start.ts` child process and what it printed, with when it got ready. */
export interface StackProcess extends SpawnedLocalStack {
  /** True once the ready line has been read. */
  isReady(): boolean;
  /** When the ready line was read, in ms since it was spawned. */
  readyAfterMs(): number | undefined;
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
  const spawnedAt = performance.now();
  // The suite's template needs its stand-ins; another template brings its own arguments.
  const template = options.template === undefined ? ['--template', inject('templatePath'), ...STAND_IN_ARGS] : ['--template', options.template];
  const spawned = spawnLocalStack([...template, '--port', '0', ...args], {
    env: { LOCAL_DIR: localDir, LOCAL_API_KEY: PROCESS_API_KEY },
    ownProcessGroup: options.ownProcessGroup === true,
  });
  let readyAfterMs: number | undefined;
  void spawned.ready.then(
    () => (readyAfterMs = performance.now() - spawnedAt),
    () => undefined,
  );
  const stack: StackProcess = { ...spawned, isReady: () => readyAfterMs !== undefined, readyAfterMs: () => readyAfterMs };
  started.add(stack);
  return stack;
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
