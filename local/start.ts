import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseTasksModule, TASKS_CONTEXT_KEY, TASKS_MODULE_ENV } from '../infra/tasks-module.js';
import { parseRate, type RateLimit } from '../lambdas/domain/rate-limits.js';
import { startLocalStack, type LocalStack } from './stack.js';
import { LOCAL_DIR, readStackState, STATE_FILE, staleReason, writeStackState, type LocalStackState } from './state-file.js';
import { templateCataloguesPresent, templateTasksModule } from './template.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_TEMPLATE = join(ROOT, 'cdk.out', 'AsyncExecutions.template.json');
/** Measured on a 2-core machine (README, docs/local.md): it depends mostly on the CPU and its load. */
const SYNTH_ESTIMATE = 'it bundles every function with esbuild: 9-20 s measured on 2 cores, longer on a busy machine';


function newestMtime(path: string): number {
  // lstat: a link is not followed, so a dangling link or a loop cannot fail or hang the start.
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  const entries = readdirSync(path).filter((entry) => entry !== 'node_modules');
  return Math.max(stat.mtimeMs, ...entries.map((entry) => newestMtime(join(path, entry))));
}

/**
 * Synthesizes with the CDK CLI (offline, `-c tasks=<tasksModule>`) when the template is missing,
 * was synthesized with another tasks module, lost its task catalogue or OpenAPI document, or is older than the sources
 * (the tasks module's folder included, unless that is the project root itself).
 */
function synthIfStale(template: string, tasksModule: string): void {
  // The module's folder when it lives in the checkout (its imports may change); outside it only the
  // file itself: a folder such as the home directory is no source tree to walk.
  const inside = dirname(tasksModule).startsWith(`${ROOT}${sep}`);
  const tasksFolder = inside ? dirname(tasksModule) : tasksModule;
  const sources = ['infra', 'lambdas', 'examples', 'cdk.json', 'package-lock.json'].map((path) => join(ROOT, path)).concat(tasksFolder).filter(existsSync);
  const sameTasks = templateTasksModule(template) === tasksModule && templateCataloguesPresent(template);
  if (sameTasks && existsSync(template) && statSync(template).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  console.log(`cdk.out is missing or stale: synthesizing (${SYNTH_ESTIMATE})…`);
  const since = Date.now();
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '-c', `${TASKS_CONTEXT_KEY}=${tasksModule}`, '-c', '@aws-cdk/core:stackResourceLimit=0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr.slice(-4000)}`);
  console.log(`synthesized in ${((Date.now() - since) / 1000).toFixed(1)} s; starting…`);
}

/**
 * Refuses to start next to a running stack of the same LOCAL_DIR (they would share its data and
 * state file), and removes a state file a killed stack left behind.
 */
async function replaceStaleState(): Promise<void> {
  const previous = readStackState();
  if (!previous) return;
  const stale = await staleReason(previous);
  if (!stale) {
    throw new Error(
      `Another local stack is running (pid ${previous.pid ?? 'unknown'}, ${previous.url}); stop it, or set LOCAL_DIR to another directory to run a second one.`,
    );
  }
  log(`replacing the stale ${STATE_FILE} (${stale})`);
  rmSync(STATE_FILE, { force: true });
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    persist: { type: 'boolean', default: process.env.LOCAL_PERSIST === '1' },
    template: { type: 'string' },
    // The tasks module (also TASKS_MODULE); the example tasks by default.
    tasks: { type: 'string' },
    // Local stand-ins for existing functions invoke steps call: --function <arn>=<module>, repeatable.
    function: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    // Test switches (also LOCAL_SCHEDULE_SCALE and LOCAL_DROP_STATUS_EVENTS): see docs/local.md.
    'schedule-scale': { type: 'string', default: process.env.LOCAL_SCHEDULE_SCALE },
    'scheduler-time-scale': { type: 'string', default: process.env.LOCAL_SCHEDULER_TIME_SCALE },
    'drop-status-events': { type: 'string', default: process.env.LOCAL_DROP_STATUS_EVENTS },
  },
});

/**
 * `--function <arn>=<module>` values as stand-ins: the module (relative to where the command was
 * typed, like --tasks) runs for that ARN.
 * @throws Error naming the value when it is not of that form or the module does not exist.
 */
