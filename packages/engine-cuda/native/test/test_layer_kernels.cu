// Checks every non-matmul layer launcher of kernels.h against a float64 host reference, on fresh random inputs
// (the seed is printed; pass one as argv[1] to repeat a run). Outputs are poisoned (all bits set: NaN for floats,
// -1 for ints) before each launch, so an unwritten element fails the check; every CUDA call and launch is checked.
// Cases come from Qwen3-4B (hidden 2560, 32 q heads, 8 kv heads, head_dim 128, vocab 151936, contexts 1, 17,
// 512, 4096) and the tiny synthetic preset (hidden 256, 4 q heads, 2 kv heads, head_dim 64). Prints a table and
// exits non-zero on any failure.
//
// Build (from packages/engine-cuda/native), as one command:
//   nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xcompiler -pthread -Ikernels
//     test/test_layer_kernels.cu kernels/embedding_gather.cu kernels/rms_norm.cu kernels/qk_norm_rope_cache.cu
//     kernels/attention_decode.cu kernels/attention_prefill.cu kernels/swiglu.cu kernels/residual_add.cu
//     kernels/top_k.cu -o /tmp/test_layer_kernels
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "device_array.cuh"
#include "kernels.h"

namespace {

std::mt19937_64 gRng;
constexpr uint32_t kPoisonBits = 0xffffffffu;  // what cudaMemset(0xff) leaves in a 32-bit word: a NaN, or -1

void checkLaunch() {
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaStreamSynchronize(gStream));
}

std::vector<float> uniform(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) {
    do x = dist(gRng);
    while (x == 0.0f);
  }
  return v;
}

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

float fromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Splits [0, n) over the host's cores: the float64 attention references are the slow part of this program.
void parallelFor(size_t n, const std::function<void(size_t)>& body) {
  const size_t threads = std::max(1u, std::min(32u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = t; i < n; i += threads) body(i);
    });
  }
  for (auto& th : pool) th.join();
}

struct Result {
  std::string kernel;
  std::string scenario;
  std::string metric;
  double value;
  double limit;
  bool pass;
};
std::vector<Result> gResults;

void record(const std::string& kernel, const std::string& scenario, const std::string& metric, double value,
            double limit) {
  const bool pass = std::isfinite(value) && value <= limit;
  gResults.push_back({kernel, scenario, metric, value, limit, pass});
  std::printf("  %-20s %-52s %-10s %10.3g %s\n", kernel.c_str(), scenario.c_str(), metric.c_str(), value,
              pass ? "ok" : "FAIL");
  std::fflush(stdout);
}

