import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` synthesizes through the CDK CLI, which runs infra/app.ts with its context in
// CDK_CONTEXT_JSON. The integration tasks module takes the stack past CloudFormation's 500
// resources: with the limit lifted as npm start lifts it, the app must still synthesize.

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const outdir = mkdtempSync(join(tmpdir(), 'app-resource-limit-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Runs infra/app.ts as the CDK CLI would, bundling skipped (the template is what is checked). */
async function synth(context: Record<string, unknown>): Promise<{ code: number; stderr: string }> {
  const env = {
    ...process.env,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], tasks: join(ROOT, 'test/integration/test-tasks.ts'), ...context }),
  };
  try {
    const { stderr } = await run(process.execPath, ['--import', 'tsx', 'infra/app.ts'], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? 1, stderr: failed.stderr ?? String(error) };
  }
}

describe('infra/app.ts past 500 resources', () => {
  it('synthesizes a tasks module over the limit when npm start lifts it, and refuses it otherwise', async () => {
    const lifted = await synth({ '@aws-cdk/core:stackResourceLimit': '0' });
    expect(lifted.stderr).not.toMatch(/maximum is 500|TooManyResourcesInStack/);
    expect(lifted.code).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'AsyncExecutions.template.json'), 'utf8')) as { Resources: Record<string, unknown> };
    expect(Object.keys(template.Resources).length).toBeGreaterThan(500);

    const deployed = await synth({});
    expect(deployed.code).not.toBe(0);
    expect(deployed.stderr).toMatch(/TooManyResourcesInStack|maximum is 500/);
  }, 240_000);
});
