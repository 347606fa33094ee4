import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { bundlingOptions, type TaskImports } from '../../infra/constructs/service-function.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A built bundle and its sizes. */
export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/**
 * The esbuild options CDK's NodejsFunction derives from `options` (its esbuild command line:
 * `--platform=node`, `--sourcemap` for `sourceMap: true`, `--keep-names`…). An option this does not
 * map throws, so a new bundling option cannot silently make the benchmark measure other bundles
 * than the ones that deploy.
 */
export function esbuildOptionsOf(options: BundlingOptions): BuildOptions {
  const { format, target, minify, keepNames, sourceMap, sourcesContent, mainFields, externalModules, banner, esbuildArgs, ...rest } = options;
  const unmapped = Object.entries(rest).filter(([, value]) => value !== undefined);
  if (unmapped.length > 0) {
    throw new Error(`scripts/bench/bundle.ts does not map the bundling options ${unmapped.map(([key]) => key).join(', ')}`);
  }
  const { '--alias': alias, ...otherArgs } = esbuildArgs ?? {};
  if (Object.keys(otherArgs).length > 0) {
    throw new Error(`scripts/bench/bundle.ts does not map the esbuild arguments ${Object.keys(otherArgs).join(', ')}`);
  }
  // CDK passes each `--alias` (a string, or each item of an array) as `--alias:<name>=<path>`.
  const aliasList = typeof alias === 'string' ? [alias] : Array.isArray(alias) ? alias : [];
  const aliases = aliasList.length > 0 ? Object.fromEntries(aliasList.map((item) => item.split(/=(.*)/s).slice(0, 2) as [string, string])) : undefined;
  // CDK's default externals depend on the runtime and feature flags; the project names its own.
  if (externalModules === undefined) throw new Error('bundlingOptions() must set externalModules');
  return {
    bundle: true,
    platform: 'node',
    ...(format ? { format: format === OutputFormat.ESM ? 'esm' : 'cjs' } : {}),
    ...(target ? { target } : {}),
    minify: minify ?? false,
    keepNames: keepNames ?? false,
    // CDK passes a bare `--sourcemap` (linked: the map beside the bundle, its URL in a comment).
    sourcemap: sourceMap ? 'linked' : false,
    sourcesContent: sourcesContent ?? true,
    ...(mainFields ? { mainFields } : {}),
    external: externalModules,
    ...(banner ? { banner: { js: banner } } : {}),
    ...(aliases ? { alias: aliases } : {}),
  };
}

/**
 * Bundles `entry` with the options CDK's NodejsFunction passes to esbuild for this project
 * (`bundlingOptions(imports)`: ESM, node24, minified with class and function names kept, main fields
 * module/main, the require banner, `imports` aliased; the source map is written beside it and not counted).
 */
export async function bundle(name: string, entry: string | { readonly contents: string }, outDir: string, imports: TaskImports = {}): Promise<Bundle> {
  const file = join(outDir, name, 'index.mjs');
  mkdirSync(join(outDir, name), { recursive: true });
  await build({
    ...esbuildOptionsOf(bundlingOptions(imports)),
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, sourcefile: `${name}.mjs`, loader: 'js' as const } }),
    outfile: file,
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

/** The AWS SDK clients a function constructs; its floor constructs exactly these. */
export type Client = 'dynamodb' | 'sfn' | 'sqs' | 'scheduler' | 's3';

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
    ...(clients.includes('sqs') ? ["import { SQSClient } from '@aws-sdk/client-sqs';", 'const sqs = new SQSClient({});'] : []),
    ...(clients.includes('scheduler') ? ["import { SchedulerClient } from '@aws-sdk/client-scheduler';", 'const scheduler = new SchedulerClient({});'] : []),
    ...(clients.includes('s3') ? ["import { S3Client } from '@aws-sdk/client-s3';", 'const s3 = new S3Client({});'] : []),
    `export const handler = async () => [${clients.map((client) => (client === 'dynamodb' ? 'ddb' : client)).join(', ')}].length;`,
  ];
  return bundle(name, { contents: `${lines.join('\n')}\n` }, outDir);
}
