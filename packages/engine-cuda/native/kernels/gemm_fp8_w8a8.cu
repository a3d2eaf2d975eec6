// gemmFp8W8a8: y[r, o] = sum_b xs[r, b] * ws[o/128, b] * sum_{i in b} e4m3(xq[r, i]) * e4m3(W[o, i]), for prefill
// and large batches.
//
// Layout: xq e4m3fn codes [rows, in] with float32 group scales xs [rows, ceil(in/128)]; W e4m3fn codes [out, in]
// row-major (the "col" B operand of mma as it stands) with float32 block scales ws [ceil(out/128),
// ceil(in/128)]; y float32 [rows, out].
// Launch: gemm_tiles.cuh's shape, tile coordinates and epilogue: grid (ceil(out/128), ceil(rows/64)), 256
// threads (8 warps as 2 along rows x 4 along outputs, each owning a 32x32 output tile). What is w8a8's own: 30 KB
// static shared memory, two stages of a 64x64 activation-code tile and a 128x64 weight-code tile, rows padded to
// 80 bytes so fragment reads are conflict-free; each K step of 64 is prefetched into registers while the previous
// one is multiplied.
// On sm_89+ the codes go straight into m16n8k32 e4m3 MMAs. As DeepGEMM does, each 128-wide scale block gets
// fresh MMA accumulators, which are then promoted into float32 registers times xs[r, b] * ws[o/128, b]: the
// tensor cores' own accumulation is not float32-grade, and a block never mixes two scales. Elsewhere the same
// fragments are computed on CUDA cores from exactly decoded codes. Tails of rows, out and in are zero-filled;
// 16-byte global loads when in % 16 == 0 and the pointers are aligned, single codes otherwise.
#include "formats.cuh"
#include "gemm_tiles.cuh"
#include "kernels.h"

namespace qb {
namespace {

using gemm::kBm;
using gemm::kBn;
using gemm::kThreads;
constexpr int kBk = 64;
constexpr int kPitch = kBk + 16;  // bytes per staged row

struct Stage {
  uint8_t a[kBm][kPitch];
  uint8_t b[kBn][kPitch];
};

// One stage's share per thread: 16 activation codes and 32 weight codes, as words of 4 codes.
struct Prefetch {
  uint32_t a[4];
  uint32_t b[8];
};

// Copies a [count x kBk] tile of codes (row `row0`, column k0) into words: 16-byte loads when VEC, else single
// codes; out-of-range rows and columns read as zero.
template <bool VEC, int WORDS>
__device__ __forceinline__ void loadCodes(uint32_t (&dst)[WORDS], const uint8_t* __restrict__ src, int row0,
                                          int rowEnd, int in, int k0) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < WORDS / 4; i++) {
      const int idx = tid + i * kThreads;
      const int r = row0 + idx / (kBk / 16);
      const int k = k0 + idx % (kBk / 16) * 16;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (r < rowEnd && k < in) v = __ldg(reinterpret_cast<const uint4*>(src + static_cast<size_t>(r) * in + k));
      dst[4 * i] = v.x, dst[4 * i + 1] = v.y, dst[4 * i + 2] = v.z, dst[4 * i + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < WORDS; i++) {
      const int idx = (tid + i * kThreads) * 4;
      const int r = row0 + idx / kBk;
      uint32_t word = 0;
#pragma unroll
      for (int h = 0; h < 4; h++) {
        const int k = k0 + idx % kBk + h;
        if (r < rowEnd && k < in) word |= static_cast<uint32_t>(__ldg(src + static_cast<size_t>(r) * in + k)) << (8 * h);
      }
      dst[i] = word;
    }
  }
}

template <bool VEC, int ROWS, int WORDS>
__device__ __forceinline__ void storeCodes(const uint32_t (&src)[WORDS], uint8_t (&dst)[ROWS][kPitch]) {
  const int tid = threadIdx.x;
  if constexpr (VEC) {
#pragma unroll
    for (int i = 0; i < WORDS / 4; i++) {
      const int idx = tid + i * kThreads;
      *reinterpret_cast<uint4*>(&dst[idx / (kBk / 16)][idx % (kBk / 16) * 16]) =
          make_uint4(src[4 * i], src[4 * i + 1], src[4 * i + 2], src[4 * i + 3]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < WORDS; i++) {
      const int idx = (tid + i * kThreads) * 4;
      *reinterpret_cast<uint32_t*>(&dst[idx / kBk][idx % kBk]) = src[i];
    }
  }
}

// D += A·B for one m16n8k32 fragment set (the PTX ISA's e4m3 layouts: A word j holds 4 consecutive K of row
// g (+8 for j odd), K offset 16 for j >= 2; B word j holds 4 consecutive K of column g, K offset 16 for j = 1).
__device__ __forceinline__ void mmaE4m3(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                        const Stage& s, int ar, int bn, int k) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  (void)s, (void)ar, (void)bn, (void)k;
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  // No FP8 tensor cores: the thread computes its own four outputs (rows ar, ar+8; columns bn, bn+1 of the
  // 16x8 tile) from the staged codes.
  (void)a, (void)b;
#pragma unroll
  for (int e = 0; e < 4; e++) {
    const uint8_t* ar0 = s.a[ar + (e >= 2 ? 8 : 0)] + k;
    const uint8_t* bc0 = s.b[bn + (e & 1)] + k;
    float sum = 0.0f;
    for (int i = 0; i < 32; i++) sum = fmaf(e4m3ToFloat(ar0[i]), e4m3ToFloat(bc0[i]), sum);
    d[e] += sum;
  }
#endif
}

