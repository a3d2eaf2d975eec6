// The tensor-core GEMM skeleton shared by gemm_bf16.cu and gemm_fp8_w8a16.cu (gemm_fp8_w8a8.cu shares its launch
// shape, tile coordinates and epilogue): y[rows, out] = x[rows, in] . W^T for prefill and large batches.
//
// Launch shape (the same for every format): grid (ceil(out/128), ceil(rows/64)), kThreads = 256 threads (8 warps
// as 2 along rows x 4 along outputs, each owning a 32x32 output tile), static shared memory only: two stages of
// the block's K slice. run() is the pipeline: each K step is prefetched from global memory into registers while
// the previous one is multiplied out of shared memory, then stored into the other stage. Tails of rows, out and
// in are zero-filled by the loads; the epilogue (storeOutputs) writes only the outputs that exist.
//
// A format contributes a Tiles policy:
//   kBk               K per stage
//   Stage, Prefetch   one shared-memory stage; a thread's share of it, held in registers between load and store
//   kBlockScaled      false: the MMAs accumulate straight into the float32 result. true: each 128-wide K block
//                     (kFp8Block / kBk stages) gets fresh MMA accumulators, which promote() then scales into the
//                     result once (a block never mixes two scales), after which they restart from zero
//   load(p, tile, k0), store(p, stage), mma(acc, stage, tile), promote(acc, blockAcc, block, tile)
// split:: holds the policy of the two GEMMs with float32 activations (gemm_bf16, gemm_fp8_w8a16); what differs
// between them is their Weights part (how a weight tile loads and stages as bf16, how a K block's partial is
// scaled).
#pragma once

#include <cstdint>

#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace gemm {

constexpr int kBm = 64;
constexpr int kBn = 128;
constexpr int kThreads = 256;

// A warp's 2 x 4 grid of m16n8 accumulator fragments (32 x 32 outputs), 4 floats per thread each.
using Acc = float[2][4][4];

// Where the thread sits: its block's output tile, its warp's 32x32 part of it and its place in mma fragments.
struct Tile {
  int m0;  // the block's first row
  int n0;  // the block's first output
  int g;   // mma fragment group: row of A/C, column of B
  int t;   // thread in group: K pair (bf16) or quad (e4m3) of A/B, column pair of C
  int wm;  // the warp's first row within the block tile
  int wn;  // the warp's first output within the block tile
};

__device__ __forceinline__ Tile tile() {
  const int m0 = blockIdx.y * kBm;
  const int n0 = blockIdx.x * kBn;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  return Tile{m0, n0, lane / 4, lane % 4, (warp / 4) * 32, (warp % 4) * 32};
}

__device__ __forceinline__ void zero(Acc& acc) {
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
}

// The epilogue: the thread's fragments of the block tile into y, outputs past rows or out left alone.
__device__ __forceinline__ void storeOutputs(const Acc& acc, const Tile& tl, float* __restrict__ y, int rows,
                                             int out) {
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int r = tl.m0 + tl.wm + i * 16 + tl.g + (e >= 2 ? 8 : 0);
        const int o = tl.n0 + tl.wn + j * 8 + 2 * tl.t + (e & 1);
        if (r < rows && o < out) y[static_cast<size_t>(r) * out + o] = acc[i][j][e];
      }
}

// The block's whole K loop and epilogue (see the top of this file for the Tiles policy).
template <class Tiles>
__device__ __forceinline__ void run(const Tiles& tiles, const Tile& tl, float* __restrict__ y, int rows, int out,
                                    int in) {
  constexpr int kBk = Tiles::kBk;
  __shared__ __align__(16) typename Tiles::Stage stages[2];
  Acc acc;
  Acc blockAcc;
  zero(acc);
  if constexpr (Tiles::kBlockScaled) zero(blockAcc);

  typename Tiles::Prefetch p;
  const int kTiles = (in + kBk - 1) / kBk;
  tiles.load(p, tl, 0);
  tiles.store(p, stages[0]);
  __syncthreads();
  for (int kt = 0; kt < kTiles; kt++) {
    const typename Tiles::Stage& s = stages[kt & 1];
    if (kt + 1 < kTiles) tiles.load(p, tl, (kt + 1) * kBk);
    if constexpr (Tiles::kBlockScaled) {
      tiles.mma(blockAcc, s, tl);
      if ((kt + 1) % (kFp8Block / kBk) == 0 || kt + 1 == kTiles) {
        tiles.promote(acc, blockAcc, kt * kBk / kFp8Block, tl);
        zero(blockAcc);
      }
    } else {
      tiles.mma(acc, s, tl);
    }
    if (kt + 1 < kTiles) tiles.store(p, stages[(kt + 1) & 1]);
    __syncthreads();
  }

  storeOutputs(acc, tl, y, rows, out);
}

