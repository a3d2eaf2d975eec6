/**
 * IEEE 754 binary16 (1 sign, 5 exponent with bias 15, 10 mantissa bits), with subnormals and infinities.
 */

import { checkDestination } from './check.js';

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** binary16 bits → float32 bits. Every half value is exact in float32. */
function fp16ToBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: renormalise so the leading 1 becomes float32's implicit bit.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** float32 bits → binary16 bits, round to nearest even, overflow to ±Inf, NaN kept quiet with its sign. */
function bitsToFp16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  // 65520 (0x477ff000) is the midpoint between 65504 (odd mantissa) and 2^16, so it and above round to Inf.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // Below 2^-14 the result is a subnormal with step 2^-24: shift the full significand down to that step.
    // Exponents this small need a shift of at least 14; beyond 25 the value is under half the step.
    const shift = 126 - (abs >>> 23);
    if (shift > 24) return sign;
    const mant = (abs & 0x7fffff) | 0x800000;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  // Rebias the exponent (127 → 15) in place; a rounding carry correctly bumps the exponent.
  let h = (abs - 0x38000000) >>> 13;
  const rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

export function fp16ToF32(bits: number): number {
  scratchU32[0] = fp16ToBits(bits & 0xffff);
  return scratchF32[0]!;
}

/** Rounds to float32 first, then to binary16 (round to nearest even). */
export function f32ToFp16(x: number): number {
  scratchF32[0] = x;
  return bitsToFp16(scratchU32[0]!);
}

export function fp16ArrayToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkDestination(src.length, dst.length);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = fp16ToBits(src[i]!);
  return dst;
}

export function f32ArrayToFp16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkDestination(src.length, dst.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bitsToFp16(bits[i]!);
  return dst;
}
