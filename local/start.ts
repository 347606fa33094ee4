import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from './stack.js';
import { STATE_FILE, type LocalStackState } from './state-file.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_TEMPLATE = join(ROOT, 'cdk.out', 'AsyncExecutions.template.json');


function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Synthesizes with the CDK CLI (offline) when the template is missing or older than the sources. */
function synthIfStale(template: string): void {
  const sources = ['infra', 'lambdas', 'cdk.json', 'package-lock.json'].map((path) => join(ROOT, path)).filter(existsSync);
  if (existsSync(template) && statSync(template).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  console.log('cdk.out is missing or stale: synthesizing (about 10 s)…');
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr.slice(-4000)}`);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    persist: { type: 'boolean', default: process.env.LOCAL_PERSIST === '1' },
    template: { type: 'string' },
    'tasks-module': { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    // Test switches (also LOCAL_SCHEDULE_SCALE and LOCAL_DROP_STATUS_EVENTS): see docs/local.md.
    'schedule-scale': { type: 'string', default: process.env.LOCAL_SCHEDULE_SCALE },
    'drop-status-events': { type: 'string', default: process.env.LOCAL_DROP_STATUS_EVENTS },
  },
});

/** The development key of tenant `default`; set LOCAL_API_KEY to choose your own. */
const apiKey = process.env.LOCAL_API_KEY || 'local-development-key';
const started = Date.now();
const template = values.template ? resolve(values.template) : DEFAULT_TEMPLATE;
const scheduleScale = values['schedule-scale'] ? Number(values['schedule-scale']) : 1;
const log = values.quiet ? () => undefined : (message: string) => console.error(`[local] ${message}`);
const dropStatusEventsFor = (values['drop-status-events'] ?? '').split(',').map((part) => part.trim()).filter(Boolean);
try {
  if (!Number.isFinite(scheduleScale) || scheduleScale <= 0) {
    throw new Error(`--schedule-scale / LOCAL_SCHEDULE_SCALE must be a positive number, got "${values['schedule-scale']}"`);
  }
  if (!values.template) synthIfStale(template);
  const stack = await startLocalStack({
    templatePath: template,
    port: Number(values.port ?? process.env.PORT ?? 3000),
    ...(values.persist ? { dataDir: join(ROOT, '.local', 'dynamodb') } : {}),
    ...(values['tasks-module'] ? { tasksModule: resolve(values['tasks-module']) } : {}),
    apiKey,
    scheduleScale,
    dropStatusEventsFor,
    log,
    onListening: (url) => {
      // Callers may poll from here on: every request is answered (503 until ready).
      if (values.json) console.log(JSON.stringify({ starting: true, url, pid: process.pid }));
      else log(`API listening on ${url}; it answers 503 until the stack is ready`);
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const state: LocalStackState = { url: stack.url, dynamodb: stack.dynamoDbEndpoint, sfn: stack.stepFunctionsEndpoint, table: stack.tableName, apiKey };
  if (!values.template) {
    // The keys CLI finds this stack here (npm run keys -- … --local).
    mkdirSync(join(ROOT, '.local'), { recursive: true });
    writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  }
  if (values.json) {
    console.log(JSON.stringify({ ready: true, ...state, seconds }));
  } else {
    const schedules = stack.scheduler.plan.map(
      ({ schedule, periodMs }) =>
        `  Schedule        ${schedule.expression} → ${schedule.logicalId}${scheduleScale === 1 ? '' : ` (every ${periodMs / 1000} s here)`}`,
    );
    if (dropStatusEventsFor.length > 0) {
      schedules.push(`  Fault injection status events of state machines matching "${dropStatusEventsFor.join('", "')}" are DROPPED`);
    }
    console.log(`
Async executions service running locally (ready in ${seconds} s)

  API             ${stack.url}
  API key         ${apiKey}   (tenant "default"; set LOCAL_API_KEY to change it)
  DynamoDB Local  ${stack.dynamoDbEndpoint}${values.persist ? ' (data in .local/dynamodb)' : ' (in memory)'}
  Step Functions  ${stack.stepFunctionsEndpoint}
${schedules.join('\n')}

Try it:
  curl -s ${stack.url}/tasks -H 'authorization: Bearer ${apiKey}'
  curl -s -X POST ${stack.url}/tasks/document-pipeline/executions \\
    -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
    -d '{"input":{"document_url":"https://example.com/reports/q3.pdf"}}'

Ctrl-C stops everything.`);
  }
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    if (!values.template) rmSync(STATE_FILE, { force: true });
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (error) {
  console.error(`\nCould not start the local stack: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