// The pipeline is gemm_tiles.cuh's run() spelled out rather than called with a Tiles policy: routed through
// run(), the CUDA-core fallback (sm_80, sm_89 without VEC) is register-allocated at 128 with spills instead of
// ~176 without, for the same instructions.
template <bool VEC>
__global__ void __launch_bounds__(kThreads)
    gemmFp8W8a8Kernel(const uint8_t* __restrict__ xq, const float* __restrict__ xs, const uint8_t* __restrict__ w,
                      const float* __restrict__ ws, float* __restrict__ y, int rows, int out, int in) {
  __shared__ __align__(16) Stage stages[2];
  const gemm::Tile tl = gemm::tile();
  const int m0 = tl.m0, n0 = tl.n0, g = tl.g, t = tl.t, wm = tl.wm, wn = tl.wn;
  const int scaleCols = (in + kFp8Block - 1) / kFp8Block;
  const float* wsRow = ws + static_cast<size_t>(n0 / kFp8Block) * scaleCols;

  gemm::Acc acc;
  gemm::Acc blockAcc;
  gemm::zero(acc);
  gemm::zero(blockAcc);

  Prefetch p;
  const int kTiles = (in + kBk - 1) / kBk;
  loadCodes<VEC>(p.a, xq, m0, rows, in, 0);
  loadCodes<VEC>(p.b, w, n0, out, in, 0);
  storeCodes<VEC>(p.a, stages[0].a);
  storeCodes<VEC>(p.b, stages[0].b);
  __syncthreads();
  for (int kt = 0; kt < kTiles; kt++) {
    const Stage& s = stages[kt & 1];
    if (kt + 1 < kTiles) {
      loadCodes<VEC>(p.a, xq, m0, rows, in, (kt + 1) * kBk);
      loadCodes<VEC>(p.b, w, n0, out, in, (kt + 1) * kBk);
    }
#pragma unroll
    for (int ks = 0; ks < kBk; ks += 32) {
      uint32_t a[2][4], b[4][2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int r = wm + i * 16 + g;
        a[i][0] = *reinterpret_cast<const uint32_t*>(&s.a[r][ks + 4 * t]);
        a[i][1] = *reinterpret_cast<const uint32_t*>(&s.a[r + 8][ks + 4 * t]);
        a[i][2] = *reinterpret_cast<const uint32_t*>(&s.a[r][ks + 16 + 4 * t]);
        a[i][3] = *reinterpret_cast<const uint32_t*>(&s.a[r + 8][ks + 16 + 4 * t]);
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int n = wn + j * 8 + g;
        b[j][0] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 4 * t]);
        b[j][1] = *reinterpret_cast<const uint32_t*>(&s.b[n][ks + 16 + 4 * t]);
      }
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) mmaE4m3(blockAcc[i][j], a[i], b[j], s, wm + i * 16 + g, wn + j * 8 + 2 * t, ks);
    }
    // Promotion once per 128-wide K block: acc += blockAcc * xs[r, block] * ws[o/128, block], per row.
    if ((kt + 1) % (kFp8Block / kBk) == 0 || kt + 1 == kTiles) {
      const int block = kt * kBk / kFp8Block;
      const float wScale = __ldg(wsRow + block);
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
          // Rows past the end hold zero codes; clamp only so the scale read stays in bounds.
          const int r = min(m0 + wm + i * 16 + g + h * 8, rows - 1);
          const float xScale = __ldg(xs + static_cast<size_t>(r) * scaleCols + block);
#pragma unroll
          for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 2 * h; e < 2 * h + 2; e++) {
              acc[i][j][e] = fmaf(blockAcc[i][j][e] * xScale, wScale, acc[i][j][e]);
              blockAcc[i][j][e] = 0.0f;
            }
        }
    }
    if (kt + 1 < kTiles) {
      storeCodes<VEC>(p.a, stages[(kt + 1) & 1].a);
      storeCodes<VEC>(p.b, stages[(kt + 1) & 1].b);
    }
    __syncthreads();
  }

  gemm::storeOutputs(acc, tl, y, rows, out);
}

}  // namespace

void gemmFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= 0) return;
  const dim3 grid = gemm::grid(rows, w.out);
  if (w.in % 16 == 0 && gemm::aligned16(w.codes) && gemm::aligned16(x.codes)) {
    gemmFp8W8a8Kernel<true><<<grid, kThreads, 0, stream>>>(x.codes, x.scales, w.codes, w.scaleInv, y, rows, w.out, w.in);
  } else {
    gemmFp8W8a8Kernel<false><<<grid, kThreads, 0, stream>>>(x.codes, x.scales, w.codes, w.scaleInv, y, rows, w.out,
                                                            w.in);
  }
}

}  // namespace qb
