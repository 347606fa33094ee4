import { describe, expect, it } from 'vitest';
import { CLIENT_GZIP_BUDGET_BYTES, clientSize } from '../../scripts/bench/client-size.js';

describe('typed client size', () => {
  it('ships under 10 KB gzipped, minified by esbuild, openapi-fetch aside', async () => {
    const size = await clientSize();

    expect(size.gzipBytes).toBeLessThan(CLIENT_GZIP_BUDGET_BYTES);
    // Sanity: the bundle holds the client itself, not an empty module.
    expect(size.bytes).toBeGreaterThan(2 * 1024);
  });
});
