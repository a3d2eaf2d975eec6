/**
 * bfloat16: the top 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * Scalar conversions bit-cast through one shared scratch word; the bulk versions view whole arrays as
 * Uint32Array instead, so the hot loops are pure integer work with no per-element scratch traffic.
 */

import { checkDestination } from './check.js';

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Float32 bit pattern → bf16 bits, round to nearest even; NaN becomes a quiet NaN with its sign kept. */
function bitsToBf16(b: number): number {
  // A NaN whose payload lives only in the low 16 bits would truncate to Inf, so force the quiet bit.
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x0040) & 0xffff;
  // Adding 0x7fff plus the lowest kept bit rounds ties to even; a carry into the exponent is the correct
  // result (it can at most turn the largest finite values into Inf, which is what RNE does there).
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

/** Rounds to float32 first (as any float32 source would), then to bf16 with round to nearest even. */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  return bitsToBf16(scratchU32[0]!);
}

export function bf16ArrayToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkDestination(src.length, dst.length);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

export function f32ArrayToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkDestination(src.length, dst.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bitsToBf16(bits[i]!);
  return dst;
}
