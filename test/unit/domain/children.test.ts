import { describe, expect, it } from 'vitest';
import { CHILD_ERRORS, CHILD_START_FINAL_ERRORS, childExecutionId, parentAnswerOf, parentEndedReason } from '../../../lambdas/domain/children.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { idTimestamp, isExecutionId, newExecutionId } from '../../../lambdas/domain/ids.js';

const PARENT = newExecutionId(Date.parse('2026-03-04T05:06:07.089Z'));

function child(overrides: Partial<ExecutionRecord>): ExecutionRecord {
  return {
    tenant: 't',
    id: childExecutionId(PARENT, 'x'),
    taskId: 'child-task',
    status: 'succeeded',
    input: {},
    metadata: {},
    transitionCount: 4,
    stepIndex: 0,
    stepName: 'only',
    stepsCompleted: 1,
    totalSteps: 1,
    stepFraction: 0,
    executionArn: 'arn',
    createdAt: '2026-03-04T05:07:00.000Z',
    updatedAt: '2026-03-04T05:07:00.000Z',
    parentExecutionId: PARENT,
    ...overrides,
  };
}

describe('childExecutionId', () => {
  it('is the same for the same parent and step instance (every retry finds the same child)', () => {
    expect(childExecutionId(PARENT, 'research[2]/#3')).toBe(childExecutionId(PARENT, 'research[2]/#3'));
  });

  it('differs by instance and by parent', () => {
    const ids = new Set([
      childExecutionId(PARENT, 'a'),
      childExecutionId(PARENT, 'b'),
      childExecutionId(PARENT, 'a/'),
      childExecutionId(newExecutionId(), 'a'),
    ]);
    expect(ids.size).toBe(4);
  });

  it('is an execution id the API accepts, carrying the parent\'s creation time', () => {
    for (const instance of ['a', 'research[2]/#3', '', 'ü'.repeat(300)]) {
      const id = childExecutionId(PARENT, instance);
      expect(isExecutionId(id), id).toBe(true);
      expect(idTimestamp(id)).toBe(idTimestamp(PARENT));
    }
  });

  it('does not mistake a parent id and an instance for another pair (a separator between them)', () => {
    expect(childExecutionId(PARENT, 'ab')).not.toBe(childExecutionId(`${PARENT}a`, 'b'));
  });
});

describe('parentAnswerOf', () => {
  it('answers a succeeded child with its output', () => {
    expect(parentAnswerOf(child({ output: { words: 3 } }))).toEqual({ succeeded: true, output: { words: 3 } });
    expect(parentAnswerOf(child({ output: undefined }))).toEqual({ succeeded: true, output: null });
  });

  it('answers a failed child with its error name and message', () => {
    const error = { name: 'SummaryFailed', message: 'no text', step: { index: 0, name: 'only' } };

    expect(parentAnswerOf(child({ status: 'failed', error }))).toEqual({ succeeded: false, error: 'SummaryFailed', cause: 'no text' });
  });

  it('renames Step Functions\' own error names, which a task token cannot carry: a timeout, and any other', () => {
    const timedOut = child({ status: 'failed', error: { name: 'States.Timeout', message: 'The execution exceeded its time limit.' } });
    const other = child({ status: 'failed', error: { name: 'States.Runtime', message: 'bad path' } });

    expect(parentAnswerOf(timedOut)).toEqual({
      succeeded: false,
      error: CHILD_ERRORS.timedOut,
      cause: 'States.Timeout: The execution exceeded its time limit.',
    });
    expect(parentAnswerOf(other)).toEqual({ succeeded: false, error: 'ChildFailed', cause: 'States.Runtime: bad path' });
  });

  it('answers a cancelled child with ChildCancelled and the reason', () => {
    expect(parentAnswerOf(child({ status: 'cancelled', cancelReason: 'not needed' }))).toEqual({
      succeeded: false,
      error: 'ChildCancelled',
      cause: 'not needed',
    });
    expect(parentAnswerOf(child({ status: 'cancelled' }))).toMatchObject({ error: 'ChildCancelled', cause: expect.stringContaining('was cancelled') });
  });

  it('keeps the name and cause within what SendTaskFailure takes', () => {
    const answer = parentAnswerOf(child({ status: 'failed', error: { name: 'E'.repeat(300), message: 'm'.repeat(40_000) } }));

    expect(answer).toMatchObject({ succeeded: false });
    if (answer.succeeded) return;
    expect(answer.error).toHaveLength(256);
    expect(answer.cause).toHaveLength(32_768);
  });

  it('answers a failure without a message with its name', () => {
    expect(parentAnswerOf(child({ status: 'failed', error: { name: 'Boom', message: '' } }))).toMatchObject({ cause: 'Boom' });
  });

  it.each(['queued', 'running', 'awaiting_input'] as const)('has no answer for a %s child', (status) => {
    expect(() => parentAnswerOf(child({ status }))).toThrow(/has no answer yet/);
  });
});

describe('names', () => {
  it('says why a child is cancelled when its parent ends', () => {
    expect(parentEndedReason('p1', 'cancelled')).toBe('Parent execution p1 was cancelled.');
    expect(parentEndedReason('p1', 'failed')).toBe('Parent execution p1 failed.');
  });

  it('lists the child-start errors no retry can cure', () => {
    expect([...CHILD_START_FINAL_ERRORS].sort()).toEqual(['ChildInputInvalid', 'ChildTaskNotFound', 'ExecutionEnded']);
  });
});
