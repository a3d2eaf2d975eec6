/**
 * Bootstrap intervals over problems (Efron & Tibshirani 1993, the percentile method).
 *
 * The unit of resampling is the problem: an eval's samples of one problem are not independent of each other, so
 * each problem contributes one value (its avg@n, its pass@k, or its paired difference) and the bootstrap draws
 * problems with replacement. Draws come from the seeded xoshiro128** generator, so an interval is reproducible
 * from (values, resamples, seed) alone; record all three beside it.
 */
import { createRng } from '../sampling/rng.js';
import { mean, percentile } from './intervals.js';

export interface BootstrapOptions {
  /** Resamples B (default 10,000). */
  readonly resamples?: number;
  /** Seed of the resampling RNG (default 0). */
  readonly seed?: number;
  /** Central coverage of the interval (default 0.95). */
  readonly level?: number;
}

export interface BootstrapInterval {
  /** The statistic on the original data: the mean of the values. */
  readonly mean: number;
  /** Percentile interval: the (1 − level)/2 and (1 + level)/2 quantiles of the B resampled means (type 7). */
  readonly low: number;
  readonly high: number;
  /** Problems (values) resampled. */
  readonly n: number;
  readonly resamples: number;
  readonly seed: number;
  readonly level: number;
}

export interface PairedBootstrap extends BootstrapInterval {
  /**
   * Two-sided bootstrap p-value for "the mean difference is 0": twice the smaller tail of the resampled means
   * on either side of 0, with the +1 correction of Davison & Hinkley (1997, §4.4):
   * `min(1, 2·min((1 + #{d* ≤ 0}) / (B + 1), (1 + #{d* ≥ 0}) / (B + 1)))`.
   */
  readonly pValue: number;
}

function checkOptions(options: BootstrapOptions): { resamples: number; seed: number; level: number } {
  const resamples = options.resamples ?? 10_000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  return { resamples, seed, level };
}

/** The B resampled means of `values`, sorted ascending. */
function resampledMeans(values: ArrayLike<number>, resamples: number, seed: number): Float64Array {
  const n = values.length;
  const rng = createRng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rng.nextFloat() * n)]!;
    means[b] = sum / n;
  }
  return means.sort();
}

/**
 * Percentile-bootstrap interval for the mean of per-problem values. With no values everything is NaN; with one
 * value the interval is that value.
 */
export function bootstrapMeanInterval(values: ArrayLike<number>, options: BootstrapOptions = {}): BootstrapInterval {
  const { resamples, seed, level } = checkOptions(options);
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, n, resamples, seed, level };
  const means = resampledMeans(values, resamples, seed);
  return { mean: mean(values), low: percentile(means, (1 - level) / 2), high: percentile(means, (1 + level) / 2), n, resamples, seed, level };
}

/**
 * Paired bootstrap for the mean difference `a − b` over the same problems (a[i] and b[i] belong to problem i):
 * the problems are resampled jointly, so the pairing (same problem, same sample seeds) is kept.
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions = {}): PairedBootstrap {
  if (a.length !== b.length) throw new RangeError(`paired values must have equal lengths, got ${a.length} and ${b.length}`);
  const { resamples, seed, level } = checkOptions(options);
  const n = a.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, pValue: Number.NaN, n, resamples, seed, level };
  const diffs = new Float64Array(n);
  for (let i = 0; i < n; i++) diffs[i] = a[i]! - b[i]!;
  const means = resampledMeans(diffs, resamples, seed);
  let atMost = 0;
  let atLeast = 0;
  for (const m of means) {
    if (m <= 0) atMost++;
    if (m >= 0) atLeast++;
  }
  const tail = Math.min((1 + atMost) / (resamples + 1), (1 + atLeast) / (resamples + 1));
  return {
    mean: mean(diffs),
    low: percentile(means, (1 - level) / 2),
    high: percentile(means, (1 + level) / 2),
    pValue: Math.min(1, 2 * tail),
    n,
    resamples,
    seed,
    level,
  };
}
