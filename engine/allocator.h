// Caching allocators: device memory, pinned host memory and plain host memory.
//
// Freed blocks go back to a per-size free list and are handed out again for the same rounded
// size, so a steady-state training step performs no cudaMalloc/cudaFree (and no malloc for CPU
// tensors). Device blocks are reused in stream order: cmt runs each device's kernels on its one
// compute stream, so a block freed after being used there is safe to reuse there.
//
// A limit (set_limit, or CMT_MEMORY_LIMIT for every process-wide allocator but the pinned one) caps the
// bytes reserved from the system, so that a CPU run or a big card can stand in for a smaller card:
// a request past it, or one the system refuses, first gives the cache back, then throws OutOfMemory.
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
  // Caps bytes_reserved (0: no limit); blocks already reserved stay, later requests see the cap.
  void set_limit(std::size_t bytes);
  std::size_t limit() const;
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
  void free_cached_locked();
  [[noreturn]] void throw_out_of_memory_locked(std::size_t size, bool refused) const;

  std::string name_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_blocks_;
  AllocatorStats stats_;
  std::size_t limit_ = 0;
};

// "123", "512K", "1.5M", "80G" (K, M, G: binary, 2^10, 2^20, 2^30; case-insensitive) -> bytes; a clear
// error naming `what` (the option or variable) otherwise.
std::size_t parse_byte_size(const std::string& text, const std::string& what);
// CMT_MEMORY_LIMIT, read and checked once; 0 when unset. The host and device allocators start with it.
std::size_t memory_limit_from_environment();

// The process-wide allocators. Device allocators exist per CUDA device.
CachingAllocator& host_allocator();
CachingAllocator& pinned_allocator();
CachingAllocator& device_allocator(int device);
CachingAllocator& allocator_for(Device device);

}  // namespace cmt