// ---- float32 activations split into bf16 hi + lo, against weights staged as bf16 -----------------------------
//
// Shared memory: two stages of a 64x32 activation tile split into bf16 hi and lo halves plus a 128x32 bf16 weight
// tile, rows padded to 40 elements so fragment reads are conflict-free (40 KB). Float32 accuracy: every
// activation is split once, when staged, into hi = bf16(x) and lo = bf16(x - hi), and each weight fragment meets
// both in two m16n8k16 bf16 MMAs with float32 accumulation; the weight is exactly bf16, so the products carry ~16
// significand bits of x. Activation loads: two float4 per thread when VEC, else 8 single values.
namespace split {

constexpr int kBk = 32;
constexpr int kPitch = kBk + 8;  // bf16 elements per staged row

struct Stage {
  uint16_t aHi[kBm][kPitch];
  uint16_t aLo[kBm][kPitch];
  uint16_t b[kBn][kPitch];
};

template <bool VEC>
__device__ __forceinline__ void loadActivations(float (&a)[8], const float* __restrict__ x, int rows, int in,
                                                int m0, int k0) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / (kBk / 4);
      const int k = k0 + idx % (kBk / 4) * 4;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (m0 + r < rows && k < in) v = __ldg(reinterpret_cast<const float4*>(x + static_cast<size_t>(m0 + r) * in + k));
      a[4 * i] = v.x, a[4 * i + 1] = v.y, a[4 * i + 2] = v.z, a[4 * i + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / kBk;
      const int k = k0 + idx % kBk;
      a[i] = m0 + r < rows && k < in ? __ldg(x + static_cast<size_t>(m0 + r) * in + k) : 0.0f;
    }
  }
}

template <bool VEC>
__device__ __forceinline__ void storeActivations(const float (&a)[8], Stage& s) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / (kBk / 4);
      const int k = idx % (kBk / 4) * 4;
      uint2 hi, lo;
      splitBf16x2(a[4 * i], a[4 * i + 1], hi.x, lo.x);
      splitBf16x2(a[4 * i + 2], a[4 * i + 3], hi.y, lo.y);
      *reinterpret_cast<uint2*>(&s.aHi[r][k]) = hi;
      *reinterpret_cast<uint2*>(&s.aLo[r][k]) = lo;
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int idx = tid + i * kThreads;
      uint32_t hi, lo;
      splitBf16x2(a[i], 0.0f, hi, lo);
      s.aHi[idx / kBk][idx % kBk] = static_cast<uint16_t>(hi);
      s.aLo[idx / kBk][idx % kBk] = static_cast<uint16_t>(lo);
    }
  }
}

// acc += the stage's hi and lo activations times its weights, for the warp's 32x32 tile (two K steps of 16).
__device__ __forceinline__ void mma(Acc& acc, const Stage& s, const Tile& tl) {
  const int g = tl.g, t = tl.t;
#pragma unroll
  for (int ks = 0; ks < kBk; ks += 16) {
    uint32_t aHi[2][4], aLo[2][4], b[4][2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int r = tl.wm + i * 16 + g;
      aHi[i][0] = *reinterpret_cast<const uint32_t*>(&s.aHi[r][ks + 2 * t]);
      aHi[i][1] = *reinterpret_cast<const uint32_t*>(&s.aHi[r + 8][ks + 2 * t]);
      aHi[i][2] = *reinterpret_cast<const uint32_t*>(&s.aHi[r][ks + 2 * t + 8]);
      aHi[i][3] = *reinterpret_cast<const uint32_t*>(&s.aHi[r + 8][ks + 2 * t + 8]);
      aLo[i][0] = *reinterpret_cast<const uint32_t*>(&s.aLo[r][ks + 2 * t]);
      aLo[i][1] = *reinterpret_cast<const uint32_t*>(&s.aLo[r + 8][ks + 2 * t]);
      aLo[i][2] = *reinterpret_cast<const uint32_t*>(&s.aLo[r][ks + 2 * t + 8]);
      aLo[i][3] = *reinterpret_cast<const uint32_t*>(&s.aLo[r + 8][ks + 2 * t + 8]);
    }
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int n = tl.wn + j * 8 + g;
      b[j][0] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 2 * t]);
      b[j][1] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 2 * t + 8]);
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) {
        mmaBf16(acc[i][j], aHi[i], b[j]);
        mmaBf16(acc[i][j], aLo[i], b[j]);
      }
  }
}

// The Tiles policy of a split GEMM; Weights is the weight format's part:
//   kWords, kBlockScaled        prefetch words per thread; whether K blocks are scaled
//   load<VEC>(b, n0, k0)        the thread's share of the 128 x kBk weight tile at (n0, k0) into b
//   store<VEC>(b, stage)        b into stage.b as bf16
//   promote(acc, blockAcc, b)   (kBlockScaled only) acc += blockAcc scaled for K block b
template <bool VEC, class Weights>
struct Tiles {
  static constexpr int kBk = split::kBk;
  static constexpr bool kBlockScaled = Weights::kBlockScaled;
  using Stage = split::Stage;
  struct Prefetch {
    float a[8];                   // 2 float4 (VEC) or 8 single values of the activation tile
    uint32_t b[Weights::kWords];  // the weight tile's share
  };

  const float* x;
  Weights weights;
  int rows;
  int in;

  __device__ __forceinline__ void load(Prefetch& p, const Tile& tl, int k0) const {
    loadActivations<VEC>(p.a, x, rows, in, tl.m0, k0);
    weights.template load<VEC>(p.b, tl.n0, k0);
  }
  __device__ __forceinline__ void store(const Prefetch& p, Stage& s) const {
    storeActivations<VEC>(p.a, s);
    weights.template store<VEC>(p.b, s);
  }
  __device__ __forceinline__ void mma(Acc& acc, const Stage& s, const Tile& tl) const { split::mma(acc, s, tl); }
  __device__ __forceinline__ void promote(Acc& acc, const Acc& blockAcc, int block, const Tile&) const {
    weights.promote(acc, blockAcc, block);
  }
};

}  // namespace split

// ---- host side ------------------------------------------------------------------------------------------------

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

inline dim3 grid(int rows, int out) { return dim3((out + kBn - 1) / kBn, (rows + kBm - 1) / kBm); }

}  // namespace gemm
}  // namespace qb
