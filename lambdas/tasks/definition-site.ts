import { fileURLToPath } from 'node:url';
import { definitionTraceOf } from './dsl.js';

/**
 * The absolute path of the file whose code called `defineTask` for `definition`, or undefined when
 * there is none to tell (a definition not made by `defineTask`, a trace already read as text, or a
 * caller V8 names no file for, such as `eval`). Only the deployment asks (at synth, under tsx or
 * vitest, where the file is the task's own source file), so this module is no part of any bundle.
 *
 * It reads the structured call sites of the trace `defineTask` recorded, through a custom
 * `Error.prepareStackTrace` for the one read: V8 formats a trace when it is first read, with the
 * `prepareStackTrace` of that moment, so no text is built and no source map consulted.
 */
export function definitionSiteOf(definition: object): string | undefined {
  const trace = definitionTraceOf(definition);
  if (!trace) return undefined;
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const callSites: unknown = trace.stack;
    if (!Array.isArray(callSites)) return undefined;
    const files = (callSites as NodeJS.CallSite[]).map((site) => site.getFileName() ?? undefined);
    // The first frame is defineTask itself; its caller is the first frame in another file.
    const caller = files.find((file) => file !== files[0]);
    if (!caller || caller.startsWith('node:')) return undefined;
    return caller.startsWith('file:') ? fileURLToPath(caller) : caller;
  } catch {
    // The site only narrows what a step function bundles; without it the whole tasks module is bundled.
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}
