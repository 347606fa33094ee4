import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Credentials } from '../../../lambdas/api/api-key-auth.js';
import type { StreamClock, WatchSource } from '../../../lambdas/api/event-stream.js';
import { CLOSE_MARGIN_MS, serveEventsStream, type EventsStreamOptions, type StreamMetadata } from '../../../lambdas/api/events-stream.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
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

/** The execution table, in memory, keyed by tenant and id as the partition is. */
class MemorySource implements WatchSource {
  readonly records = new Map<string, ExecutionRecord>();
  readonly rows = new Map<string, TransitionRecord[]>();
  put(record: ExecutionRecord, rows: readonly TransitionRecord[] = []): void {
    const key = `${record.tenant}/${record.id}`;
    this.records.set(key, record);
    this.rows.set(key, [...(this.rows.get(key) ?? []), ...rows]);
  }
  async find(tenant: string, executionId: string): Promise<ExecutionRecord | undefined> {
    return this.records.get(`${tenant}/${executionId}`);
  }
  async transitionsAfter(tenant: string, executionId: string, afterSeq: number, limit: number): Promise<TransitionRecord[]> {
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

const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => logger };
const KEYS: Readonly<Record<string, string>> = { 'Bearer key-default': TENANT, 'Bearer key-other': 'other' };

let clock: VirtualClock;
let source: MemorySource;
let response: FakeResponse;

beforeEach(() => {
  clock = new VirtualClock();
  source = new MemorySource();
  response = new FakeResponse(clock);
});

function urlEvent(path: string, headers: Record<string, string> = { authorization: 'Bearer key-default' }): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: { http: { method: 'GET', path }, domainName: 'abc.lambda-url.us-east-1.on.aws' },
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

async function serve(event: LambdaFunctionURLEvent, remainingMs = 900_000): Promise<void> {
  const options: EventsStreamOptions = {
    source,
    clock,
    logger,
    credentials: async (authorization): Promise<Credentials> => {
      const tenant = authorization ? KEYS[authorization] : undefined;
      return tenant ? { tenant, refused: '' } : { tenant: '', refused: 'unknown or revoked API key' };
    },
    links: { apiBaseUrl: 'https://api.example.com', region: 'us-east-1' },
    open: response.open,
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
