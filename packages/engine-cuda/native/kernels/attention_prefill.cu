// Prefill attention: rows are consecutive positions firstPosition, firstPosition + 1, ... of one sequence (`slot`),
// whose K and V (and everything before) are already in the cache; row r attends causally to [0, firstPosition + r]:
//   out[r, h] = sum_{p <= firstPosition + r} softmax_p(q[r, h] . K[p, g] / sqrt(d)) V[p, g],  g = h / (heads / kvHeads).
//
// Layout: q, out float32 [rows, heads, headDim]; cache [maxBatch, maxContext, kvHeads, headDim].
// Launch: grid (ceil(rows / 64), heads), block 256, dynamic shared memory (2 * 64 * (headDim + 4) + 64 * 68) * 4
// bytes (85 KB at headDim 128, raised past the 48 KB default once per instantiation). A block owns 64 query rows of
// one q head and walks key tiles of 64 positions from 0 to its last row's position (flash attention, float32 FFMA:
// tensor-core tf32 would miss the float32 accuracy target). Per key tile:
//   S = Q K^T: thread (ty, tx) = (t / 16, t % 16) computes rows 4ty..4ty+3 x keys tx + 16j (j < 4) from shared
//       memory (rows padded by 16 bytes: conflict-free float4 reads);
//   online softmax per row: causal mask (key > query -> -inf; only tiles touching the diagonal have any), running
//       max over the 16 lanes of the row (shuffles), rescale by expf(m_old - m_new), P to shared memory;
//   O += P V: the same thread owns those 4 rows x float4 columns 4tx + 64c of the output; V reuses K's buffer.
// Heavy (late) query tiles are scheduled first. headDim: 64 or 128.
#include "kernels.h"
#include "reductions.cuh"

namespace qb {
namespace {

constexpr int kTile = 64;  // query rows per block and key positions per tile
constexpr int kThreads = 256;
constexpr int kRowsPerThread = 4;
constexpr int kKeysPerThread = 4;
constexpr int kProbStride = kTile + 4;

template <int HeadDim>
constexpr size_t sharedBytes() {
  return (2 * kTile * (HeadDim + 4) + kTile * kProbStride) * sizeof(float);
}

__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

template <int HeadDim>
__global__ void __launch_bounds__(kThreads)
    attentionPrefillKernel(const float* __restrict__ q, int slot, int firstPosition, int rowCount, int heads,
                           int kvHeads, const float* __restrict__ keys, const float* __restrict__ values,
                           int maxContext, float* __restrict__ out) {
  constexpr int kStride = HeadDim + 4;
  constexpr int kSlices = HeadDim / 4;
  constexpr int kColVecs = HeadDim / 64;  // float4 output columns per thread
  extern __shared__ __align__(16) float shared[];
  float* qs = shared;
  float* kvs = qs + kTile * kStride;
  float* ps = kvs + kTile * kStride;

  const int tile = gridDim.x - 1 - blockIdx.x;
  const int head = blockIdx.y;
  const int g = head / (heads / kvHeads);
  const int row0 = tile * kTile;
  const int ty = threadIdx.x / 16;
  const int tx = threadIdx.x % 16;
  const int lastRow = min(row0 + kTile, rowCount) - 1;
  const int lastKey = firstPosition + lastRow;
  const size_t kvStride = static_cast<size_t>(kvHeads) * HeadDim;
  const float* kBase = keys + static_cast<size_t>(slot) * maxContext * kvStride + g * HeadDim;
  const float* vBase = values + static_cast<size_t>(slot) * maxContext * kvStride + g * HeadDim;
  const float scale = 1.0f / sqrtf(static_cast<float>(HeadDim));

  for (int i = threadIdx.x; i < kTile * kSlices; i += kThreads) {
    const int r = i / kSlices;
    const int c = i - r * kSlices;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row0 + r < rowCount) {
      v = reinterpret_cast<const float4*>(q + (static_cast<size_t>(row0 + r) * heads + head) * HeadDim)[c];
    }
    *reinterpret_cast<float4*>(qs + r * kStride + 4 * c) = v;
  }

  // Rows past rowCount stand in for the last real row, so every row has key 0 unmasked in the first tile and the
  // running max is finite from then on (no -inf - -inf).
  int queryPos[kRowsPerThread];
  float m[kRowsPerThread];
  float l[kRowsPerThread];
  float4 o[kRowsPerThread][kColVecs];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    queryPos[i] = firstPosition + min(row0 + ty * kRowsPerThread + i, lastRow);
    m[i] = -INFINITY;
    l[i] = 0.0f;
#pragma unroll
    for (int c = 0; c < kColVecs; ++c) o[i][c] = make_float4(0.f, 0.f, 0.f, 0.f);
  }

