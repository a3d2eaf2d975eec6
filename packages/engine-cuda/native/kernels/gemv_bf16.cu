// gemvBf16: y[r, o] = sum_i x[r, i] * bf16(W[o, i]) for decode batches (rows 1..kGemvMaxRows).
//
// Layout: x float32 [rows, in]; W bf16 bits [out, in] row-major; y float32 [rows, out].
// Launch: grid ceil(out / NR) blocks of 256 threads, no dynamic shared memory (static: 8 warps x NR*ROWS
// partial sums). Each block owns NR consecutive output rows and all `rows` tokens; its threads split K into
// chunks of VEC weights (16-byte loads when every weight row is 16-byte aligned, single values otherwise),
// keep several chunks in flight, and reuse each x chunk (read through L1, shared by all blocks on an SM) for
// the NR weight rows. Warp shuffles, then shared memory, reduce the 256 per-thread partial sums.
#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <int ROWS, int NR, int VEC>
__global__ void __launch_bounds__(kThreads)
    gemvBf16Kernel(const float* __restrict__ x, const uint16_t* __restrict__ w, float* __restrict__ y, int out,
                   int in) {
  constexpr int kWords = VEC == 8 ? 4 : 1;
  // Enough independent 16-byte loads per thread to cover DRAM latency without blowing the register budget.
  constexpr int kUnroll = VEC == 8 ? 8 / NR : 2;
  const int o0 = blockIdx.x * NR;
  const uint16_t* wRow[NR];
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
        if constexpr (VEC == 8) {
          const uint4 v = c < chunks ? loadStreaming16(wRow[n] + static_cast<size_t>(c) * 8) : make_uint4(0, 0, 0, 0);
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
      float wf[NR][VEC];
#pragma unroll
      for (int n = 0; n < NR; n++)
#pragma unroll
        for (int e = 0; e < VEC; e++) {
          const uint32_t word = raw[u][n][e / 2 % kWords];
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
#pragma unroll
        for (int n = 0; n < NR; n++)
#pragma unroll
          for (int e = 0; e < VEC; e++) acc[n][r] = fmaf(xv[e], wf[n][e], acc[n][r]);
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
void launch(const float* x, Bf16Weight w, float* y, cudaStream_t stream) {
  const dim3 grid((w.out + NR - 1) / NR);
  const bool vec = w.in % 8 == 0 && reinterpret_cast<uintptr_t>(w.bits) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (vec) {
    gemvBf16Kernel<ROWS, NR, 8><<<grid, kThreads, 0, stream>>>(x, w.bits, y, w.out, w.in);
  } else {
    gemvBf16Kernel<ROWS, NR, 1><<<grid, kThreads, 0, stream>>>(x, w.bits, y, w.out, w.in);
  }
}

template <int ROWS>
void launchRows(const float* x, Bf16Weight w, float* y, cudaStream_t stream) {
  // Wider blocks (several output rows sharing each x load) only where there are blocks to spare for 132 SMs.
  if (w.out >= 16384) {
    launch<ROWS, 4>(x, w, y, stream);
  } else if (w.out >= 8192) {
    launch<ROWS, 2>(x, w, y, stream);
  } else {
    launch<ROWS, 1>(x, w, y, stream);
  }
}

}  // namespace

void gemvBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream) {
  // Larger batches are correct too, in groups of kGemvMaxRows, though matmulBf16 sends them to the GEMM.
  for (int r0 = 0; r0 < rows; r0 += kGemvMaxRows) {
    const float* xg = x + static_cast<size_t>(r0) * w.in;
    float* yg = y + static_cast<size_t>(r0) * w.out;
    switch (min(rows - r0, kGemvMaxRows)) {
      case 1: launchRows<1>(xg, w, yg, stream); break;
      case 2: launchRows<2>(xg, w, yg, stream); break;
      case 3: launchRows<3>(xg, w, yg, stream); break;
      case 4: launchRows<4>(xg, w, yg, stream); break;
      case 5: launchRows<5>(xg, w, yg, stream); break;
      case 6: launchRows<6>(xg, w, yg, stream); break;
      case 7: launchRows<7>(xg, w, yg, stream); break;
      default: launchRows<8>(xg, w, yg, stream); break;
    }
  }
}

}  // namespace qb
