// gemvFp8W8a8: y[r, o] = sum_b xs[r, b] * ws[o/128, b] * sum_{i in b} e4m3(xq[r, i]) * e4m3(W[o, i]) for decode
// batches (rows 1..kGemvMaxRows). Code products are exact in float32; sums are float32.
//
// Layout: xq e4m3fn codes [rows, in] with float32 group scales xs [rows, ceil(in/128)]; W e4m3fn codes [out, in]
// row-major with float32 block scales ws [ceil(out/128), ceil(in/128)]; y float32 [rows, out].
// Launch: grid ceil(out / NR) blocks of 256 threads, no dynamic shared memory (static: 8 warps x NR*ROWS
// partial sums). Each block owns NR consecutive output rows (NR divides 128, so they share one scale row) and
// all `rows` tokens. Threads split K into chunks of VEC codes: 16-byte loads when every weight row is 16-byte
// aligned, single codes otherwise; a chunk never straddles a 128-wide scale block, so each chunk's partial dot
// product is scaled once. Codes are decoded in registers, 4 at a time (NaN codes flagged per chunk rather than per value); each decoded weight group is reused for
// every token row and each decoded activation group for the NR weight rows (activation codes read through L1,
// which all blocks on an SM share). Warp shuffles, then shared memory,
// reduce the 256 per-thread sums.
#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <int ROWS, int NR, int VEC>
__global__ void __launch_bounds__(kThreads)
    gemvFp8W8a8Kernel(const uint8_t* __restrict__ xq, const float* __restrict__ xs, const uint8_t* __restrict__ w,
                      const float* __restrict__ scaleInv, float* __restrict__ y, int out, int in) {
  constexpr int kWords = VEC == 16 ? 4 : 1;
  // Enough independent 16-byte loads per thread to cover DRAM latency without blowing the register budget.
  constexpr int kUnroll = VEC == 16 ? (NR == 4 ? 1 : 4 / NR) : 2;
  const int o0 = blockIdx.x * NR;
  const int scaleCols = (in + kFp8Block - 1) / kFp8Block;
  const float* scaleRow = scaleInv + static_cast<size_t>(o0 / kFp8Block) * scaleCols;
  const uint8_t* wRow[NR];
#pragma unroll
  for (int n = 0; n < NR; n++) wRow[n] = w + static_cast<size_t>(min(o0 + n, out - 1)) * in;  // past the end: reread the last row

  float acc[NR][ROWS];
#pragma unroll
  for (int n = 0; n < NR; n++)
#pragma unroll
    for (int r = 0; r < ROWS; r++) acc[n][r] = 0.0f;

  const int chunks = in / VEC;
  for (int c0 = threadIdx.x; c0 < chunks; c0 += kThreads * kUnroll) {
    uint32_t raw[kUnroll][NR][kWords];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int c = c0 + u * kThreads;
#pragma unroll
      for (int n = 0; n < NR; n++) {
        if constexpr (VEC == 16) {
          const uint4 v = c < chunks ? loadStreaming16(wRow[n] + static_cast<size_t>(c) * 16) : make_uint4(0, 0, 0, 0);
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
    for (int u = 0; u < kUnroll; u++) {
      const int c = c0 + u * kThreads;
      if (c >= chunks) break;
      const int block = c * VEC / kFp8Block;
      const float wScale = __ldg(scaleRow + block);
      float part[NR][ROWS];
#pragma unroll
      for (int n = 0; n < NR; n++)
#pragma unroll
        for (int r = 0; r < ROWS; r++) part[n][r] = 0.0f;
      uint32_t wNan[NR] = {};
      uint32_t xNan[ROWS] = {};
#pragma unroll
      for (int q = 0; q < kWords; q++) {
        constexpr int kPer = VEC == 16 ? 4 : 1;
        float wf[NR][4];
#pragma unroll
        for (int n = 0; n < NR; n++) {
          if constexpr (VEC == 16) {
            e4m3x4ToFloatFinite(raw[u][n][q], wf[n]);
            wNan[n] |= e4m3x4NanBits(raw[u][n][q]);
          } else {
            wf[n][0] = e4m3ToFloat(raw[u][n][0]);
          }
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
          const uint8_t* xr = xq + static_cast<size_t>(r) * in + static_cast<size_t>(c) * VEC + q * 4;
          float xv[4];
          if constexpr (VEC == 16) {
            const uint32_t codes = __ldg(reinterpret_cast<const uint32_t*>(xr));
            e4m3x4ToFloatFinite(codes, xv);
            xNan[r] |= e4m3x4NanBits(codes);
          } else {
            xv[0] = e4m3ToFloat(__ldg(xr));
          }
#pragma unroll
          for (int n = 0; n < NR; n++)
#pragma unroll
            for (int e = 0; e < kPer; e++) part[n][r] = fmaf(xv[e], wf[n][e], part[n][r]);
        }
      }
      if constexpr (VEC == 16) {
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
  }

  __shared__ float partial[kWarps][NR * ROWS];
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

template <int ROWS, int NR>
void launch(const uint8_t* xq, const float* xs, Fp8Weight w, float* y, cudaStream_t stream) {
  const dim3 grid((w.out + NR - 1) / NR);
  const bool vec = w.in % 16 == 0 && reinterpret_cast<uintptr_t>(w.codes) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(xq) % 16 == 0;
  if (vec) {
    gemvFp8W8a8Kernel<ROWS, NR, 16><<<grid, kThreads, 0, stream>>>(xq, xs, w.codes, w.scaleInv, y, w.out, w.in);
  } else {
    gemvFp8W8a8Kernel<ROWS, NR, 1><<<grid, kThreads, 0, stream>>>(xq, xs, w.codes, w.scaleInv, y, w.out, w.in);
  }
}

template <int ROWS>
void launchRows(const uint8_t* xq, const float* xs, Fp8Weight w, float* y, cudaStream_t stream) {
  // Wider blocks (several output rows sharing each x load) only where there are blocks to spare for 132 SMs.
  if (w.out >= 16384) {
    launch<ROWS, 4>(xq, xs, w, y, stream);
  } else if (w.out >= 8192) {
    launch<ROWS, 2>(xq, xs, w, y, stream);
  } else {
    launch<ROWS, 1>(xq, xs, w, y, stream);
  }
}

}  // namespace

void gemvFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  // Larger batches are correct too, in groups of kGemvMaxRows, though matmulFp8W8a8 sends them to the GEMM.
  const int scaleCols = (w.in + kFp8Block - 1) / kFp8Block;
  for (int r0 = 0; r0 < rows; r0 += kGemvMaxRows) {
    const uint8_t* xq = x.codes + static_cast<size_t>(r0) * w.in;
    const float* xs = x.scales + static_cast<size_t>(r0) * scaleCols;
    float* yg = y + static_cast<size_t>(r0) * w.out;
    switch (min(rows - r0, kGemvMaxRows)) {
      case 1: launchRows<1>(xq, xs, w, yg, stream); break;
      case 2: launchRows<2>(xq, xs, w, yg, stream); break;
      case 3: launchRows<3>(xq, xs, w, yg, stream); break;
      case 4: launchRows<4>(xq, xs, w, yg, stream); break;
      case 5: launchRows<5>(xq, xs, w, yg, stream); break;
      case 6: launchRows<6>(xq, xs, w, yg, stream); break;
      case 7: launchRows<7>(xq, xs, w, yg, stream); break;
      default: launchRows<8>(xq, xs, w, yg, stream); break;
    }
  }
}

}  // namespace qb
