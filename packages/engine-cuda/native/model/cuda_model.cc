#include "cuda_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda_check.h"

namespace qb {

namespace {

const char* const kProjectionNames[kProjections] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                    "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                                    "mlp.down_proj"};
const char* const kNormNames[kLayerNorms] = {"input_layernorm", "post_attention_layernorm", "self_attn.q_norm",
                                             "self_attn.k_norm"};

int ceilDiv(int a, int b) { return (a + b - 1) / b; }

std::string layerName(int layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

}  // namespace

CudaModel::CudaModel(int device, const ModelConfig& config, KernelMode kernel, const ModelLimits& limits)
    : device_(device), config_(config), kernel_(kernel), limits_(limits) {
  const ModelConfig& c = config_;
  if (c.hiddenSize <= 0 || c.intermediateSize <= 0 || c.numLayers <= 0 || c.numHeads <= 0 || c.numKvHeads <= 0 ||
      c.headDim <= 0 || c.headDim % 2 != 0 || c.vocabSize <= 0 || c.numHeads % c.numKvHeads != 0) {
    throw std::invalid_argument("CUDA engine: invalid model config");
  }
  if (limits_.maxRows <= 0 || limits_.maxBatch <= 0 || limits_.maxContext <= 0 || limits_.maxRows < limits_.maxBatch) {
    throw std::invalid_argument("CUDA engine: invalid limits (maxRows " + std::to_string(limits_.maxRows) + ", maxBatch " +
                                std::to_string(limits_.maxBatch) + ", maxContext " + std::to_string(limits_.maxContext) +
                                ")");
  }
  const char* graphs = std::getenv("QUANTBENCH_CUDA_GRAPHS");
  graphsEnabled_ = !(graphs != nullptr && std::strcmp(graphs, "0") == 0);
  if (!graphsEnabled_) graphNote_ = "disabled by QUANTBENCH_CUDA_GRAPHS=0";
  layers_.resize(c.numLayers);
  try {
    QB_CUDA_CHECK(cudaSetDevice(device_));
    size_t freeBytes = 0, totalBytes = 0;
    QB_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
    deviceUsedBeforeLoad_ = totalBytes - freeBytes;
    QB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    QB_CUDA_CHECK(cudaMallocHost(&hostRowInfo_, sizeof(int32_t) * 3 * limits_.maxRows));
  } catch (...) {
    release();
    throw;
  }
}

CudaModel::~CudaModel() { release(); }

void CudaModel::release() {
  cudaSetDevice(device_);
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
    stream_ = nullptr;
  }
  memory_.releaseAll();
  if (hostRowInfo_ != nullptr) {
    cudaFreeHost(hostRowInfo_);
    hostRowInfo_ = nullptr;
  }
  embedding_ = lmHead_ = nullptr;
  finalNorm_ = rope_ = nullptr;
  for (Layer& layer : layers_) layer = Layer{};
  act_ = Activations{};
  loaded_ = false;
  released_ = true;
  cudaGetLastError();
}

void CudaModel::setDevice() const {
  if (released_) throw std::logic_error("CUDA engine: the model was disposed");
  QB_CUDA_CHECK(cudaSetDevice(device_));
}

void CudaModel::expectCount(const std::string& label, size_t got, size_t want) const {
  if (got != want) {
    throw std::invalid_argument("CUDA engine: " + label + " has " + std::to_string(got) + " values, expected " +
                                std::to_string(want));
  }
}

template <typename T>
T* CudaModel::upload(MemoryCategory category, const T* data, size_t count, const std::string& label) {
  setDevice();
  T* pointer = memory_.allocate<T>(category, count, label);
  QB_CUDA_CHECK(cudaMemcpy(pointer, data, count * sizeof(T), cudaMemcpyHostToDevice));
  return pointer;
}

// ---- loading -------------------------------------------------------------------------------------------------------

void CudaModel::uploadEmbedding(const uint16_t* bits, size_t count) {
  expectCount("model.embed_tokens.weight", count, size_t(config_.vocabSize) * config_.hiddenSize);
  if (embedding_ != nullptr) throw std::logic_error("CUDA engine: the embedding was uploaded twice");
  embedding_ = upload(MemoryCategory::Weights, bits, count, "model.embed_tokens.weight");
}

void CudaModel::uploadLmHead(const uint16_t* bits, size_t count) {
  if (config_.tieWordEmbeddings) throw std::logic_error("CUDA engine: lm_head is tied to the embedding");
  expectCount("lm_head.weight", count, size_t(config_.vocabSize) * config_.hiddenSize);
  if (lmHead_ != nullptr) throw std::logic_error("CUDA engine: lm_head was uploaded twice");
  lmHead_ = upload(MemoryCategory::Weights, bits, count, "lm_head.weight");
}

void CudaModel::uploadNorm(int layer, NormKind kind, const float* values, size_t count) {
  if (layer < 0 || layer >= config_.numLayers || kind < 0 || kind >= kLayerNorms) {
    throw std::out_of_range("CUDA engine: no norm " + std::to_string(kind) + " in layer " + std::to_string(layer));
  }
  const std::string name = layerName(layer, kNormNames[kind]);
  const bool perHead = kind == kQNorm || kind == kKNorm;
  expectCount(name, count, size_t(perHead ? config_.headDim : config_.hiddenSize));
  if (layers_[layer].norms[kind] != nullptr) throw std::logic_error("CUDA engine: " + name + " was uploaded twice");
  layers_[layer].norms[kind] = upload(MemoryCategory::Weights, values, count, name);
}

void CudaModel::uploadFinalNorm(const float* values, size_t count) {
  expectCount("model.norm.weight", count, size_t(config_.hiddenSize));
  if (finalNorm_ != nullptr) throw std::logic_error("CUDA engine: model.norm.weight was uploaded twice");
  finalNorm_ = upload(MemoryCategory::Weights, values, count, "model.norm.weight");
}

static void linearShape(const ModelConfig& c, Projection projection, int& out, int& in) {
  const int qDim = c.numHeads * c.headDim;
  const int kvDim = c.numKvHeads * c.headDim;
  switch (projection) {
    case kQ: out = qDim; in = c.hiddenSize; return;
    case kK:
    case kV: out = kvDim; in = c.hiddenSize; return;
    case kO: out = c.hiddenSize; in = qDim; return;
    case kGate:
    case kUp: out = c.intermediateSize; in = c.hiddenSize; return;
    case kDown: out = c.hiddenSize; in = c.intermediateSize; return;
    default: throw std::out_of_range("CUDA engine: no linear projection " + std::to_string(projection));
  }
}

void CudaModel::uploadLinearBf16(int layer, Projection projection, const uint16_t* bits, size_t count) {
  if (layer < 0 || layer >= config_.numLayers) throw std::out_of_range("CUDA engine: no layer " + std::to_string(layer));
  int out = 0, in = 0;
  linearShape(config_, projection, out, in);
  const std::string name = layerName(layer, kProjectionNames[projection]) + ".weight";
  expectCount(name, count, size_t(out) * in);
  Linear& linear = layers_[layer].linear[projection];
  if (linear.loaded) throw std::logic_error("CUDA engine: " + name + " was uploaded twice");
  linear.bf16 = Bf16Weight{upload(MemoryCategory::Weights, bits, count, name), out, in};
  linear.fp8 = false;
  linear.loaded = true;
}

void CudaModel::uploadLinearFp8(int layer, Projection projection, const uint8_t* codes, size_t count,
                                const float* scaleInv, size_t scaleCount) {
  if (layer < 0 || layer >= config_.numLayers) throw std::out_of_range("CUDA engine: no layer " + std::to_string(layer));
  int out = 0, in = 0;
  linearShape(config_, projection, out, in);
  const std::string name = layerName(layer, kProjectionNames[projection]) + ".weight";
  if (kernel_ == KernelMode::Bf16) throw std::logic_error("CUDA engine: kernel mode bf16 got the FP8 weight " + name);
  expectCount(name, count, size_t(out) * in);
  expectCount(name + "_scale_inv", scaleCount, size_t(ceilDiv(out, kFp8Block)) * ceilDiv(in, kFp8Block));
  Linear& linear = layers_[layer].linear[projection];
  if (linear.loaded) throw std::logic_error("CUDA engine: " + name + " was uploaded twice");
  const uint8_t* deviceCodes = upload(MemoryCategory::Weights, codes, count, name);
  const float* deviceScales = upload(MemoryCategory::Weights, scaleInv, scaleCount, name + "_scale_inv");
  linear.fp8Weight = Fp8Weight{deviceCodes, deviceScales, out, in};
  linear.fp8 = true;
  linear.loaded = true;
}

void CudaModel::uploadRope(const float* table, size_t count) {
  expectCount("the RoPE table", count, size_t(limits_.maxContext) * config_.headDim);
  if (rope_ != nullptr) throw std::logic_error("CUDA engine: the RoPE table was uploaded twice");
  rope_ = upload(MemoryCategory::Scratch, table, count, "RoPE table");
}

void CudaModel::finishLoad() {
  setDevice();
  if (loaded_) return;
  const ModelConfig& c = config_;
  std::string missing;
  auto need = [&](bool present, const std::string& name) {
    if (!present) missing += (missing.empty() ? "" : ", ") + name;
  };
  need(embedding_ != nullptr, "model.embed_tokens.weight");
  if (!c.tieWordEmbeddings) need(lmHead_ != nullptr, "lm_head.weight");
  need(finalNorm_ != nullptr, "model.norm.weight");
  need(rope_ != nullptr, "the RoPE table");
  for (int l = 0; l < c.numLayers; l++) {
    for (int n = 0; n < kLayerNorms; n++) need(layers_[l].norms[n] != nullptr, layerName(l, kNormNames[n]));
    for (int p = 0; p < kProjections; p++) need(layers_[l].linear[p].loaded, layerName(l, kProjectionNames[p]));
  }
  if (!missing.empty()) throw std::logic_error("CUDA engine: tensors never uploaded: " + missing);
  if (c.tieWordEmbeddings) lmHead_ = embedding_;

  const size_t R = size_t(limits_.maxRows);
  const int qDim = c.numHeads * c.headDim;
  const int kvDim = c.numKvHeads * c.headDim;
  const int widest = std::max({c.hiddenSize, c.intermediateSize, qDim});
  const bool w8a8 = kernel_ == KernelMode::W8a8;
  const size_t layerCacheBytes = size_t(limits_.maxBatch) * limits_.maxContext * kvDim * sizeof(float);
  const size_t cacheBytes = 2 * size_t(c.numLayers) * layerCacheBytes;
  const size_t partialsBytes = attentionDecodePartialsBytes(limits_.maxRows, c.numHeads, c.headDim, limits_.maxContext);
  const size_t topKBytes = topKScratchBytes(limits_.maxRows, c.vocabSize, kMaxTopK);
  const size_t activationFloats =
      R * (4 * size_t(c.hiddenSize) + 2 * size_t(qDim) + 2 * size_t(kvDim) + 3 * size_t(c.intermediateSize) + size_t(c.vocabSize) +
           2 * kMaxTopK) +
      (w8a8 ? R * ceilDiv(widest, kFp8Block) : 0);
  const size_t activationBytes = activationFloats * 4 + (w8a8 ? R * widest : 0) + 3 * R * 4 + partialsBytes + topKBytes;

  size_t freeBytes = 0, totalBytes = 0;
  QB_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
  if (cacheBytes + activationBytes > freeBytes) {
    throw std::runtime_error("CUDA engine: the KV cache for maxContext " + std::to_string(limits_.maxContext) +
                             " × maxBatch " + std::to_string(limits_.maxBatch) + " needs " + formatBytes(cacheBytes) +
                             " (plus " + formatBytes(activationBytes) + " of activations) but only " +
                             formatBytes(freeBytes) + " of " + formatBytes(totalBytes) +
                             " device memory is free after the weights; lower maxContext or maxBatch");
  }
  for (int l = 0; l < c.numLayers; l++) {
    Layer& layer = layers_[l];
    layer.cache.keys = memory_.allocate<float>(MemoryCategory::KvCache, layerCacheBytes / 4, "layer " + std::to_string(l) + " keys");
    layer.cache.values = memory_.allocate<float>(MemoryCategory::KvCache, layerCacheBytes / 4, "layer " + std::to_string(l) + " values");
    layer.cache.maxContext = limits_.maxContext;
    QB_CUDA_CHECK(cudaMemsetAsync(layer.cache.keys, 0, layerCacheBytes, stream_));
    QB_CUDA_CHECK(cudaMemsetAsync(layer.cache.values, 0, layerCacheBytes, stream_));
  }
  auto rows = [&](size_t width, const char* label) {
    return memory_.allocate<float>(MemoryCategory::Activations, R * width, label);
  };
  act_.residual = rows(c.hiddenSize, "residual");
  act_.normed = rows(c.hiddenSize, "normed");
  act_.q = rows(qDim, "q");
  act_.k = rows(kvDim, "k");
  act_.v = rows(kvDim, "v");
  act_.attention = rows(qDim, "attention");
  act_.gate = rows(c.intermediateSize, "gate");
  act_.up = rows(c.intermediateSize, "up");
  act_.hidden = rows(c.intermediateSize, "swiglu");
  act_.projected = rows(c.hiddenSize, "projected");
  act_.logits = rows(c.vocabSize, "logits");
  act_.topValues = rows(kMaxTopK, "top-k logits");
  act_.topIndices = memory_.allocate<int32_t>(MemoryCategory::Activations, R * kMaxTopK, "top-k tokens");
  act_.rowInfo = memory_.allocate<int32_t>(MemoryCategory::Activations, 3 * R, "row tokens, slots, positions");
  if (w8a8) {
    act_.quantized.codes = memory_.allocate<uint8_t>(MemoryCategory::Activations, R * widest, "w8a8 activation codes");
    act_.quantized.scales = rows(ceilDiv(widest, kFp8Block), "w8a8 activation scales");
  }
  act_.partials = static_cast<float*>(memory_.allocate(MemoryCategory::Scratch, partialsBytes, "attention partials"));
  act_.topKScratch = memory_.allocate(MemoryCategory::Scratch, topKBytes, "top-k scratch");
  QB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  QB_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
  deviceUsedAfterLoad_ = totalBytes - freeBytes;
  loaded_ = true;
}

void CudaModel::requireLoaded() const {
  setDevice();
  if (!loaded_) throw std::logic_error("CUDA engine: the model is not loaded (finishLoad was not called)");
}

// ---- running -------------------------------------------------------------------------------------------------------

void CudaModel::checkRows(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n) const {
  if (n < 1 || n > limits_.maxRows) {
    throw std::range_error("CUDA engine: " + std::to_string(n) + " rows in one call, expected 1 … " + std::to_string(limits_.maxRows));
  }
  for (int r = 0; r < n; r++) {
    if (tokens[r] < 0 || tokens[r] >= config_.vocabSize) throw std::range_error("CUDA engine: token id " + std::to_string(tokens[r]) + " is outside the vocabulary");
    if (slots[r] < 0 || slots[r] >= limits_.maxBatch) throw std::range_error("CUDA engine: sequence " + std::to_string(slots[r]) + " is not a slot");
    if (positions[r] < 0 || positions[r] >= limits_.maxContext) throw std::range_error("CUDA engine: position " + std::to_string(positions[r]) + " is outside maxContext " + std::to_string(limits_.maxContext));
  }
}

CudaModel::Plan CudaModel::plan(const int32_t* slots, const int32_t* positions, int n) const {
  Plan p;
  p.rows = n;
  p.slot = slots[0];
  p.firstPosition = positions[0];
  p.prefill = n > 1;
  for (int r = 1; r < n && p.prefill; r++) p.prefill = slots[r] == slots[0] && positions[r] == positions[0] + r;
  return p;
}

void CudaModel::uploadRowInfo(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n) {
  const size_t R = size_t(limits_.maxRows);
  std::memcpy(hostRowInfo_, tokens, sizeof(int32_t) * n);
  std::memcpy(hostRowInfo_ + R, slots, sizeof(int32_t) * n);
  std::memcpy(hostRowInfo_ + 2 * R, positions, sizeof(int32_t) * n);
  QB_CUDA_CHECK(cudaMemcpyAsync(act_.rowInfo, hostRowInfo_, sizeof(int32_t) * 3 * R, cudaMemcpyHostToDevice, stream_));
}

void CudaModel::run(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n,
                    const int32_t* logitRows, int wanted, float* logits) {
  requireLoaded();
  checkRows(tokens, slots, positions, n);
  if (wanted < 0 || wanted > n) throw std::range_error("CUDA engine: " + std::to_string(wanted) + " logit rows of " + std::to_string(n));
  Plan p = plan(slots, positions, n);
  p.wanted = wanted;
  logitRows_.assign(logitRows, logitRows + wanted);
  for (int i = 0; i < wanted; i++) {
    if (logitRows[i] < 0 || logitRows[i] >= n) throw std::range_error("CUDA engine: logit row " + std::to_string(logitRows[i]) + " is not one of the " + std::to_string(n) + " rows");
    p.gathered = p.gathered || logitRows[i] != i;
  }
  uploadRowInfo(tokens, slots, positions, n);
  if (!launchGraph(p)) enqueueForward(p);
  if (wanted > 0) {
    QB_CUDA_CHECK(cudaMemcpyAsync(logits, act_.logits, sizeof(float) * wanted * config_.vocabSize, cudaMemcpyDeviceToHost, stream_));
  }
  QB_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaModel::runTopK(const int32_t* tokens, const int32_t* slots, const int32_t* positions, int n, int k,
                        float* values, int32_t* indices) {
  requireLoaded();
  checkRows(tokens, slots, positions, n);
  if (k < 1 || k > kMaxTopK || k > config_.vocabSize) throw std::range_error("CUDA engine: top-k needs 1 ≤ k ≤ " + std::to_string(kMaxTopK) + ", got " + std::to_string(k));
  Plan p = plan(slots, positions, n);
  p.wanted = n;
  p.topK = k;
  logitRows_.clear();
  uploadRowInfo(tokens, slots, positions, n);
  if (!launchGraph(p)) enqueueForward(p);
  QB_CUDA_CHECK(cudaMemcpyAsync(values, act_.topValues, sizeof(float) * n * k, cudaMemcpyDeviceToHost, stream_));
  QB_CUDA_CHECK(cudaMemcpyAsync(indices, act_.topIndices, sizeof(int32_t) * n * k, cudaMemcpyDeviceToHost, stream_));
  QB_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

bool CudaModel::launchGraph(const Plan& p) {
  // Decode steps only: one row per sequence (any rows that are not a prefill chunk), every row's logits in order.
  if (!graphsEnabled_ || p.prefill || p.gathered || p.rows > limits_.maxBatch || p.wanted != p.rows) return false;
  const int key = p.rows * (kMaxTopK + 1) + p.topK;
  auto found = graphs_.find(key);
  if (found == graphs_.end()) {
    // The first step of each shape runs eagerly (it loads the kernels' modules); the second is captured.
    if (++graphSeen_[key] < 2) return false;
    auto giveUp = [&](const std::string& why) {
      cudaGetLastError();
      graphsEnabled_ = false;
      graphNote_ = "disabled after a failed capture: " + why;
      return false;
    };
    QB_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
      enqueueForward(p);
    } catch (const std::exception& error) {
      cudaGraph_t partial = nullptr;
      cudaStreamEndCapture(stream_, &partial);
      if (partial != nullptr) cudaGraphDestroy(partial);
      return giveUp(error.what());
    }
    cudaGraph_t graph = nullptr;
    cudaError_t status = cudaStreamEndCapture(stream_, &graph);
    if (status != cudaSuccess) return giveUp(CudaError("cudaStreamEndCapture", status).what());
    cudaGraphExec_t exec = nullptr;
    status = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (status != cudaSuccess) return giveUp(CudaError("cudaGraphInstantiate", status).what());
    found = graphs_.emplace(key, exec).first;
  }
  QB_CUDA_CHECK(cudaGraphLaunch(found->second, stream_));
  return true;
}

// The forward pass, as packages/engine-webgpu/src/forward.ts records it.
void CudaModel::enqueueForward(const Plan& p) {
  const ModelConfig& c = config_;
  const Activations& a = act_;
  const int n = p.rows;
  const size_t R = size_t(limits_.maxRows);
  const int32_t* tokens = a.rowInfo;
  const RowPlacement placement{a.rowInfo + R, a.rowInfo + 2 * R};
  cudaStream_t s = stream_;

  // Token embeddings (BF16 rows → f32).
  QB_LAUNCH(embeddingGather, tokens, n, embedding_, c.hiddenSize, a.residual, s);

  for (const Layer& layer : layers_) {
    // Attention block: pre-norm, q/k/v, per-head q/k RMSNorm then RoPE and the KV-cache write, attend, o_proj.
    QB_LAUNCH(rmsNorm, a.residual, layer.norms[kInputNorm], c.rmsNormEps, n, c.hiddenSize, a.normed, s);
    project({&layer.linear[kQ], &layer.linear[kK], &layer.linear[kV]}, a.normed, {a.q, a.k, a.v}, n);
    QB_LAUNCH(qkNormRopeCache, a.q, a.k, a.v, layer.norms[kQNorm], layer.norms[kKNorm], c.rmsNormEps, rope_, placement, n,
              c.numHeads, c.numKvHeads, c.headDim, layer.cache, s);
    if (p.prefill) {
      QB_LAUNCH(attentionPrefill, a.q, p.slot, p.firstPosition, n, c.numHeads, c.numKvHeads, c.headDim, layer.cache,
                a.attention, s);
    } else {
      QB_LAUNCH(attentionDecode, a.q, placement, n, c.numHeads, c.numKvHeads, c.headDim, layer.cache, a.partials,
                a.attention, s);
    }
    project({&layer.linear[kO]}, a.attention, {a.projected}, n);
    QB_LAUNCH(residualAdd, a.residual, a.projected, n * c.hiddenSize, s);

    // MLP block: pre-norm, down(silu(gate(x)) · up(x)).
    QB_LAUNCH(rmsNorm, a.residual, layer.norms[kPostAttentionNorm], c.rmsNormEps, n, c.hiddenSize, a.normed, s);
    project({&layer.linear[kGate], &layer.linear[kUp]}, a.normed, {a.gate, a.up}, n);
    QB_LAUNCH(swiglu, a.gate, a.up, a.hidden, n * c.intermediateSize, s);
    project({&layer.linear[kDown]}, a.hidden, {a.projected}, n);
    QB_LAUNCH(residualAdd, a.residual, a.projected, n * c.hiddenSize, s);
  }
  if (p.wanted == 0) return;

  // Final norm of the wanted rows only (gathered to the front of `normed` when they are not rows 0..wanted-1),
  // then the BF16 lm_head (the embedding when tied).
  const size_t rowBytes = sizeof(float) * c.hiddenSize;
  if (p.gathered) {
    for (int i = 0; i < p.wanted; i++) {
      QB_CUDA_CHECK(cudaMemcpyAsync(a.normed + size_t(i) * c.hiddenSize, a.residual + size_t(logitRows_[i]) * c.hiddenSize,
                                    rowBytes, cudaMemcpyDeviceToDevice, s));
    }
    QB_LAUNCH(rmsNorm, a.normed, finalNorm_, c.rmsNormEps, p.wanted, c.hiddenSize, a.normed, s);
  } else {
    QB_LAUNCH(rmsNorm, a.residual, finalNorm_, c.rmsNormEps, p.wanted, c.hiddenSize, a.normed, s);
  }
  QB_LAUNCH(matmulBf16, a.normed, Bf16Weight{lmHead_, c.vocabSize, c.hiddenSize}, a.logits, p.wanted, s);
  if (p.topK > 0) {
    QB_LAUNCH(topK, a.logits, p.wanted, c.vocabSize, p.topK, a.topValues, a.topIndices, a.topKScratch, s);
  }
}

// x·Wᵀ for several weights that read the same input; in w8a8 the input is quantised once for all of them.
void CudaModel::project(const std::vector<const Linear*>& linears, const float* input, const std::vector<float*>& outputs,
                        int rows) {
  bool quantise = false;
  if (kernel_ == KernelMode::W8a8) {
    for (const Linear* linear : linears) quantise = quantise || linear->fp8;
  }
  cudaStream_t s = stream_;
  const int inDim = linears[0]->fp8 ? linears[0]->fp8Weight.in : linears[0]->bf16.in;
  if (quantise) QB_LAUNCH(quantizeActivationsFp8, input, rows, inDim, act_.quantized, s);
  for (size_t i = 0; i < linears.size(); i++) {
    const Linear& linear = *linears[i];
    if (!linear.fp8) QB_LAUNCH(matmulBf16, input, linear.bf16, outputs[i], rows, s);
    else if (quantise) QB_LAUNCH(matmulFp8W8a8, act_.quantized, linear.fp8Weight, outputs[i], rows, s);
    else QB_LAUNCH(matmulFp8W8a16, input, linear.fp8Weight, outputs[i], rows, s);
  }
}

MemoryStats CudaModel::memory() const {
  MemoryStats stats;
  for (int i = 0; i < kMemoryCategories; i++) stats.categories[i] = memory_.counter(static_cast<MemoryCategory>(i));
  stats.total = memory_.total();
  stats.deviceUsedBeforeLoad = deviceUsedBeforeLoad_;
  stats.deviceUsedAfterLoad = deviceUsedAfterLoad_;
  if (!released_ && cudaSetDevice(device_) == cudaSuccess) {
    if (cudaMemGetInfo(&stats.deviceFree, &stats.deviceTotal) != cudaSuccess) cudaGetLastError();
  }
  return stats;
}

}  // namespace qb
