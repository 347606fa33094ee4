import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceFunction, bundlingOptions } from '../../infra/constructs/service-function.js';
import { ROOT, bundle, esbuildOptionsOf } from '../../scripts/bench/bundle.js';

/**
 * Minified bundles must keep class names: an error's `name` is what Step Functions matches
 * `Retry`/`Catch` against and what the logs show, so it must be the same on AWS as locally.
 */
const out = mkdtempSync(join(tmpdir(), 'bundle-names-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Module of a bundle built as deployed: the service's errors, and an error class as a task author writes one. */
interface ErrorsModule {
  readonly NotFoundError: new (message: string) => Error;
  readonly ServiceUnavailableError: new (message: string) => Error;
  readonly ExecutionEndedError: new (message: string) => Error;
  readonly QuotaExceededError: new (message: string) => Error;
}

const ENTRY = `
export { NotFoundError, ServiceUnavailableError } from './lambdas/domain/errors.ts';
export { ExecutionEndedError } from './lambdas/runtime/payload.ts';
export class QuotaExceededError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}
`;

describe('bundles keep class names', () => {
  it('errors built with the deployed options keep their class names, as Lambda reports them to Step Functions', async () => {
    const built = await bundle('errors', { contents: ENTRY }, out);
    const errors = (await import(pathToFileURL(built.file).href)) as ErrorsModule;

    expect(new errors.NotFoundError('gone').name).toBe('NotFoundError');
    expect(new errors.ServiceUnavailableError('busy').name).toBe('ServiceUnavailableError');
    expect(new errors.ExecutionEndedError('ended').name).toBe('ExecutionEnded');
    expect(new errors.QuotaExceededError('too many').name).toBe('QuotaExceededError');
  });

  it('the benchmark builds a function byte for byte as CDK bundles it for deployment', async () => {
    const entry = 'api/executions-read.ts';
    const app = new App({ outdir: join(out, 'cdk.out') });
    new ServiceFunction(new Stack(app, 'Bundles'), 'Read', { entry, description: 'Reads executions' });
    const { directory } = app.synth();
    const assets = readdirSync(directory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const deployed = readFileSync(join(directory, assets[0]!, 'index.mjs'));

    const benchmarked = await bundle('read', join(ROOT, 'lambdas', entry), out);

    expect(readFileSync(benchmarked.file).equals(deployed)).toBe(true);
    expect(deployed.includes('"NotFoundError"'), 'the deployed read bundle still names NotFoundError').toBe(true);
  }, 60_000);

  it('refuses bundling options the benchmark would not apply as CDK does', () => {
    expect(() => esbuildOptionsOf({ ...bundlingOptions(), footer: '// end' })).toThrow(/does not map the bundling options footer/);
    expect(() => esbuildOptionsOf({ ...bundlingOptions(), externalModules: undefined })).toThrow(/must set externalModules/);
  });
});
