import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_METADATA_KEY, OPENAPI_DOCUMENT_METADATA_KEY, TASK_CATALOGUE_METADATA_KEY, TASKS_MODULE_METADATA_KEY } from '../../infra/constructs/service-function.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { writeTaskCatalogue } from '../../infra/task-catalogue.js';
import { loadTasksModule, resolveTemplatePath } from '../../infra/tasks-module.js';
import { decodeOpenApiTemplate } from '../../lambdas/api/openapi-template.js';
import type { TaskCatalogue } from '../../lambdas/tasks/task-catalogue.js';
import { ROOT, bundle } from '../../scripts/bench/bundle.js';
import { checkoutTempDir } from '../support/checkout-temp.js';
import { testApp } from './support.js';

/**
 * Issue 10: no API function bundles task code. A tasks module whose step handler holds a unique
 * marker is synthesized into a stack; every function is then bundled as the stack tells CDK to
 * (its entry, and the tasks module or task catalogue its template metadata names): the marker must
 * be in the bundles of the functions that run steps, and in no API function's.
 */
const MARKER = 'STEP_CODE_MARKER_4c1e9b';
const dir = checkoutTempDir('task-code-');
const out = mkdtempSync(join(tmpdir(), 'task-code-bundles-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const TASKS_FILE = join(dir, 'marked-tasks.ts');
writeFileSync(
  TASKS_FILE,
  `import * as z from 'zod/mini';
import { defineTask, step, waitForInput } from 'async-executions/tasks';

export const tasks = [
  defineTask({
    id: 'marked',
    description: 'A task whose step code can be told apart.',
    kind: 'test',
    input: z.strictObject({ n: z.int().check(z.minimum(1, 'must be a positive count')) }),
    examples: [{ n: 1 }],
    steps: [
      step('mark', (input: { n: number }) => ({ marked: '${MARKER}'.repeat(input.n) })),
      waitForInput('approve', { input: z.strictObject({ ok: z.boolean() }) }),
    ],
  }),
];
`,
);

interface Fn {
  readonly entry: string;
  readonly tasksModule?: string;
  readonly taskCatalogue?: string;
  readonly openApiDocument?: string;
}

let functions: Fn[];
const code = new Map<string, string>();

beforeAll(async () => {
  const stack = new ExecutionsStack(testApp(), 'Marked', { tasksModule: await loadTasksModule(TASKS_FILE) });
  const outdir = Stage.of(stack)!.outdir;
  const resources = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<string, { Metadata?: Record<string, string> }>;
  functions = Object.values(resources).map(({ Metadata: metadata = {} }) => ({
    entry: metadata[ENTRY_METADATA_KEY]!,
    ...(metadata[TASKS_MODULE_METADATA_KEY] ? { tasksModule: resolveTemplatePath(metadata[TASKS_MODULE_METADATA_KEY]) } : {}),
    ...(metadata[TASK_CATALOGUE_METADATA_KEY] ? { taskCatalogue: resolve(outdir, metadata[TASK_CATALOGUE_METADATA_KEY]) } : {}),
    ...(metadata[OPENAPI_DOCUMENT_METADATA_KEY] ? { openApiDocument: resolve(outdir, metadata[OPENAPI_DOCUMENT_METADATA_KEY]) } : {}),
  }));
  for (const fn of functions) {
    const built = await bundle(fn.entry.replaceAll('/', '-').replace(/\.ts$/, ''), join(ROOT, 'lambdas', fn.entry), out, fn);
    code.set(fn.entry, readFileSync(built.file, 'utf8'));
  }
}, 120_000);

const API_ENTRIES = ['api/executions-create.ts', 'api/executions-read.ts', 'api/executions-events.ts', 'api/executions-control.ts', 'api/catalogue.ts', 'api/authorizer.ts'];

describe('what the functions bundle of the tasks', () => {
  it('the stack has every API function and both functions that run steps', () => {
    expect(functions.map((fn) => fn.entry)).toEqual(expect.arrayContaining([...API_ENTRIES, 'runtime/step-handler.ts', 'runtime/wait-handler.ts']));
  });

  it.each(API_ENTRIES)('%s bundles no task code and no zod', (entry) => {
    const bundled = code.get(entry)!;

    expect(bundled.includes(MARKER), 'the step handler of the tasks module').toBe(false);
    expect(bundled.includes('$ZodType'), 'zod').toBe(false);
  });

  it('the step functions, which run task code, bundle the tasks module', () => {
    expect(code.get('runtime/step-handler.ts')!.includes(MARKER)).toBe(true);
  });

  it.each(['runtime/wait-handler.ts', 'runtime/record-handler.ts', 'runtime/child-start-handler.ts'])(
    '%s, which records steps or starts children but runs no task code, bundles the catalogue and no task code or zod',
    (entry) => {
      expect(code.get(entry)!.includes(MARKER)).toBe(false);
      expect(code.get(entry)!.includes('$ZodType')).toBe(false);
    },
  );

  it('create, batch, control, recovery, catalogue, schedules, the bulk worker, wait, recorder, child start and schedule run bundle the task catalogue the stack wrote beside its template, which holds the schemas and the author\'s words', () => {
    const withCatalogue = functions.filter((fn) => fn.taskCatalogue);
    expect(withCatalogue.map((fn) => fn.entry).sort()).toEqual([
      'api/catalogue.ts',
      'api/executions-batch.ts',
      'api/executions-control.ts',
      'api/executions-create.ts',
      'api/executions-recovery.ts',
      'api/schedules.ts',
      'runtime/bulk-worker-handler.ts',
      'runtime/child-start-handler.ts',
      'runtime/record-handler.ts',
      'runtime/schedule-run-handler.ts',
      'runtime/wait-handler.ts',
    ]);
    const [path] = new Set(withCatalogue.map((fn) => fn.taskCatalogue!));
    const catalogue = JSON.parse(readFileSync(path!, 'utf8')) as TaskCatalogue;

    expect(catalogue.tasks.map((task) => [task.id, task.steps.map((step) => step.name)])).toEqual([['marked', ['mark', 'approve']]]);
    expect(Object.keys(catalogue.tasks[0]!.resume)).toEqual(['1']);
    for (const fn of withCatalogue) expect(code.get(fn.entry)).toContain('must be a positive count');
    expect(readFileSync(path!, 'utf8')).not.toContain(MARKER);
  });

  it('only the functions that run steps name the tasks module', () => {
    expect([...new Set(functions.filter((fn) => fn.tasksModule).map((fn) => fn.entry))]).toEqual(['runtime/step-handler.ts']);
    for (const fn of functions.filter((candidate) => candidate.tasksModule)) expect(fn.tasksModule).toBe(TASKS_FILE);
  });

  it('only the catalogue function bundles the OpenAPI document the stack wrote beside its template, as data: compressed, with none of openapi.ts', () => {
    const withDocument = functions.filter((fn) => fn.openApiDocument);
    expect(withDocument.map((fn) => fn.entry)).toEqual(['api/catalogue.ts']);
    const written = readFileSync(withDocument[0]!.openApiDocument!, 'utf8');
    const encoded = JSON.parse(written.replace(/^export default /, '').replace(/;\s*$/, '')) as string;
    const document = decodeOpenApiTemplate(encoded) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };

    expect(Object.keys(document.components.schemas)).toContain('TaskInput.marked');
    expect(document.paths).toHaveProperty(['/executions/{id}/events']);
    const bundled = code.get('api/catalogue.ts')!;
    expect(bundled).toContain(encoded);
    expect(bundled.includes('getOpenApiDocument'), 'the words of openapi.ts').toBe(false);
    expect(bundled.includes('A row of an execution\'s history.'), 'the answers\' schemas').toBe(false);
  });

  it('writes the catalogue under an absolute path even into a relative outdir, as `cdk synth` gives one (esbuild read a relative alias as a package name)', async () => {
    const { tasks } = await loadTasksModule(TASKS_FILE);
    const path = writeTaskCatalogue(relative(process.cwd(), dir), tasks);

    expect(isAbsolute(path)).toBe(true);
    expect(path.startsWith(dir)).toBe(true);
    expect(writeTaskCatalogue(dir, tasks)).toBe(path);
  });
});
