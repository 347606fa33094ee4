import { createHash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventsCredentialsOf } from '../../../lambdas/api/events-auth.js';
import { POLL, type StreamClock, type WatchSource } from '../../../lambdas/api/event-stream.js';
import { CLOSE_MARGIN_MS, disconnectSignal, serveEventsStream, type EventsStreamOptions, type StreamMetadata } from '../../../lambdas/api/events-stream.js';
import { callbackKey, callbackToken } from '../../../lambdas/domain/callbacks.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { streamToken, streamTokenKey } from '../../../lambdas/domain/stream-tokens.js';
import type { ApiKeyRecord } from '../../../lambdas/repository/api-keys-repository.js';
import type { Logger } from '../../../lambdas/shared/logger.js';
import { lambdaContext } from '../support/api-events.js';
import { executionRecord, TENANT, transitionRecord } from '../support/records.js';

/** Virtual time that runs what the test scheduled as the watcher sleeps past it. */
class VirtualClock implements StreamClock {
  time = 0;
  private readonly timeline: Array<{ readonly at: number; readonly act: () => void }> = [];
  now(): number {
    return this.time;
  }
  async sleep(milliseconds: number): Promise<void> {
    this.time += milliseconds;
    for (const entry of this.timeline.filter((scheduled) => scheduled.at <= this.time)) {
      this.timeline.splice(this.timeline.indexOf(entry), 1);
      entry.act();
    }
  }
  at(at: number, act: () => void): void {
    this.timeline.push({ at, act });
  }
}

/** The execution table, in memory, keyed by tenant and id as the partition is; it notes the virtual time of every read. */
class MemorySource implements WatchSource {
  readonly records = new Map<string, ExecutionRecord>();
  readonly rows = new Map<string, TransitionRecord[]>();
  readonly readsAt: number[] = [];
  constructor(private readonly now: () => number) {}
  put(record: ExecutionRecord, rows: readonly TransitionRecord[] = []): void {
    const key = `${record.tenant}/${record.id}`;
    this.records.set(key, record);
    this.rows.set(key, [...(this.rows.get(key) ?? []), ...rows]);
  }
  async find(tenant: string, executionId: string): Promise<ExecutionRecord | undefined> {
    this.readsAt.push(this.now());
    return this.records.get(`${tenant}/${executionId}`);
  }
  async transitionsAfter(tenant: string, executionId: string, afterSeq: number, limit: number): Promise<TransitionRecord[]> {
    this.readsAt.push(this.now());
    return (this.rows.get(`${tenant}/${executionId}`) ?? []).filter((row) => row.seq > afterSeq).slice(0, limit);
  }
}

/** A response stream that records its metadata and each chunk with the virtual time it was written at. */
class FakeResponse {
  metadata: StreamMetadata | undefined;
  readonly chunks: Array<{ readonly at: number; readonly text: string }> = [];
  ended = false;
  constructor(private readonly clock: VirtualClock) {}
  open = (metadata: StreamMetadata) => {
    this.metadata = metadata;
    return {
      write: (chunk: string) => void this.chunks.push({ at: this.clock.now(), text: chunk }),
      end: () => void (this.ended = true),
    };
  };
  get text(): string {
    return this.chunks.map((chunk) => chunk.text).join('');
  }
  /** `event:id` of every event, in order. */
  names(): string[] {
    return [...this.text.matchAll(/id: (\d+)\nevent: (\w+)/g)].map((match) => `${match[2]}:${match[1]}`);
  }
}

const infos: Array<{ readonly message: string; readonly extra: Record<string, unknown> }> = [];
const logger: Logger = {
  debug: () => undefined,
  info: (message, extra = {}) => void infos.push({ message, extra }),
  warn: () => undefined,
  error: () => undefined,
  child: () => logger,
};
/** API keys by their hash, as `credentialsOf` looks them up. */
const KEYS = new Map<string, string>([
  ['key-default', TENANT],
  ['key-other', 'other'],
]);
const keys = {
  findActive: async (hash: string): Promise<ApiKeyRecord | undefined> => {
    const entry = [...KEYS].find(([key]) => createHash('sha256').update(key).digest('hex') === hash);
    return entry ? ({ tenant: entry[1] } as ApiKeyRecord) : undefined;
  },
};
const SECRET = 'test-secret';
const TOKEN_KEY = streamTokenKey(SECRET);
/** Wall-clock seconds the tokens are checked at. */
const NOW_SECONDS = 1_767_323_045;

