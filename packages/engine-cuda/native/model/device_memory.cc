#include "device_memory.h"

#include <cstdio>
#include <stdexcept>

#include "cuda_check.h"

namespace qb {

const char* memoryCategoryName(MemoryCategory category) {
  switch (category) {
    case MemoryCategory::Weights: return "weights";
    case MemoryCategory::KvCache: return "kv-cache";
    case MemoryCategory::Activations: return "activations";
    case MemoryCategory::Scratch: return "scratch";
  }
  return "unknown";
}

std::string formatBytes(size_t bytes) {
  char text[64];
  if (bytes >= (size_t(1) << 30)) std::snprintf(text, sizeof text, "%.2f GiB", double(bytes) / double(size_t(1) << 30));
  else if (bytes >= (size_t(1) << 20)) std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / double(size_t(1) << 20));
  else std::snprintf(text, sizeof text, "%zu bytes", bytes);
  return text;
}

DeviceAllocator::~DeviceAllocator() { releaseAll(); }

void* DeviceAllocator::allocate(MemoryCategory category, size_t bytes, const std::string& label) {
  if (bytes == 0) bytes = 1;
  void* pointer = nullptr;
  cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();  // cudaErrorMemoryAllocation is not sticky; clear it
    size_t freeBytes = 0, totalBytes = 0;
    std::string memory;
    if (cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess) {
      memory = ", " + formatBytes(freeBytes) + " free of " + formatBytes(totalBytes);
    }
    cudaGetLastError();
    throw CudaError("cudaMalloc of " + formatBytes(bytes) + " for " + label + " (" + memoryCategoryName(category) + memory + ")",
                    status);
  }
  blocks_.emplace(pointer, Block{category, bytes});
  MemoryCounter& counter = categories_[static_cast<int>(category)];
  counter.live += bytes;
  if (counter.live > counter.peak) counter.peak = counter.live;
  total_.live += bytes;
  if (total_.live > total_.peak) total_.peak = total_.live;
  return pointer;
}

void DeviceAllocator::release(void* pointer) {
  if (pointer == nullptr) return;
  auto found = blocks_.find(pointer);
  if (found == blocks_.end()) return;
  cudaFree(pointer);  // errors on free (a sticky error from an earlier fault) must not throw from cleanup
  categories_[static_cast<int>(found->second.category)].live -= found->second.bytes;
  total_.live -= found->second.bytes;
  blocks_.erase(found);
}

void DeviceAllocator::releaseAll() {
  for (auto& [pointer, block] : blocks_) {
    cudaFree(pointer);
    categories_[static_cast<int>(block.category)].live -= block.bytes;
    total_.live -= block.bytes;
  }
  blocks_.clear();
}

}  // namespace qb
