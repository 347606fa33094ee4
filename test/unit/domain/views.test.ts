import { describe, expect, it } from 'vitest';
import type { ExecutionRecord, TransitionRecord } from '../../../lambdas/domain/execution.js';
import { consoleUrl, progressOf, toExecutionView, toTransitionView } from '../../../lambdas/domain/views.js';

const ID = '0194283a-3f48-7c1d-9a2b-3c4d5e6f7a8b';
const ARN = `arn:aws:states:eu-west-1:123456789012:execution:Test-sample-pipeline:${ID}`;
const LINKS = { apiBaseUrl: 'https://api.example.com/v1', region: 'eu-west-1' };

function record(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    tenant: 'acme',
    id: ID,
    taskId: 'sample-pipeline',
    status: 'running',
    input: { document: 'a.pdf' },
    metadata: { source: 'test' },
    transitionCount: 4,
    stepIndex: 1,
    stepName: 'extract',
    stepsCompleted: 1,
    totalSteps: 4,
    stepFraction: 0,
    executionArn: ARN,
    createdAt: '2025-01-02T03:04:05.000Z',
    updatedAt: '2025-01-02T03:05:00.000Z',
    startedAt: '2025-01-02T03:04:06.000Z',
    ...overrides,
  };
}

function row(overrides: Partial<TransitionRecord> = {}): TransitionRecord {
  return {
    id: '0194283a-3f49-7aaa-8000-0003bbbbbbbb',
    executionId: ID,
    taskId: 'sample-pipeline',
    seq: 3,
    type: 'step',
    from: 'running',
    to: 'running',
    step: { index: 1, name: 'extract' },
    currentStep: 1,
    nextStep: 2,
    output: { pages: 12 },
    metadata: { attempt: '1' },
    createdAt: '2025-01-02T03:05:00.000Z',
    ...overrides,
  };
}

describe('progressOf', () => {
  it('counts completed steps as a percentage of all steps', () => {
    expect(progressOf(record({ stepsCompleted: 1, totalSteps: 4 }))).toEqual({
      current_step: 1,
      step_name: 'extract',
      completed_steps: 1,
      total_steps: 4,
      percentage: 25,
      message: null,
    });
  });

  it('adds the fraction of the step in progress and its message', () => {
    const progress = progressOf(record({ stepsCompleted: 1, stepFraction: 0.5, totalSteps: 4, progressMessage: 'page 6 of 12' }));

    expect(progress.percentage).toBe(37.5);
    expect(progress.completed_steps).toBe(1);
    expect(progress.message).toBe('page 6 of 12');
  });

  it('rounds to one decimal', () => {
    expect(progressOf(record({ stepsCompleted: 1, totalSteps: 3 })).percentage).toBe(33.3);
    expect(progressOf(record({ stepsCompleted: 2, totalSteps: 3 })).percentage).toBe(66.7);
  });

  it('never reports more than 100 before the execution succeeded', () => {
    expect(progressOf(record({ stepsCompleted: 4, stepFraction: 0.7, totalSteps: 4 })).percentage).toBe(100);
  });

  it('reports 100 and every step completed once succeeded, whatever the counters say', () => {
    const progress = progressOf(record({ status: 'succeeded', stepsCompleted: 2, stepFraction: 0, totalSteps: 4 }));

    expect(progress.percentage).toBe(100);
    expect(progress.completed_steps).toBe(4);
  });

  it('does not report 100 for a failed execution', () => {
    expect(progressOf(record({ status: 'failed', stepsCompleted: 2, totalSteps: 4 })).percentage).toBe(50);
  });

  it('reports 0, not NaN, for a task without steps', () => {
    const progress = progressOf(record({ stepsCompleted: 0, totalSteps: 0, stepIndex: 0 }));

    expect(progress.percentage).toBe(0);
    expect(progress.total_steps).toBe(0);
  });
});

describe('consoleUrl', () => {
  it('links the Step Functions execution page of the region', () => {
    expect(consoleUrl('eu-west-1', ARN)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
    );
  });
});

