// Fused per-head q/k RMSNorm, rotary embedding and KV-cache append, for one layer and a batch of rows:
//   q[r, h, :]                  <- RoPE(RMSNorm(q[r, h, :]) * qNorm)   for h < heads (in place)
//   keys[slot, position, h, :]   = RoPE(RMSNorm(k[r, h, :]) * kNorm)   for h < kvHeads
//   values[slot, position, h, :] = v[r, h, :]
// with (slot, position) read from device memory per row (so a captured decode graph replays with new values).
// RoPE is rotate-half: for j < headDim/2 with (c, s) = ropeTable[position, j] and (a, b) = (x[j], x[j + d/2]):
// x[j] = a*c - b*s, x[j + d/2] = b*c + a*s. The normed value is rounded to float32 before the rotation, as the CPU
// engine stores it between its two steps.
//
// Layout: q float32 [rows, heads, headDim]; k, v float32 [rows, kvHeads, headDim]; cache [maxBatch, maxContext,
// kvHeads, headDim]; ropeTable [maxContext, headDim/2, 2].
// Launch: one warp per (row, head) work item, items ordered row-major over heads + kvHeads (q heads first);
// block 256 (8 items), grid ceil(rows * (heads + kvHeads) / 8), no shared memory. Lane l owns the pairs
// (j, j + d/2) for j = l, l + 32, ... (coalesced 128-byte runs); headDim even and at most 256.
#include "kernels.h"
#include "reductions.cuh"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxHeadDim = 256;
constexpr int kMaxPairsPerLane = kMaxHeadDim / 2 / 32;

__global__ void __launch_bounds__(kThreads)
    qkNormRopeCacheKernel(float* q, const float* k, const float* v, const float* qNorm, const float* kNorm, float eps,
                          const float* ropeTable, RowPlacement placement, int rowCount, int heads, int kvHeads,
                          int headDim, KvCache cache) {
  const int item = blockIdx.x * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  const int perRow = heads + kvHeads;
  if (item >= rowCount * perRow) return;
  const int row = item / perRow;
  const int index = item - row * perRow;
  const bool isQ = index < heads;
  const int head = isQ ? index : index - heads;
  const int half = headDim / 2;
  const float* src = isQ ? q + (static_cast<size_t>(row) * heads + head) * headDim
                         : k + (static_cast<size_t>(row) * kvHeads + head) * headDim;
  const float* weight = isQ ? qNorm : kNorm;

  float a[kMaxPairsPerLane];
  float b[kMaxPairsPerLane];
  float squares = 0.0f;
#pragma unroll
  for (int t = 0; t < kMaxPairsPerLane; ++t) {
    const int j = lane + 32 * t;
    a[t] = 0.0f;
    b[t] = 0.0f;
    if (j < half) {
      a[t] = src[j];
      b[t] = src[j + half];
    }
    squares += a[t] * a[t] + b[t] * b[t];
  }
  const float inverseRms = 1.0f / sqrtf(red::warpSum(squares) / static_cast<float>(headDim) + eps);

  const int position = placement.position[row];
  const float2* angles = reinterpret_cast<const float2*>(ropeTable) + static_cast<size_t>(position) * half;
  float* qDst = q + (static_cast<size_t>(row) * heads + head) * headDim;
  const size_t cell =
      ((static_cast<size_t>(placement.slot[row]) * cache.maxContext + position) * kvHeads + head) * headDim;
#pragma unroll
  for (int t = 0; t < kMaxPairsPerLane; ++t) {
    const int j = lane + 32 * t;
    if (j < half) {
      const float2 cs = angles[j];
      const float na = a[t] * inverseRms * weight[j];
      const float nb = b[t] * inverseRms * weight[j + half];
      const float ra = na * cs.x - nb * cs.y;
      const float rb = nb * cs.x + na * cs.y;
      if (isQ) {
        qDst[j] = ra;
        qDst[j + half] = rb;
      } else {
        const float* vSrc = v + (static_cast<size_t>(row) * kvHeads + head) * headDim;
        cache.keys[cell + j] = ra;
        cache.keys[cell + j + half] = rb;
        cache.values[cell + j] = vSrc[j];
        cache.values[cell + j + half] = vSrc[j + half];
      }
    }
  }
}

}  // namespace

void qkNormRopeCache(float* q, const float* k, const float* v, const float* qNorm, const float* kNorm, float eps,
                     const float* ropeTable, RowPlacement rows, int rowCount, int heads, int kvHeads, int headDim,
                     KvCache cache, cudaStream_t stream) {
  if (rowCount <= 0) return;
  if (headDim <= 0 || headDim % 2 != 0 || headDim > kMaxHeadDim || heads <= 0 || kvHeads <= 0) {
    red::reportUnsupportedShape(stream);
    return;
  }
  const int items = rowCount * (heads + kvHeads);
  qkNormRopeCacheKernel<<<(items + kWarps - 1) / kWarps, kThreads, 0, stream>>>(
      q, k, v, qNorm, kNorm, eps, ropeTable, rows, rowCount, heads, kvHeads, headDim, cache);
}

}  // namespace qb
