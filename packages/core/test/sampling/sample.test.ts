import { describe, expect, it } from 'vitest';
import type { SamplingParams } from '../../src/sampling/params.js';
import { GREEDY } from '../../src/sampling/params.js';
import { createRng } from '../../src/sampling/rng.js';
import { argmax, sampleToken, samplingDistribution } from '../../src/sampling/sample.js';

const BASE: SamplingParams = { temperature: 1, topK: 0, topP: 1, minP: 0, presencePenalty: 0 };

function params(overrides: Partial<SamplingParams>): SamplingParams {
  return { ...BASE, ...overrides };
}

/** Logits whose softmax (at temperature 1) is exactly the given probabilities. */
function logitsFor(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => Math.log(p));
}

/** An RNG that fails the test if sampling touches it. */
const NO_RNG = {
  nextFloat(): number {
    throw new Error('greedy decoding must not draw');
  },
};

/**
 * Brute-force reference: full sort, then the filters exactly as documented. Independent of the optimised
 * candidate selection in the code under test.
 */
function reference(logits: Float32Array, p: SamplingParams, previous?: ReadonlySet<number>): Map<number, number> {
  const scores = Float32Array.from(logits);
  for (const t of previous ?? []) scores[t] = logits[t]! - p.presencePenalty;
  const order = [...scores.keys()].filter((i) => !Number.isNaN(scores[i]!));
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  if (p.temperature === 0) return new Map([[order[0]!, 1]]);
  const max = scores[order[0]!]!;
  const weight = (t: number): number => Math.exp((scores[t]! - max) / p.temperature);
  let kept = order.filter((t) => weight(t) > 0);
  if (p.topK > 0 && p.topK < kept.length) {
    const kth = scores[kept[p.topK - 1]!]!;
    kept = kept.filter((t) => scores[t]! >= kth);
  }
  if (p.topP < 1) {
    const total = kept.reduce((s, t) => s + weight(t), 0);
    let before = 0;
    kept = kept.filter((t, i) => {
      const keep = i === 0 || before < p.topP * total;
      before += weight(t);
      return keep;
    });
  }
  kept = kept.filter((t) => weight(t) >= p.minP);
  const total = kept.reduce((s, t) => s + weight(t), 0);
  return new Map(kept.map((t) => [t, weight(t) / total]));
}

function asMap(logits: Float32Array, p: SamplingParams, previous?: ReadonlySet<number>): Map<number, number> {
  const d = samplingDistribution(logits, p, previous);
  return new Map([...d.tokens].map((t, i) => [t, d.probs[i]!]));
}

