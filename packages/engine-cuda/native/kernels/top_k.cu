// Top-k: per row of logits, the k (<= kMaxTopK) largest values, sorted descending, equal values by lower index
// first, -0 equal to +0, NaN below -inf (a NaN appears only when a row has fewer than k non-NaN values); the values
// are bit-exact copies of the logits.
//
// Ranking: each candidate is one 64-bit word, (order key of the value's bits) << 32 | (0xffffffff - index), whose
// unsigned order is the wanted order (key: -0 as +0, NaN 0, negatives inverted, positives with the top bit set;
// the index part breaks ties to the lower index). 0 is "no candidate" and ranks below every real one.
//
// Layout: logits float32 [rows, vocab]; values float32 [rows, k]; indices int32 [rows, k]; scratch: up to two
// ping-pong arrays of uint64 [rows, ceil(vocab / 4096) * k] for the intermediate levels (topKScratchBytes).
// Launch: a chain of launches of one kernel, block 256, 16 candidates per thread in registers (a block covers 4096),
// 128 bytes of static shared memory; each block selects its top k by k rounds of a block-wide maximum (a warp
// shuffle reduction, one barrier per round thanks to double-buffered per-warp slots), the winner's owner dropping it.
//   level 0: grid (b0, rows), b0 = ceil(vocab / 4096), over the logits;
//   level n: grid (bn, rows) over the previous level's b(n-1) * k candidates, bn = ceil(b(n-1) * k / 4096),
// until one block per row remains, which writes the result (vocab 151,936: 38 blocks, then one merge of 2,432).
#include "kernels.h"
#include "reductions.cuh"

namespace qb {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kItems = 16;
constexpr int kBlock = kThreads * kItems;
constexpr uint32_t kCanonicalNan = 0x7fc00000u;

__device__ __forceinline__ unsigned long long rankWord(uint32_t bits, uint32_t index) {
  uint32_t key;
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    key = 0u;
  } else {
    const uint32_t b = bits == 0x80000000u ? 0u : bits;
    key = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  return (static_cast<unsigned long long>(key) << 32) | (0xffffffffu - index);
}

__device__ __forceinline__ uint32_t indexOf(unsigned long long word) {
  return 0xffffffffu - static_cast<uint32_t>(word & 0xffffffffu);
}

// `in` is null at level 0 (candidates are the logits themselves). The last level (`values` non-null) writes the
// result; the others write their blocks' ranked words to `out`.
__global__ void __launch_bounds__(kThreads)
    topKKernel(const float* __restrict__ logits, int vocab, const unsigned long long* __restrict__ in, int count,
               int k, unsigned long long* __restrict__ out, float* __restrict__ values, int32_t* __restrict__ indices) {
  __shared__ unsigned long long best[2][kWarps];
  const int row = blockIdx.y;
  const int start = blockIdx.x * kBlock;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const uint32_t* rowBits = reinterpret_cast<const uint32_t*>(logits) + static_cast<size_t>(row) * vocab;

  unsigned long long c[kItems];
#pragma unroll
  for (int j = 0; j < kItems; ++j) {
    const int i = start + j * kThreads + threadIdx.x;
    c[j] = 0ull;
    if (i < count) c[j] = in ? in[static_cast<size_t>(row) * count + i] : rankWord(rowBits[i], i);
  }

  for (int round = 0; round < k; ++round) {
    unsigned long long mine = c[0];
#pragma unroll
    for (int j = 1; j < kItems; ++j) mine = c[j] > mine ? c[j] : mine;
    const unsigned long long warpBest = red::warpMaxU64(mine);
    // Slot `round & 1` is rewritten two rounds later, after a barrier every reader of this round has passed.
    if (lane == 0) best[round & 1][warp] = warpBest;
    __syncthreads();
    unsigned long long winner = best[round & 1][0];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) winner = best[round & 1][w] > winner ? best[round & 1][w] : winner;
    if (winner != 0ull && mine == winner) {
#pragma unroll
      for (int j = 0; j < kItems; ++j) c[j] = c[j] == winner ? 0ull : c[j];
    }
    if (threadIdx.x == 0) {
      if (values) {
        const size_t at = static_cast<size_t>(row) * k + round;
        const bool real = winner != 0ull;
        const uint32_t index = indexOf(winner);
        reinterpret_cast<uint32_t*>(values)[at] = real ? rowBits[index] : kCanonicalNan;
        indices[at] = real ? static_cast<int32_t>(index) : -1;
      } else {
        out[(static_cast<size_t>(row) * gridDim.x + blockIdx.x) * k + round] = winner;
      }
    }
  }
}

int blocksFor(int count) { return (count + kBlock - 1) / kBlock; }

}  // namespace

size_t topKScratchBytes(int rows, int vocab, int k) {
  int intermediate = 0;
  for (int blocks = blocksFor(vocab); blocks > 1; blocks = blocksFor(blocks * k)) ++intermediate;
  return intermediate == 0 ? 0
                           : static_cast<size_t>(intermediate < 2 ? 1 : 2) * rows * blocksFor(vocab) * k *
                                 sizeof(unsigned long long);
}

void topK(const float* logits, int rows, int vocab, int k, float* values, int32_t* indices, void* scratch,
          cudaStream_t stream) {
  if (rows <= 0) return;
  if (k < 1 || k > kMaxTopK || k > vocab || rows > 65535) {
    red::reportUnsupportedShape(stream);
    return;
  }
  const size_t pingPongWords = static_cast<size_t>(rows) * blocksFor(vocab) * k;
  const unsigned long long* in = nullptr;
  int count = vocab;
  for (int level = 0;; ++level) {
    const int blocks = blocksFor(count);
    if (blocks == 1) {
      topKKernel<<<dim3(1, rows), kThreads, 0, stream>>>(logits, vocab, in, count, k, nullptr, values, indices);
      return;
    }
    unsigned long long* out = static_cast<unsigned long long*>(scratch) + (level & 1) * pingPongWords;
    topKKernel<<<dim3(blocks, rows), kThreads, 0, stream>>>(logits, vocab, in, count, k, out, nullptr, nullptr);
    in = out;
    count = blocks * k;
  }
}

}  // namespace qb
