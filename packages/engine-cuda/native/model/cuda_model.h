// The Qwen3 model on one CUDA device: the weights as stored (BF16 bits; FP8 e4m3 codes + float32 block scales;
// norms as float32), the RoPE table, a float32 KV cache per layer, activation buffers for `maxRows` rows, and the
// forward pass over "rows" (one token of one sequence at one position) read top to bottom in `enqueueForward`.
// Every device allocation goes through one DeviceAllocator; every CUDA call is checked (CudaError).
// Decode steps (one row per sequence, every row's logits wanted) replay a CUDA graph captured per batch size.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "device_memory.h"
#include "kernels.h"

namespace qb {

enum class KernelMode { Bf16, W8a16, W8a8 };

struct ModelConfig {
  int hiddenSize = 0;
  int intermediateSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int numKvHeads = 0;
  int headDim = 0;
  int vocabSize = 0;
  float rmsNormEps = 1e-6f;
  bool tieWordEmbeddings = true;
};

struct ModelLimits {
  int maxRows = 64;
  int maxBatch = 1;
  int maxContext = 4096;
};

// The seven linear projections in the order of @quantbench/model's LINEAR_PROJECTIONS.
enum Projection { kQ = 0, kK, kV, kO, kGate, kUp, kDown, kProjections };
// The four layer norms (LAYER_NORMS order) and the final norm.
enum NormKind { kInputNorm = 0, kPostAttentionNorm, kQNorm, kKNorm, kLayerNorms };

struct Linear {
  bool loaded = false;
  bool fp8 = false;
  Bf16Weight bf16{};
  Fp8Weight fp8Weight{};
};

struct Layer {
  std::array<const float*, kLayerNorms> norms{};
  std::array<Linear, kProjections> linear{};
  KvCache cache{};
};

struct MemoryStats {
  std::array<MemoryCounter, kMemoryCategories> categories{};
  MemoryCounter total{};
  size_t deviceFree = 0;
  size_t deviceTotal = 0;
  size_t deviceUsedBeforeLoad = 0;  // cudaMemGetInfo at construction (after context creation)
  size_t deviceUsedAfterLoad = 0;   // cudaMemGetInfo at the end of finishLoad
};

class CudaModel {
 public:
  CudaModel(int device, const ModelConfig& config, KernelMode kernel, const ModelLimits& limits);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const ModelConfig& config() const { return config_; }
  const ModelLimits& limits() const { return limits_; }
  int device() const { return device_; }

  // ---- loading (shapes are checked against the config) ----
  void uploadEmbedding(const uint16_t* bits, size_t count);
  void uploadLmHead(const uint16_t* bits, size_t count);  // only when the embedding is not tied
  void uploadNorm(int layer, NormKind kind, const float* values, size_t count);
  void uploadFinalNorm(const float* values, size_t count);
  void uploadLinearBf16(int layer, Projection projection, const uint16_t* bits, size_t count);
  void uploadLinearFp8(int layer, Projection projection, const uint8_t* codes, size_t count, const float* scaleInv,
                       size_t scaleCount);
  void uploadRope(const float* table, size_t count);
  // Checks every tensor arrived, then allocates the KV cache (after checking it fits) and the activations.
  void finishLoad();

  // ---- running ----
  // Runs `n` rows, caching their K/V, and copies the logits of `logitRows` ([wanted, vocab] float32) to `logits`.
  void run(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n, const int32_t* logitRows,
           int wanted, float* logits);
  // As run with every row wanted; only each row's k best (value, token) pairs come back, [n, k] each.
  void runTopK(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n, int k, float* values,
               int32_t* indices);

  MemoryStats memory() const;
  // Whether decode steps replay CUDA graphs, how many are captured, and why graphs are off (when they are).
  bool graphsEnabled() const { return graphsEnabled_; }
  size_t graphsCaptured() const { return graphs_.size(); }
  const std::string& graphNote() const { return graphNote_; }
  // Frees every device allocation, graph and stream (also done by the destructor).
  void release();

 private:
  struct Activations {
    float* residual = nullptr;
    float* normed = nullptr;
    float* q = nullptr;
    float* k = nullptr;
    float* v = nullptr;
    float* attention = nullptr;
    float* gate = nullptr;
    float* up = nullptr;
    float* hidden = nullptr;
    float* projected = nullptr;
    float* logits = nullptr;
    Fp8Activations quantized{};
    int32_t* rowInfo = nullptr;  // [3, maxRows]: tokens, slots, positions
    float* partials = nullptr;
    void* topKScratch = nullptr;
    float* topValues = nullptr;
    int32_t* topIndices = nullptr;
  };

  struct Plan {
    int rows = 0;
    bool prefill = false;  // rows of one sequence at consecutive positions
    int slot = 0;          // prefill: the sequence and its first position
    int firstPosition = 0;
    bool gathered = false;  // the wanted rows are not simply 0..wanted-1
    int wanted = 0;
    int topK = 0;  // > 0: top-k of every row instead of logits
  };

  void checkRows(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n) const;
  Plan plan(const int32_t* slots, const int32_t* positions, int n) const;
  void uploadRowInfo(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n);
  void gatherLogitRows(const int32_t* logitRows, int wanted);
  // Enqueues the whole forward pass described by `plan` (graph-capturable: no host synchronisation).
  void enqueueForward(const Plan& plan);
  void project(const std::vector<const Linear*>& linears, const float* input, const std::vector<float*>& outputs,
               int rows);
  // Runs `plan` through a CUDA graph when it is a decode step and graphs are on; returns false to run eagerly.
  bool launchGraph(const Plan& plan);
  void requireLoaded() const;
  void setDevice() const;
  template <typename T>
  T* upload(MemoryCategory category, const T* data, size_t count, const std::string& label);
  void expectCount(const std::string& label, size_t got, size_t want) const;

  int device_;
  ModelConfig config_;
  KernelMode kernel_;
  ModelLimits limits_;
  DeviceAllocator memory_;
  cudaStream_t stream_ = nullptr;

  const uint16_t* embedding_ = nullptr;
  const uint16_t* lmHead_ = nullptr;
  const float* finalNorm_ = nullptr;
  const float* rope_ = nullptr;
  std::vector<Layer> layers_;
  Activations act_{};
  bool loaded_ = false;

  int32_t* hostRowInfo_ = nullptr;  // pinned staging, [3, maxRows]

  bool released_ = false;
  std::vector<int32_t> logitRows_;  // the wanted rows of the current run (a gathered final norm reads them)
  bool graphsEnabled_ = true;
  std::string graphNote_;
  std::map<int, cudaGraphExec_t> graphs_;  // key: rows * 128 + topK
  std::map<int, int> graphSeen_;
  size_t deviceUsedBeforeLoad_ = 0;
  size_t deviceUsedAfterLoad_ = 0;
};

}  // namespace qb
