import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

/**
 * A strict JSON Schema (draft 2020-12) validator, ajv: independent of the service's own
 * (lambdas/domain/json-schema.ts, which checks task inputs), so the tests judge the published
 * schemas and the real answers by a second implementation. Strict mode refuses unknown keywords,
 * so a misspelt constraint in a schema fails its test rather than being ignored; formats
 * (date-time, uri…) are checked.
 */
export function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  formats.default(ajv);
  // The OpenAPI document's schemas live under `components`, which is no JSON Schema keyword.
  ajv.addKeyword('components');
  return ajv;
}

/** Ajv's errors in one line each: where, and what. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`).join('\n');
}