  const int tiles = lastKey / kTile + 1;
  for (int t = 0; t < tiles; ++t) {
    const int key0 = t * kTile;
    __syncthreads();  // the previous tile's P V is done with kvs and ps
    // Keys past lastKey may be unwritten cache memory (even NaN): load zeros, so 0-weight products stay 0.
    for (int i = threadIdx.x; i < kTile * kSlices; i += kThreads) {
      const int r = i / kSlices;
      const int c = i - r * kSlices;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (key0 + r <= lastKey) v = reinterpret_cast<const float4*>(kBase + (key0 + r) * kvStride)[c];
      *reinterpret_cast<float4*>(kvs + r * kStride + 4 * c) = v;
    }
    __syncthreads();

    float s[kRowsPerThread][kKeysPerThread];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
#pragma unroll
      for (int j = 0; j < kKeysPerThread; ++j) s[i][j] = 0.0f;
    }
#pragma unroll 4
    for (int d = 0; d < HeadDim; d += 4) {
      float4 qf[kRowsPerThread];
      float4 kf[kKeysPerThread];
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) qf[i] = *reinterpret_cast<const float4*>(qs + (ty * kRowsPerThread + i) * kStride + d);
#pragma unroll
      for (int j = 0; j < kKeysPerThread; ++j) kf[j] = *reinterpret_cast<const float4*>(kvs + (tx + 16 * j) * kStride + d);
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) {
#pragma unroll
        for (int j = 0; j < kKeysPerThread; ++j) s[i][j] += dot4(qf[i], kf[j]);
      }
    }
    __syncthreads();  // everyone is done with K: V may overwrite it

    for (int i = threadIdx.x; i < kTile * kSlices; i += kThreads) {
      const int r = i / kSlices;
      const int c = i - r * kSlices;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (key0 + r <= lastKey) v = reinterpret_cast<const float4*>(vBase + (key0 + r) * kvStride)[c];
      *reinterpret_cast<float4*>(kvs + r * kStride + 4 * c) = v;
    }

#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      float tileMax = -INFINITY;
#pragma unroll
      for (int j = 0; j < kKeysPerThread; ++j) {
        s[i][j] = key0 + tx + 16 * j <= queryPos[i] ? s[i][j] * scale : -INFINITY;
        tileMax = fmaxf(tileMax, s[i][j]);
      }
      const float mNew = fmaxf(m[i], red::warpMax<16>(tileMax));
      const float alpha = expf(m[i] - mNew);
      m[i] = mNew;
      float rowSum = 0.0f;
#pragma unroll
      for (int j = 0; j < kKeysPerThread; ++j) {
        const float p = expf(s[i][j] - mNew);
        ps[(ty * kRowsPerThread + i) * kProbStride + tx + 16 * j] = p;
        rowSum += p;
      }
      l[i] = l[i] * alpha + rowSum;
#pragma unroll
      for (int c = 0; c < kColVecs; ++c) {
        o[i][c].x *= alpha;
        o[i][c].y *= alpha;
        o[i][c].z *= alpha;
        o[i][c].w *= alpha;
      }
    }
    __syncthreads();

#pragma unroll 2
    for (int k = 0; k < kTile; k += 4) {
      float4 p[kRowsPerThread];
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) p[i] = *reinterpret_cast<const float4*>(ps + (ty * kRowsPerThread + i) * kProbStride + k);
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
#pragma unroll
        for (int c = 0; c < kColVecs; ++c) {
          const float4 v = *reinterpret_cast<const float4*>(kvs + (k + kk) * kStride + 4 * tx + 64 * c);
#pragma unroll
          for (int i = 0; i < kRowsPerThread; ++i) {
            const float w = kk == 0 ? p[i].x : kk == 1 ? p[i].y : kk == 2 ? p[i].z : p[i].w;
            o[i][c].x = fmaf(w, v.x, o[i][c].x);
            o[i][c].y = fmaf(w, v.y, o[i][c].y);
            o[i][c].z = fmaf(w, v.z, o[i][c].z);
            o[i][c].w = fmaf(w, v.w, o[i][c].w);
          }
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const float inverseL = 1.0f / red::warpSum<16>(l[i]);
    const int row = row0 + ty * kRowsPerThread + i;
    if (row < rowCount) {
      float4* dst = reinterpret_cast<float4*>(out + (static_cast<size_t>(row) * heads + head) * HeadDim);
#pragma unroll
      for (int c = 0; c < kColVecs; ++c) {
        dst[tx + 16 * c] = make_float4(o[i][c].x * inverseL, o[i][c].y * inverseL, o[i][c].z * inverseL,
                                       o[i][c].w * inverseL);
      }
    }
  }
}

template <int HeadDim>
void launch(const float* q, int slot, int firstPosition, int rowCount, int heads, int kvHeads, KvCache cache,
            float* out, cudaStream_t stream) {
  constexpr size_t bytes = sharedBytes<HeadDim>();
  // A function-local static: the opt-in past 48 KB happens once, not on every launch.
  static const cudaError_t optIn = cudaFuncSetAttribute(attentionPrefillKernel<HeadDim>,
                                                        cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  (void)optIn;  // a failure shows up as the launch's own error
  const dim3 grid((rowCount + kTile - 1) / kTile, heads);
  attentionPrefillKernel<HeadDim><<<grid, kThreads, bytes, stream>>>(q, slot, firstPosition, rowCount, heads, kvHeads,
                                                                    cache.keys, cache.values, cache.maxContext, out);
}

}  // namespace

void attentionPrefill(const float* q, int slot, int firstPosition, int rowCount, int heads, int kvHeads,
                      int headDim, KvCache cache, float* out, cudaStream_t stream) {
  if (rowCount <= 0) return;
  if (kvHeads <= 0 || heads % kvHeads != 0 || heads > 65535 || firstPosition < 0 ||
      firstPosition + rowCount > cache.maxContext) {
    red::reportUnsupportedShape(stream);
    return;
  }
  switch (headDim) {
    case 64: launch<64>(q, slot, firstPosition, rowCount, heads, kvHeads, cache, out, stream); break;
    case 128: launch<128>(q, slot, firstPosition, rowCount, heads, kvHeads, cache, out, stream); break;
    default: red::reportUnsupportedShape(stream);
  }
}

}  // namespace qb
