// Decode attention (flash-decoding, split-K): per row, causal grouped-query attention of its q heads against
// positions [0, position] of its own KV-cache slot, softmax scale 1/sqrt(headDim):
//   out[r, h] = sum_{p <= position} softmax_p(q[r, h] . K[slot, p, g] / sqrt(d)) V[slot, p, g],  g = h / group.
// Positions are cut into chunks of kChunk. Pass 1 (attentionDecodePartialKernel) writes, per (row, q head, chunk),
// the chunk's partial state m = max_p s_p, l = sum_p exp(s_p - m), acc[d] = sum_p exp(s_p - m) V[p, d]; pass 2
// (attentionDecodeReduceKernel) merges a row's chunks with log-sum-exp rescaling:
//   M = max_c m_c,  L = sum_c l_c exp(m_c - M),  out[d] = sum_c acc_c[d] exp(m_c - M) / L.
//
// Layout: q, out float32 [rows, heads, headDim]; cache [maxBatch, maxContext, kvHeads, headDim]; slot and position
// int32 [rows] in device memory (read by both passes, so a captured graph replays with new values). partials:
// acc float32 [rows, heads, splits, headDim], then m/l float32 pairs [rows, heads, splits, 2], with
// splits = ceil(maxContext / kChunk).
//
// Pass 1 launch: grid (splits, kvHeads, rows), block 256 (8 warps), 36 KB static shared memory. A block serves a
// whole GQA group (heads / kvHeads <= 8 q heads), so each K and V row is read from memory once per group. The
// grid depends only on maxContext: a block whose chunk starts past its row's position exits at once.
//   scores: lanes split a K row into 16-byte slices (a warp covers one row of 128 floats, two rows of 64), each
//           lane dots its slice with every q head of the group held in registers, then a shuffle reduction;
//   softmax: one warp per q head: max, exp (accurate expf), sum over the chunk, in shared memory;
//   values: thread (position group, slice) accumulates weight * V over its positions for every head, and the
//           position groups are summed through shared memory.
// Pass 2 launch: grid (heads, rows), block 256, splits * 4 bytes of dynamic shared memory (the chunk weights) plus
// 8 KB static; chunks past the row's position are never read. headDim: 64, 128 or 256.
#include "kernels.h"
#include "reductions.cuh"

namespace qb {
namespace {

constexpr int kChunk = 128;
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxGroup = 8;

int splitsFor(int maxContext) { return (maxContext + kChunk - 1) / kChunk; }

__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

__device__ __forceinline__ void fma4(float4& acc, float w, float4 v) {
  acc.x = fmaf(w, v.x, acc.x);
  acc.y = fmaf(w, v.y, acc.y);
  acc.z = fmaf(w, v.z, acc.z);
  acc.w = fmaf(w, v.w, acc.w);
}

template <int HeadDim>
__global__ void __launch_bounds__(kThreads)
    attentionDecodePartialKernel(const float* __restrict__ q, const int32_t* __restrict__ slots,
                                 const int32_t* __restrict__ positions, int heads, int kvHeads,
                                 const float* __restrict__ keys, const float* __restrict__ values, int maxContext,
                                 float* __restrict__ partials, int rowCount) {
  constexpr int kSlices = HeadDim / 4;                        // float4 slices per head vector
  constexpr int kLanesPerRow = kSlices < 32 ? kSlices : 32;   // lanes sharing one K row in the score pass
  constexpr int kSlicesPerLane = kSlices / kLanesPerRow;
  constexpr int kRowsPerWarp = 32 / kLanesPerRow;
  constexpr int kGroups = kThreads / kSlices;                 // position groups in the value pass
  __shared__ float weights[kMaxGroup][kChunk];
  __shared__ __align__(16) float sums[kGroups][kMaxGroup][HeadDim];

  const int split = blockIdx.x;
  const int g = blockIdx.y;
  const int row = blockIdx.z;
  const int position = positions[row];
  const int start = split * kChunk;
  if (start > position) return;
  const int count = min(kChunk, position + 1 - start);
  const int group = heads / kvHeads;
  const int splits = gridDim.x;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const size_t kvStride = static_cast<size_t>(kvHeads) * HeadDim;
  const size_t chunkBase = (static_cast<size_t>(slots[row]) * maxContext + start) * kvStride + g * HeadDim;
  const float4* k4 = reinterpret_cast<const float4*>(keys + chunkBase);
  const float4* v4 = reinterpret_cast<const float4*>(values + chunkBase);
  const size_t kvStride4 = kvStride / 4;
  const float scale = 1.0f / sqrtf(static_cast<float>(HeadDim));

  // Scores.
  const int sub = lane % kLanesPerRow;
  float4 qv[kMaxGroup][kSlicesPerLane];
  const float4* q4 = reinterpret_cast<const float4*>(q + (static_cast<size_t>(row) * heads + g * group) * HeadDim);
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) {
#pragma unroll
    for (int s = 0; s < kSlicesPerLane; ++s) {
      qv[h][s] = h < group ? q4[h * kSlices + sub + s * kLanesPerRow] : make_float4(0.f, 0.f, 0.f, 0.f);
    }
  }
#pragma unroll 4
  for (int p0 = warp * kRowsPerWarp; p0 < count; p0 += kWarps * kRowsPerWarp) {
    const int p = p0 + lane / kLanesPerRow;
    float4 kv[kSlicesPerLane];
#pragma unroll
    for (int s = 0; s < kSlicesPerLane; ++s) {
      kv[s] = p < count ? k4[p * kvStride4 + sub + s * kLanesPerRow] : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) {
      if (h < group) {
        float partial = 0.0f;
#pragma unroll
        for (int s = 0; s < kSlicesPerLane; ++s) partial += dot4(qv[h][s], kv[s]);
        const float dot = red::warpSum<kLanesPerRow>(partial);
        if (sub == 0 && p < count) weights[h][p] = dot * scale;
      }
    }
  }
  __syncthreads();

