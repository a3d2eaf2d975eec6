// SwiGLU activation: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)), over n values.
//
// Layout: gate, up, out float32 [n] (out may alias gate or up: each element is read before it is written, by the
// same thread).
// Launch: grid ceil(n / (256 * 4)) capped at 4096 blocks (grid-stride beyond), block 256, no shared
// memory; float4 accesses when the pointers are 16-byte aligned, with a scalar tail for n % 4.
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 4096;

// expf (not __expf): the accurate exponential, as the float32 CPU engine's. For g -> -inf, exp(-g) = inf and
// g / inf = -0, the correct limit.
__device__ __forceinline__ float silu(float g) { return g / (1.0f + expf(-g)); }

__global__ void __launch_bounds__(kThreads) swigluKernel(const float* gate, const float* up, float* out, int n,
                                                        bool vectorised) {
  const int stride = gridDim.x * kThreads;
  int first = blockIdx.x * kThreads + threadIdx.x;
  if (vectorised) {
    const int quads = n / 4;
    const float4* g4 = reinterpret_cast<const float4*>(gate);
    const float4* u4 = reinterpret_cast<const float4*>(up);
    float4* o4 = reinterpret_cast<float4*>(out);
    for (int i = first; i < quads; i += stride) {
      const float4 g = g4[i];
      const float4 u = u4[i];
      o4[i] = make_float4(silu(g.x) * u.x, silu(g.y) * u.y, silu(g.z) * u.z, silu(g.w) * u.w);
    }
    first += quads * 4;
  }
  for (int i = first; i < n; i += stride) out[i] = silu(gate[i]) * up[i];
}

}  // namespace

void swiglu(const float* gate, const float* up, float* out, int n, cudaStream_t stream) {
  if (n <= 0) return;
  const bool vectorised = ((reinterpret_cast<uintptr_t>(gate) | reinterpret_cast<uintptr_t>(up) |
                            reinterpret_cast<uintptr_t>(out)) & 15) == 0;
  const int blocks = min(kMaxBlocks, (n + kThreads * 4 - 1) / (kThreads * 4));
  swigluKernel<<<blocks, kThreads, 0, stream>>>(gate, up, out, n, vectorised);
}

}  // namespace qb
