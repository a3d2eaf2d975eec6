/**
 * The gate's statistic and rule on data whose answer is known: rounds of pairs with a given slowdown, a process
 * effect per round, noise per pair.
 */
import { describe, expect, it } from 'vitest';
import { accuracyVerdict, DEFAULT_GATE_RULE, type GateRule, pairedRatioInterval, type PairedSamples, speedVerdict } from '../src/index.js';

/** Seeded normals (Box–Muller over a xorshift), so every run of the test sees the same data. */
function normals(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** `rounds` rounds of `pairs` pairs: candidate `slowdown` × slower, a process effect per round (σ `process`), noise per call (σ `call`). */
function simulate(seed: number, { rounds = 4, pairs = 15, slowdown = 1, process = 0.01, call = 0.05 } = {}): PairedSamples[][] {
  const normal = normals(seed);
  return Array.from({ length: rounds }, () => {
    const baseProcess = Math.exp(process * normal());
    const candidateProcess = Math.exp(process * normal());
    return Array.from({ length: pairs }, () => ({
      baseMs: 10 * baseProcess * Math.exp(call * normal()),
      candidateMs: 10 * slowdown * candidateProcess * Math.exp(call * normal()),
    }));
  });
}

const rule: GateRule = DEFAULT_GATE_RULE;

describe('paired ratio over rounds', () => {
  it('is the geometric mean of the rounds’ median ratios, with a t interval over the rounds', () => {
    const rounds = [
      [{ baseMs: 10, candidateMs: 11 }, { baseMs: 10, candidateMs: 12 }, { baseMs: 10, candidateMs: 10 }],
      [{ baseMs: 10, candidateMs: 10 }],
    ];
    const interval = pairedRatioInterval(rounds, 0.95);
    const m1 = Math.log(10 / 11);
    expect(interval.roundRatios[0]).toBeCloseTo(10 / 11, 12);
    expect(interval.ratio).toBeCloseTo(Math.exp(m1 / 2), 12);
    // Two rounds: t(0.975, 1) = 12.706, sd = |m1| / √2, half-width = t · sd / √2.
    const half = 12.706 * (Math.abs(m1) / Math.SQRT2) / Math.SQRT2;
    expect(Math.log(interval.high) - Math.log(interval.ratio)).toBeCloseTo(half, 3);
    expect(interval.pairs).toBe(4);
    expect(pairedRatioInterval([rounds[0]!], 0.95).low).toBeNaN();
  });

  it('on unchanged code fails none of 200 simulated gates; most pass in 5 rounds, the rest stay undecided', () => {
    const verdicts = Array.from({ length: 200 }, (_, seed) => speedVerdict(pairedRatioInterval(simulate(seed + 1, { rounds: 5 }), rule.level), rule.floors.kernel, rule));
    expect(verdicts.filter((verdict) => verdict === 'fail')).toHaveLength(0);
    expect(verdicts.filter((verdict) => verdict === 'pass').length).toBeGreaterThanOrEqual(150);
  });

  it('fails a 20% slowdown every time, and a 3× one', () => {
    for (const slowdown of [1.2, 3]) {
      const verdicts = Array.from({ length: 100 }, (_, seed) => speedVerdict(pairedRatioInterval(simulate(seed + 1000, { slowdown, rounds: 4 }), rule.level), rule.floors.kernel, rule));
      expect(verdicts.every((verdict) => verdict === 'fail'), `${slowdown}×: ${verdicts.join(' ')}`).toBe(true);
    }
  });

  it('never fails a slowdown within the floor, however many rounds', () => {
    const verdicts = Array.from({ length: 100 }, (_, seed) => speedVerdict(pairedRatioInterval(simulate(seed + 2000, { slowdown: 1.04, rounds: 8, process: 0.005, call: 0.02 }), rule.level), rule.floors.kernel, rule));
    expect(verdicts).not.toContain('fail');
  });

  it('stays undecided, not failed, when process effects swamp a slowdown near the floor', () => {
    const interval = pairedRatioInterval(simulate(7, { slowdown: 1.07, rounds: 3, process: 0.08 }), rule.level);
    expect(speedVerdict(interval, rule.floors.kernel, rule)).toBe('undecided');
  });

  it('decides nothing before minRounds', () => {
    const interval = pairedRatioInterval(simulate(3, { slowdown: 3, rounds: rule.minRounds - 1 }), rule.level);
    expect(speedVerdict(interval, rule.floors.kernel, rule)).toBe('undecided');
  });
});

describe('accuracy figures', () => {
  it('fails KL beyond base × 1.1 + 1e-6 and a top-1 drop beyond max(0.5 pt, 1/positions); NaN fails', () => {
    expect(accuracyVerdict('kl_divergence_mean', 1e-3, 1.09e-3, 100, rule).verdict).toBe('pass');
    expect(accuracyVerdict('kl_divergence_mean', 1e-3, 1.2e-3, 100, rule).verdict).toBe('fail');
    expect(accuracyVerdict('kl_divergence_mean', 1e-3, 5e-4, 100, rule).verdict).toBe('better');
    expect(accuracyVerdict('kl_divergence_mean', 1e-3, Number.NaN, 100, rule).verdict).toBe('fail');
    expect(accuracyVerdict('top1_agreement', 0.9, 0.89, 100, rule).verdict).toBe('pass'); // one position of 100
    expect(accuracyVerdict('top1_agreement', 0.9, 0.88, 100, rule).verdict).toBe('fail');
  });
});
