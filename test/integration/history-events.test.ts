import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, inject, it } from 'vitest';
import { executionEvents } from '../../infra/constructs/history-events.js';
import { start, waitForStatus } from './client.js';
import { flowTask } from './flow-tasks.js';

const sfn = new SFNClient({ endpoint: inject('sfnEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

/**
 * The synth's history model (infra/constructs/history-events.ts) against the local engine, which
 * runs the synthesized definition and records its own history: entered and exited per state,
 * started and succeeded per map iteration and per parallel branch. AWS records more per state
 * (the Task attempt events, MapStateStarted/Succeeded, ParallelStateStarted/Succeeded) and no
 * branch events; converted by those documented differences, the local history of a run without
 * failures must come to the model's count for the same run.
 */
describe('the history event model on the local engine', () => {
  it('counts a run of sleep, map with a choice per item and parallel as the engine records it', async () => {
    const created = await start('test-flow', { documents: [{ title: 'a', words: 5000 }, { title: 'b', words: 10 }, { title: 'c', words: 20 }] });
    const done = await waitForStatus(created.id, 'succeeded');
    const executionArn = decodeURIComponent(String(done.console_url).split('/executions/details/')[1] ?? '');
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const count = (pattern: RegExp) => events.filter((event) => pattern.test(String(event.type))).length;

    // By hand: 7 top-level states (Prepare, RateLimitBegin, RateLimit, SummarizeEach,
    // SummarizeEachRecord, Finish, FinishRecord), 3 per item (BySize, the case's step,
    // BySizeRecord), 2 in the parallel's branches: 7 + 9 + 2 = 18 states entered and exited.
    expect(count(/StateEntered$/)).toBe(18);
    expect(count(/StateExited$/)).toBe(18);
    expect(count(/^TaskStateEntered$/)).toBe(4 + 3 * 2 + 2);
    expect(count(/^MapIteration(Started|Succeeded)$/)).toBe(2 * 3);
    expect(count(/^ParallelBranch(Started|Succeeded)$/)).toBe(2 * 2);
    expect(count(/^Execution(Started|Succeeded)$/)).toBe(2);
    expect(events.length).toBe(2 + 2 * 18 + 6 + 4);

    // AWS's history of the same run: 3 attempt events per Task state entered, MapStateStarted and
    // MapStateSucceeded per map, ParallelStateStarted and ParallelStateSucceeded instead of the branch events.
    const aws = events.length + 3 * count(/^TaskStateEntered$/) + 2 * count(/^MapStateEntered$/) - count(/^ParallelBranch/) + 2 * count(/^ParallelStateEntered$/);
    expect(aws).toBe(84);
    expect(executionEvents(flowTask.steps, { items: new Map([['summarize-each', 3]]), firstAttempts: true })).toBe(aws);
  });
});
