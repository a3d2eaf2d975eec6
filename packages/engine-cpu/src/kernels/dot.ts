/**
 * Σ_i a[aOffset + i] · b[i] for i < length. JavaScript arithmetic is float64, so the sum is accumulated in
 * float64 and only the caller's store rounds it to float32. Four accumulators let the CPU overlap the additions.
 */
export function dot(a: Float32Array, aOffset: number, b: Float32Array, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < length; i += 4) {
    s0 += a[aOffset + i]! * b[i]!;
    s1 += a[aOffset + i + 1]! * b[i + 1]!;
    s2 += a[aOffset + i + 2]! * b[i + 2]!;
    s3 += a[aOffset + i + 3]! * b[i + 3]!;
  }
  for (; i < length; i++) s0 += a[aOffset + i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

/** The same over a sub-range [start, end) of both vectors (a at aOffset + i, b at bOffset + i). */
export function dotRange(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, start: number, end: number): number {
  let s0 = 0;
  let s1 = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    s0 += a[aOffset + i]! * b[bOffset + i]!;
    s1 += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
  }
  for (; i < end; i++) s0 += a[aOffset + i]! * b[bOffset + i]!;
  return s0 + s1;
}
