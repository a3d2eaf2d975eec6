/**
 * The gate's statistic: the speed ratio candidate / base of one figure from samples taken in pairs (a base call and
 * a candidate call side by side, in alternating order), in rounds (each round a fresh pair of worker processes).
 *
 * Within a round the pairs share the two processes, so they share whatever a process brings with it (where its
 * memory landed, what its JIT decided): pairs of one round are not independent of each other, rounds are. Each
 * round therefore gives one estimate, the median of its pairs' log-ratios ln(base ms / candidate ms) (robust to a
 * descheduled call), and the interval is Student's t over the rounds' estimates:
 *     ln ratio ∈ mean(m) ± t_{1−α/2, R−1} · sd(m) / √R
 * which is honest however large the process-to-process part of the noise is. With one round there is no interval.
 */
import { mean, percentile, studentTQuantile } from '@quantbench/core';

export interface PairedSamples {
  readonly baseMs: number;
  readonly candidateMs: number;
}

export interface RatioInterval {
  /** Candidate speed over base speed (base time / candidate time): below 1 is slower. */
  readonly ratio: number;
  /** The interval's ends; NaN with fewer than two rounds. */
  readonly low: number;
  readonly high: number;
  readonly rounds: number;
  readonly pairs: number;
  /** Each round's estimate, as a ratio. */
  readonly roundRatios: readonly number[];
}

/** The median of one round's log-ratios. */
export function roundLogRatio(pairs: readonly PairedSamples[]): number {
  if (pairs.length === 0) throw new Error('a round with no pairs');
  return percentile(
    pairs.map((pair) => Math.log(pair.baseMs / pair.candidateMs)).sort((a, b) => a - b),
    0.5,
  );
}

/** The ratio and its two-sided `level` interval from the rounds' pairs. */
export function pairedRatioInterval(rounds: readonly (readonly PairedSamples[])[], level: number): RatioInterval {
  const used = rounds.filter((pairs) => pairs.length > 0);
  const estimates = used.map(roundLogRatio);
  const pairs = used.reduce((sum, round) => sum + round.length, 0);
  const centre = mean(estimates);
  const roundRatios = estimates.map(Math.exp);
  if (estimates.length < 2) return { ratio: Math.exp(centre), low: Number.NaN, high: Number.NaN, rounds: estimates.length, pairs, roundRatios };
  const sd = Math.sqrt(estimates.reduce((sum, x) => sum + (x - centre) ** 2, 0) / (estimates.length - 1));
  const half = studentTQuantile(1 - (1 - level) / 2, estimates.length - 1) * (sd / Math.sqrt(estimates.length));
  return { ratio: Math.exp(centre), low: Math.exp(centre - half), high: Math.exp(centre + half), rounds: estimates.length, pairs, roundRatios };
}
