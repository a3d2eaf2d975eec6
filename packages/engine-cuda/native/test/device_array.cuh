// Shared by the standalone CUDA test programs: CUDA_CHECK (exit 2 naming the call and the error) and DeviceArray,
// a typed device allocation whose transfers go through gStream and wait for it, so they are ordered with the
// launches under test. gStream is the default stream unless a program's main sets its own.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CUDA_CHECK(call)                                                                                   \
  do {                                                                                                     \
    const cudaError_t err_ = (call);                                                                       \
    if (err_ != cudaSuccess) {                                                                             \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
      std::exit(2);                                                                                        \
    }                                                                                                      \
  } while (0)

inline cudaStream_t gStream = nullptr;

template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  size_t count = 0;
  explicit DeviceArray(size_t n) : count(n) { CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  void upload(const std::vector<T>& host) {
    CUDA_CHECK(cudaMemcpyAsync(ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, gStream));
    CUDA_CHECK(cudaStreamSynchronize(gStream));
  }
  // All bits set: NaN for floats, -1 for ints, so an element a kernel failed to write is caught.
  void poison() {
    CUDA_CHECK(cudaMemsetAsync(ptr, 0xff, count * sizeof(T), gStream));
    CUDA_CHECK(cudaStreamSynchronize(gStream));
  }
  std::vector<T> download() const {
    std::vector<T> host(count);
    CUDA_CHECK(cudaMemcpyAsync(host.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost, gStream));
    CUDA_CHECK(cudaStreamSynchronize(gStream));
    return host;
  }
};
