/** Small statistics helpers: binomial intervals, means with standard errors, percentiles. */

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927): better than the normal approximation near 0
 * and 1 and for small n. `z = 1.96` gives 95%. With `n = 0` nothing is known: [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): Interval {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!(successes >= 0 && successes <= n)) throw new RangeError(`successes must be in [0, ${n}], got ${successes}`);
  if (!(z > 0)) throw new RangeError(`z must be positive, got ${z}`);
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  // At the ends the exact bound is 0 or 1; rounding would leave it an ulp away.
  return {
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === n ? 1 : Math.min(1, centre + half),
  };
}

export interface MeanAndStdErr {
  readonly n: number;
  readonly mean: number;
  /**
   * Standard error of the mean, s / √n with the sample (n − 1) standard deviation, the same quantity llama.cpp's
   * `sqrt((Σx²/n − mean²) / (n − 1))` estimates. NaN when n < 2 (and mean is NaN when n = 0).
   */
  readonly stdErr: number;
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

/** Two passes (mean, then squared deviations), so a large common offset does not cancel the variance away. */
export function meanAndStdErr(values: ArrayLike<number>): MeanAndStdErr {
  const n = values.length;
  if (n === 0) return { n, mean: Number.NaN, stdErr: Number.NaN };
  const average = mean(values);
  if (n < 2) return { n, mean: average, stdErr: Number.NaN };
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - average;
    squares += d * d;
  }
  return { n, mean: average, stdErr: Math.sqrt(squares / (n - 1) / n) };
}

/**
 * The q-quantile (q in [0, 1]) of ascending-sorted values by linear interpolation between closest ranks:
 * position h = (n − 1)·q, value x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). This is numpy's default
 * (`method='linear'`, Hyndman & Fan type 7) and R's default. q = 0 is the minimum, q = 1 the maximum, q = 0.5
 * the usual median. The values are not checked for order.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be in [0, 1], got ${q}`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo]!;
  if (lo >= n - 1) return below;
  const frac = h - lo;
  return frac === 0 ? below : below + frac * (sorted[lo + 1]! - below);
}
