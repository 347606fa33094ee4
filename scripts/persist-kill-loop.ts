import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnLocalStack, stopLocalStack, type SpawnedLocalStack } from '../local/spawn-stack.js';
import { isRunning } from '../local/state-file.js';

/**
 * Measures what `--persist` keeps when the local stack is killed: each cycle starts the stack
 * with --persist, has a few clients create executions for a while, kills it with SIGKILL while
 * they do, then (next cycle) restarts it and reads every execution that was ever answered 201.
 * Prints how many of those acknowledged executions are gone (docs/local.md reports its figures).
 *
 *   node --import tsx scripts/persist-kill-loop.ts [--cycles 5] [--clients 8] [--ms 1000]
 *                                                  [--kill stack|group|java]
 *
 * --kill stack: kill -9 of the stack process only; group: of its whole process group (as a
 * terminal or CI runner may); java: of the stack and of DynamoDB Local's Java process at once
 * (what no shutdown path of the stack does, for comparison). Uses `cdk.out` (run npm start once).
 */
const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '5' },
    clients: { type: 'string', default: '8' },
    ms: { type: 'string', default: '1000' },
    kill: { type: 'string', default: 'stack' },
  },
});
const KEY = 'kill-loop-key';
const cycles = Number(values.cycles);
const clients = Number(values.clients);
const creatingMs = Number(values.ms);
const mode = values.kill;
if (!['stack', 'group', 'java'].includes(mode)) throw new Error('--kill is stack, group or java');
const localDir = mkdtempSync(join(tmpdir(), 'persist-kill-loop-'));

/** The stack of the current cycle: stopped in `finally` whatever happened. */
let stack: SpawnedLocalStack | undefined;

function start(): SpawnedLocalStack {
  stack = spawnLocalStack(['--port', '0', '--persist', '--quiet'], {
    env: { LOCAL_DIR: localDir, LOCAL_API_KEY: KEY },
    ownProcessGroup: mode === 'group',
  });
  return stack;
}

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const acknowledged: string[] = [];
let missing: string[] = [];
try {
  for (let cycle = 1; cycle <= cycles + 1; cycle++) {
    const { child, ready: readiness, exited } = start();
    const ready = await readiness;
    missing = [];
    for (const id of acknowledged) {
      const response = await fetch(`${ready.url}/executions/${id}`, { headers });
      if (response.status === 404) missing.push(id);
      else if (response.status !== 200) throw new Error(`GET /executions/${id} answered ${response.status}`);
    }
    console.log(`cycle ${cycle}: ready in ${ready.seconds} s; ${missing.length} of ${acknowledged.length} acknowledged executions missing`);
    // The last start only reads; `finally` stops it.
    if (cycle > cycles) break;
    let creating = true;
    let created = 0;
    const client = async () => {
      while (creating) {
        try {
          const response = await fetch(`${ready.url}/tasks/document-pipeline/executions`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ input: { document_url: 'https://example.com/a.pdf' } }),
          });
          const body = (await response.json()) as { id?: string };
          if (response.status === 201 && body.id) {
            acknowledged.push(body.id);
            created++;
          }
        } catch {
          // The connection died with the kill: this one was never acknowledged.
        }
      }
    };
    const workers = Array.from({ length: clients }, client);
    await new Promise((resolveWait) => setTimeout(resolveWait, creatingMs * (1 + Math.random() / 2)));
    const killedAt = Date.now();
    if (mode === 'group') process.kill(-ready.pid, 'SIGKILL');
    else child.kill('SIGKILL');
    if (mode === 'java') process.kill(ready.dynamodbPid, 'SIGKILL');
    creating = false;
    await Promise.allSettled(workers);
    await exited;
    while (isRunning(ready.dynamodbPid)) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    console.log(`  ${created} created (201) before kill -9 (${mode}); Java gone ${Date.now() - killedAt} ms after it`);
  }
  console.log(`${cycles} cycles, kill ${mode}: ${missing.length} of ${acknowledged.length} acknowledged executions lost${missing.length ? `: ${missing.join(', ')}` : ''}`);
} finally {
  // Stopped and exited before its LOCAL_DIR goes: a stack still running would write into a removed
  // directory, and a throw above must not leave one behind.
  if (stack) {
    await stopLocalStack(stack);
    // Its DynamoDB Local writes into LOCAL_DIR too; after a kill -9 of the stack its watchdog stops it within seconds.
    const ready = await stack.ready.catch(() => undefined);
    const until = Date.now() + 10_000;
    while (ready && isRunning(ready.dynamodbPid) && Date.now() < until) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  rmSync(localDir, { recursive: true, force: true });
}
