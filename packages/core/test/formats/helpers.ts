const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bitsToF32(bits: number): number {
  u32[0] = bits;
  return f32[0]!;
}

export function f32ToBits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** A tiny deterministic generator for test inputs (mulberry32), independent of the code under test. */
export function randomU32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Reference round-to-nearest-even onto a sorted table of non-negative finite values (index = code order),
 * by exact comparison; returns the index. `even(i)` decides ties.
 */
export function nearestIndex(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length - 1;
  if (x <= values[0]!) return 0;
  if (x >= values[hi]!) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const dLo = x - values[lo]!;
  const dHi = values[hi]! - x;
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hi;
  return lo % 2 === 0 ? lo : hi;
}
