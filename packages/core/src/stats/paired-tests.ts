/**
 * Exact tests for paired binary outcomes: McNemar's test (exact binomial form and its mid-p variant) and the sign
 * test it is a case of.
 *
 * With one sample per problem, model A and model B each get every problem right or wrong; only the discordant
 * problems (A right and B wrong: `b`; A wrong and B right: `c`) carry information about a difference. Under the
 * null each discordant problem is a fair coin, so `b ~ Binomial(b + c, 1/2)`.
 */

export interface McNemarResult {
  /** Discordant pairs favouring the first of the two (A right, B wrong). */
  readonly b: number;
  /** Discordant pairs favouring the second (A wrong, B right). */
  readonly c: number;
  /** Exact two-sided p: `min(1, 2·P(X ≤ min(b, c)))`, X ~ Binomial(b + c, 1/2). 1 when b + c = 0. */
  readonly pExact: number;
  /**
   * Mid-p (Lancaster 1961; recommended by Fagerland, Lydersen & Laake 2013): the exact p less the point
   * probability, `2·P(X ≤ min) − P(X = min)`. Less conservative; still close to nominal size.
   */
  readonly pMid: number;
}

/** P(X = i) for X ~ Binomial(n, 1/2), i = 0..n, in log space so large n neither underflows nor overflows. */
function halfBinomialPmf(n: number): Float64Array {
  const pmf = new Float64Array(n + 1);
  let log = -n * Math.LN2;
  for (let i = 0; i <= n; i++) {
    pmf[i] = Math.exp(log);
    log += Math.log(n - i) - Math.log(i + 1);
  }
  return pmf;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2): the sign test's tail, and the order-statistic interval of a median. */
export function halfBinomialCdf(k: number, n: number): number {
  const pmf = halfBinomialPmf(n);
  let sum = 0;
  for (let i = 0; i <= Math.min(k, n); i++) sum += pmf[i]!;
  return sum;
}

/** McNemar's exact test on the discordant counts of a 2×2 paired table. */
export function mcnemarTest(b: number, c: number): McNemarResult {
  for (const [name, value] of [['b', b], ['c', c]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  const n = b + c;
  if (n === 0) return { b, c, pExact: 1, pMid: 1 };
  const pmf = halfBinomialPmf(n);
  const m = Math.min(b, c);
  let lower = 0;
  for (let i = 0; i <= m; i++) lower += pmf[i]!;
  return { b, c, pExact: Math.min(1, 2 * lower), pMid: Math.min(1, 2 * lower - pmf[m]!) };
}

export interface SignTestResult extends McNemarResult {
  /** Pairs whose difference was exactly 0 (they carry no sign and are dropped). */
  readonly ties: number;
}

/**
 * The two-sided sign test on paired differences `d[i] = a[i] − b[i]`: `b` counts positive differences, `c`
 * negative ones, zeros are dropped, and the p-values are McNemar's on (b, c). With 0/1 outcomes per problem this
 * is exactly McNemar's test; with per-problem averages over several samples it tests whether A beats B on more
 * problems than it loses, ignoring by how much.
 */
export function signTest(a: ArrayLike<number>, b: ArrayLike<number>): SignTestResult {
  if (a.length !== b.length) throw new RangeError(`paired values must have equal lengths, got ${a.length} and ${b.length}`);
  let positive = 0;
  let negative = 0;
  let ties = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d > 0) positive++;
    else if (d < 0) negative++;
    else ties++;
  }
  return { ...mcnemarTest(positive, negative), ties };
}
