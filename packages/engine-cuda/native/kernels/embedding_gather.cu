// Embedding gather: out[r, :] = float(bf16 table[tokens[r], :]) for r < rows.
//
// Layout: tokens int32 [rows] (read on the device, so a captured graph replays with new tokens); table uint16 bf16
// bits [vocab, hidden]; out float32 [rows, hidden].
// Launch: grid (ceil(hidden / (256 * 8)), rows), block 256, no shared memory. When hidden % 8 == 0 (and the
// pointers are 16-byte aligned) each thread moves 8 values: one 16-byte load, two 16-byte stores; otherwise one
// value per thread per step.
#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 8;

template <bool Vectorised>
__global__ void __launch_bounds__(kThreads) embeddingGatherKernel(const int32_t* tokens, const uint16_t* table,
                                                                 int hidden, float* out) {
  const int row = blockIdx.y;
  const size_t token = static_cast<size_t>(tokens[row]);
  const uint16_t* src = table + token * hidden;
  float* dst = out + static_cast<size_t>(row) * hidden;
  if constexpr (Vectorised) {
    const int i = (blockIdx.x * kThreads + threadIdx.x) * kPerThread;
    if (i >= hidden) return;
    const uint4 packed = *reinterpret_cast<const uint4*>(src + i);
    float4 lo, hi;
    lo.x = bf16BitsToFloat(packed.x & 0xffffu);
    lo.y = bf16BitsToFloat(packed.x >> 16);
    lo.z = bf16BitsToFloat(packed.y & 0xffffu);
    lo.w = bf16BitsToFloat(packed.y >> 16);
    hi.x = bf16BitsToFloat(packed.z & 0xffffu);
    hi.y = bf16BitsToFloat(packed.z >> 16);
    hi.z = bf16BitsToFloat(packed.w & 0xffffu);
    hi.w = bf16BitsToFloat(packed.w >> 16);
    *reinterpret_cast<float4*>(dst + i) = lo;
    *reinterpret_cast<float4*>(dst + i + 4) = hi;
  } else {
    const int begin = blockIdx.x * kThreads * kPerThread;
    const int end = min(hidden, begin + kThreads * kPerThread);
    for (int i = begin + threadIdx.x; i < end; i += kThreads) dst[i] = bf16BitsToFloat(src[i]);
  }
}

}  // namespace

void embeddingGather(const int32_t* tokens, int rows, const uint16_t* table, int hidden, float* out,
                     cudaStream_t stream) {
  if (rows <= 0 || hidden <= 0) return;
  const dim3 grid((hidden + kThreads * kPerThread - 1) / (kThreads * kPerThread), rows);
  const bool aligned = hidden % kPerThread == 0 && (reinterpret_cast<uintptr_t>(table) & 15) == 0 &&
                       (reinterpret_cast<uintptr_t>(out) & 15) == 0;
  if (aligned) {
    embeddingGatherKernel<true><<<grid, kThreads, 0, stream>>>(tokens, table, hidden, out);
  } else {
    embeddingGatherKernel<false><<<grid, kThreads, 0, stream>>>(tokens, table, hidden, out);
  }
}

}  // namespace qb
