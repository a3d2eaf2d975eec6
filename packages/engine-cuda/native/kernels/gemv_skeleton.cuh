// The decode GEMV skeleton shared by gemv_bf16.cu, gemv_fp8_w8a16.cu and gemv_fp8_w8a8.cu: y[r, o] for
// rows 1..kGemvMaxRows tokens, with the weights streamed from memory exactly once.
//
// Launch shape (the same for every format): grid ceil(out / NR) blocks of kThreads = 256 threads, no dynamic
// shared memory (static: 8 warps x NR*ROWS partial sums). Each block owns NR consecutive output rows and all
// ROWS tokens. Its threads split K into chunks of VEC weights: one 16-byte streaming load per weight row
// (ld.global.nc, kept out of L1) when every weight row is 16-byte aligned (the fast path, VEC = 16 bytes of
// weights), one weight read through __ldg otherwise (the scalar path, VEC = 1). Each thread keeps UNROLL chunks
// in flight before decoding the first, and each chunk's weights meet every token row (activations read through
// L1, which all blocks on an SM share). Warp shuffles, then shared memory, reduce the 256 per-thread sums.
//
// What a format contributes is a policy object with one member,
//   template <int VEC> void dot(float (&acc)[NR][ROWS], const uint32_t (&raw)[NR][WORDS], int c, int in) const;
// which decodes chunk c of the NR weight rows (raw: the chunk's WORDS 32-bit words per row, little-endian) and
// adds its products with the activations into acc, scaling them however the format requires.
#pragma once

#include <cstdint>
#include <type_traits>

#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace gemv {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <int N, int M>
__device__ __forceinline__ void zero(float (&a)[N][M]) {
#pragma unroll
  for (int n = 0; n < N; n++)
#pragma unroll
    for (int m = 0; m < M; m++) a[n][m] = 0.0f;
}

// part[n][r] = fma(xv[e], wf[n][e], part[n][r]) for e = 0..PER-1 in order, for each of the NR weight rows.
template <int PER, int NR, int ROWS, int W, int X>
__device__ __forceinline__ void fmaRow(float (&part)[NR][ROWS], int r, const float (&xv)[X],
                                       const float (&wf)[NR][W]) {
#pragma unroll
  for (int n = 0; n < NR; n++)
#pragma unroll
    for (int e = 0; e < PER; e++) part[n][r] = fmaf(xv[e], wf[n][e], part[n][r]);
}

// Word q of each weight row's e4m3 chunk decoded into wf[n][0..3] (fast path: 4 codes, NaN codes flagged into
// nanBits[n] rather than tested per value) or, on the scalar path, its single code into wf[n][0], exactly.
template <bool FAST, int NR, int WORDS>
__device__ __forceinline__ void decodeE4m3Word(const uint32_t (&raw)[NR][WORDS], int q, float (&wf)[NR][4],
                                               uint32_t (&nanBits)[NR]) {
#pragma unroll
  for (int n = 0; n < NR; n++) {
    if constexpr (FAST) {
      e4m3x4ToFloatFinite(raw[n][q], wf[n]);
      nanBits[n] |= e4m3x4NanBits(raw[n][q]);
    } else {
      wf[n][0] = e4m3ToFloat(raw[n][0]);
    }
  }
}

// Sums each thread's acc over the block (through `partial`, one slot per warp and sum) and writes y[r, o0 + n]
// for the output rows that exist.
template <int NR, int ROWS>
__device__ __forceinline__ void reduceAndStore(const float (&acc)[NR][ROWS], float (&partial)[kWarps][NR * ROWS],
                                               float* __restrict__ y, int out, int o0) {
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NR; n++)
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const float s = warpSum(acc[n][r]);
      if (lane == 0) partial[warp][n * ROWS + r] = s;
    }
  __syncthreads();
  if (threadIdx.x < NR * ROWS) {
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps; i++) s += partial[i][threadIdx.x];
    const int n = threadIdx.x / ROWS;
    const int r = threadIdx.x % ROWS;
    if (o0 + n < out) y[static_cast<size_t>(r) * out + o0 + n] = s;
  }
}

