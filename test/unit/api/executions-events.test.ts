import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_MS, KEEP_ALIVE_MS, MAX_RESPONSE_BYTES, POLL, RETRY_MS, type StreamClock } from '../../../lambdas/api/event-stream.js';
import { eventsHandler } from '../../../lambdas/api/executions-events.js';
import { ROUTES } from '../../../lambdas/api/routes.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { MAX_SEQ, newExecutionId } from '../../../lambdas/domain/ids.js';
import type { Logger } from '../../../lambdas/shared/logger.js';
import { FakeTable } from '../support/fake-dynamodb.js';
import { apiEvent, dataCalls, expectProblem, lambdaContext, type RequestOptions } from '../support/api-events.js';
import { executionRecord, recordItem, seed, transitionItem, transitionRecord } from '../support/records.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

let table: FakeTable;

/**
 * Virtual time: `sleep` moves the clock and runs what the test scheduled until then (a step
 * writing its row, a progress report), so a watcher sees the table change between its polls.
 */
class VirtualClock implements StreamClock {
  private time = 0;
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

  /** Runs `act` once the clock reaches `at` ms. */
  at(at: number, act: () => void): void {
    this.timeline.push({ at, act });
  }
}

let clock: VirtualClock;
const warnings: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => void warnings.push(message),
  error: (message) => void warnings.push(message),
  child: () => logger,
};

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  table = new FakeTable().install(ddb);
  clock = new VirtualClock();
  warnings.length = 0;
});

type EventsRoute = (typeof ROUTES.events)[number];

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number | boolean>>;
  readonly text: string;
  /** The events of the body: `event` (or `message`), `id` and parsed `data`. */
  readonly events: Array<{ event: string; id: number; data: Record<string, unknown> }>;
  /** Virtual ms the response took. */
  readonly took: number;
}

async function call(routeKey: EventsRoute, id: string, options: RequestOptions = {}, windowMs = DEFAULT_WINDOW_MS): Promise<Reply> {
  const handler = eventsHandler({ clock, windowMs, logger });
  const started = clock.now();
  const response = await handler(apiEvent(routeKey, { ...options, pathParameters: { id } }), lambdaContext());
  const text = response.body ?? '';
  const events = text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      return { event: field('event') ?? 'message', id: Number(field('id')), data: JSON.parse(field('data')!) as Record<string, unknown> };
    });
  return { status: response.statusCode ?? 200, headers: response.headers ?? {}, text, events, took: clock.now() - started };
}

const events = (id: string, options: RequestOptions = {}) => call('GET /executions/{id}/events', id, options);
const names = (reply: Reply) => reply.events.map((event) => `${event.event}:${event.id}`);
const step = (record: ExecutionRecord, seq: number, overrides: Partial<TransitionRecord> = {}) =>
  transitionRecord(record, { seq, type: 'step', from: 'running', to: 'running', step: { index: seq - 3, name: 'extract' }, output: { seq }, ...overrides });

/** A running pipeline with its init, start and first step rows. */
function running(overrides: Partial<ExecutionRecord> = {}): { record: ExecutionRecord; rows: TransitionRecord[] } {
  const record = executionRecord({ status: 'running', transitionCount: 3, stepIndex: 1, stepName: 'analyze', stepsCompleted: 1, ...overrides });
  const rows = [
    transitionRecord(record),
    transitionRecord(record, { seq: 2, type: 'start', from: 'queued', to: 'running', output: null }),
    step(record, 3),
  ];
  seed(table, record, rows);
  return { record, rows };
}

/** Writes row `seq` and the record's new count (as one transaction would), with `changes`. */
function write(record: ExecutionRecord, seq: number, changes: Partial<ExecutionRecord> = {}, row: Partial<TransitionRecord> = {}): ExecutionRecord {
  const next = { ...record, transitionCount: seq, ...changes };
  table.put(recordItem(next));
  table.put(transitionItem(next.tenant, step(next, seq, row)));
  return next;
}

const queries = () => ddb.commandCalls(QueryCommand).length;
const gets = () => ddb.commandCalls(GetCommand).length;

