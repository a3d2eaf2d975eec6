#include "probe.h"

#include <cuda_runtime.h>

#include <string>

namespace qb {

std::string cudaVersionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

static std::string describe(const char* call, cudaError_t status) {
  return std::string(call) + " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
}

ProbeResult probe() {
  ProbeResult result;
  cudaRuntimeGetVersion(&result.runtimeVersion);
  if (cudaDriverGetVersion(&result.driverVersion) != cudaSuccess) result.driverVersion = 0;
  cudaGetLastError();

  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  cudaGetLastError();  // a failed probe must leave no error behind
  if (status == cudaErrorInsufficientDriver && result.driverVersion == 0) {
    result.reason = "no NVIDIA driver found (" + describe("cudaGetDeviceCount", status) + ")";
    return result;
  }
  if (status == cudaErrorInsufficientDriver) {
    result.reason = "the NVIDIA driver supports CUDA " + cudaVersionText(result.driverVersion) +
                    ", older than this addon's runtime " + cudaVersionText(result.runtimeVersion) +
                    " (update the driver); " + describe("cudaGetDeviceCount", status);
    return result;
  }
  if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0)) {
    result.reason = "no CUDA device found" +
                    (status == cudaSuccess ? std::string() : " (" + describe("cudaGetDeviceCount", status) + ")");
    return result;
  }
  if (status != cudaSuccess) {
    result.reason = describe("cudaGetDeviceCount", status);
    return result;
  }

  std::string tooOld;
  for (int index = 0; index < count; index++) {
    cudaDeviceProp properties{};
    cudaError_t propertyStatus = cudaGetDeviceProperties(&properties, index);
    cudaGetLastError();
    DeviceInfo device;
    device.index = index;
    if (propertyStatus != cudaSuccess) {
      device.name = "device " + std::to_string(index) + " (" + describe("cudaGetDeviceProperties", propertyStatus) + ")";
      result.devices.push_back(device);
      continue;
    }
    device.name = properties.name;
    device.major = properties.major;
    device.minor = properties.minor;
    device.totalBytes = properties.totalGlobalMem;
    device.multiprocessors = properties.multiProcessorCount;
    device.usable = properties.major >= kMinComputeMajor;
    if (!device.usable) {
      if (!tooOld.empty()) tooOld += ", ";
      tooOld += device.name + " (compute capability " + std::to_string(device.major) + "." + std::to_string(device.minor) + ")";
    }
    result.devices.push_back(device);
  }
  for (const DeviceInfo& device : result.devices) result.ok = result.ok || device.usable;
  if (!result.ok) {
    result.reason = tooOld.empty() ? "no usable CUDA device"
                                   : "no CUDA device of compute capability 8.0 or newer (found " + tooOld + ")";
  }
  return result;
}

}  // namespace qb
