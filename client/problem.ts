import type { components } from './schema.js';

/** An RFC 9457 problem as the service sends it (`application/problem+json`). */
export type Problem = components['schemas']['Problem'];

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
