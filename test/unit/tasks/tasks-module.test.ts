import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkoutTempDir } from '../../support/checkout-temp.js';
import { chooseTasksModule, DEFAULT_TASKS_MODULE, loadTasksModule, resolveTemplatePath, tasksOf, templatePathOf } from '../../../infra/tasks-module.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURE = join(ROOT, 'test/infra/fixtures/one-task.ts');
const dir = checkoutTempDir('tasks-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function moduleFile(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

const TASK = (id: string) => `defineTask({ id: '${id}', description: 'd', kind: 'test', input: z.object({}), examples: [{}], steps: [step('s', () => 1)] })`;
const HEADER = "import * as z from 'zod/mini';\nimport { defineTask, step } from 'async-executions/tasks';\n";

describe('choosing the tasks module', () => {
  it('takes --tasks / -c tasks= first, then TASKS_MODULE, then the example tasks', () => {
    expect(chooseTasksModule('a.ts', { TASKS_MODULE: 'b.ts' })).toBe(resolve('a.ts'));
    expect(chooseTasksModule(undefined, { TASKS_MODULE: 'b.ts' })).toBe(resolve('b.ts'));
    expect(chooseTasksModule(undefined, {})).toBe(DEFAULT_TASKS_MODULE);
    expect(DEFAULT_TASKS_MODULE).toBe(join(ROOT, 'examples/tasks/index.ts'));
  });

  it('reads a relative path from the directory the user ran npm in (INIT_CWD), not the project root npm runs scripts in', () => {
    expect(chooseTasksModule('my-tasks.ts', { INIT_CWD: '/home/ana/work' })).toBe('/home/ana/work/my-tasks.ts');
    expect(chooseTasksModule(undefined, { INIT_CWD: '/home/ana/work', TASKS_MODULE: '../t.ts' })).toBe('/home/ana/t.ts');
    expect(chooseTasksModule('/abs/t.ts', { INIT_CWD: '/home/ana/work' })).toBe('/abs/t.ts');
  });

  it('records a module in the template relative to the project, and reads it back', () => {
    expect(templatePathOf(FIXTURE)).toBe('test/infra/fixtures/one-task.ts');
    expect(resolveTemplatePath(templatePathOf(FIXTURE))).toBe(FIXTURE);
  });
});

describe('loading a tasks module', () => {
  it('returns its path and its tasks', async () => {
    const loaded = await loadTasksModule(FIXTURE);
    expect(loaded.path).toBe(FIXTURE);
    expect(loaded.tasks.map((task) => task.id)).toEqual(['fixture-only']);
  });

  it('names the file when it does not exist', async () => {
    const missing = join(dir, 'missing.ts');
    await expect(loadTasksModule(missing)).rejects.toThrow(`Tasks module ${missing} does not exist`);
  });

  it('names the file when it exports no tasks array', async () => {
    const file = moduleFile('no-tasks.ts', `${HEADER}export const task = ${TASK('lonely')};\n`);
    await expect(loadTasksModule(file)).rejects.toThrow(`Tasks module ${file} must export "tasks", an array of task definitions (defineTask); it exports no "tasks"`);
  });

  it('names the file and the id when an id is used twice', async () => {
    const file = moduleFile('twice.ts', `${HEADER}export const tasks = [${TASK('same')}, ${TASK('same')}];\n`);
    await expect(loadTasksModule(file)).rejects.toThrow(`Tasks module ${file}: task id "same" is used twice`);
  });

  it('names the file when it fails to load', async () => {
    const file = moduleFile('broken.ts', `${HEADER}throw new Error('no such thing');\n`);
    await expect(loadTasksModule(file)).rejects.toThrow(`Tasks module ${file} could not be loaded: no such thing`);
  });
});

describe('where each task is exported from the file that defined it (what its step functions bundle)', () => {
  it('finds named and default exports of the defining file, and leaves out tasks defined inline or through a helper in another file', async () => {
    const alphaFile = moduleFile('exports-alpha.ts', `${HEADER}export const alpha = ${TASK('alpha')};\n`);
    const betaFile = moduleFile('exports-beta.ts', `${HEADER}export default ${TASK('beta')};\n`);
    moduleFile('exports-helper.ts', `${HEADER}export const make = (id: string) => ${TASK("' + id + '")};\n`);
    moduleFile('exports-gamma.ts', `import { make } from './exports-helper.js';\nexport const gamma = make('gamma');\n`);
    const index = moduleFile(
      'exports-index.ts',
      `${HEADER}import { alpha } from './exports-alpha.js';\nimport beta from './exports-beta.js';\nimport { gamma } from './exports-gamma.js';\n` +
        `export const tasks = [alpha, beta, gamma, ${TASK('inline')}];\n`,
    );

    const loaded = await loadTasksModule(index);

    const byId = new Map(loaded.tasks.map((task) => [task.id, loaded.taskExports?.get(task)]));
    expect(byId.get('alpha')).toEqual({ file: alphaFile, name: 'alpha' });
    expect(byId.get('beta')).toEqual({ file: betaFile, name: 'default' });
    expect(byId.get('gamma')).toBeUndefined();
    expect(byId.get('inline')).toBeUndefined();
  });
});

describe('checking the tasks export', () => {
  it('refuses an empty list and entries that are not task definitions', () => {
    expect(() => tasksOf({ tasks: [] }, 'm.ts')).toThrow('Tasks module m.ts exports an empty "tasks" array');
    expect(() => tasksOf({ tasks: [{ id: 'x' }] }, 'm.ts')).toThrow('Tasks module m.ts: tasks[0] is not a task definition (defineTask)');
    expect(() => tasksOf({ tasks: 'x' }, 'm.ts')).toThrow('it exports "tasks" as string');
  });
});
