import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { start, waitForStatus } from './client.js';

/** What the stack printed so far, parsed: its functions' log lines and metric lines (EMF). */
function printedLines(): Record<string, unknown>[] {
  return readFileSync(inject('stackOutputPath'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** The metric lines (embedded metric format) the functions printed about one execution. */
async function metricLinesOf(executionId: string, expected: number): Promise<Record<string, unknown>[]> {
  // The status-change event lands after the record reads `succeeded`; give the line a moment.
  for (const deadline = Date.now() + 5_000; ; ) {
    const lines = printedLines().filter((line) => '_aws' in line && line.execution_id === executionId);
    if (lines.length >= expected || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('metrics on the local stack', () => {
  it('prints an execution\'s start and end as embedded-metric lines, each naming its request, execution, task and tenant', async () => {
    const created = await start('test-noop', { n: 1 });
    await waitForStatus(created.id, 'succeeded');

    const lines = await metricLinesOf(created.id, 2);

    expect(lines.map((line) => [line.ExecutionsStarted, line.ExecutionsSucceeded])).toEqual([
      [1, undefined],
      [undefined, 1],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ TaskId: 'test-noop', task_id: 'test-noop', tenant: 'default', aws_request_id: expect.any(String) });
      expect((line._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace).toBe('AsyncExecutions');
    }
    expect(lines[1]!.ExecutionDuration).toEqual(expect.any(Number));
  });
});
