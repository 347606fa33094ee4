import { describe, expect, it } from 'vitest';
import { api, start, transitions, waitFor, waitForStatus, type Execution, type Transition } from './client.js';

interface Document {
  readonly title: string;
  readonly words: number;
}

const documents = (count: number): Document[] =>
  Array.from({ length: count }, (_, index) => ({ title: `doc-${index}`, words: index % 3 === 0 ? 5000 : 10 + index }));

/** Rows of one type, by scope. */
const scopesOf = (rows: readonly Transition[], type: string) =>
  rows.filter((row) => row.type === type).map((row) => row.scope);

function expectGapless(rows: readonly Transition[], count: number): void {
  expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: count }, (_, index) => index + 1));
}

describe('control flow through the local stack', () => {
  it('runs sleep, map with a choice per item and parallel to the right output, every branch opened and closed once', async () => {
    const created = await start('test-flow', { documents: documents(3) });

    const sleeping = await waitFor(created.id, (execution) => /sleeping until/.test(execution.progress.message ?? ''));
    expect(sleeping.status).toBe('running');
    expect(sleeping.progress.message).toMatch(/^rate-limit: sleeping until \d{4}-\d\d-\d\dT/);
    const done = await waitForStatus(created.id, 'succeeded');

    expect(done.output).toEqual(['long: 5000 words; short: 11 words; short: 12 words', 3]);
    expect(done.progress).toMatchObject({ percentage: 100, completed_steps: 4, total_steps: 4 });
    const rows = await transitions(created.id);
    expectGapless(rows, rows.length);
    expect(rows.length).toBe(done.transition_count);
    // Top level: init, start, prepare, rate-limit, summarize-each, finish (step rows) and finish.
    expect(rows.filter((row) => row.scope === null).map((row) => row.type)).toEqual([
      'init',
      'start',
      'step',
      'step',
      'step',
      'step',
      'finish',
    ]);
    expect(scopesOf(rows, 'init_branch').sort()).toEqual(
      ['summarize-each[0]', 'summarize-each[0]/by-size[0]', 'summarize-each[1]', 'summarize-each[1]/by-size[1]', 'summarize-each[2]', 'summarize-each[2]/by-size[1]', 'finish[0]', 'finish[1]'].sort(),
    );
    expect(scopesOf(rows, 'finish_branch').sort()).toEqual(scopesOf(rows, 'init_branch').sort());
    const item = rows.find((row) => row.type === 'step' && row.scope === 'summarize-each[0]/by-size[0]');
    expect(item).toMatchObject({ output: { title: 'doc-0', summary: 'long: 5000 words' }, current: { step: 0, scope_id: `${created.id}/summarize-each[0]/by-size[0]` }, next: null });
    // Every branch opens before its steps and closes after them.
    for (const scope of scopesOf(rows, 'init_branch')) {
      const inScope = rows.filter((row) => (row.scope ?? '').startsWith(scope ?? '-'));
      expect(inScope[0]?.type, String(scope)).toBe('init_branch');
      expect(inScope.at(-1)?.type, String(scope)).toBe('finish_branch');
    }
  });

  it('keeps seq gapless and unique with 10 map items writing at once, one row per nested change', async () => {
    const created = await start('test-flow', { documents: documents(10) });
    const done = await waitForStatus(created.id, 'succeeded', 30_000);

    const rows = await transitions(created.id);
    expectGapless(rows, done.transition_count);
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    // Per item: open item, open case, case step, close case, choice row, close item.
    const nested = rows.filter((row) => (row.scope ?? '').startsWith('summarize-each['));
    expect(nested).toHaveLength(60);
    expect(new Set(scopesOf(rows, 'finish_branch').filter((scope) => /^summarize-each\[\d+\]$/.test(scope ?? ''))).size).toBe(10);
    expect((done.output as [string, number])[1]).toBe(10);
  });

  it('fails the execution with the error of a map item\'s step', async () => {
    const created = await start('test-flow-failing', { documents: [{ title: 'fine', words: 1 }, { title: 'boom', words: 1 }] });

    const failed = await waitForStatus(created.id, 'failed');

    expect(failed).toMatchObject({ error: 'document boom exploded', error_details: { name: 'RangeError', step: { name: 'check-each' } } });
    const rows = await transitions(created.id);
    expectGapless(rows, rows.length);
    expect(rows.at(-1)?.type).toBe('error');
  });

  it('routes a choice by its conditions and fails with NoChoiceMatched when no case matches', async () => {
    const routed = await start('test-flow-choice', { mode: 'bee' });
    const unmatched = await start('test-flow-choice', { mode: 'zzz' });

    expect((await waitForStatus(routed.id, 'succeeded')).output).toEqual({ routed: 'b' });
    expect(await waitForStatus(unmatched.id, 'failed')).toMatchObject({ error_details: { name: 'NoChoiceMatched' } });
  });

  it('shows the nested step structure in GET /tasks/{id}', async () => {
    const { status, body } = await api<{ steps: Array<Record<string, unknown>> }>('GET', '/tasks/test-flow');

    expect(status).toBe(200);
    expect(body.steps.map((entry) => [entry.name, entry.kind])).toEqual([
      ['prepare', 'step'],
      ['rate-limit', 'sleep'],
      ['summarize-each', 'map'],
      ['finish', 'parallel'],
    ]);
    expect(body.steps[2]).toMatchObject({ path: 'documents', max_concurrency: 10, steps: [{ name: 'by-size', kind: 'choice', cases: [{ when: { path: 'words', greaterThan: 1000 } }] }] });
    expect(body.steps[3]).toMatchObject({ branches: [[{ name: 'join' }], [{ name: 'count' }]] });
  });
});

