import { describe, expect, it } from 'vitest';
import { ApiProblem, createClient, rateLimitOf, type RetryNotice } from '../../../client/index.js';
import { retryingFetch, type RetryOptions } from '../../../client/retry.js';

const BASE = 'http://127.0.0.1:9';

/** The 429 the service answers when a key's create limit is used up. */
function limited(retryAfter: string, extra: Record<string, string> = {}): Response {
  return new Response(
    JSON.stringify({
      type: '/problems/rate-limited',
      title: 'Too many requests.',
      status: 429,
      detail: 'The create limit of your API key (3 per 5 s) is used up for this window; retry in 2 s.',
    }),
    {
      status: 429,
      headers: {
        'content-type': 'application/problem+json',
        'retry-after': retryAfter,
        'ratelimit-policy': '"create";q=3;w=5',
        ratelimit: `"create";r=0;t=${retryAfter}`,
        ...extra,
      },
    },
  );
}

const created = () =>
  new Response(JSON.stringify({ id: '019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e', status: 'queued' }), {
    status: 201,
    headers: { 'content-type': 'application/json', 'ratelimit-policy': '"create";q=3;w=5', ratelimit: '"create";r=2;t=5' },
  });

/** A fetch answering from `answers` in turn, recording what it was sent. */
function scripted(answers: ReadonlyArray<() => Response>) {
  const sent: Request[] = [];
  const fetch = async (request: Request) => {
    sent.push(request);
    return answers[Math.min(sent.length - 1, answers.length - 1)]!();
  };
  return { fetch, sent };
}

function instant(extra: RetryOptions = {}) {
  const pauses: number[] = [];
  const notices: RetryNotice[] = [];
  const options: RetryOptions = { random: () => 0, sleep: async (ms) => void pauses.push(ms), onRetry: (notice) => notices.push(notice), ...extra };
  return { options, pauses, notices };
}

describe('rateLimitOf', () => {
  it('reads the policy and the state of the structured fields', () => {
    const headers = new Headers({ 'ratelimit-policy': '"create";q=10;w=1', ratelimit: '"create";r=3;t=1' });

    expect(rateLimitOf(headers)).toEqual({ policy: 'create', quota: 10, windowSeconds: 1, remaining: 3, resetSeconds: 1 });
  });

  it('reads the first policy of a list and parameters it does not know', () => {
    const headers = new Headers({ 'ratelimit-policy': '"read";q=100;w=1;qu="requests", "other";q=5', ratelimit: '"read";r=0;t=1;pk=:YWJj:' });

    expect(rateLimitOf(headers)).toEqual({ policy: 'read', quota: 100, windowSeconds: 1, remaining: 0, resetSeconds: 1 });
  });

  it('keeps the state of another policy apart, and ignores what is not an integer', () => {
    const headers = new Headers({ 'ratelimit-policy': '"create";q=ten;w=1', ratelimit: '"read";r=3;t=1' });

    expect(rateLimitOf(headers)).toEqual({ policy: 'create', windowSeconds: 1 });
  });

  it.each([
    ['no fields', {}],
    ['a token instead of a string', { ratelimit: 'create;r=1' }],
    ['garbage', { 'ratelimit-policy': '__proto__' }],
  ])('is undefined for %s', (_what, fields) => {
    expect(rateLimitOf(new Headers(fields))).toBeUndefined();
  });
});

describe('the client and a rate-limited key', () => {
  it('retries a create refused with 429 after its Retry-After, and answers the execution', async () => {
    const { fetch, sent } = scripted([() => limited('2'), created]);
    const { options, pauses, notices } = instant();
    const client = createClient({ baseUrl: BASE, apiKey: 'k', fetch, retry: options });

    const execution = await client.executions.create('sample-pipeline', { input: {} });

    expect(execution.id).toBe('019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e');
    expect(sent).toHaveLength(2);
    expect(pauses).toEqual([2000]);
    expect(notices).toEqual([expect.objectContaining({ status: 429, attempt: 1, delayMs: 2000 })]);
    // The retry repeats the create with the same Idempotency-Key: whatever happened, one execution.
    expect(sent[1]!.headers.get('idempotency-key')).toBe(sent[0]!.headers.get('idempotency-key'));
  });

  it('retries a read refused with 429 too', async () => {
    const { fetch, sent } = scripted([
      () => limited('1', { 'ratelimit-policy': '"read";q=1;w=1', ratelimit: '"read";r=0;t=1' }),
      () => new Response(JSON.stringify({ id: 'x', status: 'running' }), { status: 200, headers: { 'content-type': 'application/json' } }),
    ]);
    const client = createClient({ baseUrl: BASE, apiKey: 'k', fetch, retry: instant().options });

    await client.executions.get('019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e');

    expect(sent).toHaveLength(2);
  });

  it('gives up after its attempts with an ApiProblem that names the limit and when to retry', async () => {
    const { fetch, sent } = scripted([() => limited('2')]);
    const client = createClient({ baseUrl: BASE, apiKey: 'k', fetch, retry: { ...instant().options, attempts: 3 } });

    const error = await client.executions.create('sample-pipeline', { input: {} }).catch((caught: unknown) => caught);

    expect(sent).toHaveLength(3);
    expect(error).toBeInstanceOf(ApiProblem);
    const problem = error as ApiProblem;
    expect(problem.status).toBe(429);
    expect(problem.type).toBe('/problems/rate-limited');
    expect(problem.retryAfterSeconds).toBe(2);
    expect(problem.rateLimit).toEqual({ policy: 'create', quota: 3, windowSeconds: 5, remaining: 0, resetSeconds: 2 });
  });

  it('does not wait for a Retry-After beyond its longest pause: the 429 is answered at once', async () => {
    const { fetch, sent } = scripted([() => limited('45')]);
    const { options, pauses } = instant({ maxDelayMs: 30_000 });

    const response = await retryingFetch(fetch, options)(new Request(`${BASE}/executions`, { method: 'POST', body: '{}' }));

    expect(response.status).toBe(429);
    expect(sent).toHaveLength(1);
    expect(pauses).toEqual([]);
  });
});
