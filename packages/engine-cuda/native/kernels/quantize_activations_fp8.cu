// quantizeActivationsFp8: per token and 1x128 group, scale = max(amax, eps) / 448 and code = e4m3(x / scale)
// (round to nearest even, saturating), bit-exact with core's quantizeActivationsFp8.
//
// Layout: x float32 [rows, dim]; codes e4m3fn [rows, dim]; scales float32 [rows, ceil(dim/128)].
// Launch: one warp per group, 8 groups per 256-thread block, grid ceil(rows * groups / 8), no shared memory.
// Lane l owns elements l, l+32, l+64, l+96 of its group, so every load and store is coalesced; a partial last
// group simply has idle lanes.
#include "formats.cuh"
#include "kernels.h"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kGroupsPerBlock = kThreads / 32;

__global__ void __launch_bounds__(kThreads)
    quantizeActivationsFp8Kernel(const float* __restrict__ x, int rows, int dim, uint8_t* __restrict__ codes,
                                 float* __restrict__ scales) {
  const int groups = (dim + kFp8Block - 1) / kFp8Block;
  const int id = blockIdx.x * kGroupsPerBlock + threadIdx.x / 32;
  if (id >= rows * groups) return;
  const int lane = threadIdx.x % 32;
  const int row = id / groups;
  const int start = id % groups * kFp8Block;
  const int n = min(kFp8Block, dim - start);
  const size_t base = static_cast<size_t>(row) * dim + start;

  float v[kFp8Block / 32];
  float amax = 0.0f;
#pragma unroll
  for (int j = 0; j < kFp8Block / 32; j++) {
    const int i = lane + 32 * j;
    v[j] = i < n ? __ldg(x + base + i) : 0.0f;
    // As core: NaN fails the comparison, so it never becomes the group's amax.
    const float a = fabsf(v[j]);
    if (a > amax) amax = a;
  }
  amax = warpMax(amax);
  // Core computes max(amax, 1e-10) / 448 in float64 with a float64 eps and rounds once; doing the same keeps
  // the scale bit-exact even for groups whose amax falls at or below the eps.
  const float scale = static_cast<float>(fmax(static_cast<double>(amax), 1e-10) / static_cast<double>(kE4m3Max));
  if (lane == 0) scales[static_cast<size_t>(row) * groups + id % groups] = scale;
#pragma unroll
  for (int j = 0; j < kFp8Block / 32; j++) {
    const int i = lane + 32 * j;
    // An IEEE division, as core's, not a multiply by a reciprocal: the two differ in the last bit.
    if (i < n) codes[base + i] = static_cast<uint8_t>(floatToE4m3(__fdiv_rn(v[j], scale)));
  }
}

}  // namespace

void quantizeActivationsFp8(const float* x, int rows, int dim, Fp8Activations out, cudaStream_t stream) {
  const int groups = (dim + kFp8Block - 1) / kFp8Block;
  const int total = rows * groups;
  if (total <= 0) return;
  quantizeActivationsFp8Kernel<<<(total + kGroupsPerBlock - 1) / kGroupsPerBlock, kThreads, 0, stream>>>(
      x, rows, dim, out.codes, out.scales);
}

}  // namespace qb
