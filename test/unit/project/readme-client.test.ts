import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkoutTempDir } from '../../support/checkout-temp.js';
import { readmeBlock } from '../../support/readme.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = checkoutTempDir('readme-client-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the README "Client" example', () => {
  it('typechecks against async-executions/client with the project compiler options', () => {
    const file = join(dir, 'readme-client.ts');
    writeFileSync(file, readmeBlock('## Client', 'ts'));
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const options = ['--ignoreConfig', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node', '--verbatimModuleSyntax', '--noUncheckedIndexedAccess'];

    expect(() => execFileSync(tsc, [...options, file], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });
});
