import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lambdas/domain/errors.js';
import {
  EXECUTION_STATUSES,
  TRANSITION_TABLE,
  TRANSITION_TYPES,
  canTransition,
  isTerminal,
  nextStatus,
  parseStatus,
  type ExecutionStatus,
  type TransitionType,
} from '../../../lambdas/domain/status.js';

/** DESIGN §3, written out independently of the module under test. */
const ALLOWED: ReadonlyArray<[TransitionType, ExecutionStatus, ExecutionStatus]> = [
  ['start', 'queued', 'running'],
  ['step', 'running', 'running'],
  // Julep's branch rows: a parallel branch, map item or choice case opening and closing inside a running execution.
  ['init_branch', 'running', 'running'],
  ['finish_branch', 'running', 'running'],
  ['wait', 'running', 'awaiting_input'],
  ['resume', 'awaiting_input', 'running'],
  ['finish', 'running', 'succeeded'],
  ['error', 'queued', 'failed'],
  ['error', 'running', 'failed'],
  ['error', 'awaiting_input', 'failed'],
  ['cancel', 'queued', 'cancelled'],
  ['cancel', 'running', 'cancelled'],
  ['cancel', 'awaiting_input', 'cancelled'],
  // The one way out of a terminal status: a failed execution retried from its failed step.
  ['retry', 'failed', 'running'],
];

const allowed = new Set(ALLOWED.map(([type, from]) => `${type}:${from}`));
const everyPair = TRANSITION_TYPES.flatMap((type) => EXECUTION_STATUSES.map((from) => [type, from] as const));

describe('status machine', () => {
  it.each(ALLOWED)('allows %s from %s to reach %s', (type, from, to) => {
    expect(canTransition(type, from)).toBe(true);
    expect(nextStatus(type, from)).toBe(to);
  });

  it.each(everyPair.filter(([type, from]) => !allowed.has(`${type}:${from}`)))(
    'rejects %s from %s with a conflict',
    (type, from) => {
      expect(canTransition(type, from)).toBe(false);
      expect(() => nextStatus(type, from)).toThrow(ConflictError);
    },
  );

  it('creates executions queued through init, which has no source status', () => {
    expect(TRANSITION_TABLE.init).toEqual({ from: [], to: 'queued' });
  });

  it('lets nothing leave succeeded or cancelled, and only a retry leave failed', () => {
    for (const status of ['succeeded', 'failed', 'cancelled'] as const) {
      expect(isTerminal(status)).toBe(true);
      for (const type of TRANSITION_TYPES) expect(canTransition(type, status), `${type} from ${status}`).toBe(type === 'retry' && status === 'failed');
    }
    expect(isTerminal('awaiting_input')).toBe(false);
  });

  it('refuses a retry of anything but a failed execution, a cancelled one included', () => {
    expect(() => nextStatus('retry', 'cancelled')).toThrow(/already cancelled/);
    expect(() => nextStatus('retry', 'running')).toThrow(ConflictError);
  });

  it('explains a change from a terminal status in the conflict message', () => {
    expect(() => nextStatus('cancel', 'succeeded')).toThrow(/already succeeded/);
  });

  it('resolves the seed aliases pending and completed', () => {
    expect(parseStatus('pending')).toBe('queued');
    expect(parseStatus('completed')).toBe('succeeded');
    expect(parseStatus('running')).toBe('running');
    expect(parseStatus('paused')).toBeUndefined();
  });

  it.each(['valueOf', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'resolves the inherited object member %s to no status (found by fuzzing: it listed as a filter)',
    (name) => {
      expect(parseStatus(name)).toBeUndefined();
    },
  );
});
