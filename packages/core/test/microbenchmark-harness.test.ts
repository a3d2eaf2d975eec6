import { describe, expect, it } from 'vitest';
import {
  type MicrobenchmarkCase,
  microbenchmarkContexts,
  microbenchmarkSelected,
  parseSlowdowns,
  runMicrobenchmarks,
  slowdownFactor,
  slowedDimension,
} from '../src/index.js';

/** A case that counts its calls and disposals; `spinMs` of busy work per call. */
function countingCase(name: string, reference = false, spinMs = 0): MicrobenchmarkCase & { calls: number; prepared: number; disposed: number } {
  const state = {
    name,
    kernel: 'bf16' as const,
    reference,
    bytes: 1024,
    flops: 0,
    calls: 0,
    prepared: 0,
    disposed: 0,
    async prepare() {
      state.prepared++;
      return {
        run: () => {
          state.calls++;
          const until = performance.now() + spinMs;
          while (performance.now() < until) {
            // busy
          }
        },
        dispose: () => void state.disposed++,
      };
    },
  };
  return state;
}

describe('microbenchmark harness', () => {
  it('selects cases by substring, every case when `only` is unset or empty', () => {
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', undefined)).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', [])).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', ['rms-norm', 'k_proj'])).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 q_proj 4096x2560 w8a8', ['k_proj'])).toBe(false);
  });

  it('drops the long attention context in quick runs', () => {
    expect(microbenchmarkContexts({ quick: true })).toEqual([512]);
    expect(microbenchmarkContexts({})).toEqual([512, 2048]);
  });

  it('parses test-only slowdowns and refuses factors below 1, naming the part', () => {
    expect(parseSlowdowns('gemv-b1 k_proj 1024x2560 bf16=1.1, rms-norm=3')).toEqual([
      { match: 'gemv-b1 k_proj 1024x2560 bf16', factor: 1.1 },
      { match: 'rms-norm', factor: 3 },
    ]);
    expect(() => parseSlowdowns('rms-norm=0.5')).toThrow(/slowdown 'rms-norm=0\.5': expected NAME=FACTOR/);
    expect(() => parseSlowdowns('rms-norm')).toThrow(/expected NAME=FACTOR/);
    expect(slowdownFactor('gemv-b1 k_proj 1024x2560 bf16', parseSlowdowns('k_proj=2'))).toBe(2);
    expect(slowdownFactor('gemv-b1 q_proj 4096x2560 bf16', parseSlowdowns('k_proj=2'))).toBe(1);
  });

  it('a slowed case grows its shape by the factor, by one at least', () => {
    const slowdowns = parseSlowdowns('k_proj=1.1,rms-norm=3');
    expect(slowedDimension('gemv-b1 k_proj 1024x2560 bf16', 1024, slowdowns)).toBe(1126);
    expect(slowedDimension('rms-norm 2560x8', 8, slowdowns)).toBe(24);
    expect(slowedDimension('gemv-b1 k_proj 1024x2560 bf16', 8, parseSlowdowns('k_proj=1.01'))).toBe(9);
    expect(slowedDimension('gemv-b1 q_proj 4096x2560 bf16', 4096, slowdowns)).toBe(4096);
  });

  it('times the reference alone, then pairs every sample of each selected case with a reference sample', async () => {
    const reference = countingCase('copy 1KiB', true);
    const kProj = countingCase('gemv-b1 k_proj');
    const qProj = countingCase('gemv-b1 q_proj');
    const rows = await runMicrobenchmarks({ cases: [reference, kProj, qProj], dispose: async () => {} }, { repeats: 4, only: ['k_proj'] });
    expect(rows.map((row) => row.name)).toEqual(['copy 1KiB', 'gemv-b1 k_proj']);
    expect(rows[0]!.samplesMs).toHaveLength(5); // the reference gets at least 5
    expect(rows[0]!.referenceSamplesMs).toBeUndefined();
    expect(rows[1]!.samplesMs).toHaveLength(4);
    expect(rows[1]!.referenceSamplesMs).toHaveLength(4);
    expect(qProj.prepared).toBe(0);
    expect([reference.prepared, reference.disposed, kProj.prepared, kProj.disposed]).toEqual([1, 1, 1, 1]);
    expect(kProj.calls).toBeGreaterThanOrEqual(3 + 4); // warm-up calls, then the timed ones
  });

  it('refuses a suite without a reference probe', async () => {
    await expect(runMicrobenchmarks({ cases: [countingCase('gemv')], dispose: async () => {} })).rejects.toThrow(/no reference probe/);
  });
});
