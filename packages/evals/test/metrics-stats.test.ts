import { bootstrapMeanInterval, halfBinomialCdf, mcnemarTest, pairedBootstrap, passAtK, signTest } from '@quantbench/core';
import { describe, expect, it } from 'vitest';

describe('passAtK (Chen et al. unbiased estimator)', () => {
  it('matches 1 − C(n−c, k) / C(n, k) computed by hand', () => {
    expect(passAtK(5, 2, 1)).toBeCloseTo(2 / 5, 15); // pass@1 = c / n
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 15); // C(3,2) = 3, C(5,2) = 10
    expect(passAtK(10, 3, 5)).toBeCloseTo(1 - 21 / 252, 15); // C(7,5) = 21, C(10,5) = 252
    expect(passAtK(20, 1, 10)).toBeCloseTo(0.5, 15); // one correct of 20, half of them drawn
  });

  it('edge cases: no correct → 0, all correct → 1, n − c < k → exactly 1, n = k = 1', () => {
    expect(passAtK(10, 0, 5)).toBe(0);
    expect(passAtK(10, 10, 3)).toBe(1);
    expect(passAtK(4, 1, 4)).toBe(1);
    expect(passAtK(5, 3, 3)).toBe(1);
    expect(passAtK(1, 1, 1)).toBe(1);
    expect(passAtK(1, 0, 1)).toBe(0);
  });

  it('rejects k outside [1, n], c outside [0, n] and non-integers', () => {
    expect(() => passAtK(4, 1, 5)).toThrow(/k must be/);
    expect(() => passAtK(4, 1, 0)).toThrow(/k must be/);
    expect(() => passAtK(4, 5, 1)).toThrow(/c must be/);
    expect(() => passAtK(0, 0, 1)).toThrow(/n must be/);
    expect(() => passAtK(4, 1.5, 1)).toThrow(/c must be/);
  });
});

describe('halfBinomialCdf', () => {
  it('is P(X ≤ k) for X ~ Binomial(n, 1/2), exact on small n and finite where 0.5^n underflows', () => {
    expect(halfBinomialCdf(2, 5)).toBeCloseTo((1 + 5 + 10) / 32, 15);
    expect(halfBinomialCdf(0, 1)).toBeCloseTo(0.5, 15);
    expect(halfBinomialCdf(5, 5)).toBeCloseTo(1, 12);
    expect(halfBinomialCdf(1000, 2000)).toBeGreaterThan(0.5);
    expect(halfBinomialCdf(1000, 2000)).toBeLessThan(0.52);
  });
});

describe('mcnemarTest (exact binomial on discordant pairs)', () => {
  it('b = 7, c = 1: exact p = 2·(1 + 8)/256, mid-p = 2·9/256 − 8/256', () => {
    const r = mcnemarTest(7, 1);
    expect(r.pExact).toBeCloseTo(18 / 256, 15);
    expect(r.pMid).toBeCloseTo(10 / 256, 15);
    expect(mcnemarTest(1, 7)).toEqual({ ...r, b: 1, c: 7 }); // symmetric
  });

  it('b = 10, c = 0: p = 2 / 2^10, mid-p = 1 / 2^10', () => {
    const r = mcnemarTest(10, 0);
    expect(r.pExact).toBeCloseTo(2 / 1024, 15);
    expect(r.pMid).toBeCloseTo(1 / 1024, 15);
  });

  it('no discordant pairs or a balanced table: p = 1 (exact and mid-p)', () => {
    expect(mcnemarTest(0, 0)).toMatchObject({ pExact: 1, pMid: 1 });
    const balanced = mcnemarTest(3, 3);
    expect(balanced.pExact).toBe(1);
    expect(balanced.pMid).toBeCloseTo(1, 12);
  });

  it('stays finite for large tables (log-space pmf) and agrees with the χ² approximation in magnitude', () => {
    // Agresti (2002) §10.1 presidential approval: b = 150, c = 86, McNemar χ² = 17.36, p ≈ 3.1e-5.
    const r = mcnemarTest(150, 86);
    expect(r.pExact).toBeGreaterThan(1e-5);
    expect(r.pExact).toBeLessThan(1e-4);
    const huge = mcnemarTest(6000, 4000);
    expect(huge.pExact).toBeGreaterThanOrEqual(0);
    expect(huge.pExact).toBeLessThan(1e-80);
  });

  it('the sign test on 0/1 outcomes is McNemar on the discordant counts; zeros are ties', () => {
    const a = [1, 1, 0, 1, 0, 1];
    const b = [0, 1, 0, 0, 1, 1];
    const s = signTest(a, b);
    expect(s).toMatchObject({ b: 2, c: 1, ties: 3 });
    expect(s.pExact).toBe(mcnemarTest(2, 1).pExact);
    expect(signTest([0.5, 0.25, 1], [0.25, 0.5, 1])).toMatchObject({ b: 1, c: 1, ties: 1 });
  });
});

