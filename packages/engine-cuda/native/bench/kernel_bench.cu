// kernel_bench: the matmul launchers of kernels.h at Qwen3-4B's shapes, against the device's measured copy
// bandwidth and against cuBLASLt (BF16 GEMM; FP8 e4m3 GEMM with 128x128 block weight scales and 1x128 activation
// scales where this cuBLASLt has block scaling; FP8 with per-tensor scales as the FP8 ceiling).
//
// Usage: kernel_bench OUT.json [--quick] [--rotate-mib N] [--only SUBSTRING]
//
// Method (see /work/.library/device/METHOD.md): random data only, never zeros (weights, activations, scales);
// every case rotates over enough independent buffer sets (weights + activations + output) that their total is
// several times the L2, so each launch reads its weights from HBM as decode does; outputs are poisoned with NaN
// before a check launch and every element must come back finite (all written). A case is timed as a CUDA graph of
// back-to-back launches (one per set, cycling), replayed many times with events around each replay: per-launch
// time = replay time / launches; the median and the 10th/90th percentiles over replays are reported.
// Bytes = weight bytes (codes + scales) + activation bytes (input, its scales for w8a8, output). FLOPs = 2*rows*out*in.
//
// Build (repo root; run.sh does this):
//   nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Ipackages/engine-cuda/native/kernels \
//     packages/engine-cuda/native/bench/kernel_bench.cu packages/engine-cuda/native/kernels/*.cu -lcublasLt -o kernel_bench
// Without cuBLASLt headers (or with -DQB_NO_CUBLASLT) the cuBLASLt comparisons are compiled out.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels.h"

#if !defined(QB_NO_CUBLASLT) && __has_include(<cublasLt.h>)
#include <cublasLt.h>
#define QB_HAVE_CUBLASLT 1
// Block scaling (VEC128_32F / BLK128x128_32F) arrived in cuBLAS 12.9 (CUBLAS_VERSION 120900 and later).
#if defined(CUBLAS_VERSION) && CUBLAS_VERSION >= 120900
#define QB_HAVE_BLOCK_SCALING 1
#else
#define QB_HAVE_BLOCK_SCALING 0
#endif
#else
#define QB_HAVE_CUBLASLT 0
#define QB_HAVE_BLOCK_SCALING 0
#endif

