// Residual add: residual[i] += delta[i] over n values.
//
// Layout: residual, delta float32 [n].
// Launch: grid ceil(n / (256 * 4)) capped at 4096 blocks (grid-stride beyond), block 256, no shared memory; float4
// accesses when both pointers are 16-byte aligned, with a scalar tail for n % 4.
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 4096;

__global__ void __launch_bounds__(kThreads) residualAddKernel(float* residual, const float* delta, int n,
                                                             bool vectorised) {
  const int stride = gridDim.x * kThreads;
  int first = blockIdx.x * kThreads + threadIdx.x;
  if (vectorised) {
    const int quads = n / 4;
    float4* r4 = reinterpret_cast<float4*>(residual);
    const float4* d4 = reinterpret_cast<const float4*>(delta);
    for (int i = first; i < quads; i += stride) {
      float4 r = r4[i];
      const float4 d = d4[i];
      r.x += d.x;
      r.y += d.y;
      r.z += d.z;
      r.w += d.w;
      r4[i] = r;
    }
    first += quads * 4;
  }
  for (int i = first; i < n; i += stride) residual[i] += delta[i];
}

}  // namespace

void residualAdd(float* residual, const float* delta, int n, cudaStream_t stream) {
  if (n <= 0) return;
  const bool vectorised = ((reinterpret_cast<uintptr_t>(residual) | reinterpret_cast<uintptr_t>(delta)) & 15) == 0;
  const int blocks = min(kMaxBlocks, (n + kThreads * 4 - 1) / (kThreads * 4));
  residualAddKernel<<<blocks, kThreads, 0, stream>>>(residual, delta, n, vectorised);
}

}  // namespace qb