  // Softmax numerators and the chunk's (m, l), one warp per q head.
  float* ml = partials + static_cast<size_t>(rowCount) * heads * splits * HeadDim;
  for (int h = warp; h < group; h += kWarps) {
    float m = -INFINITY;
    for (int p = lane; p < count; p += 32) m = fmaxf(m, weights[h][p]);
    m = red::warpMax(m);
    float l = 0.0f;
    for (int p = lane; p < count; p += 32) {
      const float e = expf(weights[h][p] - m);
      weights[h][p] = e;
      l += e;
    }
    l = red::warpSum(l);
    if (lane == 0) {
      const size_t entry = (static_cast<size_t>(row) * heads + g * group + h) * splits + split;
      reinterpret_cast<float2*>(ml)[entry] = make_float2(m, l);
    }
  }
  __syncthreads();

  // Weighted sum of V.
  const int slice = threadIdx.x % kSlices;
  const int pg = threadIdx.x / kSlices;
  float4 acc[kMaxGroup];
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) acc[h] = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 4
  for (int p = pg; p < count; p += kGroups) {
    const float4 vv = v4[p * kvStride4 + slice];
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) {
      if (h < group) fma4(acc[h], weights[h][p], vv);
    }
  }
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) {
    if (h < group) reinterpret_cast<float4*>(sums[pg][h])[slice] = acc[h];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * kSlices; i += kThreads) {
    const int h = i / kSlices;
    const int s = i - h * kSlices;
    float4 total = reinterpret_cast<const float4*>(sums[0][h])[s];
#pragma unroll
    for (int j = 1; j < kGroups; ++j) {
      const float4 part = reinterpret_cast<const float4*>(sums[j][h])[s];
      total.x += part.x;
      total.y += part.y;
      total.z += part.z;
      total.w += part.w;
    }
    const size_t entry = (static_cast<size_t>(row) * heads + g * group + h) * splits + split;
    reinterpret_cast<float4*>(partials + entry * HeadDim)[s] = total;
  }
}