describe('toExecutionView', () => {
  it('maps a running record to the snake_case resource with progress and links', () => {
    const view = toExecutionView(record({ progressMessage: 'working' }), LINKS);

    expect(view).toEqual({
      id: ID,
      task_id: 'sample-pipeline',
      status: 'running',
      input: { document: 'a.pdf' },
      output: null,
      input_url: null,
      output_url: null,
      error: null,
      error_details: null,
      metadata: { source: 'test' },
      progress: { current_step: 1, step_name: 'extract', completed_steps: 1, total_steps: 4, percentage: 25, message: 'working' },
      transition_count: 4,
      created_at: '2025-01-02T03:04:05.000Z',
      updated_at: '2025-01-02T03:05:00.000Z',
      started_at: '2025-01-02T03:04:06.000Z',
      completed_at: null,
      cancel_reason: null,
      parent_execution_id: null,
      schedule_id: null,
      console_url: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
      status_url: `https://api.example.com/v1/executions/${ID}`,
      events_url: `https://api.example.com/v1/executions/${ID}/events`,
      webhook_url: null,
      tags: null,
      batch_id: null,
      replayed_from: null,
      retry_count: null,
      priority: null,
      concurrency_key: null,
      start_at: null,
    });
  });

  it('shows the tags and the batch of an execution that has them', () => {
    const view = toExecutionView(record({ tags: ['nightly', 'team:ops'], batchId: '3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d' }), LINKS);

    expect(view).toMatchObject({ tags: ['nightly', 'team:ops'], batch_id: '3f2b1c4d-5e6f-8a7b-9c0d-1e2f3a4b5c6d' });
  });

  it('shows output, error, completion time and cancel reason when the record has them', () => {
    const error = { name: 'StepFailed', message: 'boom', step: { index: 1, name: 'extract' } };

    const view = toExecutionView(
      record({ status: 'failed', output: { partial: true }, error, completedAt: '2025-01-02T03:06:00.000Z', cancelReason: 'r' }),
      LINKS,
    );

    expect(view).toMatchObject({ output: { partial: true }, completed_at: '2025-01-02T03:06:00.000Z', cancel_reason: 'r' });
  });

  it('shows the parent of a child execution', () => {
    const parent = '01942500-0000-7000-8000-000000000001';

    expect(toExecutionView(record({ parentExecutionId: parent }), LINKS).parent_execution_id).toBe(parent);
  });

  it('shows the execution a replay replays and how many times an execution was retried', () => {
    const original = '01942500-0000-7000-8000-000000000002';

    expect(toExecutionView(record({ replayedFrom: original, redriveCount: 2 }), LINKS)).toMatchObject({ replayed_from: original, retry_count: 2 });
  });

  it("shows a failure as Julep's error string, its message, with the name and step under error_details", () => {
    const error = { name: 'StepFailed', message: 'boom', step: { index: 1, name: 'extract' } };

    const view = toExecutionView(record({ status: 'failed', error }), LINKS);

    expect(view.error).toBe(error.message);
    expect(view.error_details).toEqual(error);
  });

  it('shows the name as the error string of a failure without a message', () => {
    const view = toExecutionView(record({ status: 'failed', error: { name: 'States.TaskFailed', message: '' } }), LINKS);

    expect(view.error).toBe('States.TaskFailed');
    expect(view.error_details).toEqual({ name: 'States.TaskFailed', message: '' });
  });

  it('keeps a falsy output such as 0 or false', () => {
    expect(toExecutionView(record({ output: 0 }), LINKS).output).toBe(0);
    expect(toExecutionView(record({ output: false }), LINKS).output).toBe(false);
  });

  it('never shows the wait token or the tenant', () => {
    const view = toExecutionView(record({ status: 'awaiting_input', waitToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR-secret-token' }), LINKS);

    const text = JSON.stringify(view);
    expect(text).not.toContain('secret-token');
    expect(Object.keys(view).some((key) => key.includes('token'))).toBe(false);
    expect(view).not.toHaveProperty('tenant');
  });
});

describe('toTransitionView', () => {
  it('maps a step row with Julep current, next and step_label', () => {
    expect(toTransitionView(row())).toEqual({
      id: '0194283a-3f49-7aaa-8000-0003bbbbbbbb',
      execution_id: ID,
      seq: 3,
      type: 'step',
      from: 'running',
      to: 'running',
      step: { index: 1, name: 'extract' },
      scope: null,
      output: { pages: 12 },
      output_url: null,
      metadata: { attempt: '1' },
      current: { workflow: 'sample-pipeline', step: 1, scope_id: ID },
      next: { workflow: 'sample-pipeline', step: 2, scope_id: ID },
      step_label: 'extract',
      callback_url: null,
      created_at: '2025-01-02T03:05:00.000Z',
      updated_at: '2025-01-02T03:05:00.000Z',
    });
  });

  it('places a nested row in its branch: scope_id is the execution and the scope path, current.step its index there, no next', () => {
    const view = toTransitionView(row({ scope: 'summarize[3]/both[1]', step: { index: 0, name: 'keywords' }, currentStep: 2, nextStep: 2 }));

    expect(view.scope).toBe('summarize[3]/both[1]');
    expect(view.current).toEqual({ workflow: 'sample-pipeline', step: 0, scope_id: `${ID}/summarize[3]/both[1]` });
    expect(view.next).toBeNull();
  });

  it('has no next position and no step label on a final row without a step', () => {
    const view = toTransitionView(row({ type: 'finish', to: 'succeeded', step: null, currentStep: 3, nextStep: null }));

    expect(view.next).toBeNull();
    expect(view.step_label).toBeNull();
    expect(view.current).toEqual({ workflow: 'sample-pipeline', step: 3, scope_id: ID });
  });

  it('shows the resume link it is given on a wait row, and never the nonce it was minted from', () => {
    const wait = row({ type: 'wait', to: 'awaiting_input', step: { index: 1, name: 'approve' }, callbackNonce: 'nonce-that-stays-inside' });

    const view = toTransitionView(wait, 'https://api.example.com/callbacks/abc');

    expect(view.callback_url).toBe('https://api.example.com/callbacks/abc');
    expect(JSON.stringify(view)).not.toContain('nonce-that-stays-inside');
    expect(toTransitionView(row()).callback_url).toBeNull();
  });

  it('keeps next step 0 as a position, not as null', () => {
    const view = toTransitionView(row({ type: 'init', from: null, to: 'queued', step: null, currentStep: 0, nextStep: 0 }));

    expect(view.from).toBeNull();
    expect(view.next).toEqual({ workflow: 'sample-pipeline', step: 0, scope_id: ID });
  });
});
