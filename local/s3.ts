import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** A running local S3 server (s3rver, in this process). */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: what the functions get as `AWS_ENDPOINT_URL_S3` (path-style addresses). */
  readonly endpoint: string;
  /** Where its objects live: `dataDir`, or a directory of its own removed at stop. */
  readonly directory: string;
  stop(): Promise<void>;
}

/**
 * The credentials s3rver knows (its one account). It refuses requests signed with any other access
 * key and presigned links past their `X-Amz-Date` + `X-Amz-Expires`, as S3 does; it does not
 * recompute SigV4 signatures (s3rver 3.7 checks V2 signatures only), so a tampered link is not refused locally.
 */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Starts s3rver (an S3-compatible server from the package registry) on 127.0.0.1, in this process,
 * so it starts and stops with the stack and dies with it however the stack ends (Ctrl-C, kill -9):
 * no process of its own can outlive it. Objects are files under `dataDir` when given (kept across
 * runs, as DynamoDB Local's data), else under a fresh temporary directory deleted at stop.
 * `buckets` are created at start (an existing one is kept with its objects).
 */
export async function startS3(buckets: readonly string[], dataDir?: string): Promise<LocalS3> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const directory = dataDir ?? mkdtempSync(join(tmpdir(), 'local-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address: AddressInfo = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    directory,
    stop: async () => {
      await server.close();
      if (!dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
