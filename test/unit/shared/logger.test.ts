import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addLogKeys, createLogger, logged, withLogKeys } from '../../../lambdas/shared/logger.js';
import { lambdaContext } from '../support/api-events.js';
import { captureLines, type CapturedLines } from '../support/log-lines.js';

let lines: CapturedLines;

beforeEach(() => {
  vi.stubEnv('LOG_LEVEL', 'info');
  lines = captureLines();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const contextWith = (awsRequestId: string): Context => ({ ...lambdaContext(), awsRequestId });
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('logger keys', () => {
  it('puts the invocation\'s request id and its event\'s keys on every entry of every logger', async () => {
    const first = createLogger('first');
    const second = createLogger('second').child({ step: 'extract' });
    const handler = logged(
      (event: { id: string }) => ({ execution_id: event.id }),
      async () => {
        first.info('one');
        second.warn('two');
      },
    );

    await handler({ id: 'e1' }, contextWith('req-1'));

    expect(lines.entries).toEqual([
      expect.objectContaining({ service: 'first', message: 'one', aws_request_id: 'req-1', execution_id: 'e1' }),
      expect.objectContaining({ service: 'second', message: 'two', aws_request_id: 'req-1', execution_id: 'e1', step: 'extract' }),
    ]);
  });

  it('keeps concurrent invocations apart, as the local stack runs them in one process', async () => {
    const logger = createLogger('shared');
    const handler = logged(
      (event: { id: string }) => ({ execution_id: event.id }),
      async (event: { id: string }) => {
        await pause();
        addLogKeys({ tenant: `tenant-of-${event.id}` });
        await pause();
        logger.info('done');
      },
    );

    await Promise.all([handler({ id: 'a' }, contextWith('req-a')), handler({ id: 'b' }, contextWith('req-b'))]);

    expect(lines.entries.map((entry) => [entry.aws_request_id, entry.execution_id, entry.tenant]).sort()).toEqual([
      ['req-a', 'a', 'tenant-of-a'],
      ['req-b', 'b', 'tenant-of-b'],
    ]);
  });

  it('adds a nested piece of work\'s keys to its own entries only, and an id learnt there stays there', async () => {
    const logger = createLogger('batch');

    await withLogKeys({ aws_request_id: 'req-1' }, async () => {
      await Promise.all(
        ['m1', 'm2'].map((id) =>
          withLogKeys({ sqs_message_id: id }, async () => {
            await pause();
            addLogKeys({ execution_id: `e-${id}` });
            logger.info('delivered');
          }),
        ),
      );
      logger.info('batch done');
    });

    expect(lines.entries).toContainEqual(expect.objectContaining({ message: 'delivered', aws_request_id: 'req-1', sqs_message_id: 'm1', execution_id: 'e-m1' }));
    expect(lines.entries).toContainEqual(expect.objectContaining({ message: 'delivered', aws_request_id: 'req-1', sqs_message_id: 'm2', execution_id: 'e-m2' }));
    const done = lines.entries.find((entry) => entry.message === 'batch done');
    expect(done).toMatchObject({ aws_request_id: 'req-1' });
    expect(done).not.toHaveProperty('execution_id');
  });

  it('lets an entry\'s own keys win over the work\'s', () => {
    withLogKeys({ execution_id: 'parent' }, () => createLogger('family').info('child answered', { execution_id: 'child' }));

    expect(lines.entries[0]).toMatchObject({ execution_id: 'child' });
  });

  it('changes nothing when keys are added outside any piece of work', () => {
    addLogKeys({ tenant: 'nobody' });
    createLogger('outside').info('plain');

    expect(lines.entries[0]).not.toHaveProperty('tenant');
  });
});