describe('child executions (runTask) through the local stack', () => {
  it('runs a child per map item, lists them under the parent, and hands their outputs on in item order', async () => {
    const created = await start('test-parent', { questions: [{ question: 'a' }, { question: 'bb' }, { question: 'ccc' }] });

    const done = await waitForStatus(created.id, 'succeeded');

    expect(done.output).toEqual({
      total: 6,
      answers: [
        { question: 'a', answer: 1 },
        { question: 'bb', answer: 2 },
        { question: 'ccc', answer: 3 },
      ],
    });
    const children = await api<{ items: Array<Execution & { parent_execution_id: string | null }> }>('GET', `/executions?parent_id=${created.id}`);
    expect(children.status).toBe(200);
    expect(children.body.items).toHaveLength(3);
    for (const child of children.body.items) expect(child).toMatchObject({ task_id: 'test-child-answer', status: 'succeeded', parent_execution_id: created.id });
    const rows = await transitions(created.id);
    expectGapless(rows, rows.length);
    expect(scopesOf(rows, 'step').filter((scope) => scope !== null).sort()).toEqual(['ask-each[0]', 'ask-each[1]', 'ask-each[2]']);
  });

  it('fails the parent step with the child\'s error when the child fails', async () => {
    const created = await start('test-parent-failing', {});

    const failed = await waitForStatus(created.id, 'failed');

    expect(failed).toMatchObject({ error: 'child exploded', error_details: { name: 'TypeError', step: { name: 'doomed' } } });
  });

  it('cancels the running child when the parent is cancelled', async () => {
    const created = await start('test-parent-waiting', {});
    const listChildren = async () => (await api<{ items: Execution[] }>('GET', `/executions?parent_id=${created.id}`)).body.items;
    let children: Execution[] = [];
    for (let tries = 0; tries < 200 && children[0]?.status !== 'awaiting_input'; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      children = await listChildren();
    }
    expect(children).toHaveLength(1);

    const cancelled = await api<Execution>('POST', `/executions/${created.id}/cancel`, { reason: 'no longer needed' });

    expect(cancelled.body.status).toBe('cancelled');
    const child = await waitForStatus(children[0]!.id, 'cancelled');
    expect(child.cancel_reason).toMatch(created.id);
  });
});

describe('invoke of an existing function through the local stack', () => {
  it('calls the function by ARN with the documented event and records its output as the step\'s', async () => {
    const created = await start('test-invoke', { text: 'hello' });

    const done = await waitForStatus(created.id, 'succeeded');

    expect(done.output).toEqual({ score: 5, scored_by: 'score', execution_id: created.id, grade: 'long' });
    const rows = await transitions(created.id);
    expect(rows.map((row) => [row.type, (row as Transition & { step: { name: string } | null }).step?.name ?? null])).toEqual([
      ['init', null],
      ['start', 'score'],
      ['step', 'score'],
      ['step', 'grade'],
      ['finish', null],
    ]);
  });

  it('fails the step with the function\'s own error', async () => {
    const created = await start('test-invoke', { text: 'reject' });

    expect(await waitForStatus(created.id, 'failed')).toMatchObject({ error: 'the scorer rejects this text', error_details: { name: 'RangeError', step: { name: 'score' } } });
  });
});
