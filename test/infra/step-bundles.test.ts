import { writeTaskCatalogue } from '../../infra/task-catalogue.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { TableV2, AttributeType } from 'aws-cdk-lib/aws-dynamodb';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKS_MODULE_CONTEXT } from '../../infra/constructs/service-function.js';
import { TaskRuntime } from '../../infra/constructs/task-runtime.js';
import { TASK_MODULES_DIR } from '../../infra/task-bundles.js';
import { loadTasksModule, PROJECT_DIR } from '../../infra/tasks-module.js';
import { HEAVY_MARKER } from '../../scripts/bench/reference/split-tasks/heavy-task.js';
import { INLINE_MARKER } from '../../scripts/bench/reference/split-tasks/index.js';
import { LIGHT_MARKER } from '../../scripts/bench/reference/split-tasks/light-task.js';
import { bundle, ROOT } from '../../scripts/bench/bundle.js';
import { stepFunctionsOf } from '../../scripts/bench/functions.js';

/**
 * The step functions' bundles, built by CDK as for a deployment (esbuild, the project's options), for
 * a tasks module of a light task and a heavy one, each in a file of its own, and one defined inline.
 */
const SPLIT_TASKS = join(PROJECT_DIR, 'scripts/bench/reference/split-tasks/index.ts');
const out = mkdtempSync(join(tmpdir(), 'step-bundles-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let runtime: TaskRuntime;
let outdir: string;

beforeAll(async () => {
  const tasksModule = await loadTasksModule(SPLIT_TASKS);
  const app = new App({ outdir: join(out, 'cdk.out') });
  outdir = app.outdir;
  const stack = new Stack(app, 'Bundles');
  stack.node.setContext(TASKS_MODULE_CONTEXT, tasksModule.path);
  const table = new TableV2(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  runtime = new TaskRuntime(stack, 'Runtime', {
    table,
    tasks: tasksModule.tasks,
    namePrefix: 'Bundles-',
    environment: { TABLE_NAME: table.tableName },
    taskCatalogue: writeTaskCatalogue(app.outdir, tasksModule.tasks),
    ...(tasksModule.taskExports ? { taskExports: tasksModule.taskExports } : {}),
  });
}, 120_000);

/** The deployed code of the function of a Lambda step. */
function bundleOf(step: string): string {
  const fn = runtime.stepFunctions.get(step);
  if (!fn) throw new Error(`No function for ${step}`);
  const asset = fn.node.findChild('Code');
  if (!(asset instanceof Asset)) throw new Error(`${step} has no code asset`);
  return readFileSync(join(outdir, asset.assetPath, 'index.mjs'), 'utf8');
}

describe('step function bundles', () => {
  it('a task exported from its own file: its step function holds its code and not the other tasks\'', () => {
    const light = bundleOf('light-task/echo');
    const heavy = bundleOf('heavy-task/parse');

    expect(light).toContain(LIGHT_MARKER);
    expect(light).not.toContain(HEAVY_MARKER);
    expect(light).not.toContain(INLINE_MARKER);
    expect(heavy).toContain(HEAVY_MARKER);
    expect(heavy).not.toContain(LIGHT_MARKER);
    expect(heavy).not.toContain(INLINE_MARKER);
  });

  it('the heavy import weighs only on the heavy task\'s step function', () => {
    const light = Buffer.byteLength(bundleOf('light-task/echo'));
    const heavy = Buffer.byteLength(bundleOf('heavy-task/parse'));

    expect(heavy - light).toBeGreaterThan(100 * 1024);
  });

  it('a task that no file exports by name falls back to the whole tasks module', () => {
    const inline = bundleOf('inline-task/echo');

    expect(inline).toContain(INLINE_MARKER);
    expect(inline).toContain(LIGHT_MARKER);
    expect(inline).toContain(HEAVY_MARKER);
  });

  it('the benchmark builds a step function byte for byte as CDK bundles it for deployment', async () => {
    const benchDir = join(out, 'bench');
    const spec = (await stepFunctionsOf(SPLIT_TASKS, benchDir)).find((fn) => fn.name === 'step:light-task/echo')!;

    const benchmarked = await bundle('light', join(ROOT, 'lambdas', spec.entry), benchDir, { tasksModule: spec.tasksModule });

    expect(readFileSync(benchmarked.file, 'utf8')).toBe(bundleOf('light-task/echo'));
  });

  it('generates a tasks module per task exported from its own file, in the cloud assembly, importing that file relative to itself', () => {
    const folder = join(outdir, TASK_MODULES_DIR);
    const files = readdirSync(folder).sort();

    expect(files).toEqual([expect.stringMatching(/^heavy-task-[0-9a-f]{12}\.mjs$/), expect.stringMatching(/^light-task-[0-9a-f]{12}\.mjs$/)]);
    const light = readFileSync(join(folder, files[1]!), 'utf8');
    expect(light).toMatch(/^import \{ lightTask as task \} from "(\.\.\/)+.*scripts\/bench\/reference\/split-tasks\/light-task\.ts";$/m);
    expect(light).toContain('export const tasks = [task];');
  });
});
