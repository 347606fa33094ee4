import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advance,
  formatComment,
  formatEvent,
  formatRetry,
  initialWatchState,
  isExhausted,
  statusFingerprint,
  toStatusEventView,
  type StreamEvent,
  type WatchState,
} from '../../../lambdas/domain/events.js';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { newTransitionId } from '../../../lambdas/domain/ids.js';
import type { ExecutionStatus, TransitionType } from '../../../lambdas/domain/status.js';
import { toTransitionView } from '../../../lambdas/domain/views.js';

const ID = '0194283a-3f48-7c1d-9a2b-3c4d5e6f7a8b';
const LINKS = { apiBaseUrl: 'https://api.example.com', region: 'eu-west-1' };

function record(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    tenant: 'acme',
    id: ID,
    taskId: 'sample-pipeline',
    status: 'running',
    input: { document: 'a.pdf' },
    metadata: {},
    transitionCount: 3,
    stepIndex: 1,
    stepName: 'analyze',
    stepsCompleted: 1,
    totalSteps: 3,
    stepFraction: 0,
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Test-sample-pipeline:${ID}`,
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: '2026-01-02T03:04:06.000Z',
    ...overrides,
  };
}

const TYPES: Readonly<Record<number, [TransitionType, ExecutionStatus | null, ExecutionStatus]>> = {
  1: ['init', null, 'queued'],
  2: ['start', 'queued', 'running'],
};

function row(seq: number, overrides: Partial<TransitionRecord> = {}): TransitionRecord {
  const [type, from, to] = TYPES[seq] ?? ['step', 'running', 'running'];
  return {
    id: newTransitionId(seq, Date.parse('2026-01-02T03:04:05.000Z')),
    executionId: ID,
    taskId: 'sample-pipeline',
    seq,
    type,
    from,
    to,
    step: seq > 1 ? { index: 0, name: 'extract' } : null,
    currentStep: 0,
    nextStep: 1,
    output: { seq },
    metadata: {},
    createdAt: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

const rows = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => row(from + index));
const names = (events: readonly StreamEvent[]) => events.map((event) => `${event.name ?? 'message'}:${event.id}`);
const fresh = (current: ExecutionRecord): WatchState => initialWatchState(current, undefined);

describe('formatEvent', () => {
  it('writes id, event and the data as one line of JSON, then a blank line', () => {
    expect(formatEvent({ name: 'transition', id: 7, data: { type: 'step', note: 'two\nlines' } })).toBe(
      'id: 7\nevent: transition\ndata: {"type":"step","note":"two\\nlines"}\n\n',
    );
  });

  it('leaves the event name out of an unnamed event, which clients receive as "message"', () => {
    expect(formatEvent({ id: 0, data: null })).toBe('id: 0\ndata: null\n\n');
  });

  it('keeps line and paragraph separators inside the JSON line (JSON escapes them, SSE splits only on CR and LF)', () => {
    const text = formatEvent({ id: 1, data: 'a\u2028b\rc' });

    expect(text.split('\n').filter((line) => line.startsWith('data: '))).toEqual(['data: "a\u2028b\\rc"']);
  });
});

describe('formatComment and formatRetry', () => {
  it('writes a comment on one line, and the retry field in whole milliseconds', () => {
    expect(formatComment('keep-alive')).toBe(': keep-alive\n\n');
    expect(formatComment('a\r\nb')).toBe(': a b\n\n');
    expect(formatRetry(500.4)).toBe('retry: 500\n\n');
  });
});

describe('advance', () => {
  it('sends a new watcher every row, then the status as of the last row', () => {
    const current = record();

    const { events, state } = advance('events', fresh(current), rows(1, 3), current, LINKS);

    expect(names(events)).toEqual(['transition:1', 'transition:2', 'transition:3', 'status:3']);
    expect(events[0]!.data).toMatchObject({ seq: 1, type: 'init', execution_id: ID });
    expect(events[3]!.data).toMatchObject({ id: ID, status: 'running', transition_count: 3, events_url: `https://api.example.com/executions/${ID}/events` });
    expect(state).toEqual({ seq: 3, statusSeen: statusFingerprint(current), ended: false });
  });

  it('ends with the status and `end` once the execution is terminal', () => {
    const current = record({ status: 'succeeded', transitionCount: 4 });

    const { events, state } = advance('events', fresh(current), rows(1, 4), current, LINKS);

    expect(names(events).slice(-3)).toEqual(['transition:4', 'status:4', 'end:4']);
    expect(events.at(-1)!.data).toEqual({ execution_id: ID, status: 'succeeded' });
    expect(state.ended).toBe(true);
  });

  it('continues exactly after Last-Event-ID: nothing before it again, nothing after it left out', () => {
    const current = record({ transitionCount: 6 });

    const { events } = advance('events', initialWatchState(current, 3), rows(1, 6), current, LINKS);

    expect(names(events)).toEqual(['transition:4', 'transition:5', 'transition:6', 'status:6']);
  });

  it('stops at a gap in the rows it is given and sends no status until the rows catch up', () => {
    const current = record({ transitionCount: 5 });

    const first = advance('events', fresh(current), [row(1), row(2), row(4), row(5)], current, LINKS);
    const second = advance('events', first.state, rows(3, 5), current, LINKS);

    expect(names(first.events)).toEqual(['transition:1', 'transition:2']);
    expect(names(second.events)).toEqual(['transition:3', 'transition:4', 'transition:5', 'status:5']);
  });

  it('takes no row past the count of the record it was given', () => {
    const current = record({ transitionCount: 2 });

    const { events } = advance('events', fresh(current), rows(1, 3), current, LINKS);

    expect(names(events)).toEqual(['transition:1', 'transition:2', 'status:2']);
  });

  it('sends a status again when the progress moved without a row, with the same id', () => {
    const current = record();
    const seen = advance('events', fresh(current), rows(1, 3), current, LINKS).state;

    const same = advance('events', seen, [], current, LINKS);
    const moved = advance('events', seen, [], record({ stepFraction: 0.5, progressMessage: 'half' }), LINKS);

    expect(same.events).toEqual([]);
    expect(names(moved.events)).toEqual(['status:3']);
    expect(moved.events[0]!.data).toMatchObject({ progress: { message: 'half' } });
  });

  it('sends nothing more once ended', () => {
    const current = record({ status: 'failed', transitionCount: 3 });
    const ended = advance('events', fresh(current), rows(1, 3), current, LINKS).state;

    expect(advance('events', ended, rows(1, 3), current, LINKS).events).toEqual([]);
  });

  it('leaves rows for the next response once the text passes the byte budget, but always takes one', () => {
    const current = record({ transitionCount: 3 });
    const big = (seq: number) => row(seq, { output: { text: 'x'.repeat(1000) } });

    const one = Buffer.byteLength(formatEvent({ name: 'transition', id: 1, data: toTransitionView(big(1)) }));

    const first = advance('events', fresh(current), [big(1), big(2), big(3)], current, LINKS, one + 1);
    const tiny = advance('events', first.state, [big(3)], current, LINKS, 1);

    expect(names(first.events)).toEqual(['transition:1', 'transition:2']);
    expect(first.bytes).toBe(Buffer.byteLength(first.text));
    expect(names(tiny.events)).toEqual(['transition:3', 'status:3']);
  });

  it("writes Julep's status stream as unnamed status events only", () => {
    const current = record({ status: 'succeeded', transitionCount: 3, output: { ok: true } });

    const { events, state } = advance('julep-status', fresh(current), rows(1, 3), current, LINKS);

    expect(names(events)).toEqual(['message:3']);
    expect(events[0]!.data).toEqual(toStatusEventView(current));
    expect(state.ended).toBe(true);
  });

  it("writes Julep's transitions stream as unnamed { transition, next_page_token } events, the token resuming after each", () => {
    const current = record();

    const { events } = advance('julep-transitions', initialWatchState(current, 1), rows(1, 3), current, LINKS);

    expect(names(events)).toEqual(['message:2', 'message:3']);
    expect(events[1]!.data).toMatchObject({ transition: { seq: 3, type: 'step' }, next_page_token: '3' });
  });

  it('gives every transition exactly once, in order, however the reads are split and the watcher reconnects', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.record({ reads: fc.integer({ min: 0, max: 6 }), reconnect: fc.boolean(), duplicate: fc.boolean() }), { maxLength: 30 }),
        (total, steps) => {
          const history = rows(1, total);
          const received: number[] = [];
          let written = 1;
          let current = record({ transitionCount: written });
          let state = fresh(current);
          let lastId: number | undefined;
          for (const step of [...steps, { reads: total, reconnect: false, duplicate: false }]) {
            written = Math.min(total, written + step.reads);
            current = record({ transitionCount: written, status: written === total ? 'succeeded' : 'running' });
            if (step.reconnect) state = initialWatchState(current, lastId);
            const given = history.slice(Math.max(0, state.seq - (step.duplicate ? 2 : 0)), written);
            const result = advance('events', state, given, current, LINKS);
            state = result.state;
            for (const event of result.events) {
              if (event.name === 'transition') received.push(event.id);
              lastId = event.id;
            }
          }
          expect(received).toEqual(history.map((item) => item.seq));
          expect(state.ended).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('initialWatchState and isExhausted', () => {
  it('assumes a watcher whose Last-Event-ID is the last row has the status, and owes a new one nothing yet', () => {
    const current = record({ transitionCount: 3 });

    expect(initialWatchState(current, 3)).toEqual({ seq: 3, statusSeen: statusFingerprint(current), ended: false });
    expect(initialWatchState(current, 2).statusSeen).toBeNull();
    expect(initialWatchState(current, undefined)).toEqual({ seq: 0, statusSeen: null, ended: false });
  });

  it('is exhausted only for a terminal execution whose last row the watcher has', () => {
    const done = record({ status: 'cancelled', transitionCount: 3 });

    expect(isExhausted(initialWatchState(done, 3), done)).toBe(true);
    expect(isExhausted(initialWatchState(done, 2), done)).toBe(false);
    expect(isExhausted(initialWatchState(done, undefined), done)).toBe(false);
    expect(isExhausted(initialWatchState(record(), 3), record())).toBe(false);
  });
});

describe('toStatusEventView', () => {
  it("is Julep's execution status event: id, status, updated_at, error as text, count, metadata (plus progress)", () => {
    const failed = record({ status: 'failed', error: { name: 'StepFailed', message: 'boom' }, metadata: { a: 1 } });

    expect(toStatusEventView(failed)).toEqual({
      execution_id: ID,
      status: 'failed',
      updated_at: '2026-01-02T03:04:06.000Z',
      error: 'boom',
      transition_count: 3,
      metadata: { a: 1 },
      progress: expect.objectContaining({ completed_steps: 1, total_steps: 3 }),
    });
  });
});
