/** One failing field of a request: where it is and what is wrong with it. */
export interface FieldError {
  /** JSON-pointer-like path, e.g. `/input/pages` or `query.limit`. */
  readonly path: string;
  readonly message: string;
}

/** The RFC 9457 problem document every error response carries. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

/**
 * A failure the caller can act on. Its message is safe to show: it becomes the problem's `detail`.
 * Anything that is not a DomainError is an internal fault and is never shown.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly slug: string;
  abstract readonly title: string;
  /** Extra members of the problem document (e.g. `errors`, `execution_id`). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(message: string, extensions: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = new.target.name;
    this.extensions = extensions;
  }

  /** The problem+json body for this error. */
  toProblem(): ProblemDetails {
    return {
      type: `/problems/${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...this.extensions,
    };
  }
}

/** 400: the request is malformed or fails validation. */
export class ValidationError extends DomainError {
  readonly status = 400;
  readonly slug = 'validation-error';
  readonly title = 'Your request is not valid.';
  constructor(message: string, errors: readonly FieldError[] = []) {
    super(message, errors.length > 0 ? { errors } : {});
  }
}

/** 401: no credentials, or credentials that are not valid. */
export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly slug = 'unauthorized';
  readonly title = 'Authentication is required.';
}

/** 403: valid credentials without the right to do this. */
export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly slug = 'forbidden';
  readonly title = 'You may not do this.';
}

/** 404: no such execution, transition, task or route for this caller. */
export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly slug = 'not-found';
  readonly title = 'Not found.';
}

/** 405: the path exists but not with this method. */
export class MethodNotAllowedError extends DomainError {
  readonly status = 405;
  readonly slug = 'method-not-allowed';
  readonly title = 'Method not allowed.';
}

/**
 * 408: the request waited as long as one response may (API Gateway ends every request within 30 s)
 * without its answer being ready, e.g. a stream that is answered whole once its execution ends.
 * The same request, sent again, continues the wait.
 */
export class RequestTimeoutError extends DomainError {
  readonly status = 408;
  readonly slug = 'request-timeout';
  readonly title = 'The answer was not ready within the time one request may take.';
}

/** 409: the change is not allowed from the execution's current status, or a concurrent change won. */
export class ConflictError extends DomainError {
  readonly status = 409;
  readonly slug = 'conflict';
  readonly title = 'The execution is not in a state that allows this.';
}

/** 409: a resource other than an execution (a webhook, a delivery) is not in a state that allows this, or a limit is reached. */
export class ResourceConflictError extends DomainError {
  readonly status = 409;
  readonly slug = 'conflict';
  readonly title = 'The resource is not in a state that allows this.';
}

/**
 * Not an HTTP error: the change a writer planned was already recorded by another invocation of the
 * same work (its marker exists), so nothing was written. The writer reads what was recorded instead.
 */
export class AlreadyRecordedError extends Error {
  override readonly name = 'AlreadyRecorded';

  constructor(readonly marker: string) {
    super(`Already recorded: ${marker}`);
  }
}

/** 410: the thing the request needed is gone for good (e.g. the wait it resumes expired). */
export class GoneError extends DomainError {
  readonly status = 410;
  readonly slug = 'gone';
  readonly title = 'No longer available.';
}

/** 413: the body is larger than Step Functions accepts. */
export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly slug = 'payload-too-large';
  readonly title = 'The request body is too large.';
}

/** 415: the body is not JSON. */
export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly slug = 'unsupported-media-type';
  readonly title = 'Send a JSON body.';
}

/** 422: an Idempotency-Key was reused with a different request. */
export class IdempotencyMismatchError extends DomainError {
  readonly status = 422;
  readonly slug = 'idempotency-key-reused';
  readonly title = 'This Idempotency-Key was used with a different request.';
}

/**
 * 429: a rate limit of the caller's key is used up for this window. Its `headers` (`Retry-After`,
 * `RateLimit`, `RateLimit-Policy`) go on the response.
 */
export class TooManyRequestsError extends DomainError {
  readonly status = 429;
  readonly slug = 'rate-limited';
  readonly title = 'Too many requests.';
  constructor(
    message: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** 422: no item of a batch could be created, each for what it asked (its items, an extension member, say why). */
export class BatchFailedError extends DomainError {
  readonly status = 422;
  readonly slug = 'batch-failed';
  readonly title = 'No item of the batch could be created.';
}

/** 503: a dependency refused for now; the same request may succeed later. */
export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  readonly slug = 'service-unavailable';
  readonly title = 'The service could not complete this request now.';
}

/** Seconds a caller should wait before retrying a 503: its `Retry-After` header. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * The 503 of a dependency (DynamoDB, Step Functions) that timed out or throttled the call. A
 * write may still have landed, so only a create that carries an Idempotency-Key is safe to retry.
 */
export function dependencyUnavailable(): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `A dependency timed out or throttled; the request may have taken effect. Retry after ${RETRY_AFTER_SECONDS} s; ` +
      'a create is only safe to retry with an Idempotency-Key.',
  );
}

/** The problem document for any thrown value; internals never leak past this. */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof DomainError) return error.toProblem();
  return {
    type: '/problems/internal-error',
    title: 'Internal error.',
    status: 500,
    detail: 'The service failed to handle this request. It has been logged.',
  };
}
