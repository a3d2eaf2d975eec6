import { mcnemarTest, ResultRowSchema } from '@quantbench/core';
import { describe, expect, it } from 'vitest';
import { cellMetrics, cellRows, deltaRows, formatTable, cellTableLines, pairedDelta, passAtKValues, type ScoredSample } from '../src/index.js';

function sample(problemId: string, sampleIndex: number, correct: boolean, extra: Partial<ScoredSample> = {}): ScoredSample {
  return {
    problemId,
    sampleIndex,
    seed: 1000 + sampleIndex,
    correct,
    truncated: false,
    reasoningTokens: 10,
    answerTokens: 5,
    timings: { totalMs: 1000, batchId: 'b0', batchWallMs: 2000 },
    ...extra,
  };
}

describe('cellMetrics', () => {
  it('avg@n averages per-problem accuracy; pass@k per problem, then over problems (hand-computed)', () => {
    // p1: 1 of 4 correct, p2: 4 of 4, p3: 0 of 4.
    const samples = [
      ...[true, false, false, false].map((c, i) => sample('p1', i, c)),
      ...[true, true, true, true].map((c, i) => sample('p2', i, c)),
      ...[false, false, false, false].map((c, i) => sample('p3', i, c)),
    ];
    const m = cellMetrics(samples, { resamples: 500, seed: 1 });
    expect(m.problems).toBe(3);
    expect(m.samplesPerProblem).toBe(4);
    expect(m.accuracy.mean).toBeCloseTo((0.25 + 1 + 0) / 3, 15);
    expect(m.passAtK.map((p) => p.k)).toEqual([2, 4]);
    // pass@2 for p1: 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5; p2: 1; p3: 0.
    expect(m.passAtK[0]!.interval.mean).toBeCloseTo(0.5, 15);
    // pass@4: p1 1, p2 1, p3 0.
    expect(m.passAtK[1]!.interval.mean).toBeCloseTo(2 / 3, 15);
    expect(m.accuracy.low).toBeLessThanOrEqual(m.accuracy.mean);
    expect(m.accuracy.high).toBeGreaterThanOrEqual(m.accuracy.mean);
  });

  it('truncation rate, mean lengths and throughput over distinct generate calls', () => {
    const samples = [
      sample('a', 0, true, { truncated: true, reasoningTokens: 100, answerTokens: 0, timings: { totalMs: 500, batchId: 'x', batchWallMs: 1000 } }),
      sample('b', 0, false, { reasoningTokens: 20, answerTokens: 10, timings: { totalMs: 300, batchId: 'x', batchWallMs: 1000 } }),
      sample('c', 0, false, { reasoningTokens: 0, answerTokens: 70, timings: { totalMs: 700, batchId: 'y', batchWallMs: 1000 } }),
    ];
    const m = cellMetrics(samples, { resamples: 100 });
    expect(m.truncationRate).toBeCloseTo(1 / 3, 15);
    expect(m.meanReasoningTokens).toBeCloseTo(40, 12);
    expect(m.meanAnswerTokens).toBeCloseTo(80 / 3, 12);
    // 200 tokens over two calls of 1 s each.
    expect(m.tokensPerSecond).toBeCloseTo(100, 12);
    expect(m.sequenceTokensPerSecond).toBeCloseTo((200 + 100 + 100) / 3, 12);
    expect(m.passAtK).toEqual([]);
  });

  it('throughput of generate calls shared with other cells counts the whole call (batchTokens)', () => {
    const samples = [
      sample('a', 0, true, { reasoningTokens: 10, answerTokens: 0, timings: { totalMs: 500, batchId: 'x', batchWallMs: 2000, batchTokens: 400 } }),
      sample('b', 0, true, { reasoningTokens: 30, answerTokens: 0, timings: { totalMs: 500, batchId: 'x', batchWallMs: 2000, batchTokens: 400 } }),
    ];
    expect(cellMetrics(samples, { resamples: 10 }).tokensPerSecond).toBeCloseTo(200, 12);
  });

  it('passAtKValues: powers of two below n and n', () => {
    expect(passAtKValues(1)).toEqual([]);
    expect(passAtKValues(2)).toEqual([2]);
    expect(passAtKValues(5)).toEqual([2, 4, 5]);
    expect(passAtKValues(8)).toEqual([2, 4, 8]);
  });
});

