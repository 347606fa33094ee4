import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../../client/index.js';
import { readJsonArgument, resolveTarget } from '../../../cli/config.js';
import { EXIT, exitCodeOf, UsageError } from '../../../cli/exit-codes.js';
import { formatElapsed, progressLine, summaryLine } from '../../../cli/watch.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const execution = (extra: Partial<Execution>): Execution =>
  ({
    id: 'e1',
    status: 'running',
    created_at: '2026-01-02T03:04:00.000Z',
    completed_at: null,
    output: null,
    error: null,
    cancel_reason: null,
    progress: { current_step: 0, step_name: 'work', completed_steps: 0, total_steps: 2, percentage: 25, message: 'slice 5' },
    ...extra,
  }) as Execution;

describe('CLI exit codes', () => {
  it('are distinct for every outcome', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(['succeeded', 'failed', 'cancelled', 'awaiting_input', 'running'].map((status) => exitCodeOf(status as Execution['status']))).toEqual([0, 1, 3, 4, 6]);
  });
});

describe('CLI arguments', () => {
  it('reads JSON given inline or as @file, and calls anything else a usage error', () => {
    const file = join(dir, 'input.json');
    writeFileSync(file, '{"n": 1}');

    expect(readJsonArgument('[1,2]', '--input')).toEqual([1, 2]);
    expect(readJsonArgument(`@${file}`, '--input')).toEqual({ n: 1 });
    expect(() => readJsonArgument('{n:1}', '--input')).toThrow(UsageError);
    expect(() => readJsonArgument(`@${join(dir, 'missing.json')}`, '--input')).toThrow(/cannot read/);
  });

  it('takes the URL and key from the flags over the environment', async () => {
    const env = { ASYNC_EXECUTIONS_URL: 'http://127.0.0.1:1', ASYNC_EXECUTIONS_API_KEY: 'env-key' };

    expect(await resolveTarget({ url: 'http://127.0.0.1:2', apiKey: 'flag-key' }, env)).toEqual({ url: 'http://127.0.0.1:2', apiKey: 'flag-key' });
    expect(await resolveTarget({}, env)).toEqual({ url: 'http://127.0.0.1:1', apiKey: 'env-key' });
  });
});

describe('CLI progress text', () => {
  it('formats elapsed time in seconds, minutes or hours', () => {
    expect([4_230, 65_000, 7_380_000].map(formatElapsed)).toEqual(['4.2s', '1m 05s', '2h 03m']);
  });

  it('says status, percent, step and message in a line, and how it ended in the summary', () => {
    const now = Date.parse('2026-01-02T03:04:05.000Z');
    const realNow = Date.now;
    Date.now = () => now;
    try {
      expect(progressLine(execution({}))).toBe('running 25% step 1/2 work 5.0s (slice 5)');
    } finally {
      Date.now = realNow;
    }
    expect(summaryLine(execution({ status: 'failed', error: 'boom', completed_at: '2026-01-02T03:04:03.500Z' }))).toBe('failed in 3.5s: boom');
    expect(summaryLine(execution({ status: 'awaiting_input' }))).toBe('awaiting input at step 1/2 work: resume it with async-executions resume e1 --input <json>');
  });
});
