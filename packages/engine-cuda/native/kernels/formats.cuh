// Device helpers shared by the quantbench CUDA kernels: number-format conversions that must match the CPU
// engine bit for bit (core's formats/e4m3.ts), streaming loads, warp reductions and the tensor-core MMAs.
//
// Build note: the fast e4m3 decode relies on float32 subnormals surviving a multiply, so these kernels must not
// be compiled with -ftz=true (which --use_fast_math implies).
#pragma once

#include <cstdint>
#include <cstring>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace qb {

__device__ __forceinline__ float bf16BitsToFloat(uint32_t bits) { return __uint_as_float(bits << 16); }

// Exact value of an e4m3fn code; 0x7f / 0xff are NaN (the format has no infinities).
__host__ __device__ __forceinline__ float e4m3ToFloat(uint32_t code) {
  const uint32_t sign = (code & 0x80u) << 24;
  const uint32_t em = code & 0x7fu;
  // Placing exponent+mantissa at float bit 20 gives the value times 2^-120, subnormals included (they become
  // float32 subnormals with the same significand); the multiply restores the scale exactly.
  const uint32_t bits = em == 0x7fu ? sign | 0x7fc00000u : sign | (em << 20);
  const float scale = em == 0x7fu ? 1.0f : 0x1p120f;
#ifdef __CUDA_ARCH__
  return __uint_as_float(bits) * scale;
#else
  float f;
  memcpy(&f, &bits, sizeof f);
  return f * scale;
#endif
}

// Four e4m3 codes packed little-endian in a word, decoded exactly except that a NaN code comes out as ±480: a
// per-value NaN test would cost as much as the decode. Kernels that must propagate NaN instead OR together
// e4m3x4NanBits of the words behind a sum and poison the sum once when e4m3AnyNan says so.
__device__ __forceinline__ void e4m3x4ToFloatFinite(uint32_t w, float (&f)[4]) {
  f[0] = __uint_as_float(((w << 20) & 0x07f00000u) | ((w << 24) & 0x80000000u)) * 0x1p120f;
  f[1] = __uint_as_float(((w << 12) & 0x07f00000u) | ((w << 16) & 0x80000000u)) * 0x1p120f;
  f[2] = __uint_as_float(((w << 4) & 0x07f00000u) | ((w << 8) & 0x80000000u)) * 0x1p120f;
  f[3] = __uint_as_float(((w >> 4) & 0x07f00000u) | (w & 0x80000000u)) * 0x1p120f;
}

// A code whose low 7 bits are all ones (NaN) carries into its byte's bit 7; no carry crosses bytes.
__device__ __forceinline__ uint32_t e4m3x4NanBits(uint32_t w) { return (w & 0x7f7f7f7fu) + 0x01010101u; }
__device__ __forceinline__ bool e4m3AnyNan(uint32_t nanBits) { return (nanBits & 0x80808080u) != 0u; }

// e4m3 → bf16 bits for two codes (low two bytes of `w`), packed low/high. Every e4m3 value, subnormals
// included, is exactly representable in bf16, so truncating the exact float32 decode loses nothing.
__device__ __forceinline__ uint32_t e4m3x2ToBf16x2(uint32_t w) {
  const uint32_t lo = __float_as_uint(e4m3ToFloat(w & 0xffu)) >> 16;
  const uint32_t hi = __float_as_uint(e4m3ToFloat((w >> 8) & 0xffu)) & 0xffff0000u;
  return lo | hi;
}

// float32 bits → e4m3fn code: round to nearest even, saturating to ±448 (Inf too), NaN → sign | 0x7f.
// A transliteration of core's bitsToE4m3 so both engines quantise identically.
__host__ __device__ __forceinline__ uint32_t floatBitsToE4m3(uint32_t b) {
  const uint32_t sign = (b >> 24) & 0x80u;
  const uint32_t abs = b & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7fu;
  if (abs >= 0x43e00000u) return sign | 0x7eu;
  if (abs < 0x3c800000u) {
    // Below 2^-6 the result is subnormal with step 2^-9; exponents this small shift by at least 21.
    const uint32_t shift = 141u - (abs >> 23);
    if (shift > 24u) return sign;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u) != 0u)) q++;
    return sign | q;  // q == 8 is the carry into the smallest normal, code 0x08
  }
  uint32_t q = (abs - 0x3c000000u) >> 20;
  const uint32_t rem = abs & 0xfffffu;
  if (rem > 0x80000u || (rem == 0x80000u && (q & 1u) != 0u)) q++;
  return sign | q;
}

__device__ __forceinline__ uint32_t floatToE4m3(float x) { return floatBitsToE4m3(__float_as_uint(x)); }

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Weights are read exactly once per GEMV: keep them out of L1 so the activations that every block re-reads
// stay resident there.
__device__ __forceinline__ uint4 loadStreaming16(const void* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// Splits float32 pairs into bf16 hi = bf16(x) and lo = bf16(x - hi): hi + lo carries ~16 significand bits, so
// two bf16 MMAs against an exactly-bf16 weight give float32-grade products.
__device__ __forceinline__ void splitBf16x2(float a, float b, uint32_t& hi, uint32_t& lo) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
  const float2 hf = __bfloat1622float2(h);
  const __nv_bfloat162 l = __floats2bfloat162_rn(a - hf.x, b - hf.y);
  hi = *reinterpret_cast<const uint32_t*>(&h);
  lo = *reinterpret_cast<const uint32_t*>(&l);
}

// D += A·B, m16n8k16, bf16 inputs, float32 accumulators (the PTX ISA's fragment layouts).
__device__ __forceinline__ void mmaBf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

}  // namespace qb