namespace {

// ---- errors -------------------------------------------------------------------------------------------------------

[[noreturn]] void die(const char* what, const char* detail, const char* file, int line) {
  std::fprintf(stderr, "kernel_bench: %s failed: %s (%s:%d)\n", what, detail, file, line);
  std::exit(1);
}
#define CUDA_OK(call)                                                                   \
  do {                                                                                  \
    cudaError_t err_ = (call);                                                          \
    if (err_ != cudaSuccess) die(#call, cudaGetErrorString(err_), __FILE__, __LINE__); \
  } while (0)

// A case that fails (launch error, unsupported cuBLASLt configuration) is recorded and skipped, not fatal.
struct CaseError {
  std::string message;
};
void checkLaunch(const char* what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw CaseError{std::string(what) + ": " + cudaGetErrorString(err)};
}

std::string format(const char* fmt, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

// ---- random fills (never zero) --------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t hash32(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

// Uniform in ±[lo, hi]: sign and magnitude drawn separately, so no value is zero or near it.
__device__ __forceinline__ float nonZeroUniform(uint64_t i, uint64_t seed, float lo, float hi) {
  uint32_t h = hash32(i * 0x9E3779B97F4A7C15ULL + seed);
  float u = (h >> 8) * (1.0f / 16777216.0f);
  float v = lo + (hi - lo) * u;
  return (h & 1u) ? -v : v;
}

__global__ void fillF32(float* out, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = nonZeroUniform(i, seed, lo, hi);
}

__global__ void fillPositive(float* out, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = fabsf(nonZeroUniform(i, seed, lo, hi));
}

__global__ void fillBf16(uint16_t* out, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    __nv_bfloat16 b = __float2bfloat16_rn(nonZeroUniform(i, seed, lo, hi));
    out[i] = *reinterpret_cast<uint16_t*>(&b);
  }
}

// e4m3fn codes: every finite non-zero code (0x00/0x80 are ±0, 0x7F/0xFF are NaN).
__global__ void fillE4m3(uint8_t* out, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = hash32(i * 0x9E3779B97F4A7C15ULL + seed);
    uint32_t magnitude = 1u + (h >> 8) % 126u;  // 0x01 .. 0x7E
    out[i] = static_cast<uint8_t>(magnitude | ((h & 1u) << 7));
  }
}

__global__ void countNonFinite(const float* y, size_t n, unsigned long long* count) {
  unsigned long long local = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    if (!isfinite(y[i])) ++local;
  if (local) atomicAdd(count, local);
}

__global__ void countNonFiniteBf16(const uint16_t* y, size_t n, unsigned long long* count) {
  unsigned long long local = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    if ((y[i] & 0x7F80u) == 0x7F80u) ++local;
  if (local) atomicAdd(count, local);
}

constexpr int kFillBlocks = 1024;
constexpr int kFillThreads = 256;
uint64_t gSeed = 0x5eed;

// ---- device memory -------------------------------------------------------------------------------------------------

struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    if (n) CUDA_OK(cudaMalloc(&ptr, n));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr(other.ptr), bytes(other.bytes) { other.ptr = nullptr; }
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

// ---- timing --------------------------------------------------------------------------------------------------------

struct Timing {
  double medianUs = 0, p10Us = 0, p90Us = 0, minUs = 0, maxUs = 0;
  int launches = 0;  // per replay
  int replays = 0;
  bool graphed = true;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

// Captures `launches` calls of launch(i) into a graph and replays it; per-launch microseconds per replay.
Timing timeGraph(cudaStream_t stream, int launches, int replays, const std::function<void(int)>& launch) {
  // Warm-up outside the graph: module load, cuBLASLt heuristics, first-touch.
  for (int i = 0; i < std::min(launches, 3); ++i) launch(i);
  checkLaunch("warm-up launch");
  CUDA_OK(cudaStreamSynchronize(stream));

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  // A launcher that cannot be captured (it synchronises or allocates) is timed as plain stream launches instead.
  bool graphed = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
  if (graphed) {
    for (int i = 0; i < launches; ++i) launch(i);
    cudaError_t captureErr = cudaStreamEndCapture(stream, &graph);
    cudaError_t launchErr = cudaGetLastError();
    if (captureErr != cudaSuccess || launchErr != cudaSuccess ||
        cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) {
      std::fprintf(stderr, "kernel_bench: graph capture failed (%s / %s); timing plain launches\n",
                   cudaGetErrorString(captureErr), cudaGetErrorString(launchErr));
      if (graph) cudaGraphDestroy(graph);
      graph = nullptr;
      exec = nullptr;
      graphed = false;
      cudaGetLastError();
      CUDA_OK(cudaStreamSynchronize(stream));
    }
  } else {
    cudaGetLastError();
  }
  auto replay = [&]() {
    if (graphed) {
      CUDA_OK(cudaGraphLaunch(exec, stream));
    } else {
      for (int i = 0; i < launches; ++i) launch(i);
      checkLaunch("launch");
    }
  };

  cudaEvent_t start, stop;
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  replay();  // warm replay
  CUDA_OK(cudaStreamSynchronize(stream));
  std::vector<double> perLaunch;
  for (int r = 0; r < replays; ++r) {
    CUDA_OK(cudaEventRecord(start, stream));
    replay();
    CUDA_OK(cudaEventRecord(stop, stream));
    CUDA_OK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    perLaunch.push_back(1000.0 * ms / launches);
  }
  CUDA_OK(cudaEventDestroy(start));
  CUDA_OK(cudaEventDestroy(stop));
  if (exec) CUDA_OK(cudaGraphExecDestroy(exec));
  if (graph) CUDA_OK(cudaGraphDestroy(graph));

  Timing t;
  t.medianUs = percentile(perLaunch, 0.5);
  t.p10Us = percentile(perLaunch, 0.1);
  t.p90Us = percentile(perLaunch, 0.9);
  t.minUs = *std::min_element(perLaunch.begin(), perLaunch.end());
  t.maxUs = *std::max_element(perLaunch.begin(), perLaunch.end());
  t.launches = launches;
  t.replays = replays;
  t.graphed = graphed;
  return t;
}

// ---- shapes and results --------------------------------------------------------------------------------------------

struct Shape {
  const char* name;
  int out;
  int in;
  bool bf16Only;  // the tied lm_head stays BF16 in every kernel mode
};

// Qwen3-4B: hidden 2560, 32 q heads / 8 kv heads of 128, intermediate 9728, vocabulary 151936.
const Shape kShapes[] = {
    {"q_proj", 4096, 2560, false},     {"k_proj", 1024, 2560, false},    {"o_proj", 2560, 4096, false},
    {"gate_proj", 9728, 2560, false},  {"down_proj", 2560, 9728, false}, {"lm_head", 151936, 2560, true},
};

struct Result {
  std::string kernel;  // launcher or library call
  std::string mode;    // bf16 | w8a16 | w8a8 | quantize
  std::string shape;
  int rows = 0, out = 0, in = 0;
  int sets = 0;
  double weightBytes = 0, activationBytes = 0, flops = 0;
  Timing timing;
  bool ok = false;
  bool allWritten = true;
  std::string note;
};

std::vector<Result> gResults;
double gCopyGBps = 0;

void printRow(const Result& r) {
  if (!r.ok) {
    std::printf("%-30s %-6s %-10s %5d  %s\n", r.kernel.c_str(), r.mode.c_str(), r.shape.c_str(), r.rows, r.note.c_str());
    return;
  }
  double s = r.timing.medianUs * 1e-6;
  double gbps = (r.weightBytes + r.activationBytes) / s / 1e9;
  double tflops = r.flops / s / 1e12;
  double spread = r.timing.medianUs > 0 ? 100.0 * (r.timing.p90Us - r.timing.p10Us) / r.timing.medianUs : 0;
  std::printf("%-30s %-6s %-10s %5d %10.2f %5.1f%% %8.0f %6.1f%% %8.1f%s\n", r.kernel.c_str(), r.mode.c_str(),
              r.shape.c_str(), r.rows, r.timing.medianUs, spread, gbps, gCopyGBps > 0 ? 100.0 * gbps / gCopyGBps : 0.0,
              tflops, r.allWritten ? "" : "  NOT ALL WRITTEN");
  std::fflush(stdout);
}

// Sets so that the rotation covers at least `rotateBytes` (several L2s), at least 2, at most 256.
int setsFor(size_t setBytes, size_t rotateBytes) {
  size_t sets = (rotateBytes + setBytes - 1) / std::max<size_t>(setBytes, 1);
  return static_cast<int>(std::min<size_t>(std::max<size_t>(sets, 2), 256));
}

int launchesFor(int sets, double estimatedUs) {
  // A replay of at least ~2 ms or two full rotations, whichever is more launches, capped.
  int byTime = static_cast<int>(std::ceil(2000.0 / std::max(estimatedUs, 0.5)));
  int n = std::max(2 * sets, byTime);
  n = std::min(n, 4096);
  return ((n + sets - 1) / sets) * sets;
}

struct Config {
  std::string outPath;
  bool quick = false;
  size_t rotateBytes = 512ull << 20;
  std::string only;
  int replays = 25;
};

// Operands of one case, per set.
struct Operands {
  std::vector<DeviceBuffer> weight, scales, x, xq, xs, y;
};

void fillF32Buffer(const DeviceBuffer& b, float lo, float hi, cudaStream_t s) {
  fillF32<<<kFillBlocks, kFillThreads, 0, s>>>(b.as<float>(), b.bytes / 4, gSeed++, lo, hi);
}

// Runs one case: allocates `sets` operand sets, fills them, checks every output element is written, times.
void runCase(const Config& cfg, cudaStream_t stream, Result r, size_t setBytes, double estimatedUs,
             const std::function<void(Operands&, int)>& allocate, const std::function<void(Operands&, int)>& launch,
             bool outputBf16 = false) {
  if (!cfg.only.empty() && (r.kernel + " " + r.mode + " " + r.shape).find(cfg.only) == std::string::npos) return;
  r.sets = setsFor(setBytes, cfg.rotateBytes);
  size_t freeBytes = 0, totalBytes = 0;
  CUDA_OK(cudaMemGetInfo(&freeBytes, &totalBytes));
  while (r.sets > 2 && setBytes * r.sets > freeBytes / 2) --r.sets;
  try {
    Operands ops;
    for (int s = 0; s < r.sets; ++s) allocate(ops, s);
    CUDA_OK(cudaStreamSynchronize(stream));
    checkLaunch("fill");
    // Poison set 0's output with NaN (0xFF bytes), launch once, count what was not written.
    if (!ops.y.empty()) {
      CUDA_OK(cudaMemsetAsync(ops.y[0].ptr, 0xFF, ops.y[0].bytes, stream));
      launch(ops, 0);
      checkLaunch("check launch");
      DeviceBuffer count(sizeof(unsigned long long));
      CUDA_OK(cudaMemsetAsync(count.ptr, 0, count.bytes, stream));
      if (outputBf16)
        countNonFiniteBf16<<<kFillBlocks, kFillThreads, 0, stream>>>(ops.y[0].as<uint16_t>(), ops.y[0].bytes / 2,
                                                                     count.as<unsigned long long>());
      else
        countNonFinite<<<kFillBlocks, kFillThreads, 0, stream>>>(ops.y[0].as<float>(), ops.y[0].bytes / 4,
                                                                 count.as<unsigned long long>());
      unsigned long long bad = 0;
      CUDA_OK(cudaMemcpyAsync(&bad, count.ptr, sizeof bad, cudaMemcpyDeviceToHost, stream));
      CUDA_OK(cudaStreamSynchronize(stream));
      r.allWritten = bad == 0;
      if (bad) r.note = format("%llu output values non-finite after a NaN poison", bad);
    }
    int launches = launchesFor(r.sets, estimatedUs);
    r.timing = timeGraph(stream, launches, cfg.replays, [&](int i) { launch(ops, i % r.sets); });
    r.ok = true;
  } catch (const CaseError& e) {
    r.ok = false;
    r.note = e.message;
    cudaGetLastError();
    cudaStreamSynchronize(stream);
    cudaGetLastError();
  }
  printRow(r);
  gResults.push_back(r);
}

// Rough time for choosing the replay length: max of bytes at 4 TB/s and flops at 500 TFLOP/s, plus launch cost.
double estimateUs(double bytes, double flops) { return std::max(bytes / 4e6, flops / 5e8) + 2.0; }

size_t scaleCount(int out, int in) {
  return size_t((out + qb::kFp8Block - 1) / qb::kFp8Block) * ((in + qb::kFp8Block - 1) / qb::kFp8Block);
}

// ---- our launchers --------------------------------------------------------------------------------------------------

void benchOurs(const Config& cfg, cudaStream_t stream, const Shape& shape, int rows) {
  const int out = shape.out, in = shape.in;
  const bool gemv = rows <= qb::kGemvMaxRows;
  const double flops = 2.0 * rows * double(out) * in;
  const size_t xBytes = size_t(rows) * in * 4, yBytes = size_t(rows) * out * 4;
  const size_t codesBytes = size_t(out) * in, scalesBytes = scaleCount(out, in) * 4;
  const size_t xqBytes = size_t(rows) * in, xsBytes = size_t(rows) * ((in + 127) / 128) * 4;
  const std::string shapeName = format("%s", shape.name);

  auto base = [&](const char* kernel, const char* mode) {
    Result r;
    r.kernel = kernel;
    r.mode = mode;
    r.shape = shapeName;
    r.rows = rows;
    r.out = out;
    r.in = in;
    r.flops = flops;
    return r;
  };

  // bf16
  {
    Result r = base(gemv ? "gemvBf16" : "gemmBf16", "bf16");
    r.weightBytes = double(out) * in * 2;
    r.activationBytes = double(xBytes + yBytes);
    runCase(
        cfg, stream, r, size_t(r.weightBytes) + xBytes + yBytes, estimateUs(r.weightBytes + xBytes + yBytes, flops),
        [&](Operands& o, int) {
          o.weight.emplace_back(size_t(out) * in * 2);
          o.x.emplace_back(xBytes);
          o.y.emplace_back(yBytes);
          fillBf16<<<kFillBlocks, kFillThreads, 0, stream>>>(o.weight.back().as<uint16_t>(), size_t(out) * in, gSeed++,
                                                             0.002f, 0.06f);
          fillF32Buffer(o.x.back(), 0.05f, 2.0f, stream);
        },
        [&](Operands& o, int s) {
          qb::Bf16Weight w{o.weight[s].as<uint16_t>(), out, in};
          if (gemv)
            qb::gemvBf16(o.x[s].as<float>(), w, o.y[s].as<float>(), rows, stream);
          else
            qb::gemmBf16(o.x[s].as<float>(), w, o.y[s].as<float>(), rows, stream);
        });
  }
  if (shape.bf16Only) return;

  auto allocateFp8Weight = [&](Operands& o) {
    o.weight.emplace_back(codesBytes);
    o.scales.emplace_back(scalesBytes);
    fillE4m3<<<kFillBlocks, kFillThreads, 0, stream>>>(o.weight.back().as<uint8_t>(), codesBytes, gSeed++);
    fillPositive<<<kFillBlocks, kFillThreads, 0, stream>>>(o.scales.back().as<float>(), scalesBytes / 4, gSeed++,
                                                           1e-4f, 4e-4f);
  };
  auto fp8Weight = [&](Operands& o, int s) {
    return qb::Fp8Weight{o.weight[s].as<uint8_t>(), o.scales[s].as<float>(), out, in};
  };

  // w8a16
  {
    Result r = base(gemv ? "gemvFp8W8a16" : "gemmFp8W8a16", "w8a16");
    r.weightBytes = double(codesBytes + scalesBytes);
    r.activationBytes = double(xBytes + yBytes);
    runCase(
        cfg, stream, r, codesBytes + scalesBytes + xBytes + yBytes,
        estimateUs(r.weightBytes + r.activationBytes, flops),
        [&](Operands& o, int) {
          allocateFp8Weight(o);
          o.x.emplace_back(xBytes);
          o.y.emplace_back(yBytes);
          fillF32Buffer(o.x.back(), 0.05f, 2.0f, stream);
        },
        [&](Operands& o, int s) {
          if (gemv)
            qb::gemvFp8W8a16(o.x[s].as<float>(), fp8Weight(o, s), o.y[s].as<float>(), rows, stream);
          else
            qb::gemmFp8W8a16(o.x[s].as<float>(), fp8Weight(o, s), o.y[s].as<float>(), rows, stream);
        });
  }

  // w8a8: the activation quantiser alone, then the matmul on quantised activations.
  {
    Result r = base("quantizeActivationsFp8", "w8a8");
    r.weightBytes = 0;
    r.activationBytes = double(xBytes + xqBytes + xsBytes);
    r.flops = 0;
    runCase(
        cfg, stream, r, xBytes + xqBytes + xsBytes, estimateUs(r.activationBytes, 0),
        [&](Operands& o, int) {
          o.x.emplace_back(xBytes);
          o.xq.emplace_back(xqBytes);
          o.xs.emplace_back(xsBytes);
          fillF32Buffer(o.x.back(), 0.05f, 2.0f, stream);
        },
        [&](Operands& o, int s) {
          qb::quantizeActivationsFp8(o.x[s].as<float>(), rows, in, qb::Fp8Activations{o.xq[s].as<uint8_t>(), o.xs[s].as<float>()},
                                     stream);
        });
  }
  {
    Result r = base(gemv ? "gemvFp8W8a8" : "gemmFp8W8a8", "w8a8");
    r.weightBytes = double(codesBytes + scalesBytes);
    r.activationBytes = double(xqBytes + xsBytes + yBytes);
    runCase(
        cfg, stream, r, codesBytes + scalesBytes + xqBytes + xsBytes + yBytes,
        estimateUs(r.weightBytes + r.activationBytes, flops),
        [&](Operands& o, int) {
          allocateFp8Weight(o);
          // Real quantised activations: random float32 through the engine's own quantiser.
          DeviceBuffer x(xBytes);
          fillF32Buffer(x, 0.05f, 2.0f, stream);
          o.xq.emplace_back(xqBytes);
          o.xs.emplace_back(xsBytes);
          o.y.emplace_back(yBytes);
          qb::quantizeActivationsFp8(x.as<float>(), rows, in, qb::Fp8Activations{o.xq.back().as<uint8_t>(), o.xs.back().as<float>()},
                                     stream);
          checkLaunch("quantizeActivationsFp8");
          CUDA_OK(cudaStreamSynchronize(stream));  // before `x` is freed
        },
        [&](Operands& o, int s) {
          qb::Fp8Activations xa{o.xq[s].as<uint8_t>(), o.xs[s].as<float>()};
          if (gemv)
            qb::gemvFp8W8a8(xa, fp8Weight(o, s), o.y[s].as<float>(), rows, stream);
          else
            qb::gemmFp8W8a8(xa, fp8Weight(o, s), o.y[s].as<float>(), rows, stream);
        });
  }
}

// ---- cuBLASLt -------------------------------------------------------------------------------------------------------

#if QB_HAVE_CUBLASLT

void ltOk(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw CaseError{format("%s: cuBLAS status %d", what, static_cast<int>(status))};
}

cublasLtHandle_t gLt = nullptr;
DeviceBuffer gWorkspace;

// One configured cuBLASLt matmul: D[m, n] (column-major) = op(A)[m, k] . op(B)[k, n], A transposed (TN).
struct LtPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~LtPlan() {
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

enum class ScaleKind { none, tensor, block };

// aScaleMode / bScaleMode are cublasLtMatmulMatrixScale_t values (as int32) when kind == block.
void planLt(LtPlan& p, cudaDataType_t abType, cudaDataType_t dType, int m, int n, int k, ScaleKind kind,
            int32_t aScaleMode, int32_t bScaleMode) {
  ltOk(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
  ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &transA, sizeof transA), "TRANSA");
  ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &transB, sizeof transB), "TRANSB");
#if QB_HAVE_BLOCK_SCALING
  if (kind == ScaleKind::block) {
    ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &aScaleMode, sizeof aScaleMode),
         "A_SCALE_MODE");
    ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &bScaleMode, sizeof bScaleMode),
         "B_SCALE_MODE");
  }
