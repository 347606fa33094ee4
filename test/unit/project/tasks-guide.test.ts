import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTasksModule } from '../../../infra/tasks-module.js';
import { checkoutTempDir } from '../../support/checkout-temp.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = checkoutTempDir('tasks-guide-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first TypeScript block of docs/tasks.md: the complete tasks module of "From an empty file to a running task". */
function guideTasksModule(): string {
  const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'docs/tasks.md'), 'utf8'))?.[1];
  if (!block) throw new Error('docs/tasks.md has no ts block');
  return block;
}

describe('the docs/tasks.md example tasks module', () => {
  const file = join(dir, 'my-tasks.ts');
  writeFileSync(file, guideTasksModule());

  it('typechecks with the project compiler options', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const options = ['--ignoreConfig', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node', '--verbatimModuleSyntax', '--noUncheckedIndexedAccess'];
    expect(() => execFileSync(tsc, [...options, file], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  it('is a tasks module the stack loads, with every construct it shows', async () => {
    const { tasks } = await loadTasksModule(file);
    expect(tasks.map((task) => task.id)).toEqual(['check-orders']);
    expect(tasks[0]!.steps.map((entry) => entry.kind)).toEqual(['step', 'sleep', 'map', 'parallel', 'step']);
  });
});