let clock: VirtualClock;
let source: MemorySource;
let response: FakeResponse;

beforeEach(() => {
  clock = new VirtualClock();
  source = new MemorySource(() => clock.now());
  response = new FakeResponse(clock);
  infos.length = 0;
});

/** A stream token of `tenant` for `executionId`, expiring `ttl` seconds after {@link NOW_SECONDS}. */
const tokenFor = (executionId: string, tenant = TENANT, ttl = 900) => streamToken(TOKEN_KEY, { tenant, executionId, expiresAt: NOW_SECONDS + ttl });

function urlEvent(path: string, headers: Record<string, string> = { authorization: 'Bearer key-default' }, query?: Record<string, string>): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: { http: { method: 'GET', path }, domainName: 'abc.lambda-url.us-east-1.on.aws' },
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

/** A request with a stream token in its query, as a browser's `EventSource` sends it: no header. */
const tokenEvent = (path: string, token: string, headers: Record<string, string> = {}) => urlEvent(path, headers, { token });

async function serve(event: LambdaFunctionURLEvent, remainingMs = 900_000, gone?: AbortSignal): Promise<void> {
  const options: EventsStreamOptions = {
    source,
    clock,
    logger,
    credentials: (request) => eventsCredentialsOf(keys, TOKEN_KEY, { ...request, nowSeconds: NOW_SECONDS }),
    links: { apiBaseUrl: 'https://api.example.com', region: 'us-east-1' },
    open: response.open,
    ...(gone ? { gone } : {}),
  };
  await serveEventsStream(event, { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs }, options);
}

const step = (record: ExecutionRecord, seq: number, overrides: Partial<TransitionRecord> = {}) =>
  transitionRecord(record, { seq, type: 'step', from: 'running', to: 'running', step: { index: seq - 3, name: 'extract' }, output: { seq }, ...overrides });

