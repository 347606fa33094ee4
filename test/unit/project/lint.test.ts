import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('project rules', () => {
  it('holds every rule of scripts/lint.ts (kebab-case, no any, no focused tests, no Scan, JSDoc, docs that stand alone)', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lint.ts'], { cwd: ROOT, encoding: 'utf8' });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
