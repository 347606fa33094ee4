import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { checkoutTempDir } from '../../support/checkout-temp.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = checkoutTempDir('self-reference-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'my-tasks.ts');
writeFileSync(
  file,
  `import * as z from 'zod/mini';
import { defineTask, step, waitForInput } from 'async-executions/tasks';

export const tasks = [
  defineTask({
    id: 'self-referenced',
    description: 'Imports the DSL by the package name.',
    kind: 'test',
    input: z.strictObject({ n: z.int() }),
    examples: [{ n: 1 }],
    steps: [step('one', (input: { n: number }) => input), waitForInput('two')],
  }),
];
console.log(JSON.stringify(tasks.map((task) => task.id)));
`,
);

describe('the package name as a self-reference', () => {
  it('a tasks file importing async-executions/tasks runs under tsx', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(output.trim())).toEqual(['self-referenced']);
  });

  it('esbuild bundles it, the DSL included', async () => {
    const result = await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' });
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('self-referenced');
    expect(code).toContain('Task id must be kebab-case');
  });
});
