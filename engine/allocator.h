// Caching allocators: device memory, pinned host memory and plain host memory.
//
// Freed blocks go back to a per-size free list and are handed out again for the same rounded
// size, so a steady-state training step performs no cudaMalloc/cudaFree (and no malloc for CPU
// tensors). Device blocks are reused in stream order: cmt runs each device's kernels on its one
// compute stream, so a block freed after being used there is safe to reuse there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/device.h"

namespace cmt {

struct AllocatorStats {
  std::uint64_t raw_allocations = 0;  // calls to the underlying allocator (cudaMalloc, ...)
  std::uint64_t raw_frees = 0;
  std::uint64_t requests = 0;         // allocate() calls
  std::uint64_t cache_hits = 0;       // requests served from the cache
  std::size_t bytes_in_use = 0;
  std::size_t bytes_reserved = 0;     // in use + cached
  std::size_t peak_bytes_in_use = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(std::string name) : name_(std::move(name)) {}
  virtual ~CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(std::size_t bytes);
  void deallocate(void* ptr, std::size_t bytes);
  void empty_cache();  // return every cached block to the system
  AllocatorStats stats() const;
  void reset_peak();
  const std::string& name() const { return name_; }

  // Block sizes are rounded so that similar requests share a free list.
  static std::size_t round_size(std::size_t bytes);

 protected:
  virtual void* raw_allocate(std::size_t bytes) = 0;
  virtual void raw_free(void* ptr) = 0;
  void release_all();  // for destructors of subclasses

 private:
  std::string name_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_blocks_;
  AllocatorStats stats_;
};

// The process-wide allocators. Device allocators exist per CUDA device.
CachingAllocator& host_allocator();
CachingAllocator& pinned_allocator();
CachingAllocator& device_allocator(int device);
CachingAllocator& allocator_for(Device device);

}  // namespace cmt
