/** A retry the client is about to make, told to {@link RetryOptions.onRetry}. */
export interface RetryNotice {
  /** The answer's status (429, 503), or undefined for a lost connection. */
  readonly status?: number;
  /** The attempt that failed (from 1). */
  readonly attempt: number;
  /** How long the client waits before the next attempt. */
  readonly delayMs: number;
  /** The answer that is retried (its headers carry `Retry-After`, `RateLimit`…); undefined for a lost connection. */
  readonly response?: Response;
}

/** How the client retries a request the service could not take (503, 429, a lost connection). */
export interface RetryOptions {
  /** Told before each pause, e.g. to say "rate limited, retrying in 2 s" (default: nothing). */
  readonly onRetry?: (notice: RetryNotice) => void;
  /** Attempts in all, the first included (default 4). */
  readonly attempts?: number;
  /** The first pause when the answer says no `Retry-After`; it doubles with each attempt (default 500 ms). */
  readonly baseDelayMs?: number;
  /**
   * The longest pause (default 30 s). A `Retry-After` asking for longer is not waited for: the
   * answer is returned as it is, so a caller never hangs on a far-off retry time.
   */
  readonly maxDelayMs?: number;
  /** Random numbers in [0, 1) for the jitter (tests pass their own). */
  readonly random?: () => number;
  /** How the client pauses (tests pass their own). */
  readonly sleep?: (milliseconds: number, signal: AbortSignal | null | undefined) => Promise<void>;
}

/** A fetch that takes a `Request`, as openapi-fetch calls it. */
export type RequestFetch = (request: Request) => Promise<Response>;

const DEFAULTS = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

/** Pauses `milliseconds`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(milliseconds: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` in milliseconds (delay-seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The pause before attempt `attempt + 1` (attempt counts from 1), or undefined when the answer
 * must not be waited for. With `Retry-After`: at least that, plus up to one base delay of jitter
 * so clients told the same second do not come back together. Without: exponential, half of it
 * random ("equal jitter"), capped at `maxDelayMs`.
 */
export function retryDelayMs(retryAfter: string | null, attempt: number, options: RetryOptions = {}): number | undefined {
  const base = options.baseDelayMs ?? DEFAULTS.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const random = options.random ?? Math.random;
  const asked = retryAfterMs(retryAfter);
  if (asked !== undefined) return asked > max ? undefined : Math.min(max, asked + random() * base);
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * Whether a request may be sent again without risk of doing twice what it does: a read, or a write
 * carrying an `Idempotency-Key` (the service answers a repeat with the first result).
 */
function isSafeToRepeat(request: Request): boolean {
  return request.method === 'GET' || request.method === 'HEAD' || request.headers.has('idempotency-key');
}

function isAbort(error: unknown, request: Request): boolean {
  return request.signal.aborted || (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'));
}

/**
 * Wraps `fetch` so a request is retried, at most `attempts` times in all:
 * - 429, whatever the method: API Gateway's throttling (the request never reached the service) and
 *   the per-key rate limits (refused before anything was written or started) both leave nothing
 *   done, and their `Retry-After` says when to come back;
 * - 503 and a lost connection only when repeating it is safe (see {@link isSafeToRepeat}): a 503 may
 *   come after the service did the work (a dependency that stalled may still have taken the write).
 * Each attempt sends a clone, so a body can be sent again.
 */
export function retryingFetch(fetchImpl: RequestFetch, options: RetryOptions = {}): RequestFetch {
  const attempts = Math.max(1, options.attempts ?? DEFAULTS.attempts);
  const sleep = options.sleep ?? abortableSleep;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts;
      let response: Response;
      try {
        response = await fetchImpl(last ? request : request.clone());
      } catch (error) {
        if (last || isAbort(error, request) || !isSafeToRepeat(request)) throw error;
        const pause = retryDelayMs(null, attempt, options) ?? 0;
        options.onRetry?.({ attempt, delayMs: pause });
        await sleep(pause, request.signal);
        continue;
      }
      const retryable = response.status === 429 || (response.status === 503 && isSafeToRepeat(request));
      if (last || !retryable) return response;
      const delay = retryDelayMs(response.headers.get('retry-after'), attempt, options);
      if (delay === undefined) return response;
      options.onRetry?.({ status: response.status, attempt, delayMs: delay, response });
      // Frees the connection of the answer that is dropped (not awaited: a teed body's cancel waits for its twin).
      void response.body?.cancel().catch(() => undefined);
      await sleep(delay, request.signal);
    }
  };
}
