import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TASKS_MODULE, loadTasksModule } from '../../infra/tasks-module.js';
import { lambdaStepsOf } from '../../lambdas/tasks/dsl.js';
import { floorBundle, type Bundle } from '../../scripts/bench/bundle.js';
import { bundleFunctions, FUNCTIONS, stepFunctionsOf, type FunctionSpec } from '../../scripts/bench/functions.js';
import { startMeteredStack, type MeteredStack } from '../../scripts/bench/local-stack.js';
import { measureOperations, scheduledPolls, type OperationReport } from '../../scripts/bench/operations.js';
import { measureAdmission, type AdmissionReport } from '../../scripts/bench/admission.js';
import { dropMetricLines } from '../support/metric-lines.js';

/**
 * The deterministic budgets of `npm run bench -- --check` (sizes and operation counts), run in
 * `npm test`. Timings are reported by the benchmark, never asserted here.
 */
const SIZE_BUDGET = 1.15;
/** The catalogue constructs no AWS client, so its floor is an empty module: it gets an absolute cap. */
const SDK_FREE_CAP_BYTES = 64 * 1024;
/** Seconds the held GET is held: short, as this runs in `npm test` (the benchmark holds 25 s). */
const HOLD_SECONDS = 3;

// The local stack's functions run in this process: their metric lines would fill the report.
dropMetricLines();

const out = mkdtempSync(join(tmpdir(), 'budget-bundles-'));
const sizes = new Map<string, { own: Bundle; floor: Bundle }>();
/** The service's functions and the function of each Lambda step of the example tasks (the default tasks module). */
const functions: readonly FunctionSpec[] = [...FUNCTIONS, ...(await stepFunctionsOf(DEFAULT_TASKS_MODULE, out))];

