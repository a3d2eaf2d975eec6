// gemvBf16: y[r, o] = sum_i x[r, i] * bf16(W[o, i]) for decode batches (rows 1..kGemvMaxRows).
//
// Layout: x float32 [rows, in]; W bf16 bits [out, in] row-major; y float32 [rows, out].
// Launch: gemv_skeleton.cuh's shape: grid ceil(out / NR) blocks of 256 threads, no dynamic shared memory, each
// block owning NR consecutive output rows and all `rows` tokens. What is bf16's own: a chunk is VEC = 8
// weights (one 16-byte load when in % 8 == 0 and W and x are 16-byte aligned, single values otherwise), widened
// to float32 by a shift, and each x chunk (two float4 loads) is reused for the NR weight rows; products
// accumulate straight into the running float32 sums.
#include "formats.cuh"
#include "gemv_skeleton.cuh"
#include "kernels.h"

namespace qb {
namespace {

struct Bf16Dot {
  const float* x;

  template <int VEC, int NR, int ROWS, int WORDS>
  __device__ __forceinline__ void dot(float (&acc)[NR][ROWS], const uint32_t (&raw)[NR][WORDS], int c,
                                      int in) const {
    float wf[NR][VEC];
#pragma unroll
    for (int n = 0; n < NR; n++)
#pragma unroll
      for (int e = 0; e < VEC; e++) {
        const uint32_t word = raw[n][e / 2 % WORDS];
        wf[n][e] = __uint_as_float((e & 1) && VEC == 8 ? word & 0xffff0000u : word << 16);
      }
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const float* xr = x + static_cast<size_t>(r) * in + static_cast<size_t>(c) * VEC;
      float xv[VEC];
      if constexpr (VEC == 8) {
        const float4 a = __ldg(reinterpret_cast<const float4*>(xr));
        const float4 b = __ldg(reinterpret_cast<const float4*>(xr) + 1);
        xv[0] = a.x, xv[1] = a.y, xv[2] = a.z, xv[3] = a.w, xv[4] = b.x, xv[5] = b.y, xv[6] = b.z, xv[7] = b.w;
      } else {
        xv[0] = __ldg(xr);
      }
      gemv::fmaRow<VEC>(acc, r, xv, wf);
    }
  }
};

template <int ROWS, int NR, int VEC>
__global__ void __launch_bounds__(gemv::kThreads)
    gemvBf16Kernel(const float* __restrict__ x, const uint16_t* __restrict__ w, float* __restrict__ y, int out,
                   int in) {
  // Enough independent 16-byte loads per thread to cover DRAM latency without blowing the register budget.
  constexpr int kUnroll = VEC == 8 ? 8 / NR : 2;
  gemv::run<ROWS, NR, VEC, kUnroll>(Bf16Dot{x}, w, y, out, in);
}

}  // namespace

void gemvBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream) {
  gemv::forEachRowGroup(rows, w.out, [&](auto rowCount, auto nr, int r0) {
    constexpr int ROWS = decltype(rowCount)::value, NR = decltype(nr)::value;
    const float* xg = x + static_cast<size_t>(r0) * w.in;
    float* yg = y + static_cast<size_t>(r0) * w.out;
    const dim3 grid = gemv::grid(w.out, NR);
    if (w.in % 8 == 0 && gemv::aligned16(w.bits) && gemv::aligned16(xg)) {
      gemvBf16Kernel<ROWS, NR, 8><<<grid, gemv::kThreads, 0, stream>>>(xg, w.bits, yg, w.out, w.in);
    } else {
      gemvBf16Kernel<ROWS, NR, 1><<<grid, gemv::kThreads, 0, stream>>>(xg, w.bits, yg, w.out, w.in);
    }
  });
}

}  // namespace qb
