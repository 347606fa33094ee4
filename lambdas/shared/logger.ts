type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured JSON logger: one line per entry, with persistent keys such as `execution_id`. */
export interface Logger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
  /** A logger that adds `keys` to every entry. */
  child(keys: Record<string, unknown>): Logger;
}

function serialize(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/**
 * A logger for `service`. Costs a few hundred bytes instead of a logging library: cold start and
 * bundle size are budgeted (docs/performance.md). Honors `LOG_LEVEL` (default `info`).
 */
export function createLogger(service: string, keys: Record<string, unknown> = {}): Logger {
  const threshold = ORDER[(process.env.LOG_LEVEL?.toLowerCase() as Level | undefined) ?? 'info'] ?? ORDER.info;
  return logger(service, keys, threshold);
}

/** A logger at a resolved level; children share it rather than read the environment again. */
function logger(service: string, keys: Record<string, unknown>, threshold: number): Logger {
  const write = (level: Level, message: string, extra: Record<string, unknown> = {}): void => {
    if (ORDER[level] < threshold) return;
    const entry: Record<string, unknown> = { level, message, service, timestamp: new Date().toISOString(), ...keys };
    for (const [key, value] of Object.entries(extra)) entry[key] = serialize(value);
    // console.warn/error write to stderr, where Lambda tags the lines as warnings and errors.
    console[level === 'debug' || level === 'info' ? 'log' : level](JSON.stringify(entry));
  };
  // One writer per level, made in a loop: four hand-written methods cost every bundle their code.
  const methods = {} as Record<Level, (message: string, extra?: Record<string, unknown>) => void>;
  for (const level of Object.keys(ORDER) as Level[]) methods[level] = (message, extra) => write(level, message, extra);
  return {
    ...methods,
    child: (more) => logger(service, { ...keys, ...more }, threshold),
  };
}
