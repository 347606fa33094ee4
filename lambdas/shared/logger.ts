import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys a log entry carries, such as `execution_id`. */
export type LogKeys = Record<string, unknown>;

/** Structured JSON logger: one line per entry, with persistent keys such as `execution_id`. */
export interface Logger {
  debug(message: string, extra?: LogKeys): void;
  info(message: string, extra?: LogKeys): void;
  warn(message: string, extra?: LogKeys): void;
  error(message: string, extra?: LogKeys): void;
  /** A logger that adds `keys` to every entry. */
  child(keys: LogKeys): Logger;
}

/**
 * The keys of the work under way (an invocation, one execution within it), which every entry of
 * every logger carries, and a metric line too (`putMetrics`). Async-local rather than module state:
 * the local stack runs every function in one process, concurrent invocations included, and each
 * must see its own keys.
 */
export const logScope = new AsyncLocalStorage<LogKeys>();

/**
 * Runs `work` with `keys` added to every log entry written meanwhile (those of the enclosing work
 * too): an invocation with its request id, one execution of a batch with its ids.
 */
export const withLogKeys = <T>(keys: LogKeys, work: () => T): T => logScope.run({ ...logScope.getStore(), ...keys }, work);

/** Adds `keys` to the entries the work under way writes from now on (an id it has just learnt); outside any, nothing. */
export const addLogKeys = (keys: LogKeys): void => void Object.assign(logScope.getStore() ?? {}, keys);

/**
 * A Lambda handler whose entries carry the invocation's request id (`aws_request_id`) and the keys
 * `keysOf` reads from its event (e.g. `execution_id`, `task_id`, `tenant`).
 */
export const logged =
  <E, R, C extends { readonly awsRequestId: string } = Context>(keysOf: (event: E) => LogKeys, handler: (event: E, context: C) => R) =>
  (event: E, context: C): R =>
    logScope.run({ aws_request_id: context.awsRequestId, ...keysOf(event) }, () => handler(event, context));

function serialize(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/**
 * A logger for `service`. Costs a few hundred bytes instead of a logging library: cold start and
 * bundle size are budgeted (docs/performance.md). Honors `LOG_LEVEL` (default `info`).
 */
export function createLogger(service: string, keys: LogKeys = {}): Logger {
  const threshold = ORDER[(process.env.LOG_LEVEL?.toLowerCase() as Level | undefined) ?? 'info'] ?? ORDER.info;
  return logger(service, keys, threshold);
}

/** A logger at a resolved level; children share it rather than read the environment again. */
function logger(service: string, keys: LogKeys, threshold: number): Logger {
  const write = (level: Level, message: string, extra: LogKeys = {}): void => {
    if (ORDER[level] < threshold) return;
    const entry: LogKeys = { level, message, service, timestamp: new Date().toISOString(), ...logScope.getStore(), ...keys };
    for (const [key, value] of Object.entries(extra)) entry[key] = serialize(value);
    // console.warn/error write to stderr, where Lambda tags the lines as warnings and errors.
    console[level === 'debug' || level === 'info' ? 'log' : level](JSON.stringify(entry));
  };
  // One writer per level, made in a loop: four hand-written methods cost every bundle their code.
  const methods = {} as Record<Level, (message: string, extra?: LogKeys) => void>;
  for (const level of Object.keys(ORDER) as Level[]) methods[level] = (message, extra) => write(level, message, extra);
  return {
    ...methods,
    child: (more) => logger(service, { ...keys, ...more }, threshold),
  };
}
