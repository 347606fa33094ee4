/**
 * Rate limits per API key: what they count, how they are written, and the fixed-window arithmetic
 * and header fields of the limiter (`lambdas/api/rate-limit.ts`). Pure: no AWS here.
 */

/** What a limit counts: executions created (`create`; a batch counts its items) or reads (GET routes). */
export type RateClass = 'create' | 'read';

/** At most `quota` units per `window` seconds, counted in fixed windows aligned to the epoch. */
export interface RateLimit {
  readonly quota: number;
  readonly window: number;
}

/** The largest quota a limit may have (a counter item takes at most ~1,000 writes a second anyway). */
export const MAX_QUOTA = 1_000_000;
/** The longest window a limit may have: a day. */
export const MAX_WINDOW_SECONDS = 86_400;

/**
 * The service's defaults (the stack's `perKeyCreateRate` / `perKeyReadRate`): 1,000 creates a
 * minute per key, so a whole batch of 1,000 fits one window (API Gateway's create route throttle
 * still caps the per-second burst), and 100 reads a second, far above what a dashboard or a
 * polling client sends.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RateClass, RateLimit>> = {
  create: { quota: 1000, window: 60 },
  read: { quota: 100, window: 1 },
};

const UNITS: Readonly<Record<string, number>> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86_400, day: 86_400 };

/**
 * Reads a limit as people write it: `10/s`, `600/min`, `5000/h`, `100/d`, or `50/10s` (a count of
 * seconds); also the compact form `quota/seconds` ({@link compactRate}, e.g. `600/60`).
 * @returns undefined when `text` is not one, or its quota or window is out of range.
 */
export function parseRate(text: string): RateLimit | undefined {
  const match = /^(\d{1,7})\/(?:(\d{1,5})(s|sec|second|m|min|minute|h|hour|d|day)?|(s|sec|second|m|min|minute|h|hour|d|day))$/.exec(text.trim());
  if (!match) return undefined;
  const quota = Number(match[1]);
  const window = match[4] ? UNITS[match[4]]! : Number(match[2]) * (match[3] ? UNITS[match[3]]! : 1);
  return quota >= 1 && quota <= MAX_QUOTA && window >= 1 && window <= MAX_WINDOW_SECONDS ? { quota, window } : undefined;
}

/** `10/s`, `600/min`, `5000/h`, `100/d` or `50/10s`: how the keys CLI shows a limit. */
export function formatRate({ quota, window }: RateLimit): string {
  const unit = window === 1 ? 's' : window === 60 ? 'min' : window === 3600 ? 'h' : window === 86_400 ? 'd' : `${window}s`;
  return `${quota}/${unit}`;
}

/** The form stored on a key item and passed in the authorizer's context: `quota/seconds`. */
export function compactRate({ quota, window }: RateLimit): string {
  return `${quota}/${window}`;
}

/**
 * A limit in its compact form ({@link compactRate}), as the authorizer's context or the
 * environment carries it; anything else (absent, empty, hostile) is undefined, so the default applies.
 */
export function contextRate(value: unknown): RateLimit | undefined {
  const match = typeof value === 'string' ? /^([1-9]\d{0,6})\/([1-9]\d{0,4})$/.exec(value) : null;
  if (!match) return undefined;
  const quota = +match[1]!;
  const window = +match[2]!;
  return quota <= MAX_QUOTA && window <= MAX_WINDOW_SECONDS ? { quota, window } : undefined;
}

/**
 * The fixed window of `window` seconds that `nowMs` falls in: its start (epoch seconds) and the
 * whole seconds until the next one begins (1 to `window`: a window is never "reset in 0 s").
 */
export function windowAt(nowMs: number, window: number): { start: number; reset: number } {
  const now = Math.floor(nowMs / 1000);
  const start = now - (now % window);
  return { start, reset: start + window - now };
}

/**
 * The `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers, the
 * structured-field form): the policy named after the class with its quota `q` and window `w`, and
 * the units `r` left in this window and the seconds `t` until it resets.
 */
export function rateLimitHeaders(name: RateClass, { quota, window }: RateLimit, remaining: number, reset: number): Record<string, string> {
  return { 'ratelimit-policy': `"${name}";q=${quota};w=${window}`, ratelimit: `"${name}";r=${remaining};t=${reset}` };
}