#else
  (void)aScaleMode;
  (void)bScaleMode;
  if (kind == ScaleKind::block) throw CaseError{"this cuBLASLt has no block scaling (needs cuBLAS 12.9+)"};
#endif
  ltOk(cublasLtMatrixLayoutCreate(&p.a, abType, k, m, k), "layout A");
  ltOk(cublasLtMatrixLayoutCreate(&p.b, abType, k, n, k), "layout B");
  ltOk(cublasLtMatrixLayoutCreate(&p.c, dType, m, n, m), "layout C");
  ltOk(cublasLtMatrixLayoutCreate(&p.d, dType, m, n, m), "layout D");
}

// Scale pointers must be set before the heuristic query (they are part of the operation).
void setScalePointers(LtPlan& p, const void* aScale, const void* bScale) {
  ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &aScale, sizeof aScale),
       "A_SCALE_POINTER");
  ltOk(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &bScale, sizeof bScale),
       "B_SCALE_POINTER");
}

void chooseAlgo(LtPlan& p) {
  cublasLtMatmulPreference_t pref = nullptr;
  ltOk(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  size_t ws = gWorkspace.bytes;
  cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulAlgoGetHeuristic(gLt, p.desc, p.a, p.b, p.c, p.d, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  ltOk(st, "cublasLtMatmulAlgoGetHeuristic");
  if (found == 0) throw CaseError{"cuBLASLt found no algorithm for this configuration"};
  p.algo = result.algo;
}

void runLt(const LtPlan& p, const void* A, const void* B, void* D, cudaStream_t stream) {
  const float alpha = 1.0f, beta = 0.0f;
  ltOk(cublasLtMatmul(gLt, p.desc, &alpha, A, p.a, B, p.b, &beta, D, p.c, D, p.d, &p.algo, gWorkspace.ptr,
                      gWorkspace.bytes, stream),
       "cublasLtMatmul");
}

void benchCublasLt(const Config& cfg, cudaStream_t stream, const Shape& shape, int rows) {
  // Y^T[out, rows] = W[out, in] . X^T: A = W (stored [out, in] row-major = [in, out] column-major, transposed),
  // B = X (stored [rows, in] row-major = [in, rows] column-major). m = out, n = rows, k = in.
  const int m = shape.out, n = rows, k = shape.in;
  const double flops = 2.0 * m * double(n) * k;
  auto base = [&](const char* kernel, const char* mode) {
    Result r;
    r.kernel = kernel;
    r.mode = mode;
    r.shape = shape.name;
    r.rows = rows;
    r.out = m;
    r.in = k;
    r.flops = flops;
    return r;
  };

  // BF16 x BF16 -> FP32 (the engine's output type), BF16 activations (cuBLASLt has no f32 x bf16 mix).
  {
    Result r = base("cublasLt bf16", "bf16");
    size_t wBytes = size_t(m) * k * 2, xBytes = size_t(n) * k * 2, yBytes = size_t(m) * n * 4;
    r.weightBytes = double(wBytes);
    r.activationBytes = double(xBytes + yBytes);
    std::vector<std::unique_ptr<LtPlan>> plans;
    runCase(
        cfg, stream, r, wBytes + xBytes + yBytes, estimateUs(double(wBytes + xBytes + yBytes), flops),
        [&](Operands& o, int s) {
          o.weight.emplace_back(wBytes);
          o.x.emplace_back(xBytes);
          o.y.emplace_back(yBytes);
          fillBf16<<<kFillBlocks, kFillThreads, 0, stream>>>(o.weight.back().as<uint16_t>(), wBytes / 2, gSeed++, 0.002f, 0.06f);
          fillBf16<<<kFillBlocks, kFillThreads, 0, stream>>>(o.x.back().as<uint16_t>(), xBytes / 2, gSeed++, 0.05f, 2.0f);
          if (s == 0) {
            plans.emplace_back(new LtPlan);
            planLt(*plans[0], CUDA_R_16BF, CUDA_R_32F, m, n, k, ScaleKind::none, 0, 0);
            chooseAlgo(*plans[0]);
          }
        },
        [&](Operands& o, int s) { runLt(*plans[0], o.weight[s].ptr, o.x[s].ptr, o.y[s].ptr, stream); });
  }
  if (shape.bf16Only) return;

  // FP8 e4m3 x e4m3. Per-tensor scales: the FP8 ceiling. Block scales: A = W with 128x128 blocks, B = X with 1x128.
  struct Fp8Variant {
    const char* kernel;
    ScaleKind kind;
  };
  const Fp8Variant variants[] = {{"cublasLt fp8 tensor-scaled", ScaleKind::tensor},
                                 {"cublasLt fp8 block-scaled", ScaleKind::block}};
  for (const Fp8Variant& v : variants) {
    Result r = base(v.kernel, "w8a8");
    size_t wBytes = size_t(m) * k, xBytes = size_t(n) * k;
    // Scale tensors: sized generously (padded outer dimensions) for either layout convention; timing only.
    size_t wsCount = v.kind == ScaleKind::block ? scaleCount(m, k) + 64 : 1;
    size_t xsCount = v.kind == ScaleKind::block ? size_t((k + 127) / 128) * ((n + 3) / 4 * 4) + 64 : 1;
    // Block-scaled output: BF16 (cuBLASLt's block-scaled FP8 on sm_90 wants a 16-bit D); per-tensor: FP32 via BF16 too.
    cudaDataType_t dType = CUDA_R_16BF;
    size_t yBytes = size_t(m) * n * 2;
    r.weightBytes = double(wBytes + wsCount * 4);
    r.activationBytes = double(xBytes + xsCount * 4 + yBytes);
    std::vector<std::unique_ptr<LtPlan>> plans;
    runCase(
        cfg, stream, r, wBytes + xBytes + yBytes + (wsCount + xsCount) * 4,
        estimateUs(r.weightBytes + r.activationBytes, flops),
        [&](Operands& o, int s) {
          o.weight.emplace_back(wBytes);
          o.scales.emplace_back(wsCount * 4);
          o.xq.emplace_back(xBytes);
          o.xs.emplace_back(xsCount * 4);
          o.y.emplace_back(yBytes);
          fillE4m3<<<kFillBlocks, kFillThreads, 0, stream>>>(o.weight.back().as<uint8_t>(), wBytes, gSeed++);
          fillE4m3<<<kFillBlocks, kFillThreads, 0, stream>>>(o.xq.back().as<uint8_t>(), xBytes, gSeed++);
          fillPositive<<<kFillBlocks, kFillThreads, 0, stream>>>(o.scales.back().as<float>(), wsCount, gSeed++, 1e-3f, 4e-3f);
          fillPositive<<<kFillBlocks, kFillThreads, 0, stream>>>(o.xs.back().as<float>(), xsCount, gSeed++, 1e-3f, 4e-3f);
          // A plan per set: the scale pointers are descriptor attributes.
          plans.emplace_back(new LtPlan);
          int32_t aMode = 0, bMode = 0;
#if QB_HAVE_BLOCK_SCALING
          aMode = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
          bMode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
#endif
          planLt(*plans.back(), CUDA_R_8F_E4M3, dType, m, n, k, v.kind, aMode, bMode);
          setScalePointers(*plans.back(), o.scales.back().ptr, o.xs.back().ptr);
          chooseAlgo(*plans.back());
          (void)s;
        },
        [&](Operands& o, int s) { runLt(*plans[s], o.weight[s].ptr, o.xq[s].ptr, o.y[s].ptr, stream); },
        /*outputBf16=*/true);
  }
}

#endif  // QB_HAVE_CUBLASLT

// ---- copy bandwidth -------------------------------------------------------------------------------------------------

struct CopyResult {
  double gbps = 0, medianUs = 0, p10Us = 0, p90Us = 0;
  size_t bytes = 0;
  int repeats = 0;
};

CopyResult measureCopy(cudaStream_t stream, size_t bytes, int repeats) {
  DeviceBuffer src(bytes), dst(bytes);
  fillF32<<<kFillBlocks, kFillThreads, 0, stream>>>(src.as<float>(), bytes / 4, gSeed++, 0.5f, 1.5f);
  for (int i = 0; i < 3; ++i) CUDA_OK(cudaMemcpyAsync(dst.ptr, src.ptr, bytes, cudaMemcpyDeviceToDevice, stream));
  cudaEvent_t start, stop;
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  std::vector<double> us;
  for (int i = 0; i < repeats; ++i) {
    CUDA_OK(cudaEventRecord(start, stream));
    CUDA_OK(cudaMemcpyAsync(dst.ptr, src.ptr, bytes, cudaMemcpyDeviceToDevice, stream));
    CUDA_OK(cudaEventRecord(stop, stream));
    CUDA_OK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    us.push_back(1000.0 * ms);
  }
  CUDA_OK(cudaEventDestroy(start));
  CUDA_OK(cudaEventDestroy(stop));
  CopyResult c;
  c.bytes = bytes;
  c.repeats = repeats;
  c.medianUs = percentile(us, 0.5);
  c.p10Us = percentile(us, 0.1);
  c.p90Us = percentile(us, 0.9);
  c.gbps = 2.0 * bytes / (c.medianUs * 1e-6) / 1e9;  // bytes read + bytes written
  return c;
}

// ---- JSON -----------------------------------------------------------------------------------------------------------

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += format("\\u%04x", c);
    else out += c;
  }
  return out + "\"";
}

