/**
 * Position-by-position comparison of a reference model A (say BF16) with a test model B (say FP8) on the same
 * tokens: the statistics `llama-perplexity --kl-divergence` made standard, plus raw logit errors.
 *
 * For each position (one row of vocab logits from each model):
 * - KL(P_A ‖ P_B) = Σ p_A(i)·(log p_A(i) − log p_B(i)), from max-subtracted log-softmax in float64.
 * - top-1 agreement: argmax A == argmax B (lowest token id on ties, as `argmax` in sampling).
 * - with the actual next token t: Δp = p_B(t) − p_A(t) (llama.cpp's sign: negative when B is less sure of the
 *   right token) and both models' negative log-likelihoods, for perplexity.
 * - logit errors over every logit: max |B − A|, RMS(B − A), ‖B − A‖₂ / ‖A‖₂. Unlike everything above these
 *   are not invariant to adding a constant to a row.
 *
 * Percentiles use linear interpolation (numpy's default; see `percentile`). Logits must be finite: a NaN or
 * infinity from a broken forward pass throws rather than quietly skewing the means.
 */
import { meanAndStdErr, percentile, wilsonInterval } from './intervals.js';

export interface LogitCompareOptions {
  /**
   * Element index where the reference row starts in `reference` (not a row number), so a row of a bigger
   * `[n, vocab]` array can be passed without copying. Without it the array must be exactly one row.
   */
  readonly rowOffsetRef?: number;
  /** As `rowOffsetRef`, for `test`. */
  readonly rowOffsetTest?: number;
  /** The token that actually comes next at this position, for Δp and perplexity. */
  readonly nextToken?: number;
}

/** What one `add` measured. */
export interface PositionComparison {
  readonly kl: number;
  readonly top1Match: boolean;
  /** p_B(t) − p_A(t); absent without `nextToken`. */
  readonly deltaP?: number;
}

export interface LogitComparisonSummary {
  readonly positions: number;
  readonly kl: {
    readonly mean: number;
    /** Standard error of the mean over positions (NaN with one position). */
    readonly stdErr: number;
    readonly median: number;
    readonly p99: number;
    /** llama.cpp also reports the 99.9th percentile. */
    readonly p999: number;
    readonly max: number;
  };
  readonly top1Agreement: {
    readonly matches: number;
    readonly rate: number;
    /** Wilson 95% interval. */
    readonly ciLow: number;
    readonly ciHigh: number;
  };
  /** Over the positions that had a `nextToken`; null when none did. */
  readonly deltaP: {
    readonly positions: number;
    readonly mean: number;
    /** √(mean Δp²), llama.cpp's "RMS Δp". */
    readonly rms: number;
    readonly stdErr: number;
    readonly min: number;
    readonly p1: number;
    readonly median: number;
    readonly p99: number;
    readonly max: number;
  } | null;
  /** exp(mean negative log-likelihood of the next token), over the positions that had one; null when none did. */
  readonly perplexity: {
    readonly positions: number;
    readonly reference: number;
    readonly test: number;
    /** ln(PPL_test / PPL_reference) = mean(nll_B − nll_A), with its standard error from the paired differences. */
    readonly logRatio: { readonly mean: number; readonly stdErr: number };
  } | null;
  readonly maxAbsLogitError: number;
  /** √(Σ(B − A)² / (positions · vocab)). */
  readonly rmsLogitError: number;
  /** ‖B − A‖₂ / ‖A‖₂ over all logits of all positions. */
  readonly relL2: number;
}

export interface LogitComparison {
  readonly vocabSize: number;
  /** Number of positions added so far. */
  readonly positions: number;
  /** Compares one position. Does not keep references to the arrays. */
  add(reference: Float32Array, test: Float32Array, options?: LogitCompareOptions): PositionComparison;
  /**
   * Compares `rows` consecutive positions of row-major `[rows, vocab]` logits (`reference.length` and
   * `test.length` must be `rows · vocab`), with optional next tokens, one per row.
   */
  addRows(reference: Float32Array, test: Float32Array, nextTokens?: ArrayLike<number>): void;
  /** Throws when no position was added. */
  summary(): LogitComparisonSummary;
}

/** A float64 list that grows by doubling: a few bytes per position instead of a JS array's boxed numbers. */
class Values {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

export function createLogitComparison(vocabSize: number): LogitComparison {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
  }
  const V = vocabSize;
  const kls = new Values();
  const deltaPs = new Values();
  const nllA = new Values();
  const nllDiff = new Values();
  let positions = 0;
  let matches = 0;
  let sumSqErr = 0;
  let sumSqRef = 0;
  let maxAbs = 0;

  const rowStart = (array: Float32Array, offset: number | undefined, which: string): number => {
    if (offset === undefined) {
      if (array.length !== V) {
        throw new RangeError(`${which} has ${array.length} logits, expected one row of ${V} (or pass a row offset)`);
      }
      return 0;
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + V > array.length) {
      throw new RangeError(`${which} row offset ${offset} + ${V} is outside ${array.length} logits`);
    }
    return offset;
  };

