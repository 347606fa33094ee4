import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
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

/** The `$id` an OpenAPI document's schemas are registered under: their `#/components/…` references resolve in it. */
const DOCUMENT_ID = 'https://async-executions.invalid/openapi.json';

/** One segment of a JSON pointer (RFC 6901), as a URI fragment holds it. */
export const pointerSegment = (segment: string): string => encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'));

/**
 * The validators of an OpenAPI document's JSON Schemas (strict ajv), each found by the JSON pointer
 * of its place in the document (`/components/schemas/Execution`, `/paths/…/schema`), so that their
 * `$ref`s to `#/components/schemas/…` resolve as in the document. Compiling one checks it is a
 * schema ajv understands in strict mode (no unknown keyword).
 */
export function documentSchemas(document: Readonly<Record<string, unknown>>): (pointer: readonly string[]) => ValidateFunction {
  const ajv = strictAjv();
  ajv.addKeyword('paths');
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components, paths: document.paths });
  return (pointer) => {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#/${pointer.map(pointerSegment).join('/')}`);
    if (!validate) throw new Error(`No schema at /${pointer.join('/')}`);
    return validate;
  };
}
