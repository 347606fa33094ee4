import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LOAD_ENV } from './functions.js';

const run = promisify(execFile);

/** Spread of a set of timings, in ms. */
export interface Timing {
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

// A fresh process per sample: import the bundle, touch its handler, print the elapsed ms. Node's
// own start-up is outside the measurement, as it is outside our control. Lambda's Node.js runtime
// gives streaming handlers the \`awslambda\` global before the import; the probe gives a stand-in.
const PROBE = `
globalThis.awslambda ??= { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };
const t0 = performance.now();
const m = await import(process.argv[1]);
if (typeof m.handler !== 'function') process.exit(3);
process.stdout.write(String(performance.now() - t0));
`;

function quantile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/** Summarizes samples. */
export function summarize(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    runs: sorted.length,
  };
}

/** Imports one bundle in a fresh Node.js process; returns the import time in ms. */
async function sample(file: string): Promise<number> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(file).href], {
    env: { PATH: process.env.PATH ?? '', ...LOAD_ENV },
  });
  return Number(stdout);
}

/**
 * Cold import times of every bundle, `runs` samples each. Runs are interleaved (round by round,
 * in a shuffled order each round) so the machine's load drifts over all bundles alike.
 */
export async function coldImports(files: ReadonlyMap<string, string>, runs: number): Promise<Map<string, Timing>> {
  const samples = new Map<string, number[]>([...files.keys()].map((name) => [name, []]));
  for (let round = 0; round < runs; round++) {
    const order = [...files.keys()].sort(() => Math.random() - 0.5);
    for (const name of order) samples.get(name)!.push(await sample(files.get(name)!));
  }
  return new Map([...samples].map(([name, values]) => [name, summarize(values)]));
}
