import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiProblem, createClient, rateLimitOf, WaitTimeout, type AsyncExecutionsClient, type BulkAction, type BulkActionBody, type BulkItem, type Execution, type RateLimitInfo, type RetryNotice, type Schedule } from '../client/index.js';
import { readJsonArgument, resolveTarget } from './config.js';
import { EXIT, exitCodeOf, UsageError } from './exit-codes.js';
import { progressLine, summaryLine, watchExecution } from './watch.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The options every command takes. */
interface GlobalOptions {
  readonly url?: string;
  readonly apiKey?: string;
  readonly json?: boolean;
}

const STATUSES = ['queued', 'running', 'awaiting_input', 'succeeded', 'failed', 'cancelled'] as const;

const positiveInteger = (max: number) => (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) throw new InvalidArgumentError(`must be a whole number from 1 to ${max}.`);
  return number;
};

/** Fixed-width columns for a terminal. */
function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

const scheduleRow = (schedule: Schedule) => [schedule.id, schedule.task_id, schedule.status, schedule.expression, schedule.timezone];

const executionRow = (execution: Execution) => [execution.id, execution.task_id, execution.status, `${Math.round(execution.progress.percentage)}%`, execution.created_at];

/** A few lines about one execution, for a person. */
function describe(execution: Execution): string {
  const lines = [
    `id         ${execution.id}`,
    `task       ${execution.task_id}`,
    `status     ${execution.status}`,
    `progress   ${progressLine(execution)}`,
    `created    ${execution.created_at}`,
  ];
  if (execution.completed_at) lines.push(`completed  ${execution.completed_at}`);
  if (execution.parent_execution_id) lines.push(`parent     ${execution.parent_execution_id}`);
  if (execution.replayed_from) lines.push(`replays    ${execution.replayed_from}`);
  if (execution.retry_count) lines.push(`retries    ${execution.retry_count}`);
  if (execution.status === 'succeeded') lines.push(`output     ${JSON.stringify(execution.output)}`);
  if (execution.error) lines.push(`error      ${execution.error}`);
  if (execution.cancel_reason) lines.push(`reason     ${execution.cancel_reason}`);
  return lines.join('\n');
}

/** Attempts the CLI makes of a request refused with 429 or 503 (the first included), and the longest it waits between two. */
export const CLI_RETRY = { attempts: 4, maxDelayMs: 30_000 } as const;

/** `the create limit (10 per 1 s)`: which limit, in words. */
function limitWords(limit: RateLimitInfo | undefined): string {
  if (!limit) return 'a rate limit';
  const size = limit.quota !== undefined && limit.windowSeconds !== undefined ? ` (${limit.quota} per ${limit.windowSeconds} s)` : '';
  return `the ${limit.policy} limit${size}`;
}

/** Says on standard error that a refused request is sent again, and when. */
function reportRetry(notice: RetryNotice): void {
  const seconds = Math.max(1, Math.round(notice.delayMs / 1000));
  const why =
    notice.status === 429
      ? `Rate limited: ${limitWords(notice.response ? rateLimitOf(notice.response.headers) : undefined)} of this API key is used up`
      : notice.status === undefined
        ? 'The connection was lost'
        : `The service answered ${notice.status}`;
  process.stderr.write(`${why}; retrying in ${seconds} s (attempt ${notice.attempt + 1} of ${CLI_RETRY.attempts}).\n`);
}

/** A bulk action's counts in a line. */
const bulkProgress = (job: BulkAction) =>
  `${job.progress.matched} matched: ${job.progress.succeeded} succeeded, ${job.progress.skipped} skipped, ${job.progress.failed} failed${job.limit_reached ? ' (stopped at max_items)' : ''}`;

