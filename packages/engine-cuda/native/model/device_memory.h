// One tracking allocator for every device allocation of a model: live and peak bytes per category and in total.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace qb {

enum class MemoryCategory { Weights = 0, KvCache = 1, Activations = 2, Scratch = 3 };
constexpr int kMemoryCategories = 4;
const char* memoryCategoryName(MemoryCategory category);

struct MemoryCounter {
  size_t live = 0;
  size_t peak = 0;
};

class DeviceAllocator {
 public:
  DeviceAllocator() = default;
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;
  ~DeviceAllocator();

  // cudaMalloc of `bytes` (at least 1); throws CudaError naming `label`, the size and the free memory on failure.
  void* allocate(MemoryCategory category, size_t bytes, const std::string& label);
  template <typename T>
  T* allocate(MemoryCategory category, size_t count, const std::string& label) {
    return static_cast<T*>(allocate(category, count * sizeof(T), label));
  }
  void release(void* pointer);
  void releaseAll();

  const MemoryCounter& counter(MemoryCategory category) const { return categories_[static_cast<int>(category)]; }
  const MemoryCounter& total() const { return total_; }

 private:
  struct Block {
    MemoryCategory category;
    size_t bytes;
  };
  std::unordered_map<void*, Block> blocks_;
  std::array<MemoryCounter, kMemoryCategories> categories_{};
  MemoryCounter total_{};
};

std::string formatBytes(size_t bytes);

}  // namespace qb
