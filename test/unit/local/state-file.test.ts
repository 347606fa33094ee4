import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, readStackState } from '../../../local/state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'state-file-'));
afterEach(() => rmSync(join(dir, 'stack.json'), { force: true }));

describe('the local stack state file', () => {
  it('reads back what a running stack recorded', () => {
    const state = { url: 'http://127.0.0.1:3000', dynamodb: 'http://127.0.0.1:1', sfn: 'http://127.0.0.1:2', table: 't', apiKey: 'k', pid: 42 };
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(state));

    expect(readStackState(join(dir, 'stack.json'))).toEqual(state);
  });

  it('counts a file cut short by a kill as no state, so npm start replaces it and the keys CLI says no stack runs', () => {
    writeFileSync(join(dir, 'stack.json'), '{"url":"http://127.0.0.1:3000","dyn');

    expect(readStackState(join(dir, 'stack.json'))).toBeUndefined();
  });

  it('is undefined without a file', () => {
    expect(readStackState(join(dir, 'stack.json'))).toBeUndefined();
  });
});

describe('isRunning', () => {
  it('is true for a running process', () => {
    expect(isRunning(process.pid)).toBe(true);
  });

  it('is false once a process has exited and been reaped', () => {
    const { pid } = spawnSync('true');

    expect(isRunning(pid!)).toBe(false);
  });

  it('counts a zombie as gone: it exited, even though its parent has not reaped it', async () => {
    // The shell's background child ends at once; `exec sleep` then becomes its parent and never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((done) => parent.stdout.once('data', (chunk: Buffer) => done(chunk.toString()))));
      const deadline = Date.now() + 5000;
      while (spawnSync('ps', ['-o', 'stat=', '-p', String(zombie)], { encoding: 'utf8' }).stdout.trim().charAt(0) !== 'Z') {
        if (Date.now() > deadline) throw new Error(`process ${zombie} never became a zombie`);
        await new Promise((done) => setTimeout(done, 20));
      }

      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isRunning(zombie)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