template <int HeadDim>
__global__ void __launch_bounds__(kThreads)
    attentionDecodeReduceKernel(const float* __restrict__ partials, const int32_t* __restrict__ positions, int heads,
                                int splits, int rowCount, float* __restrict__ out) {
  constexpr int kSlices = HeadDim / 4;
  constexpr int kSlicesPerLane = (kSlices + 31) / 32;
  extern __shared__ float chunkWeight[];
  __shared__ float scratch[kWarps];
  __shared__ __align__(16) float sums[kWarps][HeadDim];

  const int head = blockIdx.x;
  const int row = blockIdx.y;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int used = min(splits, positions[row] / kChunk + 1);
  const size_t first = (static_cast<size_t>(row) * heads + head) * splits;
  const float2* ml = reinterpret_cast<const float2*>(partials + static_cast<size_t>(rowCount) * heads * splits * HeadDim) + first;

  float m = -INFINITY;
  for (int c = threadIdx.x; c < used; c += kThreads) m = fmaxf(m, ml[c].x);
  m = red::warpMax(m);
  if (lane == 0) scratch[warp] = m;
  __syncthreads();
  float bigM = scratch[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) bigM = fmaxf(bigM, scratch[w]);
  __syncthreads();
  float l = 0.0f;
  for (int c = threadIdx.x; c < used; c += kThreads) {
    const float2 entry = ml[c];
    const float w = expf(entry.x - bigM);
    chunkWeight[c] = w;
    l += entry.y * w;
  }
  const float bigL = red::blockSum(l, scratch);  // its barriers also publish chunkWeight

  float4 acc[kSlicesPerLane];
#pragma unroll
  for (int s = 0; s < kSlicesPerLane; ++s) acc[s] = make_float4(0.f, 0.f, 0.f, 0.f);
  const float4* acc4 = reinterpret_cast<const float4*>(partials + first * HeadDim);
  for (int c = warp; c < used; c += kWarps) {
    const float w = chunkWeight[c];
#pragma unroll
    for (int s = 0; s < kSlicesPerLane; ++s) {
      const int slice = lane + 32 * s;
      if (slice < kSlices) fma4(acc[s], w, acc4[static_cast<size_t>(c) * kSlices + slice]);
    }
  }
#pragma unroll
  for (int s = 0; s < kSlicesPerLane; ++s) {
    const int slice = lane + 32 * s;
    if (slice < kSlices) reinterpret_cast<float4*>(sums[warp])[slice] = acc[s];
  }
  __syncthreads();
  const float inverseL = 1.0f / bigL;
  float* dst = out + (static_cast<size_t>(row) * heads + head) * HeadDim;
  for (int d = threadIdx.x; d < HeadDim; d += kThreads) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += sums[w][d];
    dst[d] = total * inverseL;
  }
}

template <int HeadDim>
void launch(const float* q, RowPlacement rows, int rowCount, int heads, int kvHeads, KvCache cache, float* partials,
            float* out, cudaStream_t stream) {
  const int splits = splitsFor(cache.maxContext);
  attentionDecodePartialKernel<HeadDim><<<dim3(splits, kvHeads, rowCount), kThreads, 0, stream>>>(
      q, rows.slot, rows.position, heads, kvHeads, cache.keys, cache.values, cache.maxContext, partials, rowCount);
  attentionDecodeReduceKernel<HeadDim><<<dim3(heads, rowCount), kThreads, splits * sizeof(float), stream>>>(
      partials, rows.position, heads, splits, rowCount, out);
}

}  // namespace

size_t attentionDecodePartialsBytes(int rows, int heads, int headDim, int maxContext) {
  return static_cast<size_t>(rows) * heads * splitsFor(maxContext) * (headDim + 2) * sizeof(float);
}

void attentionDecode(const float* q, RowPlacement rows, int rowCount, int heads, int kvHeads, int headDim,
                     KvCache cache, float* partials, float* out, cudaStream_t stream) {
  if (rowCount <= 0) return;
  const bool groupOk = kvHeads > 0 && heads % kvHeads == 0 && heads / kvHeads <= kMaxGroup;
  if (!groupOk || rowCount > 65535 || kvHeads > 65535 || heads > 65535) {
    red::reportUnsupportedShape(stream);
    return;
  }
  switch (headDim) {
    case 64: launch<64>(q, rows, rowCount, heads, kvHeads, cache, partials, out, stream); break;
    case 128: launch<128>(q, rows, rowCount, heads, kvHeads, cache, partials, out, stream); break;
    case 256: launch<256>(q, rows, rowCount, heads, kvHeads, cache, partials, out, stream); break;
    default: red::reportUnsupportedShape(stream);
  }
}

}  // namespace qb