describe('GET /executions/{id}/events', () => {
  it('sends a new watcher every transition, then the status, as text/event-stream with a retry hint, at once', async () => {
    const { record } = running();

    const reply = await events(record.id);

    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reply.text.startsWith(`retry: ${RETRY_MS}\n\n`)).toBe(true);
    expect(names(reply)).toEqual(['transition:1', 'transition:2', 'transition:3', 'status:3']);
    expect(reply.events[2]!.data).toMatchObject({ seq: 3, type: 'step', output: { seq: 3 } });
    expect(reply.events[3]!.data).toMatchObject({ id: record.id, status: 'running', transition_count: 3 });
    expect(reply.took).toBe(0);
    // The record and the rows after the position, read together.
    expect([gets(), queries()]).toEqual([1, 1]);
  });

  it('waits after Last-Event-ID and answers as soon as the next transition is written, with it and the status', async () => {
    const { record } = running();
    clock.at(2_000, () => write(record, 4, { stepsCompleted: 2, stepIndex: 2, stepName: 'summarize' }));

    const reply = await events(record.id, { headers: { 'last-event-id': '3' } });

    expect(names(reply)).toEqual(['transition:4', 'status:4']);
    expect(reply.events[1]!.data).toMatchObject({ progress: { completed_steps: 2 } });
    expect(reply.took).toBeGreaterThanOrEqual(2_000);
    expect(reply.took).toBeLessThanOrEqual(2_000 + POLL.maxMs);
  });

  it('answers an idle watcher after the window with a heartbeat comment only, polling with backoff', async () => {
    const { record } = running({ status: 'awaiting_input' });

    const reply = await events(record.id, { headers: { 'last-event-id': '3' } });

    expect(reply.status).toBe(200);
    expect(reply.events).toEqual([]);
    expect(reply.text).toBe(`retry: ${RETRY_MS}\n\n: keep-alive\n\n: keep-alive\n\n`);
    expect(reply.took).toBeGreaterThan(DEFAULT_WINDOW_MS - 2 * POLL.maxMs);
    expect(reply.took).toBeLessThanOrEqual(DEFAULT_WINDOW_MS);
    // One record read, then one Query per poll: 100, 200, 400 ms, then every 750 ms.
    expect(gets()).toBe(1);
    expect(queries()).toBeGreaterThan(25);
    expect(queries()).toBeLessThanOrEqual(Math.ceil(DEFAULT_WINDOW_MS / POLL.maxMs) + 4);
  });

  it('writes a keep-alive comment at least every 15 s while it waits', async () => {
    const { record } = running({ status: 'awaiting_input' });
    clock.at(20_000, () => write(record, 4, { status: 'running' }));

    const reply = await events(record.id, { headers: { 'last-event-id': '3' } });

    const comment = reply.text.indexOf(': keep-alive');
    expect(comment).toBeGreaterThan(0);
    expect(comment).toBeLessThan(reply.text.indexOf('id: 4'));
    expect(KEEP_ALIVE_MS).toBeLessThanOrEqual(15_000);
  });

  it('reads the record for progress while a step runs, and sends a status event when it moved without a row', async () => {
    const { record } = running();
    clock.at(1_500, () => table.put(recordItem({ ...record, stepFraction: 0.5, progressMessage: 'half way' })));

    const reply = await events(record.id, { headers: { 'last-event-id': '3' } });

    expect(names(reply)).toEqual(['status:3']);
    expect(reply.events[0]!.data).toMatchObject({ progress: { message: 'half way' } });
    expect(reply.took).toBeLessThanOrEqual(1_500 + POLL.progressEveryMs + POLL.maxMs);
  });

  it('does not read the record of an idle waiting execution between polls (no progress without a row there)', async () => {
    const { record } = running({ status: 'awaiting_input' });

    await events(record.id, { headers: { 'last-event-id': '3' } });

    expect(gets()).toBe(1);
  });

  it('ends with the status and `end` at a terminal status, and answers 204 to a reconnect after it', async () => {
    const { record } = running();
    clock.at(500, () => write(record, 4, { status: 'succeeded', stepsCompleted: 3, completedAt: '2026-01-02T03:05:00.000Z', output: { ok: 1 } }, { type: 'finish', to: 'succeeded' }));

    const last = await events(record.id, { headers: { 'last-event-id': '3' } });
    const after = await events(record.id, { headers: { 'last-event-id': '4' } });

    expect(names(last)).toEqual(['transition:4', 'status:4', 'end:4']);
    expect(last.events[2]!.data).toEqual({ execution_id: record.id, status: 'succeeded' });
    expect(after.status).toBe(204);
    expect(after.text).toBe('');
    expect(after.headers['content-type']).toBeUndefined();
  });

  it('sends a finished execution its whole history when asked from the start', async () => {
    const { record } = running();
    write(record, 4, { status: 'failed', error: { name: 'StepFailed', message: 'boom' } }, { type: 'error', to: 'failed' });

    const reply = await events(record.id);

    expect(names(reply)).toEqual(['transition:1', 'transition:2', 'transition:3', 'transition:4', 'status:4', 'end:4']);
    expect(reply.events[4]!.data).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it('continues after ?last_event_id= for clients that cannot set headers, and the header wins over it', async () => {
    const { record } = running();

    const byQuery = await events(record.id, { query: { last_event_id: '1' } });
    const both = await events(record.id, { query: { last_event_id: '0' }, headers: { 'last-event-id': '2' } });

    expect(names(byQuery)).toEqual(['transition:2', 'transition:3', 'status:3']);
    expect(names(both)).toEqual(['transition:3', 'status:3']);
  });

  it('leaves events past 1 MB for the next response, which continues exactly after the last one sent', async () => {
    const { record } = running();
    let current = record;
    for (let seq = 4; seq <= 12; seq++) current = write(current, seq, {}, { output: { text: 'x'.repeat(200_000) } });

    const first = await events(record.id);
    const rest = await events(record.id, { headers: { 'last-event-id': String(first.events.at(-1)!.id) } });

    expect(first.text.length).toBeLessThan(MAX_RESPONSE_BYTES + 300_000);
    expect(first.events.every((event) => event.event === 'transition')).toBe(true);
    expect([...first.events, ...rest.events].filter((event) => event.event === 'transition').map((event) => event.id)).toEqual(
      Array.from({ length: 12 }, (_, index) => index + 1),
    );
    expect(names(rest).at(-1)).toBe('status:12');
  });

  it('answers an idle response early, with what it has, when a poll fails (an EventSource reconnects after a 200, not after a 503)', async () => {
    const { record } = running({ status: 'awaiting_input' });
    // After the first reads, before the first poll.
    clock.at(50, () => ddb.on(QueryCommand).rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));

    const reply = await events(record.id, { headers: { 'last-event-id': '3' } });

    expect(reply.status).toBe(200);
    expect(reply.text).toBe(`retry: ${RETRY_MS}\n\n: keep-alive\n\n`);
    expect(warnings).toContain('poll failed; ending the response early');
  });

  it("answers 404 problem+json for another tenant's execution before any stream", async () => {
    const record = executionRecord({ tenant: 'someone-else', status: 'running' });
    seed(table, record, [transitionRecord(record)]);

    const response = await eventsHandler({ clock, logger })(apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id } }), lambdaContext());

    expectProblem(response, 404);
    // The rows are read alongside the record, from the caller's own partition only: nothing there.
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':pk'])).toEqual([`EXEC#default#${record.id}`]);
  });

  it('answers 404 for an unknown execution and 400 for a malformed id', async () => {
    const handler = eventsHandler({ clock, logger });

    expectProblem(await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: newExecutionId() } }), lambdaContext()), 404);
    expectProblem(await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: 'nope' } }), lambdaContext()), 400);
  });

  it.each(['abc', '-1', '1.5', ' 3', '0x10', String(MAX_SEQ + 1), '99999999999', '1e3'])(
    'answers 400 problem+json to Last-Event-ID %j before reading anything',
    async (value) => {
      const { record } = running();
      ddb.resetHistory();
      const handler = eventsHandler({ clock, logger });

      const byHeader = await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id }, headers: { 'last-event-id': value } }), lambdaContext());
      const byQuery = await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id }, query: { last_event_id: value } }), lambdaContext());

      expect(expectProblem(byHeader, 400).errors).toEqual([{ path: 'header.last-event-id', message: expect.stringContaining('integer from 0') }]);
      expect(expectProblem(byQuery, 400).errors).toEqual([{ path: 'query.last_event_id', message: expect.stringContaining('integer from 0') }]);
      expect(dataCalls(ddb)).toHaveLength(0);
    },
  );

  it('answers 400 to a Last-Event-ID past the last event of the execution, and to unknown query parameters', async () => {
    const { record } = running();
    const handler = eventsHandler({ clock, logger });

    const past = await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id }, headers: { 'last-event-id': '4' } }), lambdaContext());
    const unknown = await handler(apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id }, query: { after: '1' } }), lambdaContext());

    expect(expectProblem(past, 400).errors).toEqual([{ path: 'header.last-event-id', message: 'must be at most 3, the last event of this execution' }]);
    expect(expectProblem(unknown, 400).errors).toEqual([{ path: 'query.after', message: 'is not a parameter of this route' }]);
  });

  it('treats an empty Last-Event-ID as none (what an EventSource sends before it has an id)', async () => {
    const { record } = running();

    const reply = await events(record.id, { headers: { 'last-event-id': '' } });

    expect(names(reply)[0]).toBe('transition:1');
  });
});