/** A few lines about one bulk action, for a person. */
function describeBulk(job: BulkAction): string {
  const filter = Object.entries(job.filter).filter(([, value]) => value !== null).map(([name, value]) => `${name}=${String(value)}`).join(' ');
  const lines = [
    `id         ${job.id}`,
    `action     ${job.action}`,
    `status     ${job.status}`,
    `filter     ${filter || '(every execution)'}`,
    `progress   ${bulkProgress(job)}`,
    `created    ${job.created_at}`,
  ];
  if (job.finished_at) lines.push(`finished   ${job.finished_at}`);
  if (job.reason) lines.push(`reason     ${job.reason}`);
  if (job.error) lines.push(`error      ${job.error.title} ${job.error.detail}`);
  return lines.join('\n');
}

/** The exit code of a bulk action followed to its end: 0 succeeded (whatever its items' outcomes), 1 failed, 3 cancelled. */
const bulkExitCode = (job: BulkAction): number => (job.status === 'succeeded' ? EXIT.ok : job.status === 'failed' ? EXIT.failed : job.status === 'cancelled' ? EXIT.cancelled : EXIT.timedOut);

/** An ISO 8601 option value. */
const instant = (value: string): string => {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError('must be an ISO 8601 date or date-time.');
  return value;
};

/** Writes a problem where a person or a script reads errors. */
function reportProblem(error: ApiProblem, json: boolean): void {
  if (json) {
    process.stderr.write(`${JSON.stringify(error.problem)}\n`);
    return;
  }
  const { status, title, detail } = error.problem;
  process.stderr.write(`Error ${status}: ${title}${detail && detail !== title ? ` ${detail}` : ''}\n`);
  for (const field of error.errors) process.stderr.write(`  ${field.path || '(body)'}: ${field.message}\n`);
  if (status === 429) {
    const after = error.retryAfterSeconds;
    const when = after === undefined ? 'later' : `in ${after} s`;
    const patience = after !== undefined && after * 1000 > CLI_RETRY.maxDelayMs ? `, longer than the ${CLI_RETRY.maxDelayMs / 1000} s it waits` : ` after ${CLI_RETRY.attempts} attempts`;
    process.stderr.write(`Gave up: ${limitWords(error.rateLimit)} of this API key is used up${patience}. Try again ${when}, or ask for a higher limit.\n`);
  }
}

/** Runs `npm run keys`'s script with these arguments, as it is (it reaches DynamoDB, not the API). */
function delegateToKeys(args: readonly string[]): number {
  const result = spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'scripts/keys.ts'), ...args], { cwd: ROOT, stdio: 'inherit' });
  return result.status ?? EXIT.apiError;
}