function standInsOf(values: readonly string[]): Array<{ arn: string; module: string }> {
  return values.map((value) => {
    const match = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]+)?)=(.+)$/.exec(value);
    if (!match) throw new Error(`--function must be <function ARN>=<module exporting handler>, got "${value}"`);
    const module = resolve(process.env.INIT_CWD ?? process.cwd(), match[2]!);
    if (!existsSync(module)) throw new Error(`--function ${match[1]}: no such module ${module}`);
    return { arn: match[1]!, module };
  });
}

// The functions print their warnings and errors only, unless LOG_LEVEL says otherwise: their info
// lines (several per step, all in this one terminal) would bury the rest. Their metric lines (EMF)
// are printed at any level: one or two per execution (docs/local.md).
process.env.LOG_LEVEL ??= 'warn';
/** The development key of tenant `default`; set LOCAL_API_KEY to choose your own. */
const apiKey = process.env.LOCAL_API_KEY || 'local-development-key';
/** The per-key default limits of the local stack (`LOCAL_CREATE_RATE`, `LOCAL_READ_RATE`, e.g. `10/s`); generous when unset. */
function localRate(name: 'LOCAL_CREATE_RATE' | 'LOCAL_READ_RATE'): RateLimit | undefined {
  const text = process.env[name];
  if (!text) return undefined;
  const limit = parseRate(text);
  if (!limit) throw new Error(`${name} must be <count>/<s|min|h|d> or <count>/<n>s (e.g. 10/s), got "${text}"`);
  return limit;
}
const template = values.template ? resolve(values.template) : DEFAULT_TEMPLATE;
const scheduleScale = values['schedule-scale'] ? Number(values['schedule-scale']) : 1;
const schedulerTimeScale = values['scheduler-time-scale'] ? Number(values['scheduler-time-scale']) : 1;
const log = values.quiet ? () => undefined : (message: string) => console.error(`[local] ${message}`);
const dropStatusEventsFor = (values['drop-status-events'] ?? '').split(',').map((part) => part.trim()).filter(Boolean);
/** `{ [name]: value }`, or nothing when the value is undefined. */
const optional = <K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [name]: value } as Record<K, V>));
let stack: LocalStack | undefined;
let stopping = false;
/**
 * Stops the stack in order (no new requests, events delivered, then DynamoDB Local) and exits.
 * Installed before anything starts: a signal that arrived between the ready line and its handler
 * would otherwise kill the process outright. Before the stack is up there is nothing to drain.
 */
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  if (!stack) process.exit(0);
  if (readStackState()?.pid === process.pid) rmSync(STATE_FILE, { force: true });
  void stack.stop().then(() => process.exit(0));
}
// SIGHUP too: a closed terminal must stop the stack as cleanly as Ctrl-C does.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);
try {
  if (!Number.isFinite(scheduleScale) || scheduleScale <= 0) {
    throw new Error(`--schedule-scale / LOCAL_SCHEDULE_SCALE must be a positive number, got "${values['schedule-scale']}"`);
  }
  if (!Number.isFinite(schedulerTimeScale) || schedulerTimeScale <= 0) {
    throw new Error(`--scheduler-time-scale / LOCAL_SCHEDULER_TIME_SCALE must be a positive number, got "${values['scheduler-time-scale']}"`);
  }
  await replaceStaleState();
  // With --template, the template names its tasks module; --tasks or TASKS_MODULE must then agree.
  const chosen = chooseTasksModule(values.tasks);
  const tasksModule = values.template && !values.tasks && !process.env[TASKS_MODULE_ENV] ? undefined : chosen;
  if (!values.template) synthIfStale(template, chosen);
  stack = await startLocalStack({
    templatePath: template,
    port: Number(values.port ?? process.env.PORT ?? 3000),
    ...(values.persist
      ? {
          dataDir: join(LOCAL_DIR, 'dynamodb'),
          stepFunctionsJournal: join(LOCAL_DIR, 'step-functions', 'executions.jsonl'),
          // With the data: a schedule whose item is gone would only fire into runs that are skipped.
          schedulerFile: join(LOCAL_DIR, 'scheduler', 'schedules.json'),
        }
      : {}),
    schedulerTimeScale,
    ...(tasksModule ? { tasksModule } : {}),
    apiKey,
    rateLimits: { ...optional('create', localRate('LOCAL_CREATE_RATE')), ...optional('read', localRate('LOCAL_READ_RATE')) },
    scheduleScale,
    dropStatusEventsFor,
    externalFunctions: standInsOf(values.function ?? []),
    log,
    onListening: (url) => {
      // Callers may poll from here on: every request is answered (503 until ready).
      if (values.json) console.log(JSON.stringify({ starting: true, url, pid: process.pid }));
      else log(`API listening on ${url}; it answers 503 until the stack is ready`);
    },
  });
  // From the process start, so the figure includes loading the modules and any synthesis.
  const seconds = process.uptime().toFixed(1);
  const state: LocalStackState = {
    url: stack.url,
    dynamodb: stack.dynamoDbEndpoint,
    sfn: stack.stepFunctionsEndpoint,
    table: stack.tableName,
    apiKey,
    pid: process.pid,
    dynamodbPid: stack.dynamoDbPid,
    sqs: stack.sqsEndpoint,
    scheduler: stack.schedulerEndpoint,
  };
  // The keys CLI finds this stack here.
  writeStackState(state);
  if (values.json) {
    const queues = Object.fromEntries(Object.entries(stack.queues).map(([id, queue]) => [id, queue.url]));
    console.log(JSON.stringify({ ready: true, ...state, streamingUrls: stack.streamingUrls, queues, seconds }));
  } else {
    const schedules = stack.scheduler.plan.map(
      ({ schedule, periodMs }) =>
        `  Schedule        ${schedule.expression} → ${schedule.logicalId}${scheduleScale === 1 ? '' : ` (every ${periodMs / 1000} s here)`}`,
    );
    // The first task served and its first example: whatever tasks module was chosen.
    const { TASKS } = await import('../lambdas/tasks/registry.js');
    const [first] = [...TASKS.values()];
    if (!first) throw new Error('The local stack serves no task');
    const queues = Object.keys(stack.queues).length;
    const mappings = stack.eventSourceMappings.running;
    // Printed only when the template has queues or mappings: otherwise the SQS endpoint runs idle.
    const sqsLine =
      queues + mappings > 0
        ? `  SQS             ${stack.sqsEndpoint} (${queues} queue${queues === 1 ? '' : 's'}; ${mappings} event source mapping${mappings === 1 ? '' : 's'} running)\n`
        : '';
    if (dropStatusEventsFor.length > 0) {
      schedules.push(`  Fault injection status events of state machines matching "${dropStatusEventsFor.join('", "')}" are DROPPED`);
    }
    console.log(`
Async executions service running locally (ready in ${seconds} s)

  API             ${stack.url}
${stack.streamingUrls.map((url) => `  Events stream   ${url}/executions/{id}/events   (Function URL, streamed)\n`).join('')}  API key         ${apiKey}   (tenant "default"; set LOCAL_API_KEY to change it)
  DynamoDB Local  ${stack.dynamoDbEndpoint}${values.persist ? ` (data in ${join(LOCAL_DIR, 'dynamodb')})` : ' (in memory)'}
  Step Functions  ${stack.stepFunctionsEndpoint}
  Scheduler       ${stack.schedulerEndpoint} (EventBridge Scheduler: ${stack.eventBridgeScheduler.size} schedule${stack.eventBridgeScheduler.size === 1 ? '' : 's'}${values.persist ? '' : ', in memory'}${schedulerTimeScale === 1 ? '' : `; its clock runs ${schedulerTimeScale}× real time`})
${sqsLine}${schedules.join('\n')}

Try it:
  curl -s ${stack.url}/tasks -H 'authorization: Bearer ${apiKey}'
  curl -s -X POST ${stack.url}/tasks/${first.id}/executions \\
    -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
    -d '${JSON.stringify({ input: first.examples[0] ?? {} })}'

Ctrl-C stops everything.`);
  }
} catch (error) {
  console.error(`\nCould not start the local stack: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
