// Device helpers shared by the layer kernels (norms, attention, top-k): warp reductions over a full warp or an
// aligned group of `Width` lanes, and the host-side way a launcher reports a shape it does not support.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

namespace qb {
namespace red {

constexpr unsigned kFullMask = 0xffffffffu;

// Butterfly (xor) reductions leave the result in every lane of the group, so no broadcast is needed afterwards.
template <int Width = 32>
__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int offset = Width / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset, Width);
  return v;
}

template <int Width = 32>
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int offset = Width / 2; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset, Width));
  return v;
}

__device__ __forceinline__ unsigned long long warpMaxU64(unsigned long long v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const unsigned long long other = __shfl_xor_sync(kFullMask, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// Sum over the whole block; `scratch` holds one float per warp. Ends with a barrier so scratch may be reused.
__device__ __forceinline__ float blockSum(float v, float* scratch) {
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int warps = (blockDim.x + 31) >> 5;
  v = warpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  __syncthreads();
  return total;
}

// A template, so that every translation unit including this header may instantiate it without a link clash.
template <int = 0>
__global__ void unsupportedShapeKernel() {}

// The launchers return void and errors reach the caller through cudaGetLastError(): a launch with an empty grid
// is how a shape the kernel cannot handle becomes cudaErrorInvalidConfiguration there, instead of a silent no-op.
inline void reportUnsupportedShape(cudaStream_t stream) { unsupportedShapeKernel<<<0, 1, 0, stream>>>(); }

}  // namespace red
}  // namespace qb