describe("Julep's GET /executions/{id}/status.stream", () => {
  it('answers the SDK (which reads one whole body) once the execution ends: a status event per change, the last terminal', async () => {
    const { record } = running();
    clock.at(1_000, () => write(record, 4, { stepsCompleted: 2 }));
    clock.at(3_000, () => write({ ...record, stepsCompleted: 2 }, 5, { status: 'succeeded', stepsCompleted: 3 }, { type: 'finish', to: 'succeeded' }));

    const reply = await call('GET /executions/{id}/status.stream', record.id, { headers: { accept: '*/*' } });

    expect(reply.status).toBe(200);
    expect(reply.events.map((event) => [event.event, event.data.status, event.data.transition_count])).toEqual([
      ['message', 'running', 3],
      ['message', 'running', 4],
      ['message', 'succeeded', 5],
    ]);
    expect(Object.keys(reply.events[0]!.data).sort()).toEqual(['error', 'execution_id', 'metadata', 'progress', 'status', 'transition_count', 'updated_at']);
    expect(reply.took).toBeGreaterThanOrEqual(3_000);
  });

  it('answers 408 with x-should-retry when the window ends first, which the SDK retries with the same request', async () => {
    const { record } = running({ status: 'awaiting_input' });

    const response = await eventsHandler({ clock, logger, windowMs: 2_000 })(
      apiEvent('GET /executions/{id}/status.stream', { pathParameters: { id: record.id } }),
      lambdaContext(),
    );

    const problem = expectProblem(response, 408);
    expect(problem.detail).toContain('did not end within 2 s');
    expect(response.headers).toMatchObject({ 'x-should-retry': 'true', 'retry-after': '1' });
  });

  it('gives an EventSource (Accept: text/event-stream) a bounded response, as /events does', async () => {
    const { record } = running();

    const reply = await call('GET /executions/{id}/status.stream', record.id, { headers: { accept: 'text/event-stream' } });

    expect(reply.status).toBe(200);
    expect(names(reply)).toEqual(['message:3']);
    expect(reply.took).toBe(0);
  });

  it('answers 503 to the SDK when a poll fails (the SDK retries a 5xx)', async () => {
    const { record } = running();
    ddb.on(QueryCommand).rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));

    const response = await eventsHandler({ clock, logger })(apiEvent('GET /executions/{id}/status.stream', { pathParameters: { id: record.id } }), lambdaContext());

    expectProblem(response, 503);
  });
});

