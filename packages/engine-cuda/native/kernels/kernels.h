// The CUDA kernels of the quantbench engine, as host-side launchers. Every launcher enqueues on `stream` and
// returns without synchronising; launch errors surface through cudaGetLastError() in the caller.
//
// Layouts (the same as the CPU and WebGPU engines):
//   activations    float32, row-major [rows, dim]; a "row" is one token of one sequence at one position.
//   BF16 weights   uint16 bit patterns, the Hugging Face Linear layout [out, in] row-major.
//   FP8 weights    e4m3fn codes [out, in] row-major with float32 block scales `scaleInv`
//                  [ceil(out/128), ceil(in/128)] (the HF `weight_scale_inv` layout: real = e4m3(code) * scaleInv).
//   FP8 activations (w8a8) e4m3fn codes [rows, dim] with float32 per-token 1x128 group scales [rows, ceil(dim/128)].
//   KV cache       float32 [maxBatch, maxContext, kvHeads * headDim] per layer, one slot per sequence.
//   RoPE table     float32 [maxContext, headDim/2, 2] of (cos, sin), already multiplied by the attention scale
//                  (1, or YaRN's factor); rotate-half pairing (j, j + headDim/2) as Hugging Face's Qwen3.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

namespace qb {

constexpr int kFp8Block = 128;
constexpr float kE4m3Max = 448.0f;
// vLLM's per_token_group_quant_fp8 eps: floors a group's amax so an all-zero group gets a positive scale.
constexpr float kActivationAmaxEps = 1e-10f;
constexpr int kMaxTopK = 64;

struct Bf16Weight {
  const uint16_t* bits;
  int out;
  int in;
};

struct Fp8Weight {
  const uint8_t* codes;
  const float* scaleInv;
  int out;
  int in;
};

struct Fp8Activations {
  uint8_t* codes;
  float* scales;
};

// ---- matmuls: y[rows, w.out] = x[rows, w.in] . W^T ---------------------------------------------------------
// GEMV kernels serve decode (rows <= kGemvMaxRows); GEMM kernels (tensor cores) serve prefill and large batches.
// The matmul* dispatchers pick one by `rows`.
constexpr int kGemvMaxRows = 8;

void gemvBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream);
void gemmBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream);
void matmulBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream);

void gemvFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream);
void gemmFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream);
void matmulFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream);

// Dynamic per-token 1x128 group quantisation: scale = max(amax, eps) / 448, code = e4m3(x / scale) (RNE, saturating).
void quantizeActivationsFp8(const float* x, int rows, int dim, Fp8Activations out, cudaStream_t stream);

// y = sum over 128-wide K blocks of xs[t, b] * ws[o/128, b] * (sum_{i in b} xq[t, i] * wq[o, i]).
void gemvFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream);
// FP8 tensor-core MMA (sm_89+), FP32 accumulation promoted once per 128-wide K block; elsewhere a CUDA-core path.
void gemmFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream);
void matmulFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream);

// ---- the rest of the layer -------------------------------------------------------------------------------------

// out[r, :] = float(bf16 table[tokens[r], :]), table [vocab, hidden].
void embeddingGather(const int32_t* tokens, int rows, const uint16_t* table, int hidden, float* out,
                     cudaStream_t stream);

// out[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * weight[i]; out may alias x.
void rmsNorm(const float* x, const float* weight, float eps, int rows, int dim, float* out, cudaStream_t stream);

struct RowPlacement {
  const int32_t* slot;      // [rows] the sequence (KV-cache slot) of each row
  const int32_t* position;  // [rows] the row's position in its sequence
};

struct KvCache {
  float* keys;    // [maxBatch, maxContext, kvHeads * headDim]
  float* values;  // same
  int maxContext;
};

// Per row: RMS-normalises each q head with qNorm and each k head with kNorm (weights [headDim]), rotates both by
// RoPE at the row's position, writes q back in place and k, v into the cache at (slot, position).
void qkNormRopeCache(float* q, const float* k, const float* v, const float* qNorm, const float* kNorm, float eps,
                     const float* ropeTable, RowPlacement rows, int rowCount, int heads, int kvHeads, int headDim,
                     KvCache cache, cudaStream_t stream);

// Decode: each row attends, causally, to positions [0, position] of its own slot (grouped-query attention,
// softmax scale 1/sqrt(headDim)). Split-K (flash-decoding): the sequence is cut into chunks whose partial
// (max, sum, weighted V) results a second kernel merges. `partials` is scratch of attentionDecodePartialsBytes().
size_t attentionDecodePartialsBytes(int rows, int heads, int headDim, int maxContext);
void attentionDecode(const float* q, RowPlacement rows, int rowCount, int heads, int kvHeads, int headDim,
                     KvCache cache, float* partials, float* out, cudaStream_t stream);

// Prefill: rows are consecutive positions of one sequence (`slot`, starting at `firstPosition`), already in the
// cache; row r attends to positions [0, firstPosition + r]. Tiled causal attention with online softmax.
void attentionPrefill(const float* q, int slot, int firstPosition, int rowCount, int heads, int kvHeads,
                      int headDim, KvCache cache, float* out, cudaStream_t stream);

// out[i] = silu(gate[i]) * up[i] over n values.
void swiglu(const float* gate, const float* up, float* out, int n, cudaStream_t stream);

// residual[i] += delta[i] over n values.
void residualAdd(float* residual, const float* delta, int n, cudaStream_t stream);

// Per row of logits [rows, vocab]: the k (<= kMaxTopK) largest, sorted descending, ties to the lower index,
// values bit-exact. `scratch` holds topKScratchBytes(rows, vocab, k).
size_t topKScratchBytes(int rows, int vocab, int k);
void topK(const float* logits, int rows, int vocab, int k, float* values, int32_t* indices, void* scratch,
          cudaStream_t stream);

}  // namespace qb
