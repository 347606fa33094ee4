import fc from 'fast-check';

/** `value` with what lies deeper than `levels` replaced by a marker: counterexamples nest thousands of levels. */
function pruned(value: unknown, levels: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (levels === 0) return '… (deeper)';
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => pruned(item, levels - 1));
  return Object.fromEntries(Object.entries(value).slice(0, 50).map(([key, item]) => [key, pruned(item, levels - 1)]));
}

/** A value as JSON text with long strings cut short (a counterexample can carry 300 KB bodies) and deep or wide values pruned. */
export function preview(value: unknown, max = 160): string {
  return JSON.stringify(pruned(value, 40), (_key, item: unknown) =>
    typeof item === 'string' && item.length > max ? `${item.slice(0, max)}… (${item.length} chars)` : item,
  );
}

/**
 * Runs a property like `fc.assert`, but reports a failure compactly: the seed and path of the
 * failing case, the request with long strings cut short, and what was wrong.
 */
export async function assertProperty<T>(property: fc.IAsyncProperty<T>, parameters: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, parameters);
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} cases (seed ${details.seed}, path "${details.counterexamplePath ?? ''}"; FUZZ_SEED=${details.seed} reruns the same cases)\n` +
      `Counterexample: ${preview(details.counterexample).slice(0, 3000)}\n${cause}`,
  );
}
