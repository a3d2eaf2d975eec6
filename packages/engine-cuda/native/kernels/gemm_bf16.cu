// gemmBf16: y[r, o] = sum_i x[r, i] * bf16(W[o, i]) on tensor cores, for prefill and large batches.
//
// Layout: x float32 [rows, in]; W bf16 bits [out, in] row-major (the "col" B operand of mma as it stands);
// y float32 [rows, out].
// Launch: grid (ceil(out/128), ceil(rows/64)), 256 threads (8 warps as 2 along rows x 4 along outputs, each
// owning a 32x32 output tile), 40 KB static shared memory: two stages of a 64x32 activation tile split into
// bf16 hi and lo halves plus a 128x32 weight tile, rows padded to 40 elements so fragment reads are
// conflict-free. Each K step of 32 is prefetched into registers while the previous one is multiplied.
// Float32 accuracy: every activation is split once, when staged, into hi = bf16(x) and lo = bf16(x - hi), and
// each weight fragment meets both in two m16n8k16 bf16 MMAs with float32 accumulation; the weight is exactly
// bf16, so the products carry ~16 significand bits of x. Tails of rows, out and in are zero-filled; 16-byte
// global loads when in % 8 == 0 and the pointers are aligned, single values otherwise.
#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace {

constexpr int kBm = 64;
constexpr int kBn = 128;
constexpr int kBk = 32;
constexpr int kPitch = kBk + 8;  // bf16 elements per staged row
constexpr int kThreads = 256;

struct Stage {
  uint16_t aHi[kBm][kPitch];
  uint16_t aLo[kBm][kPitch];
  uint16_t b[kBn][kPitch];
};

template <bool VEC>
struct Prefetch {
  float a[8];      // 2 float4 (VEC) or 8 single values of the activation tile
  uint32_t b[8];   // 2 x 8 bf16 (VEC) or 8 pairs of single bf16 values of the weight tile
};

template <bool VEC>
__device__ __forceinline__ void loadTile(Prefetch<VEC>& p, const float* __restrict__ x,
                                         const uint16_t* __restrict__ w, int rows, int out, int in, int m0, int n0,
                                         int k0) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / (kBk / 4);
      const int k = k0 + idx % (kBk / 4) * 4;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (m0 + r < rows && k < in) v = __ldg(reinterpret_cast<const float4*>(x + static_cast<size_t>(m0 + r) * in + k));
      p.a[4 * i] = v.x, p.a[4 * i + 1] = v.y, p.a[4 * i + 2] = v.z, p.a[4 * i + 3] = v.w;
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int n = idx / (kBk / 8);
      const int k = k0 + idx % (kBk / 8) * 8;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (n0 + n < out && k < in) v = __ldg(reinterpret_cast<const uint4*>(w + static_cast<size_t>(n0 + n) * in + k));
      p.b[4 * i] = v.x, p.b[4 * i + 1] = v.y, p.b[4 * i + 2] = v.z, p.b[4 * i + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / kBk;
      const int k = k0 + idx % kBk;
      p.a[i] = m0 + r < rows && k < in ? __ldg(x + static_cast<size_t>(m0 + r) * in + k) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
      uint32_t pair = 0;
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const int idx = (tid + i * kThreads) * 2 + h;
        const int n = idx / kBk;
        const int k = k0 + idx % kBk;
        if (n0 + n < out && k < in) pair |= static_cast<uint32_t>(__ldg(w + static_cast<size_t>(n0 + n) * in + k)) << (16 * h);
      }
      p.b[i] = pair;
    }
  }
}

template <bool VEC>
__device__ __forceinline__ void storeTile(const Prefetch<VEC>& p, Stage& s) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int r = idx / (kBk / 4);
      const int k = idx % (kBk / 4) * 4;
      uint2 hi, lo;
      splitBf16x2(p.a[4 * i], p.a[4 * i + 1], hi.x, lo.x);
      splitBf16x2(p.a[4 * i + 2], p.a[4 * i + 3], hi.y, lo.y);
      *reinterpret_cast<uint2*>(&s.aHi[r][k]) = hi;
      *reinterpret_cast<uint2*>(&s.aLo[r][k]) = lo;
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int idx = tid + i * kThreads;
      const int n = idx / (kBk / 8);
      const int k = idx % (kBk / 8) * 8;
      *reinterpret_cast<uint4*>(&s.b[n][k]) = make_uint4(p.b[4 * i], p.b[4 * i + 1], p.b[4 * i + 2], p.b[4 * i + 3]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int idx = tid + i * kThreads;
      uint32_t hi, lo;
      splitBf16x2(p.a[i], 0.0f, hi, lo);
      s.aHi[idx / kBk][idx % kBk] = static_cast<uint16_t>(hi);
      s.aLo[idx / kBk][idx % kBk] = static_cast<uint16_t>(lo);
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
      const int idx = (tid + i * kThreads) * 2;
      *reinterpret_cast<uint32_t*>(&s.b[idx / kBk][idx % kBk]) = p.b[i];
    }
  }
}

