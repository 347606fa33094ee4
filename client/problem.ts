import type { components } from './schema.js';

/** An RFC 9457 problem as the service sends it (`application/problem+json`). */
export type Problem = components['schemas']['Problem'];

/**
 * A rate limit as an answer states it: the `RateLimit-Policy` and `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers, e.g. `"create";q=10;w=1` and `"create";r=0;t=1`).
 */
export interface RateLimitInfo {
  /** The policy's name: `create` or `read`. */
  readonly policy: string;
  /** Units a window admits (`q`). */
  readonly quota?: number;
  /** The window's length in seconds (`w`). */
  readonly windowSeconds?: number;
  /** Units left in this window (`r`). */
  readonly remaining?: number;
  /** Seconds until the window resets (`t`). */
  readonly resetSeconds?: number;
}

/** The first item of a structured-field list (`"name";a=1;b=2`): its name and integer parameters. */
function fieldItem(value: string | null): { name: string; params: Record<string, number> } | undefined {
  const match = /^\s*"([^"\\]*)"((?:\s*;\s*[a-z][a-z0-9_.*-]*(?:=[^;,]*)?)*)/.exec(value ?? '');
  if (!match) return undefined;
  const params: Record<string, number> = {};
  for (const [, key, raw] of match[2]!.matchAll(/;\s*([a-z][a-z0-9_.*-]*)(?:=([^;,]*))?/g)) {
    if (raw !== undefined && /^\d{1,15}$/.test(raw.trim())) params[key!] = Number(raw.trim());
  }
  return { name: match[1]!, params };
}

/**
 * The rate limit an answer's `RateLimit-Policy` / `RateLimit` fields state (the first policy
 * named), or undefined when it carries neither. Every answer of a limited route carries them, not
 * only a 429: read them from a `Response`'s headers to slow down before being refused.
 */
export function rateLimitOf(headers: Headers): RateLimitInfo | undefined {
  const policy = fieldItem(headers.get('ratelimit-policy'));
  const state = fieldItem(headers.get('ratelimit'));
  const name = policy?.name ?? state?.name;
  if (name === undefined) return undefined;
  const same = state && state.name === name ? state.params : {};
  const defined = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    policy: name,
    ...defined('quota', policy?.params.q),
    ...defined('windowSeconds', policy?.params.w),
    ...defined('remaining', same.r),
    ...defined('resetSeconds', same.t),
  };
}

/**
 * A response that was not a success, as an error carrying its RFC 9457 body. A body that is not a
 * problem (API Gateway's own `{ "message": … }` for a missing key or throttling, or no body at all)
 * is turned into one of type `about:blank`, as RFC 9457 says of a problem with no type of its own.
 */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  /** The HTTP status. */
  readonly status: number;
  /** The problem body (made up from the status when the response had none). */
  readonly problem: Problem;
  /** The response's headers (`Retry-After`, `x-should-retry`…). */
  readonly headers: Headers;

  constructor(status: number, problem: Problem, headers: Headers = new Headers()) {
    super(`${status} ${problem.title}${problem.detail && problem.detail !== problem.title ? `: ${problem.detail}` : ''}`);
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }

  /** The rate limit the answer states (every answer of a limited route does; a 429 says which limit was used up). */
  get rateLimit(): RateLimitInfo | undefined {
    return rateLimitOf(this.headers);
  }

  /** Seconds the answer asks to wait before trying again (`Retry-After` in seconds), if it says. */
  get retryAfterSeconds(): number | undefined {
    const value = this.headers.get('retry-after')?.trim();
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  }

  /** The problem's type (`/problems/validation-error`…, or `about:blank`). */
  get type(): string {
    return this.problem.type;
  }

  /** What happened, in words. */
  get detail(): string {
    return this.problem.detail;
  }

  /** A 400's fields: each a path (JSON pointer, `query.<name>`) and a message. */
  get errors(): NonNullable<Problem['errors']> {
    return this.problem.errors ?? [];
  }

  /** The error of a response and its body as openapi-fetch parsed it (JSON when it was, else text). */
  static of(response: Response, body: unknown): ApiProblem {
    return new ApiProblem(response.status, toProblem(response, body), response.headers);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function toProblem(response: Response, body: unknown): Problem {
  if (isRecord(body) && typeof body.title === 'string' && typeof body.status === 'number') {
    return {
      type: typeof body.type === 'string' ? body.type : 'about:blank',
      title: body.title,
      status: body.status,
      detail: typeof body.detail === 'string' ? body.detail : body.title,
      ...(Array.isArray(body.errors) ? { errors: body.errors as NonNullable<Problem['errors']> } : {}),
      // A batch none of whose items succeeded: its results.
      ...(Array.isArray(body.items) ? { batch_id: body.batch_id as string, succeeded: body.succeeded as number, failed: body.failed as number, items: body.items as NonNullable<Problem['items']> } : {}),
    };
  }
  // API Gateway's own answers ({ "message": "Unauthorized" }, "Too Many Requests") are titles.
  const message = isRecord(body) && typeof body.message === 'string' ? body.message : undefined;
  const title = message ?? (response.statusText || `HTTP ${response.status}`);
  const detail = message ?? (typeof body === 'string' && body.trim() ? body.trim().slice(0, 500) : title);
  return { type: 'about:blank', title, status: response.status, detail };
}
