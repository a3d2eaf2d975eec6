/**
 * FP8 E4M3FN as defined by the OCP 8-bit floating point spec (and torch.float8_e4m3fn): 1 sign, 4 exponent bits
 * with bias 7, 3 mantissa bits. It gives up infinities to gain range: only S.1111.111 is NaN, so the largest
 * finite value is 1.75 × 2^8 = 448. Subnormals reach down to 2^-9.
 *
 * Encoding saturates (|x| ≥ 448 → ±448, ±Inf → ±448) because that is what FP8 GEMM quantisers do (vLLM,
 * SGLang and DeepSeek clamp to ±448 before the cast): a NaN from an overflow would poison a whole matmul.
 */
import { checkDestination } from './check.js';

export const E4M3_MAX = 448;

/** Code 0x7e: the largest finite magnitude. */
const MAX_CODE = 0x7e;
const NAN_CODE = 0x7f;

function decodeE4m3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exp = (code >>> 3) & 0xf;
  const mant = code & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** The exact value of every code: NaN for 0x7f / 0xff, -0 for 0x80. */
export const E4M3_DECODE: Float32Array = Float32Array.from({ length: 256 }, (_, code) => decodeE4m3(code));

// The same table as float32 bits. JS cannot be relied on to keep a NaN's sign in a number, so set 0xff's
// negative quiet NaN in the bits and copy bits in the bulk decoder: 0xff then survives a bulk round trip.
const DECODE_BITS = new Uint32Array(E4M3_DECODE.buffer);
DECODE_BITS[0xff] = 0xffc00000;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bits → E4M3 code, round to nearest even, saturating. */
function bitsToE4m3(b: number): number {
  const sign = (b >>> 24) & 0x80;
  const abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return sign | NAN_CODE;
  // 448 itself and everything above it (including 464, the midpoint towards a non-existent 480, and Inf).
  if (abs >= 0x43e00000) return sign | MAX_CODE;
  if (abs < 0x3c800000) {
    // Below 2^-6 the result is a subnormal with step 2^-9: shift the full significand down to that step.
    // Exponents this small need a shift of at least 21; beyond 24 the value is under half the step.
    const shift = 141 - (abs >>> 23);
    if (shift > 24) return sign;
    const mant = (abs & 0x7fffff) | 0x800000;
    let q = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (q & 1) !== 0)) q++;
    // q === 8 is the carry into the smallest normal, which is exactly code 0x08.
    return sign | q;
  }
  // Rebias the exponent (127 → 7) in place and keep the top 3 mantissa bits; a rounding carry bumps the
  // exponent, and it cannot reach the NaN code because inputs here are below 448.
  let q = (abs - 0x3c000000) >>> 20;
  const rem = abs & 0xfffff;
  if (rem > 0x80000 || (rem === 0x80000 && (q & 1) !== 0)) q++;
  return sign | q;
}

export function e4m3ToF32(code: number): number {
  return E4M3_DECODE[code & 0xff]!;
}

/**
 * Rounds to float32 first (as a GPU kernel's float32 value would be), then to E4M3. A NaN keeps its sign only
 * if the JS engine kept it in the number; the bulk version sees the raw bits and always keeps it.
 */
export function f32ToE4m3(x: number): number {
  scratchF32[0] = x;
  return bitsToE4m3(scratchU32[0]!);
}

export function f32ArrayToE4m3(src: Float32Array, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  checkDestination(src.length, dst.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bitsToE4m3(bits[i]!);
  return dst;
}

export function e4m3ArrayToF32(src: Uint8Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkDestination(src.length, dst.length);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = DECODE_BITS[src[i]!]!;
  return dst;
}
