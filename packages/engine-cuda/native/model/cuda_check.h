// Error handling for the host side of the CUDA engine: every CUDA runtime call goes through QB_CUDA_CHECK, which
// turns a failure into a qb::CudaError naming the call and cudaGetErrorString (the addon rethrows it as a JS Error).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace qb {

class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& call, cudaError_t status)
      : std::runtime_error(call + " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")"),
        status_(status) {}
  cudaError_t status() const { return status_; }

 private:
  cudaError_t status_;
};

inline void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw CudaError(call, status);
}

// After a kernel launcher: launch errors (bad configuration, missing image for this GPU) surface here.
inline void checkLaunch(const char* launcher) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw CudaError(std::string("kernel launch ") + launcher, status);
}

}  // namespace qb

#define QB_CUDA_CHECK(call) ::qb::check((call), #call)
#define QB_LAUNCH(launcher, ...)  \
  do {                            \
    ::qb::launcher(__VA_ARGS__);  \
    ::qb::checkLaunch(#launcher); \
  } while (0)
