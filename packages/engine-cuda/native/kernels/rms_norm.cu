// RMSNorm: out[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * weight[i]; out may alias x.
//
// Layout: x, out float32 [rows, dim]; weight float32 [dim].
// Launch: grid (rows), block 256, 32 bytes of static shared memory (one partial per warp). Pass 1 sums squares
// (float32, per-thread then warp-shuffle then across warps); pass 2 re-reads x (an L1/L2 hit) and writes out. Each
// thread reads its own elements in pass 2 after every thread's pass-1 reads (the reduction's barrier), so aliasing
// is safe. float4 accesses when dim % 4 == 0 and the pointers are 16-byte aligned.
#include "kernels.h"
#include "reductions.cuh"

namespace qb {
namespace {

constexpr int kThreads = 256;

template <bool Vectorised>
__global__ void __launch_bounds__(kThreads) rmsNormKernel(const float* x, const float* weight, float eps, int dim,
                                                         float* out) {
  __shared__ float scratch[kThreads / 32];
  const size_t base = static_cast<size_t>(blockIdx.x) * dim;
  const float* in = x + base;
  float* dst = out + base;
  float squares = 0.0f;
  if constexpr (Vectorised) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    for (int i = threadIdx.x; i < dim / 4; i += kThreads) {
      const float4 v = in4[i];
      squares += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
  } else {
    for (int i = threadIdx.x; i < dim; i += kThreads) squares += in[i] * in[i];
  }
  const float total = red::blockSum(squares, scratch);
  // sqrtf and the division are IEEE-rounded (no -use_fast_math), matching the CPU engine's arithmetic.
  const float inverseRms = 1.0f / sqrtf(total / static_cast<float>(dim) + eps);
  if constexpr (Vectorised) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    const float4* w4 = reinterpret_cast<const float4*>(weight);
    float4* out4 = reinterpret_cast<float4*>(dst);
    for (int i = threadIdx.x; i < dim / 4; i += kThreads) {
      const float4 v = in4[i];
      const float4 w = w4[i];
      out4[i] = make_float4(v.x * inverseRms * w.x, v.y * inverseRms * w.y, v.z * inverseRms * w.z,
                            v.w * inverseRms * w.w);
    }
  } else {
    for (int i = threadIdx.x; i < dim; i += kThreads) dst[i] = in[i] * inverseRms * weight[i];
  }
}

}  // namespace

void rmsNorm(const float* x, const float* weight, float eps, int rows, int dim, float* out, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  const bool aligned = dim % 4 == 0 && ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(weight) |
                                         reinterpret_cast<uintptr_t>(out)) & 15) == 0;
  if (aligned) {
    rmsNormKernel<true><<<rows, kThreads, 0, stream>>>(x, weight, eps, dim, out);
  } else {
    rmsNormKernel<false><<<rows, kThreads, 0, stream>>>(x, weight, eps, dim, out);
  }
}

}  // namespace qb
