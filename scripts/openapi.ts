import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DOCUMENT_PATH, documentText } from './openapi-document.js';

// `npm run openapi`: writes the OpenAPI document of the example tasks to docs/openapi.json, from
// the same code the catalogue function serves GET /openapi.json with (a unit test fails while the
// file is stale).

const root = resolve(import.meta.dirname, '..');
const text = documentText();
writeFileSync(join(root, DOCUMENT_PATH), text);
console.log(`wrote ${DOCUMENT_PATH} (${Math.round(text.length / 1024)} KB)`);