describe('bootstrapMeanInterval', () => {
  const values = [0, 1, 0, 1, 1, 1, 0, 1, 1, 0];

  it('brackets the mean and is reproducible from the seed', () => {
    const a = bootstrapMeanInterval(values, { resamples: 2000, seed: 7 });
    expect(a.mean).toBeCloseTo(0.6, 15);
    expect(a.low).toBeLessThanOrEqual(0.6);
    expect(a.high).toBeGreaterThanOrEqual(0.6);
    expect(a.low).toBeGreaterThan(0.1);
    expect(a.high).toBeLessThan(1);
    expect(bootstrapMeanInterval(values, { resamples: 2000, seed: 7 })).toEqual(a);
    expect(a).toMatchObject({ n: 10, resamples: 2000, seed: 7, level: 0.95 });
    // Off-lattice values, so that a different seed visibly moves the interval's ends.
    const spread = [0.13, 0.71, 0.29, 0.97, 0.05, 0.44, 0.62, 0.38];
    const s7 = bootstrapMeanInterval(spread, { resamples: 500, seed: 7 });
    expect(bootstrapMeanInterval(spread, { resamples: 500, seed: 7 })).toEqual(s7);
    expect(bootstrapMeanInterval(spread, { resamples: 500, seed: 8 }).low).not.toBe(s7.low);
  });

  it('two values {0, 1}: resampled means are 0, ½, 1 with probability ¼, ½, ¼, so the 95% interval is [0, 1]', () => {
    const r = bootstrapMeanInterval([0, 1], { resamples: 4000, seed: 1 });
    expect(r).toMatchObject({ mean: 0.5, low: 0, high: 1 });
  });

  it('is roughly the normal interval for a large sample (mean ± 1.96·sd/√n)', () => {
    const many = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0)); // p = 0.25
    const r = bootstrapMeanInterval(many, { resamples: 4000, seed: 3 });
    const half = 1.96 * Math.sqrt((0.25 * 0.75) / 400);
    expect(r.low).toBeCloseTo(0.25 - half, 1);
    expect(r.high).toBeCloseTo(0.25 + half, 1);
    expect(Math.abs(r.high - r.low - 2 * half)).toBeLessThan(0.01);
  });

  it('degenerate inputs: constant values give a zero-width interval; no values give NaN', () => {
    expect(bootstrapMeanInterval([1, 1, 1], { resamples: 100 })).toMatchObject({ mean: 1, low: 1, high: 1 });
    expect(bootstrapMeanInterval([0.3], { resamples: 100 })).toMatchObject({ low: 0.3, high: 0.3 });
    expect(Number.isNaN(bootstrapMeanInterval([]).mean)).toBe(true);
    expect(() => bootstrapMeanInterval([1], { resamples: 0 })).toThrow(/resamples/);
  });
});

describe('pairedBootstrap', () => {
  it('identical arms: Δ = 0 with a zero-width interval and p = 1', () => {
    const a = [1, 0, 1, 1, 0];
    expect(pairedBootstrap(a, a, { resamples: 500 })).toMatchObject({ mean: 0, low: 0, high: 0, pValue: 1 });
  });

  it('one arm always better: Δ = 1, interval [1, 1], p = 2/(B + 1) (the +1-corrected smallest p)', () => {
    const a = Array.from({ length: 20 }, () => 1);
    const b = Array.from({ length: 20 }, () => 0);
    const r = pairedBootstrap(a, b, { resamples: 999, seed: 5 });
    expect(r).toMatchObject({ mean: 1, low: 1, high: 1, n: 20 });
    expect(r.pValue).toBeCloseTo(2 / 1000, 15);
  });

  it('keeps the pairing: a shared per-problem difficulty cancels, unlike two independent bootstraps', () => {
    // Problem difficulty varies wildly; the treatment is better by exactly 0.1 on every problem.
    const control = Array.from({ length: 30 }, (_, i) => (i % 3) / 3);
    const treatment = control.map((v) => v + 0.1);
    const r = pairedBootstrap(treatment, control, { resamples: 1000, seed: 2 });
    expect(r.mean).toBeCloseTo(0.1, 12);
    expect(r.low).toBeCloseTo(0.1, 12);
    expect(r.high).toBeCloseTo(0.1, 12);
    const separate = bootstrapMeanInterval(treatment, { resamples: 1000, seed: 2 });
    expect(separate.high - separate.low).toBeGreaterThan(0.15);
  });

  it('brackets the observed difference, is seeded and reproducible, and rejects unequal lengths', () => {
    const a = [1, 0, 1, 1, 0, 1, 1, 0, 1, 1];
    const b = [0, 0, 1, 0, 0, 1, 1, 0, 0, 1];
    const r = pairedBootstrap(a, b, { resamples: 2000, seed: 11 });
    expect(r.mean).toBeCloseTo(0.3, 15);
    expect(r.low).toBeLessThanOrEqual(0.3);
    expect(r.high).toBeGreaterThanOrEqual(0.3);
    expect(r.pValue).toBeGreaterThan(0);
    expect(r.pValue).toBeLessThan(0.2);
    expect(pairedBootstrap(a, b, { resamples: 2000, seed: 11 })).toEqual(r);
    expect(() => pairedBootstrap([1], [1, 0])).toThrow(/equal lengths/);
  });
});