function expectSameDistribution(actual: Map<number, number>, expected: Map<number, number>): void {
  expect([...actual.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
  let worst = 0;
  for (const [t, p] of expected) worst = Math.max(worst, Math.abs(actual.get(t)! - p));
  expect(worst).toBeLessThan(1e-12);
}

function keptTokens(logits: Float32Array, p: SamplingParams, previous?: ReadonlySet<number>): number[] {
  return [...samplingDistribution(logits, p, previous).tokens].sort((a, b) => a - b);
}

describe('argmax', () => {
  it('returns the lowest index on ties', () => {
    expect(argmax(Float32Array.of(1, 3, 2, 3))).toBe(1);
    expect(argmax(Float32Array.of(5, 5, 5))).toBe(0);
  });

  it('never picks NaN', () => {
    expect(argmax(Float32Array.of(NaN, 1, NaN, 2, NaN))).toBe(3);
    expect(argmax(Float32Array.of(NaN, -Infinity))).toBe(1);
    expect(() => argmax(Float32Array.of(NaN, NaN))).toThrow(/NaN/);
  });

  it('handles infinities', () => {
    expect(argmax(Float32Array.of(-Infinity, -Infinity))).toBe(0);
    expect(argmax(Float32Array.of(1, Infinity, Infinity))).toBe(1);
  });

  it('works on a row of a batch, returning the index within the row', () => {
    const batch = Float32Array.of(9, 0, 0, /* row 1 */ 0, 1, 4, /* row 2 */ 2, 2, 1);
    expect(argmax(batch, 3, 3)).toBe(2);
    expect(argmax(batch, 6, 3)).toBe(0);
    expect(argmax(batch, 6)).toBe(0);
    expect(() => argmax(batch, 7, 3)).toThrow(RangeError);
    expect(() => argmax(new Float32Array(0))).toThrow(RangeError);
  });
});

describe('greedy (temperature 0)', () => {
  it('is argmax with the lowest id on ties, and draws nothing', () => {
    expect(sampleToken(Float32Array.of(0.5, 2, 2, 1), GREEDY, NO_RNG)).toBe(1);
    expect(sampleToken(Float32Array.of(NaN, 0.5), GREEDY, NO_RNG)).toBe(1);
  });

  it('applies the presence penalty before argmax', () => {
    const logits = Float32Array.of(3, 2.5, 1);
    const greedy = { ...GREEDY, presencePenalty: 1 };
    expect(sampleToken(logits, greedy, NO_RNG, new Set([0]))).toBe(1);
    expect(sampleToken(logits, greedy, NO_RNG, new Set([2]))).toBe(0);
    expect(sampleToken(logits, { ...greedy, presencePenalty: 0.5 }, NO_RNG, new Set([0]))).toBe(0); // 2.5 tie → id 0
    expect(sampleToken(logits, { ...greedy, presencePenalty: -2 }, NO_RNG, new Set([1]))).toBe(1); // a bonus
    expect(sampleToken(logits, { ...greedy, presencePenalty: -2 }, NO_RNG, new Set([2]))).toBe(0); // 3 ties 3
  });

  it('ignores the other filters', () => {
    const logits = Float32Array.of(1, 4, 2);
    expect(sampleToken(logits, { ...GREEDY, topK: 1, topP: 0.1, minP: 0.9 }, NO_RNG)).toBe(1);
  });
});

describe('samplingDistribution: exact candidate sets', () => {
  it('top-k keeps the k largest', () => {
    const logits = Float32Array.of(1, 5, 3, 6, 2, 4);
    expect(keptTokens(logits, params({ topK: 1 }))).toEqual([3]);
    expect(keptTokens(logits, params({ topK: 2 }))).toEqual([1, 3]);
    expect(keptTokens(logits, params({ topK: 3 }))).toEqual([1, 3, 5]);
    expect(keptTokens(logits, params({ topK: 6 }))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(keptTokens(logits, params({ topK: 100 }))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-k keeps every token tied with the k-th value (transformers / vLLM rule)', () => {
    const logits = Float32Array.of(1, 3, 3, 3, 0, 5);
    expect(keptTokens(logits, params({ topK: 2 }))).toEqual([1, 2, 3, 5]);
    expect(keptTokens(logits, params({ topK: 1 }))).toEqual([5]);
    expect(keptTokens(Float32Array.of(2, 2, 2), params({ topK: 1 }))).toEqual([0, 1, 2]);
  });

  it('top-p keeps the smallest most-likely set reaching topP', () => {
    const logits = logitsFor([0.15, 0.5, 0.05, 0.3]);
    expect(keptTokens(logits, params({ topP: 0.1 }))).toEqual([1]);
    expect(keptTokens(logits, params({ topP: 0.5 }))).toEqual([1]);
    expect(keptTokens(logits, params({ topP: 0.51 }))).toEqual([1, 3]);
    expect(keptTokens(logits, params({ topP: 0.7 }))).toEqual([1, 3]);
    expect(keptTokens(logits, params({ topP: 0.85 }))).toEqual([0, 1, 3]);
    expect(keptTokens(logits, params({ topP: 0.99 }))).toEqual([0, 1, 2, 3]);
    const d = samplingDistribution(logits, params({ topP: 0.7 }));
    expect([...d.tokens]).toEqual([1, 3]); // most likely first
    expect(d.probs[0]).toBeCloseTo(0.5 / 0.8, 6);
    expect(d.probs[1]).toBeCloseTo(0.3 / 0.8, 6);
  });

  it('min-p drops tokens below minP × the top probability', () => {
    const logits = logitsFor([0.15, 0.5, 0.05, 0.3]);
    expect(keptTokens(logits, params({ minP: 0.2 }))).toEqual([0, 1, 3]); // threshold 0.1
    expect(keptTokens(logits, params({ minP: 0.5 }))).toEqual([1, 3]); // threshold 0.25
    expect(keptTokens(logits, params({ minP: 0.7 }))).toEqual([1]);
    expect(keptTokens(logits, params({ minP: 0.05 }))).toEqual([0, 1, 2, 3]);
  });

  it('applies top-p to the renormalised top-k distribution', () => {
    const logits = logitsFor([0.4, 0.3, 0.2, 0.1]);
    // Without top-k, 0.4 < 0.5 so the second token is needed; after top-k=2 the first holds 4/7 > 0.5.
    expect(keptTokens(logits, params({ topP: 0.5 }))).toEqual([0, 1]);
    expect(keptTokens(logits, params({ topK: 2, topP: 0.5 }))).toEqual([0]);
    expect(keptTokens(logits, params({ topK: 3, topP: 0.6 }))).toEqual([0, 1]);
  });

  it('applies min-p after top-p, relative to the top token', () => {
    const logits = logitsFor([0.4, 0.3, 0.2, 0.1]);
    expect(keptTokens(logits, params({ topP: 0.95, minP: 0.4 }))).toEqual([0, 1, 2]);
    expect(keptTokens(logits, params({ topP: 0.6, minP: 0.2 }))).toEqual([0, 1]);
  });

  it('scales by temperature before filtering', () => {
    const logits = Float32Array.of(0, Math.log(2), Math.log(4));
    const d = asMap(logits, params({ temperature: 0.5 })); // probabilities ∝ 1, 4, 16
    expect(d.get(0)).toBeCloseTo(1 / 21, 6); // float32 logits: log 2 is not exact
    expect(d.get(1)).toBeCloseTo(4 / 21, 6);
    expect(d.get(2)).toBeCloseTo(16 / 21, 6);
    // Relative to the top token, token 0 has weight 1/4 at T=1 (kept by min-p 0.2) but 1/16 at T=0.5.
    expect(keptTokens(logits, params({ minP: 0.2 }))).toEqual([0, 1, 2]);
    expect(keptTokens(logits, params({ temperature: 0.5, minP: 0.2 }))).toEqual([1, 2]);
  });

  it('subtracts the presence penalty once from previously generated tokens', () => {
    const logits = Float32Array.of(1, 1, 1);
    const d = asMap(logits, params({ presencePenalty: Math.log(2) }), new Set([0, 2, 2, 99, -1]));
    expect(d.get(1)).toBeCloseTo(0.5, 6);
    expect(d.get(0)).toBeCloseTo(0.25, 6);
    expect(d.get(2)).toBeCloseTo(0.25, 6);
  });

  it('never keeps NaN or -Inf tokens, and puts all mass on +Inf tokens', () => {
    expect(keptTokens(Float32Array.of(NaN, 0, -Infinity, 1), BASE)).toEqual([1, 3]);
    expect(keptTokens(Float32Array.of(NaN, 0, -Infinity, 1), params({ topK: 3 }))).toEqual([1, 3]);
    const inf = asMap(Float32Array.of(0, Infinity, 3, Infinity), BASE);
    expect([...inf]).toEqual([
      [1, 0.5],
      [3, 0.5],
    ]);
  });

  it('does not modify the caller’s logits', () => {
    const logits = Float32Array.of(3, 1, 2, 0.5);
    const copy = Float32Array.from(logits);
    const rng = createRng(1);
    for (const p of [params({ presencePenalty: 1.5, topK: 2 }), params({ presencePenalty: 1, topP: 0.5 }), { ...GREEDY, presencePenalty: 2 }]) {
      sampleToken(logits, p, rng, new Set([0, 2]));
    }
    expect(logits).toEqual(copy);
  });
});

describe('samplingDistribution at vocab size 151,936', () => {
  const vocab = 151_936;
  const rng = createRng(2024);
  // Roughly like a language model: a few strong candidates over a long, low tail.
  const logits = Float32Array.from({ length: vocab }, (_, i) => {
    const u = rng.nextFloat();
    return (i % 5003 === 17 ? 12 : 0) + 4 * Math.log(u / (1 - u)) * 0.5;
  });
  const previous = new Set([17, 5020, 100, 151_935]);

  it('matches the brute-force reference', () => {
    for (const p of [
      params({ topK: 20 }),
      params({ topK: 20, topP: 0.8, temperature: 0.7, presencePenalty: 1.5 }),
      params({ topK: 50, minP: 0.05, temperature: 1.3 }),
      params({ topP: 0.95, temperature: 0.6 }),
      params({ topP: 0.99 }),
      params({ topP: 0.999, temperature: 3 }), // heavy tail: the candidate threshold must back off
      params({ minP: 0.01, topP: 0.9, presencePenalty: -1 }),
      params({ minP: 0.1, temperature: 2 }),
      params({ temperature: 0.6 }),
    ]) {
      expectSameDistribution(asMap(logits, p, previous), reference(logits, p, previous));
    }
  });
});

describe('sampleToken', () => {
  it('draws with empirical frequencies matching the distribution', () => {
    const logits = Float32Array.of(2, 1, 0.5, -1, 0.2, 1.2);
    const cases = [params({ temperature: 0.8 }), params({ topK: 3 }), params({ topP: 0.8, temperature: 1.2 }), params({ minP: 0.2 })];
    for (const p of cases) {
      const expected = reference(logits, p);
      const rng = createRng(31337);
      const n = 100_000;
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const t = sampleToken(logits, p, rng);
        counts.set(t, (counts.get(t) ?? 0) + 1);
      }
      expect([...counts.keys()].every((t) => expected.has(t))).toBe(true);
      for (const [t, prob] of expected) {
        const sd = Math.sqrt((prob * (1 - prob)) / n);
        expect(Math.abs((counts.get(t) ?? 0) / n - prob)).toBeLessThan(5 * sd + 1e-9);
      }
    }
  });

  it('is reproducible for a seed and draws exactly once per sampled token', () => {
    const logits = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 1.7) * 3);
    const p = params({ temperature: 0.9, topK: 40, topP: 0.9 });
    const run = (seed: number): number[] => {
      const rng = createRng(seed);
      return Array.from({ length: 200 }, () => sampleToken(logits, p, rng));
    };
    expect(run(8)).toEqual(run(8));
    expect(run(8)).not.toEqual(run(9));

    let draws = 0;
    const inner = createRng(3);
    const counting = { nextFloat: () => (draws++, inner.nextFloat()) };
    sampleToken(logits, p, counting);
    sampleToken(logits, params({ topK: 1 }), counting); // a single candidate still draws
    expect(draws).toBe(2);
  });

  it('maps the uniform draw onto the ranked candidates when top-k or top-p is set', () => {
    // A fourth, impossible token so that top-k = 3 is an active filter.
    const logits = Float32Array.of(Math.log(0.25), Math.log(0.5), Math.log(0.25), -1e4);
    for (const p of [params({ topK: 3 }), params({ topP: 0.99 })]) {
      const at = (u: number): number => sampleToken(logits, p, { nextFloat: () => u });
      // Ties in rank go by token id: order is 1 (0.5), 0 (0.25), 2 (0.25).
      expect(at(0)).toBe(1);
      expect(at(0.49)).toBe(1);
      expect(at(0.51)).toBe(0);
      expect(at(0.76)).toBe(2);
      expect(at(0.9999999999)).toBe(2);
    }
  });

  it('maps the uniform draw onto token-id order when nothing needs ranking', () => {
    const logits = logitsFor([0.25, 0.5, 0.25]);
    const at = (u: number): number => sampleToken(logits, BASE, { nextFloat: () => u });
    expect(at(0)).toBe(0);
    expect(at(0.26)).toBe(1);
    expect(at(0.76)).toBe(2);
  });
});
