import { readFileSync } from 'node:fs';
import { readStackState, STATE_FILE, staleReason } from '../local/state-file.js';
import { UsageError } from './exit-codes.js';

/** Where the CLI sends its requests. */
export interface Target {
  readonly url: string;
  readonly apiKey: string;
}

/** The flags that choose the target. */
export interface TargetFlags {
  readonly url?: string;
  readonly apiKey?: string;
}

/**
 * The API's URL and key: `--url`/`--api-key`, else `ASYNC_EXECUTIONS_URL`/`ASYNC_EXECUTIONS_API_KEY`,
 * else the running local stack's (its state file, `.local/stack.json`, as `npm run keys` finds it).
 * A stack killed outright leaves its state file behind: that is said, rather than a refused connection.
 */
export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  let url = flags.url ?? env.ASYNC_EXECUTIONS_URL;
  let apiKey = flags.apiKey ?? env.ASYNC_EXECUTIONS_API_KEY;
  if (url === undefined || apiKey === undefined) {
    const state = readStackState();
    if (state) {
      const stale = await staleReason(state);
      if (stale && url === undefined) throw new UsageError(`No local stack is running (${STATE_FILE} is stale: ${stale}); start one with npm start, or set ASYNC_EXECUTIONS_URL.`);
      // The development key goes only to the local stack it belongs to, never to another URL.
      if (!stale && (url === undefined || url === state.url)) apiKey ??= state.apiKey;
      url ??= state.url;
    }
  }
  if (url === undefined) throw new UsageError('No API: pass --url or set ASYNC_EXECUTIONS_URL (or start the local stack with npm start).');
  if (apiKey === undefined) throw new UsageError('No API key: pass --api-key or set ASYNC_EXECUTIONS_API_KEY.');
  return { url, apiKey };
}

/** A JSON argument: the JSON itself, `@file` for a file's, `@-` for standard input's. */
export function readJsonArgument(value: string, what: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new UsageError(`${what}: cannot read ${file === '-' ? 'standard input' : file} (${(error as Error).message}).`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not JSON: ${(error as Error).message}`);
  }
}
