import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lambdas/domain/errors.js';
import type { ExecutionRecord } from '../../../lambdas/domain/execution.js';
import { idTimestamp, newExecutionId, transitionSeq } from '../../../lambdas/domain/ids.js';
import { initTransition, planTransition, unstartedFailure } from '../../../lambdas/domain/transition.js';
import { START_EXECUTION_FAILED } from '../../../lambdas/domain/execution.js';

const CREATED = '2025-01-02T03:04:05.000Z';
const NOW = '2025-01-02T03:10:00.000Z';
const ID = newExecutionId(Date.parse(CREATED));

function record(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    tenant: 'acme',
    id: ID,
    taskId: 'sample-pipeline',
    status: 'running',
    input: { document: 'a.pdf' },
    metadata: { source: 'test' },
    transitionCount: 3,
    stepIndex: 1,
    stepName: 'extract',
    stepsCompleted: 1,
    totalSteps: 3,
    stepFraction: 0.5,
    progressMessage: 'half way',
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:Test-sample-pipeline:${ID}`,
    createdAt: CREATED,
    updatedAt: CREATED,
    startedAt: CREATED,
    ...overrides,
  };
}

describe('planTransition', () => {
  it('start: moves queued to running, stamps startedAt and points at the first step', () => {
    const before = record({ status: 'queued', transitionCount: 1, stepIndex: 0, stepName: 'fetch', stepsCompleted: 0, stepFraction: 0, startedAt: undefined });

    const { patch, row, record: after } = planTransition(before, { type: 'start', step: { index: 0, name: 'fetch' } }, NOW);

    expect(patch).toEqual({ status: 'running', transitionCount: 2, updatedAt: NOW, startedAt: NOW });
    expect(row).toMatchObject({
      executionId: ID,
      taskId: 'sample-pipeline',
      seq: 2,
      type: 'start',
      from: 'queued',
      to: 'running',
      step: { index: 0, name: 'fetch' },
      currentStep: 0,
      nextStep: 0,
      output: null,
      metadata: {},
      createdAt: NOW,
    });
    expect(after).toEqual({ ...before, status: 'running', transitionCount: 2, updatedAt: NOW, startedAt: NOW });
  });

  it('start without a step points at the step the record is on', () => {
    const before = record({ status: 'queued', transitionCount: 1, stepIndex: 0 });

    const { row } = planTransition(before, { type: 'start' }, NOW);

    expect(row).toMatchObject({ step: null, currentStep: 0, nextStep: 0 });
  });

  it('step: records the output, counts the step done, resets progress and advances to the next step', () => {
    const before = record();

    const { patch, row, record: after } = planTransition(
      before,
      { type: 'step', step: { index: 1, name: 'extract' }, advanceTo: { index: 2, name: 'summarise' }, output: { pages: 12 }, metadata: { attempt: '1' } },
      NOW,
    );

    expect(patch).toEqual({
      status: 'running',
      transitionCount: 4,
      updatedAt: NOW,
      stepsCompleted: 2,
      stepFraction: 0,
      progressMessage: undefined,
      stepIndex: 2,
      stepName: 'summarise',
    });
    expect(patch).toHaveProperty('progressMessage', undefined);
    expect(row).toMatchObject({
      seq: 4,
      type: 'step',
      from: 'running',
      to: 'running',
      step: { index: 1, name: 'extract' },
      currentStep: 1,
      nextStep: 2,
      output: { pages: 12 },
      metadata: { attempt: '1' },
    });
    expect(after.progressMessage).toBeUndefined();
    expect(after).toMatchObject({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 2, stepFraction: 0, transitionCount: 4 });
  });

  it('step of the last step has no next step and leaves the step pointer where it is', () => {
    const before = record({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 2 });

    const { patch, row } = planTransition(before, { type: 'step', step: { index: 2, name: 'summarise' }, output: 'done' }, NOW);

    expect(patch).not.toHaveProperty('stepIndex');
    expect(patch).not.toHaveProperty('stepName');
    expect(patch.stepsCompleted).toBe(3);
    expect(row.nextStep).toBeNull();
    expect(row.currentStep).toBe(2);
  });

  it('step without a step reference counts the record\'s current step done', () => {
    const { patch, row } = planTransition(record({ stepIndex: 0 }), { type: 'step' }, NOW);

    expect(patch.stepsCompleted).toBe(1);
    expect(row).toMatchObject({ step: null, currentStep: 0, nextStep: 1 });
  });

  it('wait: moves running to awaiting_input and keeps the task token on the record, not on the row', () => {
    const before = record({ stepIndex: 1, stepName: 'extract' });

    const { patch, row, record: after } = planTransition(
      before,
      { type: 'wait', step: { index: 2, name: 'approve' }, waitToken: 'token-123', output: { prompt: 'Approve?' } },
      NOW,
    );

    expect(patch).toEqual({
      status: 'awaiting_input',
      transitionCount: 4,
      updatedAt: NOW,
      waitToken: 'token-123',
      stepIndex: 2,
      stepName: 'approve',
      stepsCompleted: 2,
    });
    expect(after.waitToken).toBe('token-123');
    expect(row).toMatchObject({ type: 'wait', from: 'running', to: 'awaiting_input', currentStep: 2, nextStep: 2, output: { prompt: 'Approve?' } });
    expect(JSON.stringify(row)).not.toContain('token-123');
  });

  it('wait with a resume link: the nonce on the record and the row, and the lookup item planned for the same write', () => {
    const { patch, row, callback } = planTransition(
      record(),
      {
        type: 'wait',
        step: { index: 2, name: 'approve' },
        waitToken: 'token-123',
        callback: { nonce: 'nonce-1', lookup: { hash: 'ab'.repeat(32), expiresAt: 1_900_000_000 } },
      },
      NOW,
    );

    expect(patch.callbackNonce).toBe('nonce-1');
    expect(row.callbackNonce).toBe('nonce-1');
    expect(callback).toEqual({ hash: 'ab'.repeat(32), expiresAt: 1_900_000_000, tenant: 'acme', executionId: ID, stepIndex: 2, nonce: 'nonce-1' });
  });

  it('a restored wait keeps its link: the nonce again, and no lookup item to write (it is still there)', () => {
    const resumed = record({ status: 'running', stepIndex: 2, stepName: 'finalize', stepsCompleted: 2 });

    const { patch, row, callback } = planTransition(
      resumed,
      { type: 'wait', step: { index: 1, name: 'review' }, waitToken: 'same-token', callback: { nonce: 'nonce-1' } },
      NOW,
    );

    expect(patch.callbackNonce).toBe('nonce-1');
    expect(row.callbackNonce).toBe('nonce-1');
    expect(callback).toBeUndefined();
  });

  it.each([
    ['resume', { type: 'resume', step: { index: 1, name: 'approve' } }],
    ['cancel', { type: 'cancel', reason: 'no' }],
    ['error', { type: 'error', error: { name: 'States.Timeout', message: 'late' } }],
  ] as const)('%s ends the resume link with the wait: the nonce leaves the record', (_type, request) => {
    const before = record({ status: 'awaiting_input', waitToken: 'token-123', callbackNonce: 'nonce-1' });

    const { patch, record: after, row } = planTransition(before, request, NOW);

    expect(patch).toHaveProperty('callbackNonce', undefined);
    expect(after.callbackNonce).toBeUndefined();
    expect(row).not.toHaveProperty('callbackNonce');
  });

  it('wait restores the completed-step count a failed resume delivery had advanced', () => {
    const resumed = record({ status: 'running', stepIndex: 2, stepName: 'finalize', stepsCompleted: 2 });

    const { record: restored } = planTransition(
      resumed,
      { type: 'wait', step: { index: 1, name: 'review' }, waitToken: 'same-token' },
      NOW,
    );

    expect(restored).toMatchObject({ status: 'awaiting_input', stepIndex: 1, stepName: 'review', stepsCompleted: 1 });
  });

  it('wait without a step keeps the step pointer and waits on the current step', () => {
    const { patch, row } = planTransition(record({ stepIndex: 1 }), { type: 'wait', waitToken: 't' }, NOW);

    expect(patch).not.toHaveProperty('stepIndex');
    expect(row).toMatchObject({ currentStep: 1, nextStep: 1 });
  });

  it('resume: moves awaiting_input to running, removes the task token and advances past the wait', () => {
    const before = record({ status: 'awaiting_input', stepIndex: 1, stepName: 'approve', waitToken: 'token-123' });

    const { patch, row, record: after } = planTransition(
      before,
      { type: 'resume', step: { index: 1, name: 'approve' }, advanceTo: { index: 2, name: 'publish' }, output: { approved: true } },
      NOW,
    );

    expect(patch).toHaveProperty('waitToken', undefined);
    expect(patch).toMatchObject({ status: 'running', transitionCount: 4, stepsCompleted: 2, stepFraction: 0, stepIndex: 2, stepName: 'publish' });
    expect(after.waitToken).toBeUndefined();
    expect(after.status).toBe('running');
    expect(row).toMatchObject({ type: 'resume', from: 'awaiting_input', to: 'running', currentStep: 1, nextStep: 2, output: { approved: true } });
  });

  it('resume of a wait that is the last step has no next step', () => {
    const before = record({ status: 'awaiting_input', stepIndex: 2, waitToken: 't' });

    const { row } = planTransition(before, { type: 'resume', step: { index: 2, name: 'approve' } }, NOW);

    expect(row.nextStep).toBeNull();
  });

  it('finish: sets the output and completedAt, counts every step done and ends the row without a next step', () => {
    const before = record({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 2, stepFraction: 0.9 });

    const { patch, row, record: after } = planTransition(before, { type: 'finish', result: { summary: 'ok' }, output: { summary: 'ok' } }, NOW);

    expect(patch).toEqual({
      status: 'succeeded',
      transitionCount: 4,
      updatedAt: NOW,
      completedAt: NOW,
      output: { summary: 'ok' },
      stepsCompleted: 3,
      stepFraction: 0,
      progressMessage: undefined,
    });
    expect(after).toMatchObject({ status: 'succeeded', output: { summary: 'ok' }, completedAt: NOW, stepsCompleted: 3 });
    expect(row).toMatchObject({ type: 'finish', from: 'running', to: 'succeeded', step: null, currentStep: 2, nextStep: null, output: { summary: 'ok' } });
  });

  it('error: records the error and completedAt and removes a pending task token', () => {
    const before = record({ status: 'awaiting_input', waitToken: 'token-123' });
    const error = { name: 'States.Timeout', message: 'No input within 3600 s', step: { index: 1, name: 'approve' } };

    const { patch, row, record: after } = planTransition(before, { type: 'error', error, output: error }, NOW);

    expect(patch).toEqual({
      status: 'failed',
      transitionCount: 4,
      updatedAt: NOW,
      completedAt: NOW,
      error,
      waitToken: undefined,
    });
    expect(patch).toHaveProperty('waitToken', undefined);
    expect(after).toMatchObject({ status: 'failed', error, completedAt: NOW });
    expect(after.waitToken).toBeUndefined();
    expect(row).toMatchObject({ type: 'error', from: 'awaiting_input', to: 'failed', step: null, currentStep: 1, nextStep: null, output: error });
  });

  it('cancel: records the reason and completedAt and removes a pending task token', () => {
    const before = record({ status: 'awaiting_input', waitToken: 'token-123' });

    const { patch, row, record: after } = planTransition(before, { type: 'cancel', reason: 'no longer needed' }, NOW);

    expect(patch).toEqual({
      status: 'cancelled',
      transitionCount: 4,
      updatedAt: NOW,
      completedAt: NOW,
      cancelReason: 'no longer needed',
      waitToken: undefined,
    });
    expect(patch).toHaveProperty('waitToken', undefined);
    expect(after).toMatchObject({ status: 'cancelled', cancelReason: 'no longer needed', completedAt: NOW });
    expect(after.waitToken).toBeUndefined();
    expect(row).toMatchObject({ type: 'cancel', from: 'awaiting_input', to: 'cancelled', nextStep: null });
  });

  it('cancel of a queued execution is allowed', () => {
    const { row } = planTransition(record({ status: 'queued', transitionCount: 1 }), { type: 'cancel' }, NOW);

    expect(row).toMatchObject({ seq: 2, from: 'queued', to: 'cancelled' });
  });

  it('refuses a cancel with a conflict once every step has recorded its output: the execution is finishing', () => {
    const finishing = record({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 3 });

    expect(() => planTransition(finishing, { type: 'cancel', reason: 'too late' }, NOW)).toThrow(ConflictError);
    expect(() => planTransition(finishing, { type: 'cancel', reason: 'too late' }, NOW)).toThrow(/finishing/);
  });

  it('plans a cancel while a step is still to run on the condition that one still is when it is written', () => {
    const planned = planTransition(record({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 2 }), { type: 'cancel' }, NOW);

    expect(planned.record.status).toBe('cancelled');
    expect(planned.expectStepsPending).toBe(true);
  });

  it('records a stop Step Functions already made (ABORTED) as a cancel even once every step had completed', () => {
    const finishing = record({ stepIndex: 2, stepName: 'summarise', stepsCompleted: 3 });

    const planned = planTransition(finishing, { type: 'cancel', reason: 'stopped in the console', stopped: true }, NOW);

    expect(planned.record).toMatchObject({ status: 'cancelled', cancelReason: 'stopped in the console' });
    expect(planned.expectStepsPending).toBe(false);
  });

  it('numbers the row count + 1 and gives it an id carrying that seq and the time of the change', () => {
    const { row } = planTransition(record({ transitionCount: 41 }), { type: 'step' }, NOW);

    expect(row.seq).toBe(42);
    expect(transitionSeq(row.id)).toBe(42);
    expect(idTimestamp(row.id)).toBe(Date.parse(NOW));
  });

  it('does not modify the record it plans from', () => {
    const before = record({ status: 'awaiting_input', waitToken: 'token-123' });
    const snapshot = structuredClone(before);

    planTransition(before, { type: 'cancel', reason: 'stop' }, NOW);

    expect(before).toEqual(snapshot);
  });

  it.each([
    ['resume', 'running'],
    ['wait', 'awaiting_input'],
    ['finish', 'queued'],
    ['step', 'awaiting_input'],
    ['start', 'running'],
  ] as const)('refuses %s while %s with a conflict', (type, status) => {
    expect(() => planTransition(record({ status }), { type }, NOW)).toThrow(ConflictError);
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)('refuses any change of a %s execution', (status) => {
    for (const type of ['start', 'step', 'wait', 'resume', 'finish', 'error', 'cancel'] as const) {
      expect(() => planTransition(record({ status }), { type }, NOW)).toThrow(ConflictError);
    }
  });
});

describe('planTransition of nested work', () => {
  const atMap = () => record({ stepIndex: 1, stepName: 'each-doc', stepsCompleted: 1, stepFraction: 0, progressMessage: undefined });

  it('init_branch opens a scope inside the running execution, leaving every top-level counter alone', () => {
    const before = atMap();

    const { patch, row, record: after } = planTransition(
      before,
      { type: 'init_branch', scope: 'each-doc[3]', marker: 'open:each-doc[3]', output: { map: 'each-doc', index: 3, total: 5 } },
      NOW,
    );

    expect(patch).toEqual({ status: 'running', transitionCount: 4, updatedAt: NOW });
    expect(row).toMatchObject({ type: 'init_branch', from: 'running', to: 'running', scope: 'each-doc[3]', step: null, currentStep: 1, nextStep: 1, output: { map: 'each-doc', index: 3, total: 5 } });
    expect(after).toEqual({ ...before, transitionCount: 4, updatedAt: NOW });
  });

  it('a nested step row carries its scope and its index within the branch, and points at the top-level step it is in', () => {
    const before = atMap();

    const { patch, row } = planTransition(
      before,
      { type: 'step', step: { index: 0, name: 'summarize-doc' }, scope: 'each-doc[3]', output: 'summary', advanceTo: { index: 2, name: 'never' } },
      NOW,
    );

    expect(patch).toEqual({ status: 'running', transitionCount: 4, updatedAt: NOW });
    expect(row).toMatchObject({ type: 'step', step: { index: 0, name: 'summarize-doc' }, scope: 'each-doc[3]', currentStep: 1, nextStep: 1, output: 'summary' });
  });

  it('a nested step keeps the branch count of the top-level step it is in', () => {
    const { patch } = planTransition({ ...atMap(), branchesDone: 2 }, { type: 'step', step: { index: 0, name: 'left' }, scope: 'both[0]' }, NOW);

    expect(patch).not.toHaveProperty('branchesDone');
  });

  it('a top-level row has no scope at all', () => {
    const { row } = planTransition(atMap(), { type: 'step', step: { index: 1, name: 'each-doc' } }, NOW);

    expect(row).not.toHaveProperty('scope');
  });

  it('finish_branch counting toward the items counts one more done and shows it as the step\'s progress', () => {
    const { patch, record: after } = planTransition(
      { ...atMap(), branchesDone: 2 },
      { type: 'finish_branch', scope: 'each-doc[0]', countsToward: { total: 5, unit: 'items' } },
      NOW,
    );

    expect(patch).toEqual({ status: 'running', transitionCount: 4, updatedAt: NOW, branchesDone: 3, stepFraction: 0.6, progressMessage: '3 of 5 items done' });
    expect(after).toMatchObject({ branchesDone: 3, stepFraction: 0.6, stepsCompleted: 1, stepIndex: 1 });
  });

  it('finish_branch counts the first branch from none done', () => {
    const { patch } = planTransition(atMap(), { type: 'finish_branch', scope: 'both[1]', countsToward: { total: 2, unit: 'branches' } }, NOW);

    expect(patch).toMatchObject({ branchesDone: 1, stepFraction: 0.5, progressMessage: '1 of 2 branches done' });
  });

  it('finish_branch never shows more than the whole step, nor divides by a zero total', () => {
    const over = planTransition({ ...atMap(), branchesDone: 4 }, { type: 'finish_branch', scope: 'm[0]', countsToward: { total: 4, unit: 'items' } }, NOW);
    const empty = planTransition(atMap(), { type: 'finish_branch', scope: 'm[0]', countsToward: { total: 0, unit: 'items' } }, NOW);

    expect(over.patch).toMatchObject({ branchesDone: 5, stepFraction: 1, progressMessage: '5 of 4 items done' });
    expect(empty.patch).toMatchObject({ branchesDone: 1, stepFraction: 1 });
  });

  it('finish_branch without countsToward (an inner level or a choice case) changes no progress', () => {
    const before = { ...atMap(), branchesDone: 1, stepFraction: 0.5, progressMessage: '1 of 2 branches done' };

    const { patch } = planTransition(before, { type: 'finish_branch', scope: 'both[0]/route[1]', output: { choice: 'route', index: 1 } }, NOW);

    expect(patch).toEqual({ status: 'running', transitionCount: 4, updatedAt: NOW });
  });

  it('a top-level step resets the branch count of the step it completes', () => {
    const { patch, record: after } = planTransition(
      { ...atMap(), branchesDone: 5, stepFraction: 1, progressMessage: '5 of 5 items done' },
      { type: 'step', step: { index: 1, name: 'each-doc' }, advanceTo: { index: 2, name: 'both' }, output: [] },
      NOW,
    );

    expect(patch).toHaveProperty('branchesDone', undefined);
    expect(after.branchesDone).toBeUndefined();
    expect(after).toMatchObject({ stepsCompleted: 2, stepIndex: 2, stepFraction: 0 });
    expect(after.progressMessage).toBeUndefined();
  });

  it('a top-level step of a record without a branch count does not touch it', () => {
    const { patch } = planTransition(atMap(), { type: 'step', step: { index: 1, name: 'each-doc' } }, NOW);

    expect(patch).not.toHaveProperty('branchesDone');
  });

  it('a message becomes the progress message after the change, top-level or nested', () => {
    const top = planTransition(atMap(), { type: 'step', step: { index: 1, name: 'nap' }, output: { sleep_until: NOW }, message: `nap: sleeping until ${NOW}` }, NOW);
    const inner = planTransition(atMap(), { type: 'step', step: { index: 0, name: 'pause' }, scope: 'both[1]', message: 'pause: sleeping until then' }, NOW);

    expect(top.record.progressMessage).toBe(`nap: sleeping until ${NOW}`);
    expect(top.patch.stepFraction).toBe(0);
    expect(inner.patch).toEqual({ status: 'running', transitionCount: 4, updatedAt: NOW, progressMessage: 'pause: sleeping until then' });
  });

  it('a message overrides the count\'s own progress message', () => {
    const { patch } = planTransition(atMap(), { type: 'finish_branch', scope: 'm[0]', countsToward: { total: 2, unit: 'items' }, message: 'custom' }, NOW);

    expect(patch).toMatchObject({ branchesDone: 1, progressMessage: 'custom' });
  });

  it('passes the marker on to the write, and plans none without one', () => {
    const marked = planTransition(atMap(), { type: 'step', step: { index: 0, name: 'left' }, scope: 'both[0]', marker: 'step:both[0]:left' }, NOW);
    const unmarked = planTransition(atMap(), { type: 'step', step: { index: 1, name: 'each-doc' } }, NOW);

    expect(marked.marker).toBe('step:both[0]:left');
    expect(unmarked).not.toHaveProperty('marker');
  });

  it.each(['queued', 'awaiting_input', 'succeeded', 'failed', 'cancelled'] as const)('refuses init_branch and finish_branch while %s', (status) => {
    expect(() => planTransition(record({ status }), { type: 'init_branch', scope: 'm[0]' }, NOW)).toThrow(ConflictError);
    expect(() => planTransition(record({ status }), { type: 'finish_branch', scope: 'm[0]' }, NOW)).toThrow(ConflictError);
  });
});

describe('unstartedFailure', () => {
  it('plans exactly what planTransition plans for the error of an execution Step Functions refused to start (row ids aside: each is new)', () => {
    const queued = record({ status: 'queued', transitionCount: 1, stepIndex: 0, stepsCompleted: 0 });
    const planned = planTransition(
      queued,
      {
        type: 'error',
        error: { name: START_EXECUTION_FAILED, message: 'Step Functions refused to start the execution (ThrottlingException).' },
        output: { name: START_EXECUTION_FAILED, cause: 'ThrottlingException' },
      },
      NOW,
    );

    const written = unstartedFailure(queued, 'ThrottlingException', NOW);

    expect({ ...written, row: { ...written.row, id: undefined } }).toEqual({ ...planned, row: { ...planned.row, id: undefined } });
    expect(transitionSeq(written.row.id)).toBe(2);
  });
});

describe('initTransition', () => {
  it('is row 1: from nothing to queued, carrying the input and metadata, before the first step', () => {
    const created = record({ status: 'queued', transitionCount: 1, stepIndex: 0, stepsCompleted: 0 });

    const row = initTransition(created);

    expect(row).toEqual({
      id: row.id,
      executionId: ID,
      taskId: 'sample-pipeline',
      seq: 1,
      type: 'init',
      from: null,
      to: 'queued',
      step: null,
      currentStep: 0,
      nextStep: 0,
      output: { document: 'a.pdf' },
      metadata: { source: 'test' },
      createdAt: CREATED,
    });
    expect(transitionSeq(row.id)).toBe(1);
    expect(idTimestamp(row.id)).toBe(Date.parse(CREATED));
  });
});
