/**
 * The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", §2.1):
 * with n samples of a problem of which c are correct, the probability that at least one of k samples drawn
 * without replacement is correct is `1 − C(n − c, k) / C(n, k)`. Computed as the paper's numerically stable
 * product `1 − Π_{i = n−c+1}^{n} (1 − k / i)`, and exactly 1 when `n − c < k` (every k-subset holds a correct one).
 * pass@1 is c / n; averaged over problems that is avg@n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(c) || c < 0 || c > n) throw new RangeError(`c must be an integer in [0, ${n}], got ${c}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k must be an integer in [1, ${n}], got ${k}`);
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}
