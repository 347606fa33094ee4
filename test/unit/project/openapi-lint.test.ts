import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOCUMENT_PATH } from '../../../scripts/openapi-document.js';

const ROOT = join(import.meta.dirname, '../../..');
/** Redocly CLI, a dev dependency: run from the checkout, on this Node, offline. */
const CLI = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'openapi-lint-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number };
  readonly problems: ReadonlyArray<{ readonly ruleId: string; readonly message: string; readonly location?: ReadonlyArray<{ readonly pointer?: string }> }>;
}

/** `redocly lint` of a file with the project's redocly.yaml (the recommended rules, warnings as errors), its JSON report. */
function lint(file: string): LintReport {
  const run = spawnSync(process.execPath, [CLI, 'lint', file, '--format=json', '--config', join(ROOT, 'redocly.yaml')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    // No telemetry and no update check: the linter needs no network and sends nothing.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  if (run.error) throw run.error;
  try {
    return JSON.parse(run.stdout) as LintReport;
  } catch {
    throw new Error(`redocly lint printed no report (exit ${run.status}): ${run.stdout}\n${run.stderr}`);
  }
}

const summary = (report: LintReport): string =>
  report.problems.map((problem) => `${problem.ruleId} at ${problem.location?.[0]?.pointer ?? '?'}: ${problem.message}`).join('\n');

describe('docs/openapi.json under Redocly\'s linter', () => {
  it('passes its recommended rules with no error and no warning', () => {
    const report = lint(join(ROOT, DOCUMENT_PATH));

    expect(report.totals, summary(report)).toEqual(expect.objectContaining({ errors: 0, warnings: 0 }));
  });

  it('fails a document with an unused schema or an operation without a summary (the lint is not vacuous)', () => {
    const document = JSON.parse(readFileSync(join(ROOT, DOCUMENT_PATH), 'utf8')) as {
      components: { schemas: Record<string, unknown> };
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    document.components.schemas.Unused = { type: 'string' };
    delete document.paths['/health']!.get!.summary;
    const broken = join(scratch, 'broken.json');
    writeFileSync(broken, JSON.stringify(document));

    const report = lint(broken);

    expect(report.problems.map((problem) => problem.ruleId).sort()).toEqual(['no-unused-components', 'operation-summary']);
  });
});
