import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The project's own rules, beyond what the type checker enforces (`npm run lint` runs both).
 * Each rule says why it exists; a finding prints as `file:line rule: text`.
 */
const ROOT = resolve(import.meta.dirname, '..');
const DIRS = ['lambdas', 'infra', 'examples', 'local', 'scripts', 'test', 'client', 'cli'];

interface Rule {
  readonly name: string;
  readonly applies: (path: string) => boolean;
  readonly check: (lines: readonly string[], path: string) => Array<[number, string]>;
}

const inDir = (...dirs: string[]) => (path: string) => dirs.some((dir) => path.startsWith(`${dir}/`));
const matching = (pattern: RegExp, message: string) => (lines: readonly string[]) =>
  lines.flatMap((line, index): Array<[number, string]> => (pattern.test(line) ? [[index + 1, message]] : []));

const RULES: readonly Rule[] = [
  {
    name: 'kebab-case',
    applies: () => true,
    check: (_lines, path) =>
      /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*\.ts$/.test(path.split('/').pop()!) ? [] : [[1, 'file names are kebab-case']],
  },
  {
    name: 'no-any',
    // This file spells the pattern out, so it is the one file the rule cannot read.
    applies: (path) => path !== 'scripts/lint.ts',
    check: matching(/:\s*any\b(?![-\w])|\bas any\b(?=\s*[;,).\]]|\s*$)|<any>/, 'type it; `any` switches the checker off'),
  },
  {
    name: 'no-focused-tests',
    applies: inDir('test'),
    check: matching(/\b(it|test|describe)\.(only|skip|todo)\b|\bx(it|describe)\(/, 'every test must run'),
  },
  {
    name: 'no-scan',
    applies: inDir('lambdas'),
    check: matching(/\bScanCommand\b|dynamodb:Scan/, 'no Scan on any request path: query an index'),
  },
  {
    name: 'jsdoc-on-exports',
    // Generated declarations (client/schema.d.ts) carry the OpenAPI document's descriptions instead.
    applies: (path) => inDir('lambdas', 'infra', 'client', 'cli')(path) && !path.endsWith('.d.ts'),
    check: (lines) =>
      lines.flatMap((line, index): Array<[number, string]> => {
        if (!/^export (async )?(function|class|const|interface|type|abstract class) \w/.test(line)) return [];
        let previous = index - 1;
        while (previous >= 0 && /^\s*(\/\/|@)/.test(lines[previous]!)) previous--;
        return /\*\/\s*$/.test(lines[previous] ?? '') ? [] : [[index + 1, 'exports carry JSDoc']];
      }),
  },
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const findings = DIRS.flatMap((dir) => files(join(ROOT, dir))).flatMap((file) => {
  const path = relative(ROOT, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  return RULES.filter((rule) => rule.applies(path)).flatMap((rule) =>
    rule.check(lines, path).map(([line, message]) => `${path}:${line} ${rule.name}: ${message}`),
  );
});
// The docs ship with the repository and must stand alone: no links to files outside it.
const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
for (const doc of docs) {
  readFileSync(join(ROOT, doc), 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (/\.\.\/(\.\.\/)*shared\//.test(line)) findings.push(`${doc}:${index + 1} docs-stand-alone: point into the repository, not outside it`);
    });
}
for (const finding of findings) console.error(finding);
console.log(findings.length === 0 ? 'lint: no findings' : `lint: ${findings.length} findings`);
process.exit(findings.length === 0 ? 0 : 1);