template <bool VEC>
__global__ void __launch_bounds__(kThreads)
    gemmBf16Kernel(const float* __restrict__ x, const uint16_t* __restrict__ w, float* __restrict__ y, int rows,
                   int out, int in) {
  __shared__ __align__(16) Stage stages[2];
  const int m0 = blockIdx.y * kBm;
  const int n0 = blockIdx.x * kBn;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int g = lane / 4;  // mma fragment group: row of A/C, column of B
  const int t = lane % 4;  // thread in group: K pair of A/B, column pair of C
  const int wm = (warp / 4) * 32;
  const int wn = (warp % 4) * 32;

  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

  Prefetch<VEC> p;
  const int kTiles = (in + kBk - 1) / kBk;
  loadTile<VEC>(p, x, w, rows, out, in, m0, n0, 0);
  storeTile<VEC>(p, stages[0]);
  __syncthreads();
  for (int kt = 0; kt < kTiles; kt++) {
    const Stage& s = stages[kt & 1];
    if (kt + 1 < kTiles) loadTile<VEC>(p, x, w, rows, out, in, m0, n0, (kt + 1) * kBk);
#pragma unroll
    for (int ks = 0; ks < kBk; ks += 16) {
      uint32_t aHi[2][4], aLo[2][4], b[4][2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int r = wm + i * 16 + g;
        aHi[i][0] = *reinterpret_cast<const uint32_t*>(&s.aHi[r][ks + 2 * t]);
        aHi[i][1] = *reinterpret_cast<const uint32_t*>(&s.aHi[r + 8][ks + 2 * t]);
        aHi[i][2] = *reinterpret_cast<const uint32_t*>(&s.aHi[r][ks + 2 * t + 8]);
        aHi[i][3] = *reinterpret_cast<const uint32_t*>(&s.aHi[r + 8][ks + 2 * t + 8]);
        aLo[i][0] = *reinterpret_cast<const uint32_t*>(&s.aLo[r][ks + 2 * t]);
        aLo[i][1] = *reinterpret_cast<const uint32_t*>(&s.aLo[r + 8][ks + 2 * t]);
        aLo[i][2] = *reinterpret_cast<const uint32_t*>(&s.aLo[r][ks + 2 * t + 8]);
        aLo[i][3] = *reinterpret_cast<const uint32_t*>(&s.aLo[r + 8][ks + 2 * t + 8]);
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int n = wn + j * 8 + g;
        b[j][0] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 2 * t]);
        b[j][1] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 2 * t + 8]);
      }
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
          mmaBf16(acc[i][j], aHi[i], b[j]);
          mmaBf16(acc[i][j], aLo[i], b[j]);
        }
    }
    if (kt + 1 < kTiles) storeTile<VEC>(p, stages[(kt + 1) & 1]);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int r = m0 + wm + i * 16 + g + (e >= 2 ? 8 : 0);
        const int o = n0 + wn + j * 8 + 2 * t + (e & 1);
        if (r < rows && o < out) y[static_cast<size_t>(r) * out + o] = acc[i][j][e];
      }
}

}  // namespace

void gemmBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= 0) return;
  const dim3 grid((w.out + kBn - 1) / kBn, (rows + kBm - 1) / kBm);
  const bool vec = w.in % 8 == 0 && reinterpret_cast<uintptr_t>(w.bits) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (vec) {
    gemmBf16Kernel<true><<<grid, kThreads, 0, stream>>>(x, w.bits, y, rows, w.out, w.in);
  } else {
    gemmBf16Kernel<false><<<grid, kThreads, 0, stream>>>(x, w.bits, y, rows, w.out, w.in);
  }
}

}  // namespace qb
