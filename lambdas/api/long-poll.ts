// Long polling of a GET (`Prefer: wait=N`, RFC 7240 §4.3): the request is held while the read
// function polls DynamoDB, and answered as soon as what it reads has changed, or at the deadline.

/** The longest a request may be held, in seconds: `wait` values above it are capped to it. */
export const MAX_WAIT_SECONDS = 25;

/**
 * Pauses before each poll of a held request: 250 ms, 500 ms, then every second (the last entry
 * repeats), and one last poll at the deadline. A change soon after the request (a step that just
 * started) is seen within a quarter of a second; a long wait costs about one read a second
 * (28 reads in all for a 25 s wait that sees no change; docs/architecture.md).
 */
export const POLL_DELAYS_MS: readonly number[] = [250, 500, 1000];

/**
 * How long a poll may still run past the deadline: then the request is answered from the
 * previous read, so a stalled read cannot hold it into the function's timeout (a normal read takes
 * milliseconds; one stalled call can take 5 s, `WORST_CASE_CALL_MS`).
 */
export const POLL_GRACE_MS = 1_000;

/**
 * Time kept back from what Lambda leaves the function: a hold ends this long before the function
 * would be stopped, whatever its timeout, so the caller always gets an answer (never API
 * Gateway's 500 of a function that ran out of time). Covers {@link POLL_GRACE_MS} and the answer.
 */
export const ANSWER_RESERVE_MS = 2_000;

/** A `wait` preference the request carried. */
export interface WaitPreference {
  /** Seconds to hold the request at most: what was asked, capped at {@link MAX_WAIT_SECONDS}. */
  readonly seconds: number;
}

/** Splits `text` at `separator`s outside quoted strings (a quoted-string may hold either separator). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    if (quoted && char === '\\') {
      current += char + (text[at + 1] ?? '');
      at++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (!quoted && char === separator) {
      parts.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current);
  return parts;
}

/** A `word` (token or quoted-string) without its quotes and escapes. */
function unquoted(word: string): string {
  return /^".*"$/s.test(word) ? word.slice(1, -1).replace(/\\(.)/gs, '$1') : word;
}

/**
 * The `wait` preference of the `Prefer` headers (several arrive joined with commas), or undefined.
 * As RFC 7240 says, only the first `wait` counts, names are case-insensitive, parameters after `;`
 * are ignored, and a value that is not what the preference defines is ignored rather than refused:
 * `wait` must be a whole number of seconds (`delta-seconds`, optionally quoted), at least 1 (`wait=0`
 * asks for no wait). Larger values are capped at {@link MAX_WAIT_SECONDS}.
 */
export function preferredWait(headers: Readonly<Record<string, string | undefined>>): WaitPreference | undefined {
  const header = headers.prefer;
  if (header === undefined) return undefined;
  for (const element of splitOutsideQuotes(header, ',')) {
    const preference = splitOutsideQuotes(element, ';')[0]!;
    const equals = preference.indexOf('=');
    const name = (equals === -1 ? preference : preference.slice(0, equals)).trim().toLowerCase();
    if (name !== 'wait') continue;
    const value = equals === -1 ? '' : unquoted(preference.slice(equals + 1).trim());
    if (!/^\d+$/.test(value)) return undefined;
    const seconds = Math.min(Number(value), MAX_WAIT_SECONDS);
    return seconds >= 1 ? { seconds } : undefined;
  }
  return undefined;
}

/** What {@link holdUntilChanged} polls. */
export interface Hold<T> {
  /** Reads the current state; `signal` aborts a read that is still running when the hold must answer. */
  readonly read: (signal: AbortSignal) => Promise<T>;
  /** True once a read is what the caller waits for. */
  readonly changed: (value: T) => boolean;
  /** When the hold ends, in ms since the epoch. */
  readonly deadline: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** No answer by the limit: the read was aborted. */
const TIMED_OUT = Symbol('timed out');

/** `read`, or {@link TIMED_OUT} (and the read aborted) when it has not answered by `limit`. */
async function readBy<T>(read: (signal: AbortSignal) => Promise<T>, limit: number): Promise<T | typeof TIMED_OUT> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Raced as well as aborted: the answer must not depend on the client honouring the signal.
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(TIMED_OUT);
    }, Math.max(0, limit - Date.now()));
  });
  try {
    return await Promise.race([read(controller.signal), timedOut]);
  } catch (error) {
    if (controller.signal.aborted) return TIMED_OUT;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `read` on the {@link POLL_DELAYS_MS} schedule until a read is `changed` (returned at once)
 * or the deadline passes (the latest read is returned; the last poll is made at the deadline). A poll
 * still running {@link POLL_GRACE_MS} after the deadline is abandoned for the read before it. A poll
 * that fails fails the hold (a dependency that does not answer is a 503, as for any read).
 */
export async function holdUntilChanged<T>(initial: T, hold: Hold<T>): Promise<T> {
  let latest = initial;
  for (let poll = 0; ; poll++) {
    const left = hold.deadline - Date.now();
    if (left <= 0) return latest;
    await pause(Math.min(POLL_DELAYS_MS[Math.min(poll, POLL_DELAYS_MS.length - 1)]!, left));
    const read = await readBy(hold.read, hold.deadline + POLL_GRACE_MS);
    if (read === TIMED_OUT) return latest;
    latest = read;
    if (hold.changed(latest)) return latest;
  }
}
