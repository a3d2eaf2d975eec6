// gemmBf16: y[r, o] = sum_i x[r, i] * bf16(W[o, i]) on tensor cores, for prefill and large batches.
//
// Layout: x float32 [rows, in]; W bf16 bits [out, in] row-major (the "col" B operand of mma as it stands);
// y float32 [rows, out].
// Launch: gemm_tiles.cuh's shape: grid (ceil(out/128), ceil(rows/64)), 256 threads, 40 KB static shared memory
// (two stages of the split:: layout: 64x32 activations as bf16 hi and lo, 128x32 weights). The activations take
// the split:: path (hi = bf16(x), lo = bf16(x - hi), two bf16 MMAs per weight fragment, float32 accumulation);
// what is bf16's own: the weight tile is staged as it stands (two 16-byte loads per thread when in % 8 == 0 and
// the pointers are 16-byte aligned, pairs of single values otherwise), and the MMAs accumulate straight into
// the float32 result. Tails of rows, out and in are zero-filled.
#include "formats.cuh"
#include "gemm_tiles.cuh"
#include "kernels.h"

namespace qb {
namespace {

using gemm::kThreads;
using gemm::split::kBk;

struct Bf16Weights {
  static constexpr int kWords = 8;  // 2 x 8 bf16 (VEC) or 8 pairs of single bf16 values
  static constexpr bool kBlockScaled = false;

  const uint16_t* w;
  int out;
  int in;

  template <bool VEC>
  __device__ __forceinline__ void load(uint32_t (&b)[kWords], int n0, int k0) const {
    const int tid = threadIdx.x;
    if constexpr (VEC) {
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int idx = tid + i * kThreads;
        const int n = idx / (kBk / 8);
        const int k = k0 + idx % (kBk / 8) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (n0 + n < out && k < in) v = __ldg(reinterpret_cast<const uint4*>(w + static_cast<size_t>(n0 + n) * in + k));
        b[4 * i] = v.x, b[4 * i + 1] = v.y, b[4 * i + 2] = v.z, b[4 * i + 3] = v.w;
      }
    } else {
#pragma unroll
      for (int i = 0; i < 8; i++) {
        uint32_t pair = 0;
#pragma unroll
        for (int h = 0; h < 2; h++) {
          const int idx = (tid + i * kThreads) * 2 + h;
          const int n = idx / kBk;
          const int k = k0 + idx % kBk;
          if (n0 + n < out && k < in) pair |= static_cast<uint32_t>(__ldg(w + static_cast<size_t>(n0 + n) * in + k)) << (16 * h);
        }
        b[i] = pair;
      }
    }
  }

  template <bool VEC>
  __device__ __forceinline__ void store(const uint32_t (&b)[kWords], gemm::split::Stage& s) const {
    const int tid = threadIdx.x;
    if constexpr (VEC) {
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int idx = tid + i * kThreads;
        const int n = idx / (kBk / 8);
        const int k = idx % (kBk / 8) * 8;
        *reinterpret_cast<uint4*>(&s.b[n][k]) = make_uint4(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]);
      }
    } else {
#pragma unroll
      for (int i = 0; i < 8; i++) {
        const int idx = (tid + i * kThreads) * 2;
        *reinterpret_cast<uint32_t*>(&s.b[idx / kBk][idx % kBk]) = b[i];
      }
    }
  }
};

template <bool VEC>
__global__ void __launch_bounds__(kThreads)
    gemmBf16Kernel(const float* __restrict__ x, const uint16_t* __restrict__ w, float* __restrict__ y, int rows,
                   int out, int in) {
  const gemm::split::Tiles<VEC, Bf16Weights> tiles{x, Bf16Weights{w, out, in}, rows, in};
  gemm::run(tiles, gemm::tile(), y, rows, out, in);
}

}  // namespace

void gemmBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= 0) return;
  const dim3 grid = gemm::grid(rows, w.out);
  if (w.in % 8 == 0 && gemm::aligned16(w.bits) && gemm::aligned16(x)) {
    gemmBf16Kernel<true><<<grid, kThreads, 0, stream>>>(x, w.bits, y, rows, w.out, w.in);
  } else {
    gemmBf16Kernel<false><<<grid, kThreads, 0, stream>>>(x, w.bits, y, rows, w.out, w.in);
  }
}

}  // namespace qb