/**
 * The `async-executions` CLI: parses `argv` (the arguments after the program's name), runs the
 * command and returns its exit code (see {@link EXIT}). Results go to standard output, progress and
 * errors to standard error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  // `keys` takes the keys script's own arguments, which commander must not read.
  if (argv[0] === 'keys') return delegateToKeys(argv.slice(1));

  let exitCode: number = EXIT.ok;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const program = new Command('async-executions')
    .description('Start, follow and control executions of the async executions API.')
    .addOption(new Option('--url <url>', 'the API base URL').env('ASYNC_EXECUTIONS_URL'))
    .addOption(new Option('--api-key <key>', 'the API key').env('ASYNC_EXECUTIONS_API_KEY'))
    .option('--json', 'print JSON (one document, or one event per line for watch)')
    .showHelpAfterError()
    .exitOverride();

  const action = (run: (client: AsyncExecutionsClient, options: GlobalOptions, ...args: never[]) => Promise<number>) =>
    async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const options = command.optsWithGlobals<GlobalOptions>();
      const target = await resolveTarget(options);
      const client = createClient({ baseUrl: target.url, apiKey: target.apiKey, retry: { ...CLI_RETRY, onRetry: reportRetry } });
      exitCode = await (run as (client: AsyncExecutionsClient, options: GlobalOptions, ...rest: unknown[]) => Promise<number>)(client, options, ...args);
    };

  program
    .command('tasks')
    .description('list the tasks')
    .action(action(async (client, { json }) => {
      const tasks = await client.tasks.list();
      print(json ? JSON.stringify(tasks) : table(['TASK', 'KIND', 'STEPS', 'DESCRIPTION'], tasks.map((task) => [task.id, task.kind, String(task.steps.length), task.description])));
      return EXIT.ok;
    }));

  program
    .command('start <task>')
    .description('start an execution of a task')
    .requiredOption('--input <json>', 'its input: JSON, @file or @- (standard input)')
    .option('--metadata <json>', 'metadata: JSON, @file or @-')
    .option('--idempotency-key <key>', 'makes a repeat of this command safe (generated when not given)')
    .option('--wait', 'follow it until it ends or awaits input, and exit with its outcome')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 6)', positiveInteger(86_400))
    .action(action(async (client, { json }, task: string, flags: { input: string; metadata?: string; idempotencyKey?: string; wait?: boolean; timeout?: number }) => {
      const input = readJsonArgument(flags.input, '--input');
      const metadata = flags.metadata === undefined ? undefined : readJsonArgument(flags.metadata, '--metadata');
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new UsageError('--metadata must be a JSON object.');
      const created = await client.executions.create(
        task,
        { input, ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> }) },
        flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {},
      );
      if (!flags.wait) {
        print(json ? JSON.stringify(created) : `${created.id} ${created.status}`);
        return EXIT.ok;
      }
      if (!json) process.stderr.write(`${created.id} ${created.status}\n`);
      try {
        const settled = await client.executions.waitFor(created.id, {
          ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
          onProgress: (execution) => {
            if (!json) process.stderr.write(`${progressLine(execution)}\n`);
          },
        });
        print(json ? JSON.stringify(settled) : summaryLine(settled));
        return exitCodeOf(settled.status);
      } catch (error) {
        if (!(error instanceof WaitTimeout)) throw error;
        if (error.execution) print(json ? JSON.stringify(error.execution) : `still ${error.execution.status} after ${flags.timeout} s: ${created.id}`);
        return EXIT.timedOut;
      }
    }));

  program
    .command('get <id>')
    .description('show an execution')
    .action(action(async (client, { json }, id: string) => {
      const execution = await client.executions.get(id);
      print(json ? JSON.stringify(execution) : describe(execution));
      return EXIT.ok;
    }));

  program
    .command('ls')
    .description('list executions, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--task <task>', 'only this task\'s')
    .option('--parent <id>', 'only the children of this execution')
    .option('--limit <n>', 'at most this many (pages are followed)', positiveInteger(10_000), 20)
    .action(action(async (client, { json }, flags: { status?: (typeof STATUSES)[number]; task?: string; parent?: string; limit: number }) => {
      const found: Execution[] = [];
      const query = {
        limit: Math.min(flags.limit, 100),
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.task ? { task_id: flags.task } : {}),
        ...(flags.parent ? { parent_id: flags.parent } : {}),
      };
      for await (const execution of client.executions.list(query)) {
        found.push(execution);
        if (found.length >= flags.limit) break;
      }
      print(json ? JSON.stringify(found) : found.length === 0 ? 'No executions.' : table(['ID', 'TASK', 'STATUS', 'PROGRESS', 'CREATED'], found.map(executionRow)));
      return EXIT.ok;
    }));

  program
    .command('watch <id>')
    .description('follow an execution live (a progress bar on a terminal) until it ends or awaits input; exits with its outcome')
    .action(action(async (client, { json }, id: string) => {
      const status = await watchExecution(client, id, { stream: process.stderr, out: print, json: json ?? false });
      return exitCodeOf(status);
    }));

  program
    .command('transitions <id>')
    .description('show an execution\'s history, oldest first')
    .action(action(async (client, { json }, id: string) => {
      const rows = [];
      for await (const transition of client.executions.transitions(id, { limit: 100 })) rows.push(transition);
      print(
        json
          ? JSON.stringify(rows)
          : table(
              ['SEQ', 'TYPE', 'FROM', 'TO', 'STEP', 'SCOPE', 'AT'],
              rows.map((row) => [String(row.seq), row.type, row.from ?? '-', row.to, row.step?.name ?? '-', row.scope ?? '-', row.created_at]),
            ),
      );
      return EXIT.ok;
    }));

  program
    .command('resume <id>')
    .description('resume an execution that awaits input')
    .requiredOption('--input <json>', 'the resume input: JSON, @file or @-')
    .action(action(async (client, { json }, id: string, flags: { input: string }) => {
      const execution = await client.executions.resume(id, readJsonArgument(flags.input, '--input'));
      print(json ? JSON.stringify(execution) : `${execution.id} ${execution.status}`);
      return EXIT.ok;
    }));

  program
    .command('cancel <id>')
    .description('cancel an execution')
    .option('--reason <text>', 'why (kept as cancel_reason)')
    .action(action(async (client, { json }, id: string, flags: { reason?: string }) => {
      const execution = await client.executions.cancel(id, flags.reason);
      print(json ? JSON.stringify(execution) : `${execution.id} ${execution.status}`);
      return EXIT.ok;
    }));

  const bulk = program.command('bulk').description('act on every execution a filter matches, as a job (bulk actions)');
  // One command per action, the same filters and options: `bulk cancel`, `bulk retry`, `bulk replay`.
  const BULK_COMMANDS = [
    ['cancel', 'cancel every execution that matches the filter (created before now), as one job', 'cancel every execution'],
    ['retry', 'retry every failed execution that matches the filter from its failed step, as one job (others are skipped)', 'retry every failed execution'],
    ['replay', 'replay every execution that matches the filter (a new execution each, same input and metadata), as one job', 'replay every execution'],
  ] as const;
  for (const [name, description, everything] of BULK_COMMANDS) {
    bulk
      .command(name)
      .description(description)
      .option('--task <task>', 'only this task\'s executions')
      .addOption(new Option('--status <status>', 'only executions in this status').choices(STATUSES))
      .option('--created-after <time>', 'only executions created at or after (ISO 8601)', instant)
      .option('--created-before <time>', 'only executions created at or before (ISO 8601)', instant)
      .option('--tag <tag>', 'only executions carrying this tag (read from the tag index)')
      .option('--all', 'with no other filter: every execution of the tenant')
      .option('--reason <text>', name === 'cancel' ? 'each cancel\'s reason' : 'why (kept with the job)')
      .option('--max-items <n>', 'act on at most this many (default 10000)', positiveInteger(100_000))
      .option('--idempotency-key <key>', 'makes a repeat of this command safe (generated when not given)')
      .option('--wait', 'follow the job until it ends, and exit with its outcome')
      .option('--timeout <seconds>', 'with --wait: give up after this long (exit 6)', positiveInteger(86_400))
      .action(action(async (client, { json }, flags: {
        task?: string; status?: (typeof STATUSES)[number]; createdAfter?: string; createdBefore?: string; tag?: string; all?: boolean;
        reason?: string; maxItems?: number; idempotencyKey?: string; wait?: boolean; timeout?: number;
      }) => {
        const filter = {
          ...(flags.task ? { task_id: flags.task } : {}),
          ...(flags.status ? { status: flags.status } : {}),
          ...(flags.createdAfter ? { created_after: flags.createdAfter } : {}),
          ...(flags.createdBefore ? { created_before: flags.createdBefore } : {}),
          ...(flags.tag ? { tag: flags.tag } : {}),
        };
        if (Object.keys(filter).length === 0 && !flags.all) {
          throw new UsageError(`Name a filter (--task, --status, --created-after, --created-before, --tag), or --all to ${everything}.`);
        }
        const body: BulkActionBody = { action: name, filter, ...(flags.reason ? { reason: flags.reason } : {}), ...(flags.maxItems ? { max_items: flags.maxItems } : {}) };
        let job = await client.bulk.create(body, flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {});
        if (!flags.wait) {
          print(json ? JSON.stringify(job) : `${job.id} ${job.status}`);
          return EXIT.ok;
        }
        if (!json) process.stderr.write(`${job.id} ${job.status}\n`);
        const deadline = flags.timeout ? Date.now() + flags.timeout * 1000 : Infinity;
        let shown = '';
        while (job.status === 'queued' || job.status === 'running') {
          if (Date.now() > deadline) {
            print(json ? JSON.stringify(job) : `still ${job.status} after ${flags.timeout} s: ${job.id} (${bulkProgress(job)})`);
            return EXIT.timedOut;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
          job = await client.bulk.get(job.id);
          const line = bulkProgress(job);
          if (!json && line !== shown) process.stderr.write(`${line}\n`);
          shown = line;
        }
        print(json ? JSON.stringify(job) : `${job.status}: ${bulkProgress(job)}`);
        return bulkExitCode(job);
      }));
  }

  bulk
    .command('get <id>')
    .description('show a bulk action and its progress')
    .action(action(async (client, { json }, id: string) => {
      const job = await client.bulk.get(id);
      print(json ? JSON.stringify(job) : describeBulk(job));
      return EXIT.ok;
    }));

  bulk
    .command('ls')
    .description('list bulk actions, newest first')
    .option('--limit <n>', 'at most this many (pages are followed)', positiveInteger(10_000), 20)
    .action(action(async (client, { json }, flags: { limit: number }) => {
      const found: BulkAction[] = [];
      for await (const job of client.bulk.list()) {
        found.push(job);
        if (found.length >= flags.limit) break;
      }
      print(
        json
          ? JSON.stringify(found)
          : found.length === 0
            ? 'No bulk actions.'
            : table(['ID', 'ACTION', 'STATUS', 'MATCHED', 'SUCCEEDED', 'SKIPPED', 'FAILED', 'CREATED'], found.map((job) => [
                job.id, job.action, job.status, String(job.progress.matched), String(job.progress.succeeded), String(job.progress.skipped), String(job.progress.failed), job.created_at,
              ])),
      );
      return EXIT.ok;
    }));

  bulk
    .command('items <id>')
    .description('show what a bulk action did to each execution')
    .action(action(async (client, { json }, id: string) => {
      const items: BulkItem[] = [];
      for await (const item of client.bulk.items(id)) items.push(item);
      print(
        json
          ? JSON.stringify(items)
          : items.length === 0
            ? 'No items.'
            : table(['EXECUTION', 'OUTCOME', 'RESULT', 'PROBLEM'], items.map((item) => [
                item.execution_id, item.outcome, item.result_execution_id ?? '-', item.problem ? `${item.problem.status} ${item.problem.detail}` : '-',
              ])),
      );
      return EXIT.ok;
    }));

  bulk
    .command('stop <id>')
    .description('stop a bulk action (what it did stays done)')
    .action(action(async (client, { json }, id: string) => {
      const job = await client.bulk.cancel(id);
      print(json ? JSON.stringify(job) : `${job.id} ${job.status}`);
      return EXIT.ok;
    }));

  program
    .command('retry <id>')
    .description('retry a failed execution from the step that failed (completed steps keep their results)')
    .action(action(async (client, { json }, id: string) => {
      const execution = await client.executions.retry(id);
      print(json ? JSON.stringify(execution) : `${execution.id} ${execution.status} (retry ${execution.retry_count ?? 0})`);
      return EXIT.ok;
    }));

  program
    .command('replay <id>')
    .description('start a new execution with the same input as <id> (or --input), linked by replayed_from')
    .option('--input <json>', 'a new input: JSON, @file or @-')
    .option('--metadata <json>', 'new metadata: JSON, @file or @-')
    .option('--idempotency-key <key>', 'makes a repeat of this command safe (generated when not given)')
    .action(action(async (client, { json }, id: string, flags: { input?: string; metadata?: string; idempotencyKey?: string }) => {
      const metadata = flags.metadata === undefined ? undefined : readJsonArgument(flags.metadata, '--metadata');
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new UsageError('--metadata must be a JSON object.');
      const replay = await client.executions.replay(
        id,
        {
          ...(flags.input === undefined ? {} : { input: readJsonArgument(flags.input, '--input') }),
          ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> }),
        },
        flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {},
      );
      print(json ? JSON.stringify(replay) : `${replay.id} ${replay.status}`);
      return EXIT.ok;
    }));

  const schedules = program.command('schedules').description('recurring schedules: each run is an execution (ls, create, pause, resume, rm)');

  schedules
    .command('ls')
    .description('list the schedules')
    .action(action(async (client, { json }) => {
      const found: Schedule[] = [];
      for await (const schedule of client.schedules.list()) found.push(schedule);
      print(json ? JSON.stringify(found) : found.length === 0 ? 'No schedules.' : table(['ID', 'TASK', 'STATUS', 'EXPRESSION', 'TIMEZONE'], found.map(scheduleRow)));
      return EXIT.ok;
    }));

  schedules
    .command('create <task>')
    .description('run a task on a recurring schedule: --cron (EventBridge six fields) or --rate')
    .option('--cron <expression>', 'e.g. "0 9 ? * MON-FRI *" or "cron(0 9 ? * MON-FRI *)"')
    .option('--rate <expression>', 'e.g. "rate(5 minutes)" (at least 1 minute)')
    .option('--timezone <zone>', 'the IANA time zone of --cron, e.g. Europe/Paris (default UTC)')
    .requiredOption('--input <json>', 'the input of each run: JSON, @file or @- (standard input)')
    .option('--metadata <json>', 'metadata of each run: JSON, @file or @-')
    .option('--description <text>', 'yours')
    .option('--start <date>', 'no run before (ISO 8601 with a zone)')
    .option('--end <date>', 'no run after (ISO 8601 with a zone)')
    .action(action(async (client, { json }, task: string, flags: { cron?: string; rate?: string; timezone?: string; input: string; metadata?: string; description?: string; start?: string; end?: string }) => {
      if ((flags.cron === undefined) === (flags.rate === undefined)) throw new UsageError('Give exactly one of --cron and --rate.');
      const metadata = flags.metadata === undefined ? undefined : readJsonArgument(flags.metadata, '--metadata');
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new UsageError('--metadata must be a JSON object.');
      const schedule = await client.schedules.create({
        task_id: task,
        input: readJsonArgument(flags.input, '--input'),
        ...(flags.cron === undefined ? {} : { cron: flags.cron }),
        ...(flags.rate === undefined ? {} : { rate: flags.rate }),
        ...(flags.timezone === undefined ? {} : { timezone: flags.timezone }),
        ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> }),
        ...(flags.description === undefined ? {} : { description: flags.description }),
        ...(flags.start === undefined ? {} : { start_date: flags.start }),
        ...(flags.end === undefined ? {} : { end_date: flags.end }),
      });
      print(json ? JSON.stringify(schedule) : `${schedule.id} ${schedule.status} ${schedule.expression} ${schedule.timezone}`);
      return EXIT.ok;
    }));

  for (const [name, description] of [
    ['pause', 'pause a schedule: no runs until it is resumed'],
    ['resume', 'resume a paused schedule'],
  ] as const) {
    schedules
      .command(`${name} <id>`)
      .description(description)
      .action(action(async (client, { json }, id: string) => {
        const schedule = await client.schedules[name](id);
        print(json ? JSON.stringify(schedule) : `${schedule.id} ${schedule.status}`);
        return EXIT.ok;
      }));
  }

  schedules
    .command('rm <id>')
    .description('delete a schedule (its runs stay)')
    .action(action(async (client, { json }, id: string) => {
      await client.schedules.delete(id);
      print(json ? JSON.stringify({ id, deleted: true }) : `${id} deleted`);
      return EXIT.ok;
    }));

  program
    .command('keys')
    .description('manage API keys: npm run keys\'s commands (create --tenant <name>, list, revoke <key id>); see keys --help')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]')
    // Reached when global options come first (`--json keys list`): the keys script takes what follows `keys`.
    .action(() => {
      exitCode = delegateToKeys(argv.slice(argv.indexOf('keys') + 1));
    });

  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are asked for; anything else commander refuses is a usage error (it printed why).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof ApiProblem) {
      reportProblem(error, json);
      return EXIT.apiError;
    }
    // fetch failed: nothing answered at the URL (or the connection broke).
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}${cause}\n`);
    return EXIT.apiError;
  }
}
