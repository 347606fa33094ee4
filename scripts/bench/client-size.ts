import { build } from 'esbuild';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './bundle.js';

/** The typed client's weight in an app's bundle. */
export interface ClientSize {
  readonly bytes: number;
  readonly gzipBytes: number;
  /** openapi-fetch alone, built the same way (for the total an app without it pays). */
  readonly openapiFetch: { readonly bytes: number; readonly gzipBytes: number };
}

/** The budget of {@link clientSize}'s gzip size: what a browser app pays for the client on top of openapi-fetch. */
export const CLIENT_GZIP_BUDGET_BYTES = 10 * 1024;

/**
 * `async-executions/client` as an app's bundler would ship it: esbuild, ESM, minified, for any
 * platform (it uses fetch, streams and AbortSignal only), without openapi-fetch, its one
 * dependency (measured apart), which an app may already carry. Sizes of the
 * minified code and of its gzip (level 9).
 */
export async function clientSize(): Promise<ClientSize> {
  const client = await minified(join(ROOT, 'client/index.ts'));
  return { ...client, openapiFetch: await minified('openapi-fetch') };
}

async function minified(entry: string): Promise<{ bytes: number; gzipBytes: number }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['openapi-fetch'],
    write: false,
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  const code = result.outputFiles[0]!.contents;
  return { bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}