// ||out - ref|| / ||ref||; infinite if any output is not finite (a poisoned, unwritten element).
double relL2(const std::vector<float>& out, const std::vector<double>& ref) {
  if (out.size() != ref.size()) return INFINITY;
  double num = 0.0;
  double den = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    const double d = static_cast<double>(out[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return buffer;
}

// ---- embeddingGather ----------------------------------------------------------------------------------------

void testEmbedding(const char* name, int vocab, int hidden, int rows) {
  std::vector<uint16_t> table(static_cast<size_t>(vocab) * hidden);
  // A cheap generator for the big table: random bf16 values in (-1, 1), never zero.
  uint64_t state = gRng() | 1;
  for (auto& t : table) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const float f = (static_cast<float>(state >> 40) + 0.5f) / 16777216.0f * 2.0f - 1.0f;
    t = static_cast<uint16_t>(bitsOf(f) >> 16);
  }
  std::vector<int32_t> tokens(rows);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  for (auto& t : tokens) t = pick(gRng);
  // The table's last row, its first, and a repeated token.
  tokens[0] = vocab - 1;
  if (rows > 2) {
    tokens[1] = 0;
    tokens[2] = tokens[rows - 1];
  }
  DeviceArray<uint16_t> dTable(table);
  DeviceArray<int32_t> dTokens(tokens);
  DeviceArray<float> dOut(static_cast<size_t>(rows) * hidden);
  dOut.poison();
  qb::embeddingGather(dTokens.ptr, rows, dTable.ptr, hidden, dOut.ptr, gStream);
  checkLaunch();
  const auto out = dOut.download();
  size_t wrong = 0;
  for (int r = 0; r < rows; ++r) {
    for (int i = 0; i < hidden; ++i) {
      const uint32_t want = static_cast<uint32_t>(table[static_cast<size_t>(tokens[r]) * hidden + i]) << 16;
      wrong += bitsOf(out[static_cast<size_t>(r) * hidden + i]) != want;
    }
  }
  record("embeddingGather", fmt("%s vocab %d hidden %d rows %d", name, vocab, hidden, rows), "mismatch", wrong, 0);
}

// ---- rmsNorm ------------------------------------------------------------------------------------------------

void testRmsNorm(const char* name, int rows, int dim, bool inPlace, int misalign) {
  const float eps = 1e-6f;
  const auto x = uniform(static_cast<size_t>(rows) * dim + misalign, -3.0f, 3.0f);
  const auto weight = uniform(dim + misalign, 0.5f, 1.5f);
  DeviceArray<float> dX(x);
  DeviceArray<float> dW(weight);
  DeviceArray<float> dOut(x.size());
  float* out = inPlace ? dX.ptr : dOut.ptr;
  if (!inPlace) dOut.poison();
  qb::rmsNorm(dX.ptr + misalign, dW.ptr + misalign, eps, rows, dim, out + misalign, gStream);
  checkLaunch();
  const auto got = inPlace ? dX.download() : dOut.download();
  std::vector<float> outRows(got.begin() + misalign, got.end());
  std::vector<double> ref(static_cast<size_t>(rows) * dim);
  for (int r = 0; r < rows; ++r) {
    double squares = 0.0;
    for (int i = 0; i < dim; ++i) squares += static_cast<double>(x[misalign + r * dim + i]) * x[misalign + r * dim + i];
    const double inverse = 1.0 / std::sqrt(squares / dim + eps);
    for (int i = 0; i < dim; ++i) ref[r * dim + i] = x[misalign + r * dim + i] * inverse * weight[misalign + i];
  }
  record("rmsNorm", fmt("%s rows %d dim %d%s%s", name, rows, dim, inPlace ? " in place" : "", misalign ? " unaligned" : ""),
         "relL2", relL2(outRows, ref), 1e-5);
}

// ---- qkNormRopeCache ------------------------------------------------------------------------------------------

std::vector<float> ropeTable(int maxContext, int headDim, double theta, double attentionScale) {
  const int half = headDim / 2;
  std::vector<float> table(static_cast<size_t>(maxContext) * half * 2);
  for (int p = 0; p < maxContext; ++p) {
    for (int j = 0; j < half; ++j) {
      const double angle = p * std::pow(theta, -2.0 * j / headDim);
      table[(static_cast<size_t>(p) * half + j) * 2] = static_cast<float>(std::cos(angle) * attentionScale);
      table[(static_cast<size_t>(p) * half + j) * 2 + 1] = static_cast<float>(std::sin(angle) * attentionScale);
    }
  }
  return table;
}

struct Shape {
  const char* name;
  int heads;
  int kvHeads;
  int headDim;
};
constexpr Shape kQwen3 = {"qwen3-4b", 32, 8, 128};
constexpr Shape kTiny = {"tiny", 4, 2, 64};

void testQkNormRopeCache(const Shape& s, const char* scenario, int maxBatch, int maxContext,
                         const std::vector<int32_t>& slots, const std::vector<int32_t>& positions) {
  const int rows = static_cast<int>(slots.size());
  const int d = s.headDim;
  const int half = d / 2;
  const int kvDim = s.kvHeads * d;
  const float eps = 1e-6f;
  const auto q = uniform(static_cast<size_t>(rows) * s.heads * d, -2.0f, 2.0f);
  const auto k = uniform(static_cast<size_t>(rows) * kvDim, -2.0f, 2.0f);
  const auto v = uniform(static_cast<size_t>(rows) * kvDim, -2.0f, 2.0f);
  const auto qNorm = uniform(d, 0.5f, 1.5f);
  const auto kNorm = uniform(d, 0.5f, 1.5f);
  const auto table = ropeTable(maxContext, d, 5e6, 1.0);
  DeviceArray<float> dQ(q), dK(k), dV(v), dQNorm(qNorm), dKNorm(kNorm), dTable(table);
  DeviceArray<int32_t> dSlots(slots), dPositions(positions);
  const size_t cacheSize = static_cast<size_t>(maxBatch) * maxContext * kvDim;
  DeviceArray<float> dKeys(cacheSize), dValues(cacheSize);
  dKeys.poison();
  dValues.poison();
  qb::qkNormRopeCache(dQ.ptr, dK.ptr, dV.ptr, dQNorm.ptr, dKNorm.ptr, eps, dTable.ptr, {dSlots.ptr, dPositions.ptr},
                      rows, s.heads, s.kvHeads, d, {dKeys.ptr, dValues.ptr, maxContext}, gStream);
  checkLaunch();
  const auto gotQ = dQ.download();
  const auto gotKeys = dKeys.download();
  const auto gotValues = dValues.download();

  auto normRope = [&](const float* x, const std::vector<float>& w, int position, double* outHead) {
    double squares = 0.0;
    for (int i = 0; i < d; ++i) squares += static_cast<double>(x[i]) * x[i];
    const double inverse = 1.0 / std::sqrt(squares / d + eps);
    for (int j = 0; j < half; ++j) {
      const double a = x[j] * inverse * w[j];
      const double b = x[j + half] * inverse * w[j + half];
      const double c = table[(static_cast<size_t>(position) * half + j) * 2];
      const double sn = table[(static_cast<size_t>(position) * half + j) * 2 + 1];
      outHead[j] = a * c - b * sn;
      outHead[j + half] = b * c + a * sn;
    }
  };
  std::vector<double> refQ(q.size());
  std::vector<float> gotK;
  std::vector<double> refK;
  size_t valueMismatch = 0;
  std::vector<char> written(cacheSize, 0);
  std::vector<double> head(d);
  for (int r = 0; r < rows; ++r) {
    for (int h = 0; h < s.heads; ++h) {
      normRope(&q[(static_cast<size_t>(r) * s.heads + h) * d], qNorm, positions[r], &refQ[(static_cast<size_t>(r) * s.heads + h) * d]);
    }
    for (int h = 0; h < s.kvHeads; ++h) {
      normRope(&k[(static_cast<size_t>(r) * s.kvHeads + h) * d], kNorm, positions[r], head.data());
      const size_t cell = (static_cast<size_t>(slots[r]) * maxContext + positions[r]) * kvDim + h * d;
      for (int i = 0; i < d; ++i) {
        gotK.push_back(gotKeys[cell + i]);
        refK.push_back(head[i]);
        valueMismatch += bitsOf(gotValues[cell + i]) != bitsOf(v[(static_cast<size_t>(r) * s.kvHeads + h) * d + i]);
        written[cell + i] = 1;
      }
    }
  }
  size_t stray = 0;
  for (size_t i = 0; i < cacheSize; ++i) {
    if (!written[i]) stray += (bitsOf(gotKeys[i]) != kPoisonBits) + (bitsOf(gotValues[i]) != kPoisonBits);
  }
  const std::string label = fmt("%s %s rows %d", s.name, scenario, rows);
  record("qkNormRopeCache", label + " q", "relL2", relL2(gotQ, refQ), 1e-5);
  record("qkNormRopeCache", label + " k cache", "relL2", relL2(gotK, refK), 1e-5);
  record("qkNormRopeCache", label + " v cache", "mismatch", valueMismatch, 0);
  record("qkNormRopeCache", label + " other cells", "stray", stray, 0);
}

// ---- attention (shared by decode and prefill) ----------------------------------------------------------------

// A cache whose positions [0, filled[slot]) hold random values and everything else NaN, so any read past a row's
// causal range shows up as a NaN output.
struct HostCache {
  std::vector<float> keys;
  std::vector<float> values;
  int maxContext;
  int kvDim;
  HostCache(int maxBatch, int maxContext_, int kvDim_, const std::vector<int>& filled)
      : keys(static_cast<size_t>(maxBatch) * maxContext_ * kvDim_, fromBits(kPoisonBits)),
        values(keys.size(), fromBits(kPoisonBits)),
        maxContext(maxContext_),
        kvDim(kvDim_) {
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    for (int slot = 0; slot < maxBatch; ++slot) {
      const size_t base = static_cast<size_t>(slot) * maxContext * kvDim;
      for (size_t i = 0; i < static_cast<size_t>(filled[slot]) * kvDim; ++i) {
        keys[base + i] = dist(gRng);
        values[base + i] = dist(gRng);
      }
    }
  }
};

// out[h, :] for one row attending positions [0, position] of `slot`, in float64.
void referenceAttention(const Shape& s, const float* q, const HostCache& cache, int slot, int position, double* out) {
  const int d = s.headDim;
  const int group = s.heads / s.kvHeads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> scores(position + 1);
  for (int h = 0; h < s.heads; ++h) {
    const int g = h / group;
    double max = -INFINITY;
    for (int p = 0; p <= position; ++p) {
      const float* key = &cache.keys[(static_cast<size_t>(slot) * cache.maxContext + p) * cache.kvDim + g * d];
      double dot = 0.0;
      for (int i = 0; i < d; ++i) dot += static_cast<double>(q[h * d + i]) * key[i];
      scores[p] = dot * scale;
      max = std::max(max, scores[p]);
    }
    double total = 0.0;
    for (int p = 0; p <= position; ++p) total += scores[p] = std::exp(scores[p] - max);
    for (int i = 0; i < d; ++i) out[h * d + i] = 0.0;
    for (int p = 0; p <= position; ++p) {
      const float* value = &cache.values[(static_cast<size_t>(slot) * cache.maxContext + p) * cache.kvDim + g * d];
      const double w = scores[p] / total;
      for (int i = 0; i < d; ++i) out[h * d + i] += w * value[i];
    }
  }
}

std::vector<double> referenceDecode(const Shape& s, const std::vector<float>& q, const HostCache& cache,
                                    const std::vector<int32_t>& slots, const std::vector<int32_t>& positions) {
  const size_t rowSize = static_cast<size_t>(s.heads) * s.headDim;
  std::vector<double> ref(slots.size() * rowSize);
  parallelFor(slots.size(), [&](size_t r) {
    referenceAttention(s, &q[r * rowSize], cache, slots[r], positions[r], &ref[r * rowSize]);
  });
  return ref;
}

float medianMicros(const std::function<void()>& launch) {
  for (int i = 0; i < 3; ++i) launch();
  checkLaunch();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  for (int i = 0; i < 21; ++i) {
    CUDA_CHECK(cudaEventRecord(start, gStream));
    launch();
    CUDA_CHECK(cudaEventRecord(stop, gStream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1000.0f);
  }
  checkLaunch();
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Decode: one batch of rows in different slots with different lengths. Then the same launch captured in a CUDA
// graph, replayed after new slots and positions are written to device memory: the graph must follow them.
void testAttentionDecode(const Shape& s, int maxContext, const std::vector<int>& filled,
                         const std::vector<int32_t>& slots, const std::vector<int32_t>& positions,
                         const std::vector<int32_t>& replaySlots, const std::vector<int32_t>& replayPositions) {
  const int rows = static_cast<int>(slots.size());
  const int maxBatch = static_cast<int>(filled.size());
  const int kvDim = s.kvHeads * s.headDim;
  const HostCache cache(maxBatch, maxContext, kvDim, filled);
  const auto q = uniform(static_cast<size_t>(rows) * s.heads * s.headDim, -2.0f, 2.0f);
  DeviceArray<float> dQ(q), dKeys(cache.keys), dValues(cache.values);
  DeviceArray<int32_t> dSlots(slots), dPositions(positions);
  DeviceArray<float> dOut(q.size());
  DeviceArray<uint8_t> dPartials(qb::attentionDecodePartialsBytes(rows, s.heads, s.headDim, maxContext));
  const qb::KvCache kv{dKeys.ptr, dValues.ptr, maxContext};
  const qb::RowPlacement placement{dSlots.ptr, dPositions.ptr};
  auto launch = [&] {
    qb::attentionDecode(dQ.ptr, placement, rows, s.heads, s.kvHeads, s.headDim, kv,
                        reinterpret_cast<float*>(dPartials.ptr), dOut.ptr, gStream);
  };
  std::string lengths;
  for (int r = 0; r < rows; ++r) lengths += fmt("%s%d", r ? "," : "", positions[r] + 1);
  dOut.poison();
  dPartials.poison();
  launch();
  checkLaunch();
  record("attentionDecode", fmt("%s ctx %d lens %s", s.name, maxContext, lengths.c_str()), "relL2",
         relL2(dOut.download(), referenceDecode(s, q, cache, slots, positions)), 1e-5);

  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(gStream, cudaStreamCaptureModeThreadLocal));
  launch();
  CUDA_CHECK(cudaStreamEndCapture(gStream, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  dSlots.upload(replaySlots);
  dPositions.upload(replayPositions);
  dOut.poison();
  dPartials.poison();
  CUDA_CHECK(cudaGraphLaunch(exec, gStream));
  checkLaunch();
  lengths.clear();
  for (int r = 0; r < rows; ++r) lengths += fmt("%s%d", r ? "," : "", replayPositions[r] + 1);
  record("attentionDecode", fmt("%s graph replay lens %s", s.name, lengths.c_str()), "relL2",
         relL2(dOut.download(), referenceDecode(s, q, cache, replaySlots, replayPositions)), 1e-5);
  std::printf("  %-20s %-52s %-10s %10.1f\n", "", "  time of the replayed graph", "us",
              medianMicros([&] { CUDA_CHECK(cudaGraphLaunch(exec, gStream)); }));
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
}

// Prefill of rows [firstPosition, firstPosition + rows) of `slot`. The float64 reference covers every row when
// that is affordable, otherwise a spread of rows (first, last, tile edges); every row is checked to be written.
void testAttentionPrefill(const Shape& s, int maxBatch, int maxContext, int slot, int firstPosition, int rows,
                          int referenceRows, bool time) {
  const int kvDim = s.kvHeads * s.headDim;
  std::vector<int> filled(maxBatch, 0);
  filled[slot] = firstPosition + rows;
  const HostCache cache(maxBatch, maxContext, kvDim, filled);
  const size_t rowSize = static_cast<size_t>(s.heads) * s.headDim;
  const auto q = uniform(rows * rowSize, -2.0f, 2.0f);
  DeviceArray<float> dQ(q), dKeys(cache.keys), dValues(cache.values), dOut(q.size());
  dOut.poison();
  const qb::KvCache kv{dKeys.ptr, dValues.ptr, maxContext};
  auto launch = [&] {
    qb::attentionPrefill(dQ.ptr, slot, firstPosition, rows, s.heads, s.kvHeads, s.headDim, kv, dOut.ptr, gStream);
  };
  launch();
  checkLaunch();
  const auto out = dOut.download();
  size_t unwritten = 0;
  for (const float x : out) unwritten += !std::isfinite(x);

  std::vector<int> checked;
  if (rows <= referenceRows) {
    for (int r = 0; r < rows; ++r) checked.push_back(r);
  } else {
    for (int r : {0, 1, 63, 64, 65, rows - 2, rows - 1}) checked.push_back(r);
    for (int i = 1; i + 7 < referenceRows; ++i) checked.push_back(static_cast<int>(static_cast<long>(rows) * i / referenceRows));
    std::sort(checked.begin(), checked.end());
    checked.erase(std::unique(checked.begin(), checked.end()), checked.end());
    checked.erase(std::remove_if(checked.begin(), checked.end(), [&](int r) { return r < 0 || r >= rows; }), checked.end());
  }
  std::vector<double> ref(checked.size() * rowSize);
  std::vector<float> got(checked.size() * rowSize);
  parallelFor(checked.size(), [&](size_t i) {
    referenceAttention(s, &q[checked[i] * rowSize], cache, slot, firstPosition + checked[i], &ref[i * rowSize]);
    std::copy_n(&out[checked[i] * rowSize], rowSize, &got[i * rowSize]);
  });
  const std::string label = fmt("%s ctx %d slot %d pos %d..%d", s.name, maxContext, slot, firstPosition, firstPosition + rows - 1);
  record("attentionPrefill", label + " written", "unwritten", unwritten, 0);
  record("attentionPrefill", label + fmt(" (%zu rows ref)", checked.size()), "relL2", relL2(got, ref), 1e-5);
  if (time) std::printf("  %-20s %-52s %-10s %10.1f\n", "", "  time", "us", medianMicros(launch));
}

// ---- swiglu, residualAdd -------------------------------------------------------------------------------------

void testSwiglu(int n, int misalign, bool inPlace) {
  const auto gate = uniform(n + misalign, -8.0f, 8.0f);
  const auto up = uniform(n + misalign, -2.0f, 2.0f);
  DeviceArray<float> dGate(gate), dUp(up), dOut(gate.size());
  dOut.poison();
  float* out = inPlace ? dGate.ptr : dOut.ptr;
  qb::swiglu(dGate.ptr + misalign, dUp.ptr + misalign, out + misalign, n, gStream);
  checkLaunch();
  const auto all = inPlace ? dGate.download() : dOut.download();
  std::vector<float> got(all.begin() + misalign, all.end());
  std::vector<double> ref(n);
  for (int i = 0; i < n; ++i) {
    const double g = gate[misalign + i];
    ref[i] = g / (1.0 + std::exp(-g)) * up[misalign + i];
  }
  record("swiglu", fmt("n %d%s%s", n, misalign ? " unaligned" : "", inPlace ? " in place" : ""), "relL2", relL2(got, ref), 1e-5);
}

void testResidualAdd(int n, int misalign) {
  const auto residual = uniform(n + misalign, -4.0f, 4.0f);
  const auto delta = uniform(n + misalign, -1.0f, 1.0f);
  DeviceArray<float> dResidual(residual), dDelta(delta);
  qb::residualAdd(dResidual.ptr + misalign, dDelta.ptr + misalign, n, gStream);
  checkLaunch();
  const auto all = dResidual.download();
  std::vector<float> got(all.begin() + misalign, all.end());
  std::vector<double> ref(n);
  for (int i = 0; i < n; ++i) ref[i] = static_cast<double>(residual[misalign + i]) + delta[misalign + i];
  size_t untouchedPrefix = 0;
  for (int i = 0; i < misalign; ++i) untouchedPrefix += bitsOf(all[i]) != bitsOf(residual[i]);
  record("residualAdd", fmt("n %d%s", n, misalign ? " unaligned" : ""), "relL2", relL2(got, ref) + untouchedPrefix, 1e-6);
}

// ---- topK ---------------------------------------------------------------------------------------------------

// The wanted order, written from the spec with float comparisons: NaN below everything, -0 == +0 (== does that),
// equal values by lower index.
bool ranksAbove(float a, int ia, float b, int ib) {
  const bool nanA = std::isnan(a);
  const bool nanB = std::isnan(b);
  if (nanA != nanB) return nanB;
  if (!nanA && a != b) return a > b;
  return ia < ib;
}

enum class RowKind { Normal, Ties, SignedZeros, MostlyNan, AllNan, InfinitiesAndNan };

std::vector<float> topKRow(RowKind kind, int vocab) {
  std::vector<float> row(vocab);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_int_distribution<int> pick(0, vocab - 1);
  const uint32_t nans[] = {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0xff812345u};
  switch (kind) {
    case RowKind::Normal:
      for (auto& x : row) x = normal(gRng);
      break;
    case RowKind::Ties:  // seven distinct values over the whole row: ties everywhere, order decided by index
      for (auto& x : row) x = static_cast<float>(small(gRng)) * 0.5f;
      break;
    case RowKind::SignedZeros:  // the maximum is zero, with both signs scattered; the rest negative
      for (auto& x : row) x = -std::fabs(normal(gRng)) - 0.001f;
      for (int i = 0; i < 200; ++i) row[pick(gRng)] = (i % 2) ? -0.0f : 0.0f;
      break;
    case RowKind::MostlyNan:  // fewer non-NaN values than k: NaNs (bit-exact, various payloads) fill the rest
      for (size_t i = 0; i < row.size(); ++i) row[i] = fromBits(nans[i % 4]);
      for (int i = 0; i < 10; ++i) row[pick(gRng)] = normal(gRng);
      break;
    case RowKind::AllNan:
      for (size_t i = 0; i < row.size(); ++i) row[i] = fromBits(nans[(i * 7) % 4]);
      break;
    case RowKind::InfinitiesAndNan:  // -inf ranks above NaN; +inf on top
      for (size_t i = 0; i < row.size(); ++i) row[i] = fromBits(nans[i % 4]);
      for (int i = 0; i < 30; ++i) row[pick(gRng)] = -INFINITY;
      for (int i = 0; i < 3; ++i) row[pick(gRng)] = INFINITY;
      for (int i = 0; i < 5; ++i) row[pick(gRng)] = normal(gRng);
      break;
  }
  return row;
}

void testTopK(const char* name, int rows, int vocab, int k, const std::vector<RowKind>& kinds, bool time) {
  std::vector<float> logits;
  logits.reserve(static_cast<size_t>(rows) * vocab);
  for (int r = 0; r < rows; ++r) {
    const auto row = topKRow(kinds[r % kinds.size()], vocab);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  DeviceArray<float> dLogits(logits), dValues(static_cast<size_t>(rows) * k);
  DeviceArray<int32_t> dIndices(static_cast<size_t>(rows) * k);
  DeviceArray<uint8_t> dScratch(qb::topKScratchBytes(rows, vocab, k));
  dValues.poison();
  dIndices.poison();
  dScratch.poison();
  auto launch = [&] {
    qb::topK(dLogits.ptr, rows, vocab, k, dValues.ptr, dIndices.ptr, dScratch.ptr, gStream);
  };
  launch();
  checkLaunch();
  const auto values = dValues.download();
  const auto indices = dIndices.download();
  size_t wrong = 0;
  std::vector<int> order(vocab);
  for (int r = 0; r < rows; ++r) {
    const float* row = &logits[static_cast<size_t>(r) * vocab];
    for (int i = 0; i < vocab; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int a, int b) { return ranksAbove(row[a], a, row[b], b); });
    for (int j = 0; j < k; ++j) {
      const size_t at = static_cast<size_t>(r) * k + j;
      wrong += indices[at] != order[j] || bitsOf(values[at]) != bitsOf(row[order[j]]);
    }
  }
  record("topK", fmt("%s rows %d vocab %d k %d", name, rows, vocab, k), "mismatch", wrong, 0);
  if (time) std::printf("  %-20s %-52s %-10s %10.1f\n", "", "  time", "us", medianMicros(launch));
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::random_device{}();
  gRng.seed(seed);
  int device;
  CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  std::printf("test_layer_kernels: %s (sm_%d%d), seed %llu\n", prop.name, prop.major, prop.minor,
              static_cast<unsigned long long>(seed));
  CUDA_CHECK(cudaStreamCreateWithFlags(&gStream, cudaStreamNonBlocking));

  constexpr int kVocab = 151936;
  testEmbedding("qwen3-4b", kVocab, 2560, 17);
  testEmbedding("tiny", 1000, 256, 5);
  testEmbedding("odd hidden", 1000, 2562, 3);

  for (int rows : {1, 17, 64}) testRmsNorm("qwen3-4b", rows, 2560, false, 0);
  testRmsNorm("qwen3-4b", 17, 2560, true, 0);
  testRmsNorm("tiny", 5, 256, true, 0);
  testRmsNorm("odd", 3, 1001, false, 1);

  testQkNormRopeCache(kQwen3, "decode", 4, 4096, {2, 0, 3, 1}, {0, 16, 511, 4095});
  testQkNormRopeCache(kQwen3, "prefill chunk 2", 2, 4096, std::vector<int32_t>(17, 1),
                      [] { std::vector<int32_t> p(17); for (int i = 0; i < 17; ++i) p[i] = 512 + i; return p; }());
  testQkNormRopeCache(kTiny, "decode", 3, 600, {1, 0, 2}, {0, 16, 599});

  // Qwen3 decode: contexts 1, 17, 512 and 4096 in one batch, in slots out of order; the replay reuses the slots
  // with other lengths.
  testAttentionDecode(kQwen3, 4096, {512, 4096, 1, 17}, {2, 3, 0, 1}, {0, 16, 511, 4095}, {1, 0, 3, 2},
                      {4000, 300, 5, 0});
  testAttentionDecode(kTiny, 600, {600, 17, 1, 129}, {2, 1, 3, 0}, {0, 16, 128, 599}, {0, 3, 1, 2},
                      {255, 127, 3, 0});
  testAttentionDecode({"group 8, head_dim 256", 16, 2, 256}, 300, {300, 40}, {0, 1}, {299, 39}, {1, 0}, {30, 256});

  testAttentionPrefill(kTiny, 2, 256, 1, 0, 17, 1000, false);
  testAttentionPrefill(kTiny, 2, 256, 1, 17, 100, 1000, false);
  testAttentionPrefill(kQwen3, 2, 4096, 1, 0, 512, 1000, true);
  testAttentionPrefill(kQwen3, 2, 4096, 0, 512, 200, 1000, false);
  testAttentionPrefill(kQwen3, 2, 4096, 1, 0, 2048, 96, true);
  testAttentionPrefill(kQwen3, 2, 4096, 1, 3000, 1096, 64, false);
  testAttentionPrefill(kQwen3, 2, 32768, 1, 32768 - 70, 70, 8, true);

  testSwiglu(17 * 9728, 0, false);
  testSwiglu(5 * 704, 0, true);
  testSwiglu(1001, 1, false);
  testResidualAdd(64 * 2560, 0);
  testResidualAdd(1001, 3);

  const std::vector<RowKind> special = {RowKind::Ties, RowKind::SignedZeros, RowKind::MostlyNan, RowKind::AllNan,
                                        RowKind::InfinitiesAndNan, RowKind::Normal};
  for (int k : {1, 20, 64}) testTopK("mixed rows", 12, kVocab, k, special, false);
  testTopK("normal rows", 64, kVocab, 64, {RowKind::Normal}, true);
  testTopK("tie rows", 64, kVocab, 20, {RowKind::Ties}, false);
  testTopK("one level", 6, 3000, 64, special, false);
  testTopK("three levels", 6, 300000, 64, special, false);

  CUDA_CHECK(cudaStreamDestroy(gStream));
  size_t failed = 0;
  for (const auto& r : gResults) failed += !r.pass;
  std::printf("\n%-20s %-52s %-10s %10s %10s %s\n", "kernel", "case", "metric", "value", "limit", "");
  for (const auto& r : gResults) {
    std::printf("%-20s %-52s %-10s %10.3g %10.3g %s\n", r.kernel.c_str(), r.scenario.c_str(), r.metric.c_str(), r.value,
                r.limit, r.pass ? "ok" : "FAIL");
  }
  std::printf("\n%zu of %zu checks failed\n", failed, gResults.size());
  return failed == 0 ? 0 : 1;
}