describe('pairedDelta', () => {
  it('one sample per problem: Δ, McNemar exact on the discordant problems', () => {
    const treatment = [1, 1, 0, 1, 0].map((c, i) => sample(`p${i}`, 0, c === 1));
    const control = [0, 1, 0, 0, 1].map((c, i) => sample(`p${i}`, 0, c === 1));
    const d = pairedDelta(treatment, control, { resamples: 1000, seed: 3 });
    expect(d.problems).toBe(5);
    expect(d.delta.mean).toBeCloseTo(0.2, 15);
    expect(d.test).toBe('mcnemar-exact');
    expect(d).toMatchObject({ better: 2, worse: 1, ties: 2 });
    // b = 2, c = 1: P(X ≤ 1 | n = 3) = 4/8 → exact p = 1; mid-p = 1 − 3/8.
    expect(d.p).toBe(mcnemarTest(2, 1).pExact);
    expect(d.p).toBe(1);
    expect(d.pMid).toBeCloseTo(0.625, 15);
    expect(d.delta.low).toBeLessThanOrEqual(0.2);
    expect(d.delta.high).toBeGreaterThanOrEqual(0.2);
  });

  it('several samples: sign test on per-problem avg@n, pairs only samples with the same seed', () => {
    const t = [sample('a', 0, true), sample('a', 1, true), sample('b', 0, false), sample('b', 1, true), sample('c', 0, true)];
    const c = [sample('a', 0, false), sample('a', 1, true), sample('b', 0, false), sample('b', 1, true), sample('c', 0, true, { seed: 999 })];
    const d = pairedDelta(t, c, { resamples: 200 });
    expect(d.test).toBe('sign-test');
    expect(d.problems).toBe(2); // c's only sample has a different seed: not a pair
    expect(d.unmatched).toBe(1);
    expect(d.delta.mean).toBeCloseTo((0.5 + 0) / 2, 15);
    expect(d).toMatchObject({ better: 1, worse: 0, ties: 1, samplesPerProblem: 2 });
  });
});

describe('rows and table', () => {
  it('cell and delta rows validate against the results schema and name their metrics', () => {
    const samples = [sample('a', 0, true), sample('a', 1, false), sample('b', 0, false), sample('b', 1, false)];
    const m = cellMetrics(samples, { resamples: 100 });
    const ctx = { runId: 'r', commit: 'c', engine: 'cpu', device: 'CPU', seed: 0 };
    const rows = cellRows(ctx, { task: 'gsm8k', kernel: 'w8a8', thinking: 'on' }, m);
    for (const row of rows) ResultRowSchema.parse(row);
    expect(rows.map((r) => r.metric)).toEqual([
      'accuracy',
      'pass@2',
      'truncation-rate',
      'mean-reasoning-tokens',
      'mean-answer-tokens',
      'tokens-per-second',
      'sequence-tokens-per-second',
    ]);
    expect(rows[0]).toMatchObject({ format: 'fp8', value: 0.25, n: 2, unit: 'fraction (avg@2)' });
    const d = pairedDelta(samples, samples, { resamples: 100 });
    const deltas = deltaRows(ctx, { task: 'gsm8k', kernel: 'w8a8', thinking: 'on' }, 'delta-accuracy-vs-bf16', d);
    expect(deltas.map((r) => r.metric)).toEqual(['delta-accuracy-vs-bf16', 'delta-accuracy-vs-bf16-p', 'delta-accuracy-vs-bf16-p-mid', 'delta-accuracy-vs-bf16-p-bootstrap']);
    expect(deltas[1]!.unit).toContain('sign test');
    const table = formatTable(cellTableLines({ task: 'gsm8k', kernel: 'w8a8', thinking: 'on' }, m));
    expect(table.split('\n')[0]).toMatch(/^\|Task\s*\|Mode\s*\|Kernel\|Metric\s*\|\s*Value\|\s*±\|\s*n\|$/);
    expect(table).toContain('accuracy (avg@2)');
  });
});
