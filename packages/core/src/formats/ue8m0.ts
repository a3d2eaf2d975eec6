/**
 * UE8M0 (OCP MX scale format): an unsigned 8-bit biased exponent, value 2^(code − 127), 0xff = NaN. It can
 * only hold powers of two, used as block scales (DeepSeek-V3.x / MX formats).
 */

export const UE8M0_NAN = 0xff;
const BIAS = 127;
const MIN_CODE = 0;
const MAX_CODE = 0xfe;

export function ue8m0ToF32(code: number): number {
  const c = code & 0xff;
  return c === UE8M0_NAN ? NaN : 2 ** (c - BIAS);
}

/**
 * The smallest power of two ≥ x. Rounding a scale UP means it can never shrink, so a block quantised with
 * it still has |w / scale| ≤ the format's max and cannot overflow (rounding to nearest could halve the
 * headroom and push the block's largest values past 448).
 *
 * Clamped at the range ends: x ≤ 2^-127 (including 0 and negatives, which no amax-derived scale is) → code 0,
 * x > 2^127 (including +Inf) → code 0xfe, the only case that rounds down. NaN → 0xff.
 */
export function f32ToUe8m0(x: number): number {
  if (Number.isNaN(x)) return UE8M0_NAN;
  if (x <= 2 ** (MIN_CODE - BIAS)) return MIN_CODE;
  if (x > 2 ** (MAX_CODE - BIAS)) return MAX_CODE;
  // log2 is not exact near powers of two, so correct the estimate by at most one step either way.
  let e = Math.ceil(Math.log2(x));
  if (2 ** e < x) e++;
  else if (2 ** (e - 1) >= x) e--;
  return e + BIAS;
}