function running(): ExecutionRecord {
  const record = executionRecord({ status: 'running', transitionCount: 3, stepIndex: 1, stepName: 'analyze', stepsCompleted: 1 });
  source.put(record, [transitionRecord(record), transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', output: null }), step(record, 3)]);
  return record;
}

describe('GET <function url>/executions/{id}/events', () => {
  it('writes each transition as it is recorded, in one response, until `end`', async () => {
    let record = running();
    clock.at(20_000, () => {
      record = { ...record, transitionCount: 4, stepsCompleted: 2 };
      source.put(record, [step(record, 4)]);
    });
    clock.at(40_000, () => {
      record = { ...record, transitionCount: 5, status: 'succeeded', stepsCompleted: 3, completedAt: '2026-01-02T03:05:00.000Z', output: { ok: 1 } };
      source.put(record, [step(record, 5, { type: 'finish', to: 'succeeded' })]);
    });

    await serve(urlEvent(`/executions/${record.id}/events`));

    expect(response.metadata).toEqual({ statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } });
    expect(response.names()).toEqual(['transition:1', 'transition:2', 'transition:3', 'status:3', 'transition:4', 'status:4', 'transition:5', 'status:5', 'end:5']);
    // Written as they came: the history at once, step 4 soon after 20 s, the end soon after 40 s, with keep-alives between.
    const at = (name: string) => response.chunks.find((chunk) => chunk.text.includes(name))!.at;
    expect(at('id: 3')).toBe(0);
    expect(at('id: 4')).toBeGreaterThanOrEqual(20_000);
    expect(at('id: 4')).toBeLessThan(21_000);
    expect(at('event: end')).toBeLessThan(41_000);
    expect(response.text).toContain(': keep-alive');
    expect(response.ended).toBe(true);
  });

  it('resumes after Last-Event-ID', async () => {
    const record = running();
    clock.at(1_000, () => source.put({ ...record, status: 'failed', transitionCount: 4 }, [step(record, 4, { type: 'error', to: 'failed' })]));

    await serve(urlEvent(`/executions/${record.id}/events`, { authorization: 'Bearer key-default', 'Last-Event-ID': '3' }));

    expect(response.names()).toEqual(['transition:4', 'status:4', 'end:4']);
  });

  it('closes before the function’s own time limit, so the client reconnects with Last-Event-ID', async () => {
    const record = running();

    await serve(urlEvent(`/executions/${record.id}/events`), 60_000);

    expect(response.names()).toEqual(['transition:1', 'transition:2', 'transition:3', 'status:3']);
    expect(clock.now()).toBeLessThanOrEqual(60_000 - CLOSE_MARGIN_MS);
    expect(response.ended).toBe(true);
  });

  it('refuses a missing or unknown API key with a 401 problem+json body', async () => {
    const record = running();

    await serve(urlEvent(`/executions/${record.id}/events`, { authorization: 'Bearer nope' }));

    expect(response.metadata?.statusCode).toBe(401);
    expect(response.metadata?.headers).toMatchObject({ 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' });
    expect(JSON.parse(response.text)).toMatchObject({ status: 401 });
    expect(response.ended).toBe(true);
  });

  it('answers 404 for another tenant’s execution, as for an unknown one', async () => {
    const record = running();

    await serve(urlEvent(`/executions/${record.id}/events`, { authorization: 'Bearer key-other' }));

    expect(response.metadata?.statusCode).toBe(404);
    expect(JSON.parse(response.text)).toMatchObject({ status: 404 });
  });

  it('answers 404 problem+json on any other path', async () => {
    await serve(urlEvent('/executions'));

    expect(response.metadata?.statusCode).toBe(404);
    expect(response.metadata?.headers['content-type']).toBe('application/problem+json');
  });

  it('answers 204 when nothing can follow the position (the execution has ended)', async () => {
    const record = running();
    source.put({ ...record, status: 'succeeded', transitionCount: 4 }, [step(record, 4, { type: 'finish', to: 'succeeded' })]);

    await serve(urlEvent(`/executions/${record.id}/events`, { authorization: 'Bearer key-default', 'last-event-id': '4' }));

    expect(response.metadata?.statusCode).toBe(204);
    expect(response.text).toBe('');
  });
});

describe('GET <function url>/executions/{id}/events?token= (a browser EventSource, without a key)', () => {
  it('streams the execution a stream token was made for, to `end`, as a key does', async () => {
    let record = running();
    clock.at(5_000, () => {
      record = { ...record, transitionCount: 4, status: 'succeeded', stepsCompleted: 3, completedAt: '2026-01-02T03:05:00.000Z', output: { ok: 1 } };
      source.put(record, [step(record, 4, { type: 'finish', to: 'succeeded' })]);
    });

    await serve(tokenEvent(`/executions/${record.id}/events`, tokenFor(record.id)));

    expect(response.metadata?.statusCode).toBe(200);
    expect(response.names()).toEqual(['transition:1', 'transition:2', 'transition:3', 'status:3', 'transition:4', 'status:4', 'end:4']);
    expect(infos.at(-1)).toMatchObject({ message: 'events stream closed', extra: { execution_id: record.id, via: 'token', reason: 'end' } });
  });

  it('resumes after Last-Event-ID with a token, as an EventSource reconnects with the same URL', async () => {
    const record = running();
    clock.at(1_000, () => source.put({ ...record, status: 'failed', transitionCount: 4 }, [step(record, 4, { type: 'error', to: 'failed' })]));

    await serve(tokenEvent(`/executions/${record.id}/events`, tokenFor(record.id), { 'last-event-id': '3' }));

    expect(response.names()).toEqual(['transition:4', 'status:4', 'end:4']);
  });

  it.each([
    ['expired', () => tokenFor(running().id, TENANT, -1), /expired at 2026-01-02T03:04:04\.000Z/],
    ['tampered with (its claims changed)', () => {
      const record = running();
      const [, signature] = tokenFor(record.id).split('.');
      return `${Buffer.from(JSON.stringify([TENANT, record.id, NOW_SECONDS + 86_400])).toString('base64url')}.${signature}`;
    }, /not valid for this execution/],
    ['made for another execution', () => {
      running();
      return tokenFor('019b7ca9-8c88-71f4-b9cc-4734b7ac0d5e');
    }, /not valid for this execution/],
    ['signed by another deployment', () => streamToken(streamTokenKey('another-secret'), { tenant: TENANT, executionId: running().id, expiresAt: NOW_SECONDS + 900 }), /not valid/],
    ['a resume link token, not a stream token', () => callbackToken(callbackKey(SECRET), { tenant: TENANT, executionId: running().id, stepIndex: 1, nonce: 'n0nce-n0nce-n0nce-n0nc' }), /not valid/],
  ])('refuses a token %s with a 401 problem+json before any event, reading nothing', async (_what, make, detail) => {
    const token = make();
    const [record] = [...source.records.values()];

    await serve(tokenEvent(`/executions/${record!.id}/events`, token));

    expect(response.metadata?.statusCode).toBe(401);
    expect(response.metadata?.headers).toMatchObject({ 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' });
    expect(JSON.parse(response.text)).toMatchObject({ status: 401, detail: expect.stringMatching(detail) });
    expect(response.names()).toEqual([]);
    expect(source.readsAt).toEqual([]);
  });

  it('refuses a token signed for another tenant (whose tenant has no such execution) with a 401, not a 404', async () => {
    const record = running();

    await serve(tokenEvent(`/executions/${record.id}/events`, tokenFor(record.id, 'other')));

    expect(response.metadata?.statusCode).toBe(401);
    expect(JSON.parse(response.text)).toMatchObject({ status: 401, detail: expect.stringMatching(/not valid for this execution/) });
    expect(response.names()).toEqual([]);
  });

  it('refuses a request that sends both a key and a token, rather than let one silently win', async () => {
    const record = running();

    await serve(tokenEvent(`/executions/${record.id}/events`, tokenFor(record.id), { authorization: 'Bearer key-default' }));

    expect(response.metadata?.statusCode).toBe(401);
    expect(JSON.parse(response.text)).toMatchObject({ detail: expect.stringMatching(/not both/) });
  });

  it('accepts a token on the events path only (every other path is a 404, whatever the token)', async () => {
    const record = running();

    await serve(tokenEvent(`/executions/${record.id}`, tokenFor(record.id)));

    expect(response.metadata?.statusCode).toBe(404);
  });

  it('answers 400 to a malformed escape in the path rather than failing (it answered 503)', async () => {
    await serve(urlEvent('/executions/%zz/events'));

    expect(response.metadata?.statusCode).toBe(400);
  });
});

describe('a client that goes away', () => {
  it('stops the stream within a second: no read after that, and the function returns long before its time is up', async () => {
    const record = running();
    const client = new AbortController();
    clock.at(30_000, () => client.abort());

    await serve(urlEvent(`/executions/${record.id}/events`), 900_000, client.signal);

    expect(Math.max(...source.readsAt)).toBeLessThanOrEqual(30_000 + POLL.maxMs);
    expect(clock.now()).toBeLessThan(30_000 + 1_000);
    expect(infos.at(-1)).toMatchObject({ message: 'events stream closed', extra: { reason: 'client-gone', via: 'key' } });
    expect(response.ended).toBe(true);
  });

  it('reads nothing at all once the client is gone before the first read', async () => {
    const record = running();
    const client = new AbortController();
    client.abort();

    await serve(urlEvent(`/executions/${record.id}/events`), 900_000, client.signal);

    expect(source.readsAt).toEqual([]);
    expect(response.names()).toEqual([]);
  });

  it('polls on to the function’s time limit while the client stays', async () => {
    const record = running();

    await serve(urlEvent(`/executions/${record.id}/events`), 120_000, new AbortController().signal);

    expect(Math.max(...source.readsAt)).toBeGreaterThan(100_000);
    expect(infos.at(-1)).toMatchObject({ extra: { reason: 'time-limit' } });
  });
});

describe('disconnectSignal', () => {
  it('aborts when the response stream closes, as it does when the client disconnects', () => {
    const stream = new PassThrough();
    const signal = disconnectSignal(stream);
    expect(signal.aborted).toBe(false);

    stream.destroy();

    return new Promise<void>((done) => stream.once('close', () => {
      expect(signal.aborted).toBe(true);
      done();
    }));
  });

  it('aborts when a write fails (the client has gone), without an unhandled error', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('EPIPE: the client has gone')) });
    const signal = disconnectSignal(stream);

    stream.write('data: 1\n\n');
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(signal.aborted).toBe(true);
  });

  it('is aborted at once for a stream already destroyed', () => {
    const stream = new PassThrough();
    stream.destroy();

    expect(disconnectSignal(stream).aborted).toBe(true);
  });

  it('stays quiet while the stream is open and written to', async () => {
    const stream = new PassThrough();
    const signal = disconnectSignal(stream);

    stream.write('data: 1\n\n');
    stream.read();
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(signal.aborted).toBe(false);
  });
});