describe("Julep's GET /executions/{id}/transitions.stream", () => {
  it('sends { transition, next_page_token } events to the end, and continues after a next_page_token', async () => {
    const { record } = running();
    clock.at(800, () => write(record, 4, { status: 'cancelled', cancelReason: 'stop' }, { type: 'cancel', to: 'cancelled' }));

    const whole = await call('GET /executions/{id}/transitions.stream', record.id);
    const after = await call('GET /executions/{id}/transitions.stream', record.id, { query: { next_page_token: '2' } });
    const none = await call('GET /executions/{id}/transitions.stream', record.id, { query: { next_page_token: '' } });

    expect(whole.events.map((event) => [event.id, (event.data.transition as { type: string }).type, event.data.next_page_token])).toEqual([
      [1, 'init', '1'],
      [2, 'start', '2'],
      [3, 'step', '3'],
      [4, 'cancel', '4'],
    ]);
    expect(after.events.map((event) => event.id)).toEqual([3, 4]);
    expect(none.events.map((event) => event.id)).toEqual([1, 2, 3, 4]);
  });

  it('answers 400 to a next_page_token that is not one of its tokens', async () => {
    const { record } = running();

    const response = await eventsHandler({ clock, logger })(
      apiEvent('GET /executions/{id}/transitions.stream', { pathParameters: { id: record.id }, query: { next_page_token: 'Zm9v' } }),
      lambdaContext(),
    );

    expect(expectProblem(response, 400).errors).toEqual([{ path: 'query.next_page_token', message: expect.any(String) }]);
  });
});

describe('the handler under a near deadline', () => {
  it('stops polling a stalled call before the function times out, and still answers', async () => {
    const { record } = running({ status: 'awaiting_input' });
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 8_000 };

    const response = await eventsHandler({ clock, logger })(
      apiEvent('GET /executions/{id}/events', { pathParameters: { id: record.id }, headers: { 'last-event-id': '3' } }),
      context,
    );

    expect(response.statusCode).toBe(200);
    // 8 s less a stalled call (5 s) and half a second to answer: no poll after 2.5 s.
    expect(clock.now()).toBeLessThanOrEqual(2_500);
  });
});
