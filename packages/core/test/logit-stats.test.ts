import { describe, expect, it } from 'vitest';
import { meanAndStdErr, percentile, wilsonInterval } from '../src/stats/intervals.js';
import { createLogitComparison } from '../src/stats/logit-compare.js';

/** A reproducible pseudo-random row (LCG), roughly uniform in [-scale, scale). */
function randomRow(vocab: number, seed: number, scale = 8): Float32Array {
  const row = new Float32Array(vocab);
  let s = seed >>> 0;
  for (let i = 0; i < vocab; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    row[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return row;
}

describe('wilsonInterval', () => {
  it('matches known values', () => {
    // 8/10: p = 0.8, z²/n = 0.38416; centre 0.99208 / 1.38416 = 0.71674, half-width 1.41602 · 0.16001 = 0.22658.
    const a = wilsonInterval(8, 10);
    expect(a.low).toBeCloseTo(0.4902, 4);
    expect(a.high).toBeCloseTo(0.9433, 4);
    const b = wilsonInterval(0, 10);
    expect(b.low).toBe(0);
    expect(b.high).toBeCloseTo(0.2775, 4);
    const c = wilsonInterval(10, 10);
    expect(c.low).toBeCloseTo(0.7225, 4);
    expect(c.high).toBe(1);
    const d = wilsonInterval(50, 100);
    expect(d.low).toBeCloseTo(0.4038, 4);
    expect(d.high).toBeCloseTo(0.5962, 4);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    // A wider z gives a wider interval.
    expect(wilsonInterval(8, 10, 2.576).low).toBeLessThan(a.low);
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(11, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(1, 1.5)).toThrow(RangeError);
  });
});

describe('meanAndStdErr', () => {
  it('uses the sample standard deviation', () => {
    // Values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − 5)² = 32, s² = 32/7, stdErr = √(32/7/8) = √(4/7).
    const r = meanAndStdErr([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(r.n).toBe(8);
    expect(r.mean).toBe(5);
    expect(r.stdErr).toBeCloseTo(Math.sqrt(4 / 7), 12);
    // A large common offset does not destroy the variance.
    const shifted = meanAndStdErr(Float64Array.from([2, 4, 4, 4, 5, 5, 7, 9], (x) => x + 1e9));
    expect(shifted.stdErr).toBeCloseTo(Math.sqrt(4 / 7), 6);
    expect(meanAndStdErr([3]).stdErr).toBeNaN();
    expect(meanAndStdErr([]).mean).toBeNaN();
  });
});

describe('percentile', () => {
  it('interpolates linearly like numpy', () => {
    const x = [1, 2, 3, 4];
    expect(percentile(x, 0)).toBe(1);
    expect(percentile(x, 1)).toBe(4);
    expect(percentile(x, 0.5)).toBe(2.5); // np.percentile([1,2,3,4], 50) = 2.5
    expect(percentile(x, 0.25)).toBe(1.75); // np.percentile([1,2,3,4], 25) = 1.75
    expect(percentile(x, 0.99)).toBeCloseTo(3.97, 12); // h = 2.97
    expect(percentile([7], 0.3)).toBe(7);
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile(x, 1.5)).toThrow(RangeError);
  });
});

describe('createLogitComparison', () => {
  it('reports zero divergence for identical logits', () => {
    const cmp = createLogitComparison(1000);
    for (let p = 0; p < 20; p++) {
      const row = randomRow(1000, p);
      cmp.add(row, row.slice(), { nextToken: p * 7 });
    }
    const s = cmp.summary();
    expect(s.positions).toBe(20);
    expect(s.kl.mean).toBe(0);
    expect(s.kl.max).toBe(0);
    expect(s.top1Agreement).toMatchObject({ matches: 20, rate: 1 });
    expect(s.top1Agreement.ciHigh).toBe(1);
    expect(s.top1Agreement.ciLow).toBeCloseTo(0.8389, 4); // Wilson 20/20
    expect(s.deltaP).toMatchObject({ positions: 20, mean: 0, rms: 0, p1: 0, p99: 0 });
    expect(s.perplexity!.test).toBe(s.perplexity!.reference);
    expect(s.perplexity!.logRatio.mean).toBe(0);
    expect(s.maxAbsLogitError).toBe(0);
    expect(s.rmsLogitError).toBe(0);
    expect(s.relL2).toBe(0);
  });

  it('matches a hand-computed 3-token case', () => {
    // A = [0, 1, 2], B = [0, 2, 1]. With Z = 1 + e + e² = 11.107337927:
    //   p_A = [0.090030573, 0.244728471, 0.665240956], p_B = [0.090030573, 0.665240956, 0.244728471].
    //   KL(A‖B) = 0.244728471·ln(p_A1/p_B1) + 0.665240956·ln(p_A2/p_B2) = 0.244728471·(−1) + 0.665240956·(+1)
    //           = 0.420512485 (the first terms cancel: equal probabilities).
    //   next token 1: Δp = p_B(1) − p_A(1) = 0.665240956 − 0.244728471 = 0.420512485;
    //                 PPL_A = 1/0.244728471 = 4.086161, PPL_B = 1/0.665240956 = 1.503214.
    //   argmax: A → 2, B → 1: no agreement.
    //   B − A = [0, 1, −1]: max |·| = 1, RMS = √(2/3) = 0.816497, relL2 = √2 / √5 = 0.632456.
    const cmp = createLogitComparison(3);
    const r = cmp.add(Float32Array.of(0, 1, 2), Float32Array.of(0, 2, 1), { nextToken: 1 });
    expect(r.kl).toBeCloseTo(0.420512485, 8);
    expect(r.deltaP).toBeCloseTo(0.420512485, 8);
    expect(r.top1Match).toBe(false);
    const s = cmp.summary();
    expect(s.kl.mean).toBeCloseTo(0.420512485, 8);
    expect(s.kl.median).toBeCloseTo(0.420512485, 8);
    expect(s.top1Agreement.rate).toBe(0);
    expect(s.deltaP!.mean).toBeCloseTo(0.420512485, 8);
    expect(s.perplexity!.reference).toBeCloseTo(4.086161, 5);
    expect(s.perplexity!.test).toBeCloseTo(1.503214, 5);
    expect(s.perplexity!.logRatio.mean).toBeCloseTo(-1, 12); // ln(p_A1/p_B1) = −1
    expect(s.maxAbsLogitError).toBe(1);
    expect(s.rmsLogitError).toBeCloseTo(0.816497, 6);
    expect(s.relL2).toBeCloseTo(0.632456, 6);
  });

  it('matches a second hand-computed case from probabilities', () => {
    // p_A = [0.5, 0.3, 0.2], p_B = [0.4, 0.4, 0.2] (logits are their logs, rounded to float32):
    //   KL = 0.5·ln(0.5/0.4) + 0.3·ln(0.3/0.4) + 0.2·ln(1) = 0.5·0.223143551 − 0.3·0.287682072 = 0.025267154.
    //   next token 0: Δp = 0.4 − 0.5 = −0.1; next token 2: Δp = 0.
    const A = Float32Array.from([0.5, 0.3, 0.2], Math.log);
    const B = Float32Array.from([0.4, 0.4, 0.2], Math.log);
    const cmp = createLogitComparison(3);
    const r0 = cmp.add(A, B, { nextToken: 0 });
    const r2 = cmp.add(A, B, { nextToken: 2 });
    expect(r0.kl).toBeCloseTo(0.025267154, 6);
    expect(r0.deltaP).toBeCloseTo(-0.1, 6);
    expect(r2.deltaP).toBeCloseTo(0, 6);
    expect(r0.top1Match).toBe(true); // argmax 0 for both (B ties 0 and 1 in exact arithmetic; float32 decides)
    const s = cmp.summary();
    expect(s.deltaP!.mean).toBeCloseTo(-0.05, 6);
    expect(s.deltaP!.rms).toBeCloseTo(Math.sqrt(0.01 / 2), 6);
    expect(s.deltaP!.min).toBeCloseTo(-0.1, 6);
    expect(s.deltaP!.max).toBeCloseTo(0, 6);
  });

  it('is invariant to adding a constant to a row, except for the logit errors', () => {
    const V = 5000;
    const base = createLogitComparison(V);
    const shifted = createLogitComparison(V);
    for (let p = 0; p < 10; p++) {
      const a = randomRow(V, 100 + p);
      const b = a.map((x, i) => x + 0.05 * Math.sin(i * (p + 1)));
      base.add(a, b, { nextToken: p });
      shifted.add(
        a.map((x) => x + 7),
        b.map((x) => x - 3),
        { nextToken: p },
      );
    }
    const s = base.summary();
    const t = shifted.summary();
    expect(s.kl.mean).toBeGreaterThan(0);
    expect(t.kl.mean).toBeCloseTo(s.kl.mean, 9);
    expect(t.kl.max).toBeCloseTo(s.kl.max, 9);
    expect(t.top1Agreement).toEqual(s.top1Agreement);
    expect(t.deltaP!.mean).toBeCloseTo(s.deltaP!.mean, 9);
    // Perplexities agree up to the float32 rounding of the shifted logits.
    expect(t.perplexity!.reference / s.perplexity!.reference).toBeCloseTo(1, 5);
    expect(t.perplexity!.test / s.perplexity!.test).toBeCloseTo(1, 5);
    expect(t.maxAbsLogitError).toBeGreaterThan(9.9);
    expect(t.rmsLogitError).toBeGreaterThan(s.rmsLogitError);
  });

  it('reads rows at offsets in bigger arrays, alone or with addRows', () => {
    const V = 50;
    const rows = 4;
    const a = randomRow(rows * V, 1);
    const b = randomRow(rows * V, 2);
    const next = [3, 1, 4, 1];
    const byOffset = createLogitComparison(V);
    const bySlice = createLogitComparison(V);
    const byRows = createLogitComparison(V);
    // Test rows in the reverse order inside `b`, to check the two offsets are independent.
    const bReversed = new Float32Array(rows * V);
    for (let r = 0; r < rows; r++) bReversed.set(b.subarray(r * V, (r + 1) * V), (rows - 1 - r) * V);
    for (let r = 0; r < rows; r++) {
      byOffset.add(a, bReversed, { rowOffsetRef: r * V, rowOffsetTest: (rows - 1 - r) * V, nextToken: next[r]! });
      bySlice.add(a.subarray(r * V, (r + 1) * V), b.subarray(r * V, (r + 1) * V), { nextToken: next[r]! });
    }
    byRows.addRows(a, b, next);
    expect(byOffset.summary()).toEqual(bySlice.summary());
    expect(byRows.summary()).toEqual(bySlice.summary());
    expect(() => byOffset.add(a, b)).toThrow(/one row/);
    expect(() => byOffset.add(a, b, { rowOffsetRef: rows * V - 10, rowOffsetTest: 0 })).toThrow(/outside/);
    expect(() => byOffset.add(a.subarray(0, V), b.subarray(0, V), { nextToken: V })).toThrow(/vocabulary/);
  });

  it('leaves Δp and perplexity null without next tokens, and refuses non-finite logits', () => {
    const cmp = createLogitComparison(10);
    cmp.add(randomRow(10, 1), randomRow(10, 2));
    const s = cmp.summary();
    expect(s.deltaP).toBeNull();
    expect(s.perplexity).toBeNull();
    expect(s.kl.stdErr).toBeNaN(); // one position
    const bad = randomRow(10, 3);
    bad[4] = Number.NaN;
    expect(() => cmp.add(randomRow(10, 1), bad)).toThrow(/NaN/);
    bad[4] = Infinity;
    expect(() => cmp.add(bad, randomRow(10, 1))).toThrow(/infinity/);
    expect(cmp.positions).toBe(1);
    expect(() => createLogitComparison(10).summary()).toThrow(/no positions/);
  });

  it('computes percentiles of KL over positions', () => {
    // KL of [0, x] vs [0, 0] is known in closed form; use 101 positions with increasing x.
    const cmp = createLogitComparison(2);
    const expected: number[] = [];
    for (let i = 0; i <= 100; i++) {
      const x = i / 25;
      const pa = 1 / (1 + Math.exp(x)); // p_A(0)
      expected.push(pa * Math.log(pa / 0.5) + (1 - pa) * Math.log((1 - pa) / 0.5));
      cmp.add(Float32Array.of(0, x), Float32Array.of(0, 0));
    }
    const s = cmp.summary();
    expected.sort((p, q) => p - q);
    expect(s.kl.median).toBeCloseTo(expected[50]!, 6);
    expect(s.kl.p99).toBeCloseTo(expected[99]!, 6);
    expect(s.kl.max).toBeCloseTo(expected[100]!, 6);
    expect(s.kl.p999).toBeCloseTo(expected[99]! + 0.9 * (expected[100]! - expected[99]!), 6);
  });

  it('handles a Qwen3-sized vocabulary', () => {
    const V = 151_936;
    const positions = 32;
    const a = randomRow(positions * V, 7, 10);
    const b = a.map((x, i) => x + ((i % 13) - 6) * 0.01);
    const cmp = createLogitComparison(V);
    for (let p = 0; p < positions; p++) cmp.add(a, b, { rowOffsetRef: p * V, rowOffsetTest: p * V, nextToken: p });
    const s = cmp.summary();
    expect(s.positions).toBe(positions);
    expect(s.kl.mean).toBeGreaterThan(0);
    expect(s.kl.mean).toBeLessThan(1e-3);
    expect(s.maxAbsLogitError).toBeCloseTo(0.06, 5);
  });
});
