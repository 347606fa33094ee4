import { describe, expect, it } from 'vitest';
import type { SoakReport } from '../../../scripts/soak.js';
import { soakOutcomeLine } from '../../../scripts/soak/render.js';
import { DEFAULT_GROWTH, type GrowthVerdict } from '../../../scripts/soak/stats.js';

const verdict = (grew: boolean | undefined, samples: number): GrowthVerdict => ({
  grew,
  samples,
  baselineKb: 300 * 1024,
  finalKb: 310 * 1024,
  peakKb: 312 * 1024,
  growthKb: 10 * 1024,
  growthPercent: 3.3,
  slopeKbPerThousand: 0,
});

const outcome = (ok: boolean, stack: GrowthVerdict, failures: readonly string[] = []): Pick<SoakReport, 'ok' | 'failures' | 'memory'> => ({
  ok,
  failures,
  memory: {
    sampleMs: 1000,
    criterion: DEFAULT_GROWTH,
    stack: { pid: 1, samples: [], verdict: stack },
    dynamodb: { pid: 2, samples: [], verdict: stack },
  },
});

describe('the soak outcome line', () => {
  it('says the memory did not grow only when it was judged', () => {
    expect(soakOutcomeLine(outcome(true, verdict(false, 40)))).toBe(
      "ok: every execution reached its status, the stack's memory did not grow, the stack is stopped",
    );
  });

  it('says a run too short to judge memory was not judged, with the samples it had and needed', () => {
    const line = soakOutcomeLine(outcome(true, verdict(undefined, 4)));
    expect(line).not.toContain('did not grow');
    expect(line).toContain('not judged (4 samples after warm-up, 8 needed');
  });

  it('lists the failures of a failed run', () => {
    expect(soakOutcomeLine(outcome(false, verdict(true, 40), ['2 executions stuck', 'the stack grew']))).toBe('FAILED: 2 executions stuck; the stack grew');
  });
});
