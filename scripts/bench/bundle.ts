import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundlingOptions } from '../../infra/constructs/service-function.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A built bundle and its sizes. */
export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

const options = bundlingOptions();

/**
 * Bundles `entry` with the options CDK's NodejsFunction passes to esbuild for this project
 * (`bundlingOptions()`: ESM, node24, minified, main fields module/main, the require banner;
 * the source map is written beside it and not counted).
 */
export async function bundle(name: string, entry: string | { readonly contents: string }, outDir: string): Promise<Bundle> {
  const file = join(outDir, name, 'index.mjs');
  mkdirSync(join(outDir, name), { recursive: true });
  await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, sourcefile: `${name}.mjs`, loader: 'js' as const } }),
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: options.target,
    minify: options.minify,
    sourcemap: options.sourceMap ? 'external' : false,
    sourcesContent: options.sourcesContent,
    mainFields: options.mainFields,
    banner: { js: options.banner ?? '' },
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

/** The AWS SDK clients a function constructs; its floor constructs exactly these. */
export type Client = 'dynamodb' | 'sfn';

/** Writes and bundles the floor of a function: a handler that only imports and constructs its clients. */
export async function floorBundle(name: string, clients: readonly Client[], outDir: string): Promise<Bundle> {
  const lines = [
    ...(clients.includes('dynamodb')
      ? [
          "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
          "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
          'const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));',
        ]
      : []),
    ...(clients.includes('sfn') ? ["import { SFNClient } from '@aws-sdk/client-sfn';", 'const sfn = new SFNClient({});'] : []),
    `export const handler = async () => [${clients.map((client) => (client === 'dynamodb' ? 'ddb' : 'sfn')).join(', ')}].length;`,
  ];
  return bundle(name, { contents: `${lines.join('\n')}\n` }, outDir);
}
