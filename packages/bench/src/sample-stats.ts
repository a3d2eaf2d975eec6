/**
 * Robust statistics of a handful of timed repeats: the median, a distribution-free interval for it (order
 * statistics), and a relative spread the gate turns into a tolerance.
 */
import { halfBinomialCdf, percentile } from '@quantbench/core';

export interface SampleSummary {
  readonly median: number;
  /** Order-statistic interval for the median: ≥ 95% coverage when n ≥ 6; min..max (coverage 1 − 2^(1−n)) below. */
  readonly low: number;
  readonly high: number;
  /** Half the interval's width over the median: the relative noise of this figure in this run. */
  readonly relSpread: number;
  readonly n: number;
}

export function summarize(samples: readonly number[]): SampleSummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const med = percentile(sorted, 0.5);
  // Largest j with P(Bin(n, 1/2) ≤ j − 1) ≤ 2.5%: [x_(j), x_(n+1−j)] covers the median with ≥ 95%.
  let j = 1;
  while (j + 1 <= n / 2 && halfBinomialCdf(j, n) <= 0.025) j++;
  const low = sorted[j - 1]!;
  const high = sorted[n - j]!;
  return { median: med, low, high, relSpread: med > 0 ? (high - low) / (2 * med) : 0, n };
}
