import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { apiKey, baseUrl, start, waitForStatus, type Execution, type Transition } from './client.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/async-executions.js');
/** The exit codes the README documents. */
const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 3, awaitingInput: 4, apiError: 5, timedOut: 6 } as const;

const scratch = mkdtempSync(join(tmpdir(), 'cli-it-'));
/** An empty folder as LOCAL_DIR: no state file, so only what a test passes chooses the API. */
const noStack = join(scratch, 'no-stack');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as a process (the package's bin) against the suite's stack, unless `env` says otherwise. */
function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const { ASYNC_EXECUTIONS_URL: _url, ASYNC_EXECUTIONS_API_KEY: _key, ...inherited } = process.env;
  const childEnv: Record<string, string | undefined> = { ...inherited, LOCAL_DIR: noStack, ASYNC_EXECUTIONS_URL: baseUrl(), ASYNC_EXECUTIONS_API_KEY: apiKey(), ...env };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv, timeout: 45_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const json = <T>(run: Run): T => JSON.parse(run.stdout) as T;

describe('the async-executions CLI against the local stack', () => {
  it('tasks: a table of the served tasks, or JSON with --json', async () => {
    const [human, machine] = await Promise.all([cli(['tasks']), cli(['tasks', '--json'])]);

    expect(human.code).toBe(EXIT.ok);
    expect(human.stdout.split('\n')[0]).toMatch(/^TASK\s+KIND\s+STEPS\s+DESCRIPTION$/);
    expect(human.stdout).toMatch(/^test-slow\s+test\s+2\s+A step that runs/m);
    expect(machine.code).toBe(EXIT.ok);
    expect(json<Array<{ id: string }>>(machine).map((task) => task.id)).toContain('test-noop');
  });

  it('start --wait: exits 0 when the execution succeeds, 1 when it fails, printing how it ended', async () => {
    const [succeeded, failed, machine] = await Promise.all([
      cli(['start', 'test-noop', '--input', '{"n":7}', '--wait']),
      cli(['start', 'test-failing', '--input', '{}', '--wait']),
      cli(['--json', 'start', 'test-noop', '--input', '{"n":8}', '--wait']),
    ]);

    expect(succeeded.code).toBe(EXIT.ok);
    expect(succeeded.stdout.trim()).toMatch(/^succeeded in \d+\.\ds: \{"n":7\}$/);
    expect(succeeded.stderr).toMatch(/ queued\n/);
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.stdout.trim()).toMatch(/^failed in .*boom on attempt/);
    expect(machine.code).toBe(EXIT.ok);
    expect(json<Execution>(machine)).toMatchObject({ status: 'succeeded', output: { n: 8 } });
    expect(machine.stderr).toBe('');
  });

  it('start without --wait prints the new id; --input @file reads the input from a file', async () => {
    const file = join(scratch, 'input.json');
    writeFileSync(file, '{"n":3}');

    const run = await cli(['start', 'test-noop', '--input', `@${file}`]);

    expect(run.code).toBe(EXIT.ok);
    const [id, status] = run.stdout.trim().split(' ');
    expect(status).toBe('queued');
    expect((await waitForStatus(id!, 'succeeded')).input).toEqual({ n: 3 });
  });

  it('start --wait exits 4 at a wait; resume continues it; get, transitions and watch show it ended', async () => {
    const started = await cli(['start', 'test-child-holder', '--input', '{}', '--wait']);
    expect(started.code).toBe(EXIT.awaitingInput);
    expect(started.stdout).toMatch(/^awaiting input at step 1\/1 child: resume it with async-executions resume (\S+) --input <json>$/m);
    const id = /resume (\S+) --input/.exec(started.stdout)![1]!;

    const resumed = await cli(['resume', id, '--input', '{"answer":42}']);
    expect(resumed.code).toBe(EXIT.ok);
    expect(resumed.stdout.trim()).toBe(`${id} running`);
    await waitForStatus(id, 'succeeded');

    const [get, getJson, history, historyJson, watched] = await Promise.all([
      cli(['get', id]),
      cli(['get', id, '--json']),
      cli(['transitions', id]),
      cli(['transitions', id, '--json']),
      cli(['watch', id]),
    ]);
    expect(get.code).toBe(EXIT.ok);
    expect(get.stdout).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
    expect(get.stdout).toMatch(/^status\s+succeeded$/m);
    expect(get.stdout).toMatch(/^output\s+\{"answer":42\}$/m);
    expect(json<Execution>(getJson).status).toBe('succeeded');
    expect(history.code).toBe(EXIT.ok);
    expect(history.stdout.split('\n')[0]).toMatch(/^SEQ\s+TYPE\s+FROM\s+TO\s+STEP\s+SCOPE\s+AT$/);
    expect(history.stdout).toMatch(/^\d+\s+resume\s+awaiting_input\s+running\s+child\s/m);
    expect(json<Transition[]>(historyJson).map((row) => row.type)).toEqual(['init', 'start', 'wait', 'resume', 'finish']);
    // Not a terminal: a line per change instead of a bar, then how it ended.
    expect(watched.code).toBe(EXIT.ok);
    expect(watched.stderr).toMatch(/^succeeded 100% step 1\/1 child /m);
    expect(watched.stdout.trim()).toMatch(/^succeeded in \d/);
  });

  it('cancel --reason cancels; watch then exits 3, and watch --json prints every event as a line', async () => {
    const execution = await start('test-child-holder', {});
    await waitForStatus(execution.id, 'awaiting_input');

    const cancelled = await cli(['cancel', execution.id, '--reason', 'not needed']);
    expect(cancelled.code).toBe(EXIT.ok);
    expect(cancelled.stdout.trim()).toBe(`${execution.id} cancelled`);

    const [watched, lines] = await Promise.all([cli(['watch', execution.id]), cli(['watch', execution.id, '--json'])]);
    expect(watched.code).toBe(EXIT.cancelled);
    expect(watched.stdout.trim()).toMatch(/^cancelled after .*: not needed$/);
    expect(lines.code).toBe(EXIT.cancelled);
    const events = lines.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; id: number });
    expect(events.at(-1)).toMatchObject({ type: 'end', data: { status: 'cancelled' } });
    expect(events.filter((event) => event.type === 'transition').map((event) => event.id)).toEqual([1, 2, 3, 4]);
  });

  it('retry resumes a failed execution from its failed step; replay starts a new one, with --input replacing the input', async () => {
    const dir = mkdtempSync(join(scratch, 'retry-'));
    const execution = await start('test-retry', { dir, n: 1 });
    await waitForStatus(execution.id, 'failed');
    writeFileSync(join(dir, 'ready'), '');

    const retried = await cli(['retry', execution.id]);
    const refused = await cli(['retry', execution.id]);
    const replayed = await cli(['--json', 'replay', execution.id, '--input', JSON.stringify({ dir, n: 2 })]);

    expect(retried.code).toBe(EXIT.ok);
    expect(retried.stdout.trim()).toBe(`${execution.id} running (retry 1)`);
    expect(refused.code).toBe(EXIT.apiError);
    expect(refused.stderr).toMatch(/^Error 409/);
    expect(replayed.code).toBe(EXIT.ok);
    const replay = json<Execution & { replayed_from: string }>(replayed);
    expect(replay).toMatchObject({ replayed_from: execution.id, input: { dir, n: 2 } });
    expect(await waitForStatus(execution.id, 'succeeded')).toMatchObject({ output: { n: 20 } });
    expect(await waitForStatus(replay.id, 'succeeded')).toMatchObject({ output: { n: 30 } });
    const shown = await cli(['get', replay.id]);
    expect(shown.stdout).toContain(`replays    ${execution.id}`);
  });

  it('start --wait --timeout exits 6 while the execution still runs', async () => {
    const run = await cli(['start', 'test-slow', '--input', '{"ms":20000}', '--wait', '--timeout', '1']);

    expect(run.code).toBe(EXIT.timedOut);
    const id = /: (\S+)$/.exec(run.stdout.trim())![1]!;
    expect(run.stdout).toMatch(/^still (queued|running) after 1 s/);
    await cli(['cancel', id]);
  });

  it('ls: filters by task and status, follows pages up to --limit, and prints JSON', async () => {
    for (const n of [1, 2, 3]) await start('test-noop', { n });

    const [human, machine] = await Promise.all([
      cli(['ls', '--task', 'test-noop', '--limit', '3']),
      cli(['ls', '--task', 'test-noop', '--status', 'succeeded', '--limit', '2', '--json']),
    ]);

    expect(human.code).toBe(EXIT.ok);
    const rows = human.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+TASK\s+STATUS\s+PROGRESS\s+CREATED$/);
    expect(rows.slice(1)).toHaveLength(3);
    expect(rows.slice(1).every((row) => /^\S+\s+test-noop\s/.test(row))).toBe(true);
    const listed = json<Execution[]>(machine);
    expect(listed).toHaveLength(2);
    expect(listed.every((item) => item.task_id === 'test-noop' && item.status === 'succeeded')).toBe(true);
  });

  it('schedules create, ls, pause, resume and rm: a schedule\'s life from the command line, its problems as exit 5, a usage error as exit 2', async () => {
    // Its first run far ahead: the suite's other tests see no execution of it.
    const created = await cli(['schedules', 'create', 'test-noop', '--cron', '0 9 ? * MON-FRI *', '--timezone', 'Europe/Paris', '--input', '{"n":1}', '--start', '2099-01-01T00:00:00Z']);
    expect(created.code).toBe(EXIT.ok);
    const [id, status, expression] = created.stdout.trim().split(' ');
    expect(id).toMatch(/^sch_[0-9a-f]{32}$/);
    expect(status).toBe('active');
    expect(expression).toBe('cron(0');
    expect(created.stdout.trim()).toBe(`${id} active cron(0 9 ? * MON-FRI *) Europe/Paris`);

    const listed = await cli(['schedules', 'ls']);
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+TASK\s+STATUS\s+EXPRESSION\s+TIMEZONE$/);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+test-noop\\s+active\\s+cron\\(0 9 \\? \\* MON-FRI \\*\\)\\s+Europe/Paris$`, 'm'));

    expect((await cli(['schedules', 'pause', id!])).stdout.trim()).toBe(`${id} paused`);
    const paused = await cli(['--json', 'schedules', 'ls']);
    expect(json<Array<{ id: string; status: string }>>(paused).find((schedule) => schedule.id === id)).toMatchObject({ status: 'paused', synced: true });
    expect((await cli(['schedules', 'resume', id!])).stdout.trim()).toBe(`${id} active`);

    const removed = await cli(['schedules', 'rm', id!]);
    expect(removed.code).toBe(EXIT.ok);
    expect(removed.stdout.trim()).toBe(`${id} deleted`);
    const again = await cli(['schedules', 'rm', id!]);
    expect(again.code).toBe(EXIT.apiError);
    expect(again.stderr).toMatch(/^Error 404/);

    const bad = await cli(['schedules', 'create', 'test-noop', '--cron', '0 9 * * * *', '--input', '{"n":1}']);
    expect(bad.code).toBe(EXIT.apiError);
    expect(bad.stderr).toMatch(/Error 400/);
    expect(bad.stderr).toMatch(/\/cron: exactly one of day-of-month and day-of-week must be \?/);
    const both = await cli(['schedules', 'create', 'test-noop', '--cron', '0 9 ? * * *', '--rate', 'rate(1 hour)', '--input', '{"n":1}']);
    expect(both.code).toBe(EXIT.usage);
    expect(both.stderr).toMatch(/exactly one of --cron and --rate/);
  });

  it('a bad input: the 400 problem on standard error, its fields by path, and exit 5', async () => {
    const [human, machine] = await Promise.all([
      cli(['start', 'test-noop', '--input', '{"n":"one"}']),
      cli(['start', 'test-noop', '--input', '{"n":"one"}', '--json']),
    ]);

    expect(human.code).toBe(EXIT.apiError);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^Error 400: Your request is not valid\./);
    expect(human.stderr).toMatch(/^ {2}\/input\/n: /m);
    expect(machine.code).toBe(EXIT.apiError);
    expect(JSON.parse(machine.stderr)).toMatchObject({ type: '/problems/validation-error', status: 400, errors: [{ path: '/input/n' }] });
  });

  it('usage errors exit 2: input that is not JSON, an unknown command, a limit out of range, no API', async () => {
    const [notJson, unknown, limit, noApi] = await Promise.all([
      cli(['start', 'test-noop', '--input', '{n:1}']),
      cli(['launch']),
      cli(['ls', '--limit', '0']),
      cli(['tasks'], { ASYNC_EXECUTIONS_URL: undefined }),
    ]);

    expect(notJson.code).toBe(EXIT.usage);
    expect(notJson.stderr).toMatch(/^--input is not JSON/);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toMatch(/unknown command 'launch'/);
    expect(limit.code).toBe(EXIT.usage);
    expect(noApi.code).toBe(EXIT.usage);
    expect(noApi.stderr).toMatch(/^No API: pass --url or set ASYNC_EXECUTIONS_URL/);
  });

  it('a wrong key, from --api-key or the environment, is the 401 problem and exit 5; no server at the URL is exit 5', async () => {
    const [flag, env, nobody] = await Promise.all([
      cli(['--api-key', 'wrong-key', 'tasks']),
      cli(['get', '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70'], { ASYNC_EXECUTIONS_API_KEY: 'wrong-key' }),
      cli(['--url', 'http://127.0.0.1:9', 'tasks']),
    ]);

    expect(flag.code).toBe(EXIT.apiError);
    expect(flag.stderr).toMatch(/^Error 401/);
    expect(env.code).toBe(EXIT.apiError);
    expect(env.stderr).toMatch(/^Error 401/);
    expect(nobody.code).toBe(EXIT.apiError);
    expect(nobody.stderr).toMatch(/fetch failed/);
  });

  it('bulk cancel --task --status --wait: cancels the matching executions as one job and exits 0; bulk get, items and ls show it; no filter is a usage error', async () => {
    const since = new Date().toISOString();
    const created = await Promise.all([1, 2, 3].map((n) => start('test-bulk-cli', { n })));
    for (const execution of created) await waitForStatus(execution.id, 'awaiting_input');

    const refused = await cli(['bulk', 'cancel']);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/Name a filter/);
    const badStatus = await cli(['bulk', 'cancel', '--status', 'pending']);
    expect(badStatus.code).toBe(EXIT.usage);

    const run = await cli(['bulk', 'cancel', '--task', 'test-bulk-cli', '--status', 'awaiting_input', '--created-after', since, '--reason', 'from the CLI', '--wait']);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout.trim()).toBe('succeeded: 3 matched: 3 succeeded, 0 skipped, 0 failed');
    const id = /^(bulk_[0-9a-f]{32}) queued$/m.exec(run.stderr)?.[1];
    expect(id).toBeDefined();
    for (const execution of created) expect((await waitForStatus(execution.id, 'cancelled')).status).toBe('cancelled');

    const [human, machine, items, listed] = await Promise.all([
      cli(['bulk', 'get', id!]),
      cli(['--json', 'bulk', 'get', id!]),
      cli(['bulk', 'items', id!]),
      cli(['--json', 'bulk', 'ls', '--limit', '5']),
    ]);
    expect(human.stdout).toMatch(/^status {5}succeeded$/m);
    expect(human.stdout).toMatch(/^filter {5}task_id=test-bulk-cli status=awaiting_input created_after=/m);
    expect(json<{ id: string; progress: { succeeded: number } }>(machine)).toMatchObject({ id, progress: { succeeded: 3 } });
    expect(items.stdout.split('\n')[0]).toMatch(/^EXECUTION\s+OUTCOME\s+PROBLEM$/);
    for (const execution of created) expect(items.stdout).toMatch(new RegExp(`^${execution.id}\\s+succeeded\\s+-$`, 'm'));
    expect(json<Array<{ id: string }>>(listed).map((job) => job.id)).toContain(id);

    const missing = await cli(['bulk', 'get', 'bulk_0190d7a45b3c7d2e8f1a2b3c4d5e6f70']);
    expect(missing.code).toBe(EXIT.apiError);
    expect(missing.stderr).toMatch(/^Error 404/);
    const stopped = await cli(['bulk', 'stop', id!]);
    expect(stopped.code).toBe(EXIT.apiError);
    expect(stopped.stderr).toMatch(/^Error 409/);
  });

  it('without URL or key it uses the running local stack of the state file, and says when that file is stale', async () => {
    const live = join(scratch, 'live');
    const stale = join(scratch, 'stale');
    const state = { url: baseUrl(), apiKey: apiKey(), dynamodb: inject('dynamoDbEndpoint'), sfn: inject('sfnEndpoint'), table: inject('tableName') };
    for (const [dir, dynamodb] of [[live, state.dynamodb], [stale, 'http://127.0.0.1:9']] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'stack.json'), JSON.stringify({ ...state, dynamodb }));
    }
    const bare = { ASYNC_EXECUTIONS_URL: undefined, ASYNC_EXECUTIONS_API_KEY: undefined };

    const [found, refused] = await Promise.all([cli(['tasks', '--json'], { ...bare, LOCAL_DIR: live }), cli(['tasks'], { ...bare, LOCAL_DIR: stale })]);

    expect(found.code).toBe(EXIT.ok);
    expect(json<unknown[]>(found).length).toBeGreaterThan(0);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/^No local stack is running \(.*stack\.json is stale: nothing answers at http:\/\/127\.0\.0\.1:9\)/);
  });

  it('keys: delegates to the keys script (the stack of the state file); a key it creates works for the CLI', async () => {
    const live = join(scratch, 'keys');
    mkdirSync(live, { recursive: true });
    writeFileSync(
      join(live, 'stack.json'),
      JSON.stringify({ url: baseUrl(), apiKey: apiKey(), dynamodb: inject('dynamoDbEndpoint'), sfn: inject('sfnEndpoint'), table: inject('tableName') }),
    );

    const created = await cli(['keys', 'create', '--tenant', 'cli-tenant', '--name', 'cli-test'], { LOCAL_DIR: live });
    expect(created.code).toBe(EXIT.ok);
    const key = created.stdout.trim().split('\n').at(-1)!;
    const [listed, used] = await Promise.all([cli(['keys', 'list', '--tenant', 'cli-tenant'], { LOCAL_DIR: live }), cli(['ls', '--json'], { ASYNC_EXECUTIONS_API_KEY: key })]);

    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout).toMatch(/\tcli-tenant\tactive\t.*\tcli-test$/m);
    // A new tenant: its own, empty list.
    expect(used.code).toBe(EXIT.ok);
    expect(json<unknown[]>(used)).toEqual([]);
  });
});

describe('watch in a real terminal (tmux)', () => {
  /** Our own tmux server (its own socket), so no session of anyone else's is touched. */
  const socket = `cli-watch-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

  afterAll(() => {
    tmux('kill-server');
  });

  it('draws the status, step name, percent and elapsed time as the execution runs, then how it ended', async () => {
    const version = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
    if (version.error || version.status !== 0) {
      throw new Error('tmux is not installed: this test runs `async-executions watch` in a real terminal under tmux. Install it (apt-get install -y tmux; .ci/run does when apt is there) and run it again.');
    }
    const execution = await start('test-slow', { ms: 4000 });
    const command = `'${process.execPath}' '${BIN}' watch ${execution.id}; echo "EXIT=$?"; sleep 60`;

    const session = tmux('new-session', '-d', '-x', '100', '-y', '20', '-s', 'watch', '-c', ROOT, '-e', `ASYNC_EXECUTIONS_URL=${baseUrl()}`, '-e', `ASYNC_EXECUTIONS_API_KEY=${apiKey()}`, '-e', `LOCAL_DIR=${noStack}`, command);
    expect(session.stderr).toBe('');

    const screens: string[] = [];
    const deadline = Date.now() + 40_000;
    let screen = '';
    while (!screen.includes('EXIT=') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      screen = tmux('capture-pane', '-p', '-t', 'watch').stdout;
      screens.push(screen);
    }

    // While the slow step runs: its name, a percent between 0 and 100, and the time so far.
    const midway = screens.find((text) => {
      const percent = /^running \[[#-]{30}\] (\d+)% \| step 1\/2 work \| \d+\.\ds$/m.exec(text)?.[1];
      return percent !== undefined && Number(percent) > 0 && Number(percent) < 100;
    });
    // The screens the README shows come from here: WATCH_SCREEN_FILE=<file> keeps them.
    if (process.env.WATCH_SCREEN_FILE) writeFileSync(process.env.WATCH_SCREEN_FILE, `${midway ?? '(none)'}\n---\n${screen}`);
    expect(midway).toBeDefined();
    // At the end: the full bar, the last step, how it ended, the exit code.
    expect(screen).toMatch(/^succeeded \[#{30}\] 100% \| step 2\/2 after \| \d+\.\ds$/m);
    expect(screen).toMatch(/^succeeded in \d+\.\ds: \{"worked_ms":4000\}$/m);
    expect(screen).toMatch(/^EXIT=0$/m);
  });
});
