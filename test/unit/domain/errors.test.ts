import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  GoneError,
  IdempotencyMismatchError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  toProblem,
} from '../../../lambdas/domain/errors.js';

const CASES: ReadonlyArray<[string, DomainError, number, string]> = [
  ['ValidationError', new ValidationError('bad input'), 400, '/problems/validation-error'],
  ['UnauthorizedError', new UnauthorizedError('no key'), 401, '/problems/unauthorized'],
  ['ForbiddenError', new ForbiddenError('read only'), 403, '/problems/forbidden'],
  ['NotFoundError', new NotFoundError('no such execution'), 404, '/problems/not-found'],
  ['MethodNotAllowedError', new MethodNotAllowedError('use GET'), 405, '/problems/method-not-allowed'],
  ['ConflictError', new ConflictError('already succeeded'), 409, '/problems/conflict'],
  ['GoneError', new GoneError('wait expired'), 410, '/problems/gone'],
  ['PayloadTooLargeError', new PayloadTooLargeError('too big'), 413, '/problems/payload-too-large'],
  ['UnsupportedMediaTypeError', new UnsupportedMediaTypeError('send JSON'), 415, '/problems/unsupported-media-type'],
  ['IdempotencyMismatchError', new IdempotencyMismatchError('key reused'), 422, '/problems/idempotency-key-reused'],
  ['ServiceUnavailableError', new ServiceUnavailableError('busy'), 503, '/problems/service-unavailable'],
];

describe('domain errors', () => {
  it.each(CASES)('%s becomes a problem document with status %i', (name, error, status, type) => {
    const problem = toProblem(error);

    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(problem).toEqual({ type, title: error.title, status, detail: error.message });
    expect(problem.title.length).toBeGreaterThan(0);
  });

  it('gives every error class its own type and status', () => {
    expect(new Set(CASES.map(([, error]) => error.toProblem().type)).size).toBe(CASES.length);
    expect(new Set(CASES.map(([, error]) => error.status)).size).toBe(CASES.length);
  });

  it('lists the failing fields of a validation error under errors', () => {
    const error = new ValidationError('The request is not valid.', [
      { path: 'query.limit', message: 'must be at most 100' },
      { path: '/input/pages', message: 'required' },
    ]);

    expect(toProblem(error)).toEqual({
      type: '/problems/validation-error',
      title: 'Your request is not valid.',
      status: 400,
      detail: 'The request is not valid.',
      errors: [
        { path: 'query.limit', message: 'must be at most 100' },
        { path: '/input/pages', message: 'required' },
      ],
    });
  });

  it('leaves errors out of a validation problem that names no field', () => {
    expect(toProblem(new ValidationError('bad'))).not.toHaveProperty('errors');
  });

  it('adds extension members to the problem document', () => {
    const error = new ConflictError('The execution is already succeeded.', { execution_id: 'abc' });

    expect(toProblem(error)).toMatchObject({ status: 409, detail: 'The execution is already succeeded.', execution_id: 'abc' });
  });
});

describe('toProblem of anything else', () => {
  it.each([
    ['an Error with internals', new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'pk')")],
    ['a thrown string', 'table executions-prod not found'],
    ['undefined', undefined],
    ['a plain object posing as a problem', { status: 404, detail: 'secret detail', title: 'x' }],
  ])('turns %s into a 500 that reveals nothing', (_label, thrown) => {
    const problem = toProblem(thrown);

    expect(problem).toEqual({
      type: '/problems/internal-error',
      title: 'Internal error.',
      status: 500,
      detail: 'The service failed to handle this request. It has been logged.',
    });
    const text = JSON.stringify(problem);
    for (const secret of ['hunter2', '10.0.0.7', 'executions-prod', 'reading', 'secret detail', 'stack']) {
      expect(text).not.toContain(secret);
    }
  });
});