  const add = (reference: Float32Array, test: Float32Array, options: LogitCompareOptions = {}): PositionComparison => {
    const oa = rowStart(reference, options.rowOffsetRef, 'reference');
    const ob = rowStart(test, options.rowOffsetTest, 'test');
    const next = options.nextToken;
    if (next !== undefined && !(Number.isInteger(next) && next >= 0 && next < V)) {
      throw new RangeError(`nextToken ${next} is outside the vocabulary [0, ${V})`);
    }

    // Pass 1: maxima, argmaxes and logit errors. `finite` stays 0 unless some logit is NaN or ±Inf (x − x = NaN).
    let maxA = -Infinity;
    let maxB = -Infinity;
    let argA = 0;
    let argB = 0;
    let finite = 0;
    let rowSqErr = 0;
    let rowSqRef = 0;
    let rowMaxAbs = 0;
    for (let i = 0; i < V; i++) {
      const a = reference[oa + i]!;
      const b = test[ob + i]!;
      finite += a - a + (b - b);
      if (a > maxA) {
        maxA = a;
        argA = i;
      }
      if (b > maxB) {
        maxB = b;
        argB = i;
      }
      const d = b - a;
      rowSqErr += d * d;
      rowSqRef += a * a;
      const ad = Math.abs(d);
      if (ad > rowMaxAbs) rowMaxAbs = ad;
    }
    if (finite !== 0) {
      throw new RangeError(`position ${positions}: the reference or test logits contain NaN or infinity`);
    }

    // Pass 2: partition functions and Σ e^(a−maxA)·(log-softmax difference before normalisation).
    let zA = 0;
    let zB = 0;
    let s = 0;
    for (let i = 0; i < V; i++) {
      const la = reference[oa + i]! - maxA;
      const lb = test[ob + i]! - maxB;
      const ea = Math.exp(la);
      zA += ea;
      zB += Math.exp(lb);
      s += ea * (la - lb);
    }
    const logZA = Math.log(zA);
    const logZB = Math.log(zB);
    // log p_A(i) − log p_B(i) = (la − lb) − logZA + logZB, and Σ p_A = 1.
    // KL ≥ 0 (Gibbs' inequality); for (near-)identical rows the two terms cancel and float64 rounding can leave a
    // result of order −1e-16, which is clamped rather than reported as a negative divergence.
    const kl = Math.max(0, s / zA - logZA + logZB);

    positions++;
    kls.push(kl);
    const top1Match = argA === argB;
    if (top1Match) matches++;
    sumSqErr += rowSqErr;
    sumSqRef += rowSqRef;
    if (rowMaxAbs > maxAbs) maxAbs = rowMaxAbs;

    if (next === undefined) return { kl, top1Match };
    const la = reference[oa + next]! - maxA;
    const lb = test[ob + next]! - maxB;
    const deltaP = Math.exp(lb - logZB) - Math.exp(la - logZA);
    const nA = logZA - la;
    const nB = logZB - lb;
    deltaPs.push(deltaP);
    nllA.push(nA);
    nllDiff.push(nB - nA);
    return { kl, top1Match, deltaP };
  };

  const addRows = (reference: Float32Array, test: Float32Array, nextTokens?: ArrayLike<number>): void => {
    if (reference.length % V !== 0 || test.length !== reference.length) {
      throw new RangeError(`addRows: ${reference.length} and ${test.length} logits are not the same rows of ${V}`);
    }
    const rows = reference.length / V;
    if (nextTokens !== undefined && nextTokens.length !== rows) {
      throw new RangeError(`addRows: ${nextTokens.length} next tokens for ${rows} rows`);
    }
    for (let r = 0; r < rows; r++) {
      const nextToken = nextTokens?.[r];
      add(reference, test, {
        rowOffsetRef: r * V,
        rowOffsetTest: r * V,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
    }
  };

  const summary = (): LogitComparisonSummary => {
    if (positions === 0) throw new Error('no positions were added to the logit comparison');
    const klSorted = kls.sorted();
    const klStats = meanAndStdErr(kls.view());
    const ci = wilsonInterval(matches, positions);

    let deltaP: LogitComparisonSummary['deltaP'] = null;
    let perplexity: LogitComparisonSummary['perplexity'] = null;
    if (deltaPs.length > 0) {
      const dp = deltaPs.view();
      const dpSorted = deltaPs.sorted();
      const dpStats = meanAndStdErr(dp);
      let sq = 0;
      for (const v of dp) sq += v * v;
      deltaP = {
        positions: dp.length,
        mean: dpStats.mean,
        rms: Math.sqrt(sq / dp.length),
        stdErr: dpStats.stdErr,
        min: dpSorted[0]!,
        p1: percentile(dpSorted, 0.01),
        median: percentile(dpSorted, 0.5),
        p99: percentile(dpSorted, 0.99),
        max: dpSorted[dpSorted.length - 1]!,
      };
      const meanNllA = meanAndStdErr(nllA.view()).mean;
      const ratio = meanAndStdErr(nllDiff.view());
      perplexity = {
        positions: dp.length,
        reference: Math.exp(meanNllA),
        test: Math.exp(meanNllA + ratio.mean),
        logRatio: { mean: ratio.mean, stdErr: ratio.stdErr },
      };
    }

    return {
      positions,
      kl: {
        mean: klStats.mean,
        stdErr: klStats.stdErr,
        median: percentile(klSorted, 0.5),
        p99: percentile(klSorted, 0.99),
        p999: percentile(klSorted, 0.999),
        max: klSorted[klSorted.length - 1]!,
      },
      top1Agreement: { matches, rate: matches / positions, ciLow: ci.low, ciHigh: ci.high },
      deltaP,
      perplexity,
      maxAbsLogitError: maxAbs,
      rmsLogitError: Math.sqrt(sumSqErr / (positions * V)),
      // An all-zero reference has no scale: 0 when B matches it, infinite otherwise.
      relL2: sumSqRef > 0 ? Math.sqrt(sumSqErr / sumSqRef) : sumSqErr === 0 ? 0 : Infinity,
    };
  };

  return {
    vocabSize: V,
    get positions() {
      return positions;
    },
    add,
    addRows,
    summary,
  };
}
