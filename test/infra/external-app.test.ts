import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENTRY_METADATA_KEY } from '../../infra/constructs/service-function.js';

/**
 * A user's own CDK app outside the checkout, deploying the service with its own tasks, as the
 * README's "Deploy the service from your own CDK app" shows. The package is installed as npm would
 * install it: `npm pack` of this checkout unpacked into the app's node_modules (so no lock file of
 * ours, and every path outside the checkout). Its dependencies are symlinked from this checkout's
 * node_modules rather than installed, because `npm install <tarball> --offline` cannot resolve them
 * without network (the npm cache holds tarballs but not the registry's package documents); a
 * symlink resolves to the same file, so the app and the package share one aws-cdk-lib, as
 * peer dependencies do in a real install.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
// realpath: on macOS tmpdir() is a symlink, and CDK compares the paths it is given.
const work = mkdtempSync(join(realpathSync(tmpdir()), 'async-executions-app-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MARKER = 'USER_TASK_MARKER_7f3a';

/** Builds the user's app in `work/app`: the packed package, its dependencies, a lock file, app.ts and my-tasks.ts. */
function buildApp(): string {
  const app = join(work, 'app');
  const installed = join(app, 'node_modules/async-executions');
  mkdirSync(installed, { recursive: true });
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string }[];
  execFileSync('tar', ['-xzf', join(work, packed!.filename), '-C', installed, '--strip-components=1']);
  // The user's app resolves tsx and zod itself; the package's dependencies and peers would be hoisted beside it.
  for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies), 'tsx']) {
    const link = join(app, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
  }
  // npm writes one at install; bundling finds it, since the packed package ships none.
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'my-cdk-app', lockfileVersion: 3, requires: true, packages: {} }));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-cdk-app', private: true, type: 'module' }));
  writeFileSync(
    join(app, 'my-tasks.ts'),
    `import * as z from 'zod/mini';
import { defineTask, step } from 'async-executions/tasks';

export const tasks = [
  defineTask({
    id: 'user-greeting',
    description: 'Greets the user.',
    kind: 'test',
    input: z.strictObject({ name: z.string() }),
    examples: [{ name: 'Ada' }],
    steps: [step('greet', (input: { name: string }) => ({ greeting: '${MARKER} ' + input.name }))],
  }),
];
`,
  );
  writeFileSync(
    join(app, 'app.ts'),
    `import { App } from 'aws-cdk-lib';
import { ExecutionsStack, loadTasksModule } from 'async-executions/infra';

const app = new App({ outdir: process.env.OUTDIR });
new ExecutionsStack(app, 'AsyncExecutions', { tasksModule: await loadTasksModule('./my-tasks.ts') });
app.synth();
`,
  );
  return app;
}

describe('a CDK app of its own that installed the package', () => {
  it('synthesizes the stack with its tasks, every function bundled (esbuild, #tasks aliased to its tasks file where steps run)', () => {
    const app = buildApp();
    const outdir = join(work, 'cdk.out');
    execFileSync(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: app, env: { ...process.env, OUTDIR: outdir }, stdio: ['ignore', 'ignore', 'pipe'] });

    const template = JSON.parse(readFileSync(join(outdir, 'AsyncExecutions.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, string> }>;
    };
    const resources = Object.values(template.Resources);
    const machines = resources.filter((resource) => resource.Type === 'AWS::StepFunctions::StateMachine').map((machine) => machine.Properties?.StateMachineName);
    expect(machines).toEqual(['AsyncExecutions-user-greeting']);

    const bundles = readdirSync(outdir).filter((name) => name.startsWith('asset.')).map((name) => readFileSync(join(outdir, name, 'index.mjs'), 'utf8'));
    expect(bundles).toHaveLength(resources.filter((resource) => resource.Type === 'AWS::Lambda::Function').length);
    // Exactly the functions that run steps bundle the step code; the API functions get the task catalogue.
    const withStepCode = resources
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      // A function's code is the asset its S3 key names: `<hash>.zip`, staged as `asset.<hash>`.
      .filter((fn) => {
        const key = String((fn.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key);
        return readFileSync(join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8').includes(MARKER);
      })
      .map((fn) => fn.Metadata![ENTRY_METADATA_KEY]);
    expect([...new Set(withStepCode)]).toEqual(['runtime/step-handler.ts']);
    // It bundles every function of the stack (over forty) with esbuild: a minute or two on a busy 2-core machine.
  }, 240_000);
});