void writeJson(const Config& cfg, const cudaDeviceProp& prop, int driver, int runtime, const CopyResult& copy) {
  FILE* f = std::fopen(cfg.outPath.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "kernel_bench: cannot write %s\n", cfg.outPath.c_str());
    std::exit(1);
  }
  std::fprintf(f, "{\n  \"schema\": \"quantbench-cuda-kernel-bench/1\",\n");
  std::fprintf(f, "  \"device\": {\"name\": %s, \"cc\": \"%d.%d\", \"sms\": %d, \"l2Bytes\": %d, \"memoryBytes\": %zu, "
                  "\"driverVersion\": %d, \"runtimeVersion\": %d},\n",
               jsonString(prop.name).c_str(), prop.major, prop.minor, prop.multiProcessorCount, prop.l2CacheSize,
               prop.totalGlobalMem, driver, runtime);
#if QB_HAVE_CUBLASLT
  std::fprintf(f, "  \"cublasLt\": {\"available\": true, \"version\": %zu, \"blockScaling\": %s},\n", cublasLtGetVersion(),
               QB_HAVE_BLOCK_SCALING ? "true" : "false");
#else
  std::fprintf(f, "  \"cublasLt\": {\"available\": false},\n");
#endif
  std::fprintf(f, "  \"method\": %s,\n",
               jsonString("random non-zero data; buffer sets rotated past L2; CUDA graph of back-to-back launches, "
                          "events per replay; per-launch us = replay / launches; GB/s = (weight + activation bytes) / "
                          "median; copy = cudaMemcpyAsync D2D, bytes read + written")
                   .c_str());
  std::fprintf(f, "  \"copy\": {\"bytes\": %zu, \"repeats\": %d, \"medianUs\": %.3f, \"p10Us\": %.3f, \"p90Us\": %.3f, \"gbps\": %.2f},\n",
               copy.bytes, copy.repeats, copy.medianUs, copy.p10Us, copy.p90Us, copy.gbps);
  std::fprintf(f, "  \"copyGBps\": %.2f,\n  \"results\": [\n", copy.gbps);
  for (size_t i = 0; i < gResults.size(); ++i) {
    const Result& r = gResults[i];
    std::fprintf(f, "    {\"kernel\": %s, \"mode\": %s, \"shape\": %s, \"rows\": %d, \"out\": %d, \"in\": %d, \"ok\": %s",
                 jsonString(r.kernel).c_str(), jsonString(r.mode).c_str(), jsonString(r.shape).c_str(), r.rows, r.out,
                 r.in, r.ok ? "true" : "false");
    if (r.ok) {
      double s = r.timing.medianUs * 1e-6;
      double gbps = (r.weightBytes + r.activationBytes) / s / 1e9;
      std::fprintf(f,
                   ", \"sets\": %d, \"launchesPerReplay\": %d, \"replays\": %d, \"medianUs\": %.3f, \"p10Us\": %.3f, "
                   "\"p90Us\": %.3f, \"minUs\": %.3f, \"maxUs\": %.3f, \"weightBytes\": %.0f, \"activationBytes\": %.0f, "
                   "\"gbps\": %.2f, \"fractionOfCopy\": %.4f, \"tflops\": %.3f, \"allWritten\": %s, \"graphed\": %s",
                   r.sets, r.timing.launches, r.timing.replays, r.timing.medianUs, r.timing.p10Us, r.timing.p90Us,
                   r.timing.minUs, r.timing.maxUs, r.weightBytes, r.activationBytes, gbps,
                   copy.gbps > 0 ? gbps / copy.gbps : 0.0, r.flops / s / 1e12, r.allWritten ? "true" : "false",
                   r.timing.graphed ? "true" : "false");
    }
    if (!r.note.empty()) std::fprintf(f, ", \"note\": %s", jsonString(r.note).c_str());
    std::fprintf(f, "}%s\n", i + 1 < gResults.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") cfg.quick = true;
    else if (a == "--rotate-mib" && i + 1 < argc) cfg.rotateBytes = size_t(std::atol(argv[++i])) << 20;
    else if (a == "--only" && i + 1 < argc) cfg.only = argv[++i];
    else if (a == "-h" || a == "--help") {
      std::printf("usage: kernel_bench OUT.json [--quick] [--rotate-mib N] [--only SUBSTRING]\n");
      return 0;
    } else if (cfg.outPath.empty()) cfg.outPath = a;
    else {
      std::fprintf(stderr, "kernel_bench: unexpected argument %s\n", a.c_str());
      return 2;
    }
  }
  if (cfg.outPath.empty()) {
    std::fprintf(stderr, "usage: kernel_bench OUT.json [--quick] [--rotate-mib N] [--only SUBSTRING]\n");
    return 2;
  }
  if (cfg.quick) cfg.replays = 10;

  int device = 0, driver = 0, runtime = 0;
  CUDA_OK(cudaSetDevice(device));
  cudaDeviceProp prop{};
  CUDA_OK(cudaGetDeviceProperties(&prop, device));
  CUDA_OK(cudaDriverGetVersion(&driver));
  CUDA_OK(cudaRuntimeGetVersion(&runtime));
  // At least 8 L2s of rotation.
  cfg.rotateBytes = std::max(cfg.rotateBytes, size_t(prop.l2CacheSize) * 8);
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  std::printf("device %s (cc %d.%d, %d SMs, L2 %.0f MiB, %.1f GiB), driver %d, runtime %d\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, prop.l2CacheSize / 1048576.0, prop.totalGlobalMem / 1073741824.0,
              driver, runtime);
  CopyResult copy = measureCopy(stream, cfg.quick ? (512ull << 20) : (2048ull << 20), cfg.quick ? 10 : 30);
  gCopyGBps = copy.gbps;
  std::printf("copy bandwidth (D2D %zu MiB, read+write): %.0f GB/s (median %.1f us)\n", copy.bytes >> 20, copy.gbps,
              copy.medianUs);
#if QB_HAVE_CUBLASLT
  if (cublasLtCreate(&gLt) != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "kernel_bench: cublasLtCreate failed; cuBLASLt comparisons skipped\n");
    gLt = nullptr;
  } else {
    gWorkspace = DeviceBuffer(64ull << 20);
    std::printf("cuBLASLt %zu, block scaling %s\n", cublasLtGetVersion(), QB_HAVE_BLOCK_SCALING ? "compiled in" : "absent");
  }
