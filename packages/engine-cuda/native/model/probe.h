// What CUDA can run here, found without creating a context or allocating anything: the driver and runtime
// versions and each device, or why CUDA cannot run (no driver, no device, compute capability below 8.0).
#pragma once

#include <string>
#include <vector>

namespace qb {

constexpr int kMinComputeMajor = 8;

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0;
  int minor = 0;
  size_t totalBytes = 0;
  int multiprocessors = 0;
  bool usable = false;  // compute capability 8.0+
};

struct ProbeResult {
  bool ok = false;
  std::string reason;  // why CUDA cannot run, when !ok
  int driverVersion = 0;   // e.g. 12080 (0 without a driver)
  int runtimeVersion = 0;  // the runtime linked into the addon
  std::vector<DeviceInfo> devices;
};

ProbeResult probe();

// "12.8" from 12080.
std::string cudaVersionText(int version);

}  // namespace qb
