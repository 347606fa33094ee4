import { afterEach, describe, expect, it, vi } from 'vitest';
import { withLogKeys } from '../../../lambdas/shared/logger.js';
import { NAMESPACE, putMetrics } from '../../../lambdas/shared/metrics.js';
import { captureLines, directiveOf } from '../support/log-lines.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('putMetrics', () => {
  it('writes one whole JSON line to stdout in embedded metric format', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });

    putMetrics({ ExecutionsStarted: 1 }, { TaskId: 'sample-pipeline' });

    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\{"_aws":\{.*\}\n$/);
    const line = JSON.parse(written[0]!) as { _aws: { Timestamp: unknown } };
    expect(line._aws.Timestamp).toEqual(expect.any(Number));
  });

  it('declares each metric with its unit, by dimension and without any (the service-wide aggregate)', () => {
    const { metrics } = captureLines();

    putMetrics({ ExecutionsSucceeded: 1, ExecutionDuration: 1500, WaitDuration: 700 }, { TaskId: 'sample-pipeline' });

    const [line] = metrics;
    expect(directiveOf(line!)).toEqual({
      Namespace: NAMESPACE,
      Dimensions: [['TaskId'], []],
      Metrics: [
        { Name: 'ExecutionsSucceeded', Unit: 'Count' },
        { Name: 'ExecutionDuration', Unit: 'Milliseconds' },
        { Name: 'WaitDuration', Unit: 'Milliseconds' },
      ],
    });
    expect(line).toMatchObject({ TaskId: 'sample-pipeline', ExecutionsSucceeded: 1, ExecutionDuration: 1500, WaitDuration: 700 });
    expect(NAMESPACE).toBe('AsyncExecutions');
  });

  it('carries the log keys of the work under way and its properties, as a log line does', () => {
    const { metrics } = captureLines();

    withLogKeys({ aws_request_id: 'req-1', execution_id: 'from-scope' }, () =>
      putMetrics({ ExecutionsStarted: 1 }, { TaskId: 't' }, { execution_id: 'e1', tenant: 'acme' }),
    );

    // The execution the metric is about wins over the one the invocation is about (a parent cancelling its child).
    expect(metrics[0]).toMatchObject({ aws_request_id: 'req-1', execution_id: 'e1', tenant: 'acme', TaskId: 't' });
  });

  it('never throws, even when stdout refuses the line', () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => {
      throw new Error('EPIPE');
    });

    expect(() => putMetrics({ ExecutionsStarted: 1 }, { TaskId: 't' })).not.toThrow();
  });
});
