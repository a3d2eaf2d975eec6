// gemvFp8W8a8: y[r, o] = sum_b xs[r, b] * ws[o/128, b] * sum_{i in b} e4m3(xq[r, i]) * e4m3(W[o, i]) for decode
// batches (rows 1..kGemvMaxRows). Code products are exact in float32; sums are float32.
//
// Layout: xq e4m3fn codes [rows, in] with float32 group scales xs [rows, ceil(in/128)]; W e4m3fn codes [out, in]
// row-major with float32 block scales ws [ceil(out/128), ceil(in/128)]; y float32 [rows, out].
// Launch: gemv_skeleton.cuh's shape: grid ceil(out / NR) blocks of 256 threads, no dynamic shared memory, each
// block owning NR consecutive output rows (NR divides 128, so they share one scale row) and all `rows` tokens.
// What is w8a8's own: a chunk is VEC = 16 codes (one 16-byte load when in % 16 == 0 and W and xq are 16-byte
// aligned, single codes otherwise) and never straddles a 128-wide scale block, so each chunk's partial dot
// product is promoted once, times xs[r, b] * ws[o/128, b], into the running sum. Codes are decoded in registers,
// 4 at a time (NaN codes flagged per chunk rather than per value); each decoded weight group is reused for every
// token row and each decoded activation group for the NR weight rows (activation codes read through L1).
#include "formats.cuh"
#include "gemv_skeleton.cuh"
#include "kernels.h"

namespace qb {
namespace {

struct Fp8W8a8Dot {
  const uint8_t* xq;
  const float* xs;
  const float* scaleRow;  // the block's row of ws
  int scaleCols;

  template <int VEC, int NR, int ROWS, int WORDS>
  __device__ __forceinline__ void dot(float (&acc)[NR][ROWS], const uint32_t (&raw)[NR][WORDS], int c,
                                      int in) const {
    constexpr bool kFast = VEC == 16;
    constexpr int kPer = kFast ? 4 : 1;
    const int block = c * VEC / kFp8Block;
    const float wScale = __ldg(scaleRow + block);
    float part[NR][ROWS];
    gemv::zero(part);
    uint32_t wNan[NR] = {};
    uint32_t xNan[ROWS] = {};
#pragma unroll
    for (int q = 0; q < WORDS; q++) {
      float wf[NR][4];
      gemv::decodeE4m3Word<kFast>(raw, q, wf, wNan);
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        const uint8_t* xr = xq + static_cast<size_t>(r) * in + static_cast<size_t>(c) * VEC + q * 4;
        float xv[4];
        if constexpr (kFast) {
          const uint32_t codes = __ldg(reinterpret_cast<const uint32_t*>(xr));
          e4m3x4ToFloatFinite(codes, xv);
          xNan[r] |= e4m3x4NanBits(codes);
        } else {
          xv[0] = e4m3ToFloat(__ldg(xr));
        }
        gemv::fmaRow<kPer>(part, r, xv, wf);
      }
    }
    if constexpr (kFast) {
#pragma unroll
      for (int n = 0; n < NR; n++)
#pragma unroll
        for (int r = 0; r < ROWS; r++)
          if (e4m3AnyNan(wNan[n] | xNan[r])) part[n][r] = __uint_as_float(0x7fc00000u);
    }
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const float xScale = __ldg(xs + static_cast<size_t>(r) * scaleCols + block);
#pragma unroll
      for (int n = 0; n < NR; n++) acc[n][r] = fmaf(part[n][r] * xScale, wScale, acc[n][r]);
    }
  }
};

template <int ROWS, int NR, int VEC>
__global__ void __launch_bounds__(gemv::kThreads)
    gemvFp8W8a8Kernel(const uint8_t* __restrict__ xq, const float* __restrict__ xs, const uint8_t* __restrict__ w,
                      const float* __restrict__ scaleInv, float* __restrict__ y, int out, int in) {
  // Enough independent 16-byte loads per thread to cover DRAM latency without blowing the register budget.
  constexpr int kUnroll = VEC == 16 ? (NR == 4 ? 1 : 4 / NR) : 2;
  const int o0 = blockIdx.x * NR;  // the block's first output row
  const int scaleCols = (in + kFp8Block - 1) / kFp8Block;
  const Fp8W8a8Dot format{xq, xs, scaleInv + static_cast<size_t>(o0 / kFp8Block) * scaleCols,
                          scaleCols};
  gemv::run<ROWS, NR, VEC, kUnroll>(format, w, y, out, in);
}

}  // namespace

void gemvFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  const int scaleCols = (w.in + kFp8Block - 1) / kFp8Block;
  gemv::forEachRowGroup(rows, w.out, [&](auto rowCount, auto nr, int r0) {
    constexpr int ROWS = decltype(rowCount)::value, NR = decltype(nr)::value;
    const uint8_t* xq = x.codes + static_cast<size_t>(r0) * w.in;
    const float* xs = x.scales + static_cast<size_t>(r0) * scaleCols;
    float* yg = y + static_cast<size_t>(r0) * w.out;
    const dim3 grid = gemv::grid(w.out, NR);
    if (w.in % 16 == 0 && gemv::aligned16(w.codes) && gemv::aligned16(xq)) {
      gemvFp8W8a8Kernel<ROWS, NR, 16><<<grid, gemv::kThreads, 0, stream>>>(xq, xs, w.codes, w.scaleInv, yg, w.out, w.in);
    } else {
      gemvFp8W8a8Kernel<ROWS, NR, 1><<<grid, gemv::kThreads, 0, stream>>>(xq, xs, w.codes, w.scaleInv, yg, w.out, w.in);
    }
  });
}

}  // namespace qb