// The body of a GEMV kernel: block blockIdx.x computes y[0..ROWS-1, NR*blockIdx.x ..+NR-1] from the weight rows
// w[out, in] (element type W, VEC of them per chunk: 16 / sizeof(W) on the fast path, 1 on the scalar path).
template <int ROWS, int NR, int VEC, int UNROLL, typename W, typename Format>
__device__ __forceinline__ void run(const Format& format, const W* __restrict__ w, float* __restrict__ y, int out,
                                    int in) {
  constexpr bool kFast = VEC * sizeof(W) == 16;
  static_assert(kFast || VEC == 1, "a chunk is 16 bytes of weights or a single weight");
  constexpr int kWords = kFast ? 4 : 1;
  const int o0 = blockIdx.x * NR;
  const W* wRow[NR];
#pragma unroll
  for (int n = 0; n < NR; n++) wRow[n] = w + static_cast<size_t>(min(o0 + n, out - 1)) * in;  // past the end: reread the last row

  float acc[NR][ROWS];
  zero(acc);

  const int chunks = in / VEC;
  for (int c0 = threadIdx.x; c0 < chunks; c0 += kThreads * UNROLL) {
    uint32_t raw[UNROLL][NR][kWords];
#pragma unroll
    for (int u = 0; u < UNROLL; u++) {
      const int c = c0 + u * kThreads;
#pragma unroll
      for (int n = 0; n < NR; n++) {
        if constexpr (kFast) {
          const uint4 v = c < chunks ? loadStreaming16(wRow[n] + static_cast<size_t>(c) * VEC) : make_uint4(0, 0, 0, 0);
          raw[u][n][0] = v.x;
          raw[u][n][1] = v.y;
          raw[u][n][2] = v.z;
          raw[u][n][3] = v.w;
        } else {
          raw[u][n][0] = c < chunks ? __ldg(wRow[n] + c) : 0u;
        }
      }
    }
#pragma unroll
    for (int u = 0; u < UNROLL; u++) {
      const int c = c0 + u * kThreads;
      if (c >= chunks) break;
      format.template dot<VEC>(acc, raw[u], c, in);
    }
  }

  __shared__ float partial[kWarps][NR * ROWS];  // declared here, so that each kernel has its own
  reduceAndStore(acc, partial, y, out, o0);
}

// ---- host side ------------------------------------------------------------------------------------------------

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

inline dim3 grid(int out, int nr) { return dim3((out + nr - 1) / nr); }

// Calls launch(ROWS, NR, r0) once per group of up to kGemvMaxRows token rows starting at row r0, with ROWS (the
// group's row count) and NR (output rows per block) as std::integral_constant<int, ...>. Larger batches are
// correct too, in groups, though the matmul* dispatchers send them to the GEMMs.
template <int ROWS, typename Launch>
void launchGroup(int out, int r0, Launch& launch) {
  // Wider blocks (several output rows sharing each activation load) only where there are blocks to spare for
  // 132 SMs.
  if (out >= 16384) {
    launch(std::integral_constant<int, ROWS>{}, std::integral_constant<int, 4>{}, r0);
  } else if (out >= 8192) {
    launch(std::integral_constant<int, ROWS>{}, std::integral_constant<int, 2>{}, r0);
  } else {
    launch(std::integral_constant<int, ROWS>{}, std::integral_constant<int, 1>{}, r0);
  }
}

template <typename Launch>
void forEachRowGroup(int rows, int out, Launch&& launch) {
  for (int r0 = 0; r0 < rows; r0 += kGemvMaxRows) {
    switch (min(rows - r0, kGemvMaxRows)) {
      case 1: launchGroup<1>(out, r0, launch); break;
      case 2: launchGroup<2>(out, r0, launch); break;
      case 3: launchGroup<3>(out, r0, launch); break;
      case 4: launchGroup<4>(out, r0, launch); break;
      case 5: launchGroup<5>(out, r0, launch); break;
      case 6: launchGroup<6>(out, r0, launch); break;
      case 7: launchGroup<7>(out, r0, launch); break;
      default: launchGroup<8>(out, r0, launch); break;
    }
  }
}

}  // namespace gemv
}  // namespace qb
