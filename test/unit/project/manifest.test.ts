import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const read = (file: string) => JSON.parse(readFileSync(resolve(ROOT, file), 'utf8')) as Record<string, unknown>;

describe('package manifest and lock', () => {
  it('records exactly the dependency ranges of package.json, so npm install leaves a clean clone clean', () => {
    const manifest = read('package.json');
    const root = (read('package-lock.json').packages as Record<string, Record<string, unknown>>)[''];

    expect(root?.dependencies).toEqual(manifest.dependencies);
    expect(root?.devDependencies).toEqual(manifest.devDependencies);
    expect(root?.peerDependencies).toEqual(manifest.peerDependencies);
  });

  it('pins every direct dependency to one exact version', () => {
    const manifest = read('package.json');
    const ranges = Object.entries({ ...(manifest.dependencies as object), ...(manifest.devDependencies as object) });

    expect(ranges.filter(([, range]) => !/^\d+\.\d+\.\d+$/.test(String(range)))).toEqual([]);
  });

  it('takes aws-cdk-lib, constructs and esbuild as peers from the app (one copy of the construct classes; the esbuild CDK bundles with), each a caret range on the version the checkout pins and tests', () => {
    const manifest = read('package.json');
    const devDependencies = manifest.devDependencies as Record<string, string>;

    expect(manifest.peerDependencies).toEqual({
      'aws-cdk-lib': `^${devDependencies['aws-cdk-lib']}`,
      constructs: `^${devDependencies.constructs}`,
      esbuild: `^${devDependencies.esbuild}`,
    });
  });
});
