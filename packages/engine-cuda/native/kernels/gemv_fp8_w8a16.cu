// gemvFp8W8a16: y[r, o] = sum_b scaleInv[o/128, b] * sum_{i in b} x[r, i] * e4m3(W[o, i]) for decode batches
// (rows 1..kGemvMaxRows).
//
// Layout: x float32 [rows, in]; W e4m3fn codes [out, in] row-major with float32 block scales
// [ceil(out/128), ceil(in/128)]; y float32 [rows, out].
// Launch: gemv_skeleton.cuh's shape: grid ceil(out / NR) blocks of 256 threads, no dynamic shared memory, each
// block owning NR consecutive output rows (NR divides 128, so they share one scale row) and all `rows` tokens.
// What is FP8's own: a chunk is VEC = 16 codes (one 16-byte load when in % 16 == 0 and W and x are 16-byte
// aligned, single codes otherwise) and never straddles a 128-wide scale block, so each chunk's partial dot
// product is scaled once into the running sum. Codes are decoded in registers, 4 at a time (NaN codes flagged
// per chunk rather than per value), and each decoded group is reused for every token row (x read through L1).
#include "formats.cuh"
#include "gemv_skeleton.cuh"
#include "kernels.h"

namespace qb {
namespace {

struct Fp8W8a16Dot {
  const float* x;
  const float* scaleRow;  // the block's row of scaleInv

  template <int VEC, int NR, int ROWS, int WORDS>
  __device__ __forceinline__ void dot(float (&acc)[NR][ROWS], const uint32_t (&raw)[NR][WORDS], int c,
                                      int in) const {
    constexpr bool kFast = VEC == 16;
    constexpr int kPer = kFast ? 4 : 1;
    const float scale = __ldg(scaleRow + c * VEC / kFp8Block);
    float part[NR][ROWS];
    gemv::zero(part);
    uint32_t wNan[NR] = {};
#pragma unroll
    for (int q = 0; q < WORDS; q++) {
      float wf[NR][4];
      gemv::decodeE4m3Word<kFast>(raw, q, wf, wNan);
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        const float* xr = x + static_cast<size_t>(r) * in + static_cast<size_t>(c) * VEC + q * 4;
        float xv[4];
        if constexpr (kFast) {
          const float4 a = __ldg(reinterpret_cast<const float4*>(xr));
          xv[0] = a.x, xv[1] = a.y, xv[2] = a.z, xv[3] = a.w;
        } else {
          xv[0] = __ldg(xr);
        }
        gemv::fmaRow<kPer>(part, r, xv, wf);
      }
    }
#pragma unroll
    for (int n = 0; n < NR; n++) {
      const bool nan = kFast && e4m3AnyNan(wNan[n]);
#pragma unroll
      for (int r = 0; r < ROWS; r++) acc[n][r] = fmaf(nan ? __uint_as_float(0x7fc00000u) : part[n][r], scale, acc[n][r]);
    }
  }
};

template <int ROWS, int NR, int VEC>
__global__ void __launch_bounds__(gemv::kThreads)
    gemvFp8W8a16Kernel(const float* __restrict__ x, const uint8_t* __restrict__ w,
                       const float* __restrict__ scaleInv, float* __restrict__ y, int out, int in) {
  // Enough independent 16-byte loads per thread to cover DRAM latency without blowing the register budget.
  constexpr int kUnroll = VEC == 16 ? 8 / NR : 2;
  const int o0 = blockIdx.x * NR;  // the block's first output row
  const int scaleCols = (in + kFp8Block - 1) / kFp8Block;
  const Fp8W8a16Dot format{x, scaleInv + static_cast<size_t>(o0 / kFp8Block) * scaleCols};
  gemv::run<ROWS, NR, VEC, kUnroll>(format, w, y, out, in);
}

}  // namespace

void gemvFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  gemv::forEachRowGroup(rows, w.out, [&](auto rowCount, auto nr, int r0) {
    constexpr int ROWS = decltype(rowCount)::value, NR = decltype(nr)::value;
    const float* xg = x + static_cast<size_t>(r0) * w.in;
    float* yg = y + static_cast<size_t>(r0) * w.out;
    const dim3 grid = gemv::grid(w.out, NR);
    if (w.in % 16 == 0 && gemv::aligned16(w.codes) && gemv::aligned16(xg)) {
      gemvFp8W8a16Kernel<ROWS, NR, 16><<<grid, gemv::kThreads, 0, stream>>>(xg, w.codes, w.scaleInv, yg, w.out, w.in);
    } else {
      gemvFp8W8a16Kernel<ROWS, NR, 1><<<grid, gemv::kThreads, 0, stream>>>(xg, w.codes, w.scaleInv, yg, w.out, w.in);
    }
  });
}

}  // namespace qb
