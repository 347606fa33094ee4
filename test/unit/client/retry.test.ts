import { describe, expect, it } from 'vitest';
import { abortableSleep, retryAfterMs, retryDelayMs, retryingFetch, type RetryOptions } from '../../../client/retry.js';

const URL_ = 'http://127.0.0.1:9/executions';

/** A fetch answering from `answers` in turn (an Error is thrown), recording what it was sent. */
function scripted(answers: ReadonlyArray<Response | Error>) {
  const sent: Request[] = [];
  const fetch = async (request: Request) => {
    sent.push(request);
    const answer = answers[Math.min(sent.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer.clone();
  };
  return { fetch, sent };
}

/** Records the pauses instead of sleeping; jitter at its top (random() → 0.999…). */
function instant(extra: RetryOptions = {}) {
  const pauses: number[] = [];
  const options: RetryOptions = { random: () => 0.999, sleep: async (ms) => void pauses.push(ms), ...extra };
  return { options, pauses };
}

const status = (code: number, headers: Record<string, string> = {}) => new Response(code === 204 ? null : '{}', { status: code, headers });
const post = (headers: Record<string, string> = {}) => new Request(URL_, { method: 'POST', body: '{"input":{}}', headers: { 'content-type': 'application/json', ...headers } });

describe('retryingFetch', () => {
  it('retries a GET answered 503 after at least its Retry-After, with under one base delay of jitter', async () => {
    const { fetch, sent } = scripted([status(503, { 'retry-after': '2' }), status(200)]);
    const { options, pauses } = instant({ baseDelayMs: 500 });

    const response = await retryingFetch(fetch, options)(new Request(URL_));

    expect(response.status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]).toBeGreaterThanOrEqual(2000);
    expect(pauses[0]).toBeLessThan(2500);
  });

  it('sends the same body again on a retry of a create with an Idempotency-Key', async () => {
    const { fetch, sent } = scripted([status(503, { 'retry-after': '0' }), status(201)]);

    const response = await retryingFetch(fetch, instant().options)(post({ 'idempotency-key': 'k-1' }));

    expect(response.status).toBe(201);
    expect(await Promise.all(sent.map((request) => request.text()))).toEqual(['{"input":{}}', '{"input":{}}']);
    expect(sent.map((request) => request.headers.get('idempotency-key'))).toEqual(['k-1', 'k-1']);
  });

  it('does not repeat a write without an Idempotency-Key answered 503 (the service may have done it)', async () => {
    const { fetch, sent } = scripted([status(503, { 'retry-after': '1' }), status(200)]);

    const response = await retryingFetch(fetch, instant().options)(post());

    expect(response.status).toBe(503);
    expect(sent).toHaveLength(1);
  });

  it('repeats any request throttled with 429 (it never reached the service)', async () => {
    const { fetch, sent } = scripted([status(429), status(200)]);
    const { options, pauses } = instant({ baseDelayMs: 100 });

    const response = await retryingFetch(fetch, options)(post());

    expect(response.status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(pauses[0]).toBeGreaterThanOrEqual(50);
    expect(pauses[0]).toBeLessThanOrEqual(100);
  });

  it('gives up after its attempts and returns the last answer', async () => {
    const { fetch, sent } = scripted([status(503, { 'retry-after': '1' })]);

    const response = await retryingFetch(fetch, instant({ attempts: 3 }).options)(new Request(URL_));

    expect(response.status).toBe(503);
    expect(sent).toHaveLength(3);
  });

  it('does not wait for a Retry-After longer than maxDelayMs', async () => {
    const { fetch, sent } = scripted([status(503, { 'retry-after': '120' }), status(200)]);

    const response = await retryingFetch(fetch, instant({ maxDelayMs: 30_000 }).options)(new Request(URL_));

    expect(response.status).toBe(503);
    expect(sent).toHaveLength(1);
  });

  it('retries a GET whose connection failed, but throws for a write without a key', async () => {
    const failure = new TypeError('fetch failed');
    const get = scripted([failure, status(200)]);
    const write = scripted([failure, status(200)]);

    expect((await retryingFetch(get.fetch, instant().options)(new Request(URL_))).status).toBe(200);
    await expect(retryingFetch(write.fetch, instant().options)(post())).rejects.toBe(failure);
    expect(write.sent).toHaveLength(1);
  });

  it('doubles its pause without Retry-After, half of it jitter', () => {
    const options = { baseDelayMs: 100, random: () => 0 };

    expect([1, 2, 3].map((attempt) => retryDelayMs(null, attempt, options))).toEqual([50, 100, 200]);
    expect(retryDelayMs(null, 20, { ...options, maxDelayMs: 1000 })).toBe(500);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-02T03:04:05Z');

    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Fri, 02 Jan 2026 03:04:07 GMT', now)).toBe(2000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('stops a pause at once when its signal aborts', async () => {
    const controller = new AbortController();
    const pause = abortableSleep(60_000, controller.signal);
    controller.abort(new Error('stop'));

    await expect(pause).rejects.toThrow('stop');
  });
});
