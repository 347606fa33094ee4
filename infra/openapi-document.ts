import { brotliCompressSync, constants } from 'node:zlib';
import { writeContentAddressed } from './content-addressed.js';
import { openApiDocument, type OpenApiOptions } from '../lambdas/api/openapi.js';
import { API_SERVER, STREAM_SERVER } from '../lambdas/api/openapi-template.js';
import { buildTaskCatalogue } from '../lambdas/tasks/catalogue.js';
import type { CatalogueTask } from '../lambdas/tasks/task-catalogue.js';
import type { TaskDefinition } from '../lambdas/tasks/dsl.js';

/**
 * The OpenAPI document of `tasks` with `auth`, its servers the sentinels the catalogue function
 * fills in per request (`fillOpenApiTemplate`), as JSON compressed with brotli, in base64: what
 * `#openapi-document` default-exports.
 * @throws Error when a task's schemas hold a sentinel URL: filling it in would rewrite the author's text.
 */
export function encodeOpenApiTemplate(tasks: readonly CatalogueTask[], auth: OpenApiOptions['auth']): string {
  const text = JSON.stringify(tasks);
  for (const sentinel of [API_SERVER.url, STREAM_SERVER.url]) {
    if (text.includes(sentinel)) throw new Error(`A task's schema holds ${sentinel}, which the OpenAPI document reserves for the servers it fills in per request`);
  }
  const template = openApiDocument({ tasks, auth, servers: [API_SERVER], eventsStreamServers: [STREAM_SERVER] });
  const compressed = brotliCompressSync(JSON.stringify(template), { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } });
  return compressed.toString('base64');
}

/**
 * Writes the OpenAPI document of `tasks` with `auth` ({@link encodeOpenApiTemplate}) into `dir` as
 * an ES module (`export default "<base64>"`) named by its content (`openapi-document.<hash>.mjs`),
 * and returns its absolute path: the catalogue function bundles it as `#openapi-document`, so its
 * bundle carries the document as data (14.4 KB with the example tasks) and none of openapi.ts.
 */
export function writeOpenApiDocument(dir: string, tasks: readonly TaskDefinition[], auth: OpenApiOptions['auth']): string {
  const encoded = encodeOpenApiTemplate(buildTaskCatalogue(tasks).tasks, auth);
  return writeContentAddressed(dir, 'openapi-document.', '.mjs', `export default ${JSON.stringify(encoded)};\n`);
}
