import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { SoakReport } from '../../scripts/soak.js';
import { STAND_IN_ARGS } from './stand-ins.js';

/**
 * `npm run soak` in small: the command starts a stack of its own (the suite's template, as a
 * separate process), so what is asserted here is the command's behaviour, which the long runs in
 * docs/performance.md rely on: every execution followed to its status, the report's shape, the
 * list paged whole, a failure exits 1, and the stack is stopped every time (Ctrl-C included).
 */

const ROOT = resolve(import.meta.dirname, '../..');

interface SoakRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs scripts/soak.ts as `npm run soak -- …args` does, on the suite's template; `interrupt` sends SIGINT once stderr matches it. */
function soak(args: readonly string[], interrupt?: RegExp): Promise<SoakRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', '--template', inject('templatePath'), ...STAND_IN_ARGS, '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (interrupt && !sent && interrupt.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((done) => child.once('close', (code, signal) => done({ code, signal, stdout, stderr })));
}

const reportOf = (run: SoakRun): SoakReport => JSON.parse(run.stdout.trim().split('\n').at(-1)!) as SoakReport;

/** The stack and DynamoDB Local pids the soak announced on stderr. */
function announcedPids(stderr: string): number[] {
  const match = /stack pid (\d+), DynamoDB Local pid (\d+)/.exec(stderr);
  expect(match, stderr).not.toBeNull();
  return [Number(match![1]), Number(match![2])];
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run soak', () => {
  it('follows every execution to its status, pages the loaded list whole, reports memory and stops the stack', async () => {
    const run = await soak(['--task', 'test-noop', '--executions', '40', '--concurrency', '10', '--list-records', '2000', '--sample-ms', '200', '--max-flatness', '10']);
    expect(run.code, run.stderr).toBe(0);
    const report = reportOf(run);
    expect(report.ok).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.executions).toMatchObject({ requested: 40, created: 40, reachedExpected: 40, otherTerminal: 0, stuck: 0, createRefused: 0, expected: 'succeeded' });
    expect(report.executions.perSecond).toBeGreaterThan(0);
    expect(report.createLatency.count).toBe(40);
    expect(report.completionLatency.count).toBe(40);
    expect(report.createLatency.p50).toBeLessThanOrEqual(report.createLatency.p99);
    expect(report.completionLatency.p99).toBeGreaterThan(0);
    for (const process of [report.memory.stack, report.memory.dynamodb]) {
      expect(process.samples.length).toBeGreaterThan(1);
      expect(process.samples.every((sample) => typeof sample.rssKb === 'number' && sample.rssKb > 10_000)).toBe(true);
      expect(process.verdict.peakKb).toBeGreaterThan(0);
    }
    // 2,000 loaded (every tenth failed) besides the 40 run: each list returns each of its records once.
    expect(report.list!.loaded).toMatchObject({ records: 2000, failed: 200, items: 4000 });
    expect(report.list!.runs.map((entry) => [entry.query, entry.items, entry.duplicates, entry.flatness.pages])).toEqual([
      ['limit=100', 2040, 0, 21],
      ['limit=100&status=succeeded', 1840, 0, 19],
      ['limit=100&status=failed', 200, 0, 3],
    ]);
    expect(report.stopped).toMatchObject({ stack: true, dynamodb: true });
    for (const pid of announcedPids(run.stderr)) expect(running(pid)).toBe(false);
  }, 240_000);

  it('exits 1 naming executions that ended otherwise, and still stops the stack', async () => {
    const run = await soak(['--task', 'test-failing', '--executions', '2', '--concurrency', '2', '--sample-ms', '200']);
    expect(run.code, run.stderr).toBe(1);
    const report = reportOf(run);
    expect(report.ok).toBe(false);
    expect(report.executions).toMatchObject({ created: 2, reachedExpected: 0, otherTerminal: 2, stuck: 0 });
    expect(report.failures).toContain('2 execution(s) ended other than succeeded');
    expect(report.executions.examples[0]).toMatch(/: failed /);
    for (const pid of announcedPids(run.stderr)) expect(running(pid)).toBe(false);
  }, 240_000);

  it('stops the stack and exits 130 on Ctrl-C in the middle of a run', async () => {
    const run = await soak(['--task', 'test-noop', '--executions', '100000', '--concurrency', '4'], /executions of test-noop/);
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toContain('nothing left running');
    for (const pid of announcedPids(run.stderr)) expect(running(pid)).toBe(false);
  }, 240_000);
});