beforeAll(async () => {
  const bundles = await bundleFunctions(functions, out);
  const floors = new Map<string, Bundle>();
  for (const fn of functions) {
    const clients = fn.clients.join('+');
    if (!floors.has(clients)) floors.set(clients, await floorBundle(`floor-${clients || 'none'}`, fn.clients, out));
    sizes.set(fn.name, { own: bundles.get(fn.name)!, floor: floors.get(clients)! });
  }
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bundle size budgets', () => {
  it('measures a function per Lambda step of the example tasks, nested steps included', async () => {
    const { tasks } = await loadTasksModule(DEFAULT_TASKS_MODULE);
    const expected = tasks.flatMap((task) => lambdaStepsOf(task).map((step) => `step:${task.id}/${step.name}`));

    expect(functions.filter((fn) => fn.name.startsWith('step:')).map((fn) => fn.name)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });

  it.each(functions.filter((fn) => fn.clients.length > 0).map((fn) => fn.name))(
    `%s is at most ${SIZE_BUDGET}× its floor (the SDK clients it uses, and nothing else)`,
    (name) => {
      const { own, floor } = sizes.get(name)!;
      expect(own.bytes / floor.bytes).toBeLessThanOrEqual(SIZE_BUDGET);
    },
  );

  it.each(FUNCTIONS.filter((fn) => fn.clients.length === 0).map((fn) => fn.name))('%s, which uses no AWS SDK, stays under 64 KB', (name) => {
    expect(sizes.get(name)!.own.bytes).toBeLessThanOrEqual(SDK_FREE_CAP_BYTES);
  });
  it.each(functions.map((fn) => fn.name))('%s bundles none of the OpenAPI document\'s assembly: the catalogue serves the document computed at synth', (name) => {
    const code = readFileSync(sizes.get(name)!.own.file, 'utf8');
    // Words of the assembly (openapi.ts) and of the answers' schemas (response-schemas.ts), which minifying keeps.
    const markers = ['getOpenApiDocument', 'A row of an execution\'s history.'];
    for (const marker of markers) expect(code.includes(marker), marker).toBe(false);
  });
  it('the catalogue bundles the OpenAPI document as the compressed data written at synth', () => {
    const [written] = readdirSync(out).filter((file) => /^openapi-document\.[0-9a-f]+\.mjs$/.test(file));
    const encoded = JSON.parse(readFileSync(join(out, written!), 'utf8').replace(/^export default /, '').replace(/;\s*$/, '')) as string;
    expect(readFileSync(sizes.get('catalogue')!.own.file, 'utf8')).toContain(encoded);
  });
});

describe('operation budgets on the local stack', () => {
  let metered: MeteredStack;
  let report: OperationReport;
  let admission: AdmissionReport;

  beforeAll(async () => {
    metered = await startMeteredStack();
    report = await measureOperations(metered, { holdSeconds: HOLD_SECONDS });
    admission = await measureAdmission(metered, 3, 4);
  }, 180_000);

  afterAll(async () => {
    await metered?.stop();
  });

  it('writes exactly one transaction per status transition', () => {
    for (const execution of report.executions) {
      expect(execution.transactions, execution.task).toBe(execution.transitions);
    }
  });

  it('enters at most two Step Functions states per user step on the success path', () => {
    for (const execution of report.executions) {
      expect(execution.stateTransitions / execution.userSteps, execution.task).toBeLessThanOrEqual(2);
    }
  });

  it('reads an execution with one GetItem and a list page with one Query (of executions: of an index of keys, then one BatchGetItem of the page\'s records)', () => {
    const gets = report.calls.filter((call) => call.call.startsWith('GET ') && call.call !== report.held.call);
    expect(gets.length).toBeGreaterThanOrEqual(5);
    for (const call of gets) {
      expect(call.status, call.call).toBe(200);
      const expected = call.call === 'GET /executions/{id}' ? ['GetItem'] : call.call.includes('/transitions') ? ['Query'] : ['Query', 'BatchGetItem'];
      expect(call.operations, call.call).toEqual(expected);
    }
  });

  it('holds a GET (Prefer: wait) with one GetItem on arrival and one per scheduled poll at most, and answers 304 at the deadline', () => {
    const { held } = report;

    expect(held.status).toBe(304);
    expect(held.heldMs).toBeGreaterThanOrEqual(HOLD_SECONDS * 1000);
    expect(new Set(held.operations)).toEqual(new Set(['GetItem']));
    expect(held.operations.length).toBeGreaterThanOrEqual(2);
    expect(held.operations.length).toBeLessThanOrEqual(1 + scheduledPolls(HOLD_SECONDS * 1000));
  });

  it('creates with one transaction', () => {
    for (const call of report.calls.filter((c) => c.call.startsWith('POST /tasks/'))) {
      expect(call.operations, call.call).toEqual(['TransactWriteItems']);
    }
  });

  it('adds no DynamoDB write (budget: at most 2) and no read to an execution of a tenant without concurrency limits', () => {
    expect(admission.unlimited.extraWritesPerExecution).toBeLessThanOrEqual(2);
    expect(admission.unlimited.extraWritesPerExecution).toBe(0);
    expect(admission.unlimited.extraReadsPerExecution).toBe(0);
  });

  it('holds and admits an execution of a tenant with limits in at most 3 more writes (place, admit, release)', () => {
    expect(admission.limited.writesPerExecution).toBeGreaterThan(0);
    expect(admission.limited.writesPerExecution).toBeLessThanOrEqual(3);
    expect(admission.limited.slotToStart.samples).toBe(admission.limited.executions - 1);
  });

  it('counts each create and each read of executions with exactly one rate counter write, and a resume or cancel with none', () => {
    for (const call of report.calls.filter((c) => c.call.startsWith('POST /tasks/') || (c.call.startsWith('GET ') && c.call !== report.held.call))) {
      expect(call.rateCounterWrites, call.call).toBe(1);
    }
    expect(report.held.rateCounterWrites).toBe(1);
    for (const call of report.calls.filter((c) => c.call.endsWith('/resume') || c.call.endsWith('/cancel'))) {
      expect(call.rateCounterWrites, call.call).toBe(0);
    }
    for (const execution of report.executions) expect(execution.rateCounterWrites, execution.task).toBe(1);
  });

  it('never scans', () => {
    expect(report.scans).toBe(0);
  });
});