#else
  std::printf("cuBLASLt: not compiled in\n");
#endif
  std::printf("\n%-30s %-6s %-10s %5s %10s %6s %8s %7s %8s\n", "kernel", "mode", "shape", "rows", "median us", "spread",
              "GB/s", "of copy", "TFLOP/s");

  const std::vector<int> rowsList = cfg.quick ? std::vector<int>{1, 8, 512} : std::vector<int>{1, 8, 64, 512, 2048};
  for (int rows : rowsList) {
    for (const Shape& shape : kShapes) {
      benchOurs(cfg, stream, shape, rows);
#if QB_HAVE_CUBLASLT
      if (gLt) benchCublasLt(cfg, stream, shape, rows);
#endif
    }
  }
  writeJson(cfg, prop, driver, runtime, copy);
  int failed = 0, unwritten = 0;
  for (const Result& r : gResults) {
    bool ours = r.kernel.rfind("cublasLt", 0) != 0;
    if (ours && !r.ok) ++failed;
    if (ours && r.ok && !r.allWritten) ++unwritten;
  }
  std::printf("\nwrote %s: %zu cases, %d of ours failed, %d of ours left outputs unwritten\n", cfg.outPath.c_str(),
              gResults.size(), failed, unwritten);
#if QB_HAVE_CUBLASLT
  if (gLt) cublasLtDestroy(gLt);
#endif
  CUDA_OK(cudaStreamDestroy(stream));
  return failed || unwritten ? 1 : 0;
}
