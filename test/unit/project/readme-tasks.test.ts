import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkoutTempDir } from '../../support/checkout-temp.js';
import { loadTasksModule } from '../../../infra/tasks-module.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = checkoutTempDir('readme-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first TypeScript block of the README's "Define a task" section. */
function readmeTasksModule(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Define a task'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md "Define a task" has no ts block');
  return block;
}

describe('the README "Define a task" example', () => {
  const file = join(dir, 'readme-tasks.ts');
  writeFileSync(file, readmeTasksModule());

  it('typechecks with the project compiler options (tsconfig.json itself is ignored: it names folders, not this file)', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const options = ['--ignoreConfig', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node', '--verbatimModuleSyntax', '--noUncheckedIndexedAccess'];
    expect(() => execFileSync(tsc, [...options, file], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  it('is a tasks module the stack can load', async () => {
    const loaded = await loadTasksModule(file);
    expect(loaded.tasks.length).toBeGreaterThan(0);
  });
});
