// gemmFp8W8a16: y[r, o] = sum_b scaleInv[o/128, b] * sum_{i in b} x[r, i] * e4m3(W[o, i]) on tensor cores, for
// prefill and large batches.
//
// Layout: x float32 [rows, in]; W e4m3fn codes [out, in] row-major (the "col" B operand of mma as it stands)
// with float32 block scales [ceil(out/128), ceil(in/128)]; y float32 [rows, out].
// Launch: gemm_tiles.cuh's shape: grid (ceil(out/128), ceil(rows/64)), 256 threads, 40 KB static shared memory
// (two stages of the split:: layout: 64x32 activations as bf16 hi and lo, 128x32 weights as bf16). The
// activations take the split:: path (hi = bf16(x), lo = bf16(x - hi), two bf16 MMAs per weight fragment, float32
// accumulation); what is FP8's own: the weight tile's codes (one 16-byte load per thread when in % 16 == 0 and
// the pointers are 16-byte aligned, runs of single codes otherwise) are converted to bf16 when staged, exactly
// for every e4m3 value, and the block scales: the 128-wide output tile lies in one scale row and four K steps
// make one scale block, so each block's MMA sums gather in their own accumulators and are scaled once into the
// running float32 result. Tails of rows, out and in are zero-filled.
#include "formats.cuh"
#include "gemm_tiles.cuh"
#include "kernels.h"

namespace qb {
namespace {

using gemm::kThreads;
using gemm::split::kBk;

struct Fp8Weights {
  static constexpr int kWords = 4;  // 16 codes: one 16-byte load (VEC) or four runs of 4 single codes
  static constexpr bool kBlockScaled = true;

  const uint8_t* w;
  const float* scaleRow;  // the block's row of scaleInv
  int out;
  int in;

  template <bool VEC>
  __device__ __forceinline__ void load(uint32_t (&b)[kWords], int n0, int k0) const {
    const int tid = threadIdx.x;
    if constexpr (VEC) {
      const int n = tid / (kBk / 16);
      const int k = k0 + tid % (kBk / 16) * 16;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (n0 + n < out && k < in) v = __ldg(reinterpret_cast<const uint4*>(w + static_cast<size_t>(n0 + n) * in + k));
      b[0] = v.x, b[1] = v.y, b[2] = v.z, b[3] = v.w;
    } else {
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int idx = (tid + i * kThreads) * 4;
        const int n = idx / kBk;
        uint32_t word = 0;
#pragma unroll
        for (int h = 0; h < 4; h++) {
          const int k = k0 + idx % kBk + h;
          if (n0 + n < out && k < in) word |= static_cast<uint32_t>(__ldg(w + static_cast<size_t>(n0 + n) * in + k)) << (8 * h);
        }
        b[i] = word;
      }
    }
  }

  template <bool VEC>
  __device__ __forceinline__ void store(const uint32_t (&b)[kWords], gemm::split::Stage& s) const {
    const int tid = threadIdx.x;
    if constexpr (VEC) {
      const int n = tid / (kBk / 16);
      const int k = tid % (kBk / 16) * 16;
      uint4* dst = reinterpret_cast<uint4*>(&s.b[n][k]);
      dst[0] = make_uint4(e4m3x2ToBf16x2(b[0]), e4m3x2ToBf16x2(b[0] >> 16), e4m3x2ToBf16x2(b[1]),
                          e4m3x2ToBf16x2(b[1] >> 16));
      dst[1] = make_uint4(e4m3x2ToBf16x2(b[2]), e4m3x2ToBf16x2(b[2] >> 16), e4m3x2ToBf16x2(b[3]),
                          e4m3x2ToBf16x2(b[3] >> 16));
    } else {
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int idx = (tid + i * kThreads) * 4;
        *reinterpret_cast<uint2*>(&s.b[idx / kBk][idx % kBk]) = make_uint2(e4m3x2ToBf16x2(b[i]), e4m3x2ToBf16x2(b[i] >> 16));
      }
    }
  }

  // acc += blockAcc * scaleInv[o/128, block]: one scale for the whole 128-wide output tile.
  __device__ __forceinline__ void promote(gemm::Acc& acc, const gemm::Acc& blockAcc, int block) const {
    const float scale = __ldg(scaleRow + block);
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
      for (int j = 0; j < 4; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[i][j][e] = fmaf(blockAcc[i][j][e], scale, acc[i][j][e]);
  }
};

template <bool VEC>
__global__ void __launch_bounds__(kThreads)
    gemmFp8W8a16Kernel(const float* __restrict__ x, const uint8_t* __restrict__ w,
                       const float* __restrict__ scaleInv, float* __restrict__ y, int rows, int out, int in) {
  const gemm::Tile tl = gemm::tile();
  const int scaleCols = (in + kFp8Block - 1) / kFp8Block;
  const float* scaleRow = scaleInv + static_cast<size_t>(tl.n0 / kFp8Block) * scaleCols;
  const gemm::split::Tiles<VEC, Fp8Weights> tiles{x, Fp8Weights{w, scaleRow, out, in}, rows, in};
  gemm::run(tiles, tl, y, rows, out, in);
}

}  // namespace

void gemmFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= 0) return;
  const dim3 grid = gemm::grid(rows, w.out);
  if (w.in % 16 == 0 && gemm::aligned16(w.codes) && gemm::aligned16(x)) {
    gemmFp8W8a16Kernel<true><<<grid, kThreads, 0, stream>>>(x, w.codes, w.scaleInv, y, rows, w.out, w.in);
  } else {
    gemmFp8W8a16Kernel<false><<<grid, kThreads, 0, stream>>>(x, w.codes, w.scaleInv, y, rows, w.out, w.in);
  }
}

}  // namespace qb
