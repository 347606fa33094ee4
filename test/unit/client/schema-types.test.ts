import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('client/schema.d.ts', () => {
  it('is what openapi-typescript makes of docs/openapi.json now (npm run client:types regenerates it)', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/client-types.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
