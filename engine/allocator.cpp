// Caching allocators for host, pinned host and device memory.
#include "engine/allocator.h"

#include <algorithm>
#include <cstdlib>

#include "kernels/common/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt {

std::size_t CachingAllocator::round_size(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr std::size_t kSmall = 512, kLarge = std::size_t{2} << 20;
  if (bytes < (std::size_t{1} << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.requests;
  void* ptr = nullptr;
  auto it = free_blocks_.find(size);
  if (it != free_blocks_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    ++stats_.cache_hits;
  } else {
    // Past the limit or refused by the system: give the cache back and try once more before failing.
    const auto over_limit = [&] { return limit_ != 0 && stats_.bytes_reserved + size > limit_; };
    if (over_limit()) free_cached_locked();
    if (over_limit()) throw_out_of_memory_locked(size, false);
    ptr = raw_allocate(size);
    if (ptr == nullptr) {
      free_cached_locked();
      ptr = raw_allocate(size);
    }
    if (ptr == nullptr) throw_out_of_memory_locked(size, true);
    ++stats_.raw_allocations;
    stats_.bytes_reserved += size;
  }
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return ptr;
}

void CachingAllocator::throw_out_of_memory_locked(std::size_t size, bool refused) const {
  const auto amount = [](std::size_t b) { return std::to_string(b >> 20) + " MiB (" + std::to_string(b) + " bytes)"; };
  const std::string request = "a request of " + amount(size) + " with " + amount(stats_.bytes_in_use) + " in use";
  const std::string limit = limit_ != 0 ? "the limit of " + amount(limit_) : "no limit set";
  detail::throw_out_of_memory(name_ + ": out of memory: " +
                                  (refused ? "the system refused " + request + " (" + limit + ")" : request + " would pass " + limit),
                              __FILE__, __LINE__);
}

void CachingAllocator::deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  const std::size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_blocks_[size].push_back(ptr);
  stats_.bytes_in_use -= size;
}

void CachingAllocator::free_cached_locked() {
  for (auto& [size, blocks] : free_blocks_)
    for (void* p : blocks) {
      raw_free(p);
      ++stats_.raw_frees;
      stats_.bytes_reserved -= size;
    }
  free_blocks_.clear();
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  free_cached_locked();
}

void CachingAllocator::set_limit(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  limit_ = bytes;
}

std::size_t CachingAllocator::limit() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return limit_;
}

void CachingAllocator::release_all() { empty_cache(); }

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

std::size_t parse_byte_size(const std::string& text, const std::string& what) {
  static const std::map<std::string, double> scales{{"", 1},        {"K", 0x1p10}, {"k", 0x1p10}, {"M", 0x1p20},
                                                    {"m", 0x1p20}, {"G", 0x1p30}, {"g", 0x1p30}};
  const std::size_t end = std::min(text.find_first_not_of("0123456789."), text.size());
  const std::string number = text.substr(0, end);
  const auto scale = scales.find(text.substr(end));
  const bool ok = !number.empty() && number != "." && std::count(number.begin(), number.end(), '.') <= 1 && scale != scales.end();
  CMT_CHECK(ok, what << ": '" << text << "' is not a byte count (a number with an optional K, M or G suffix, e.g. 512M or 80G)");
  const double bytes = std::stod(number) * scale->second;
  CMT_CHECK(bytes < 0x1p62, what << ": '" << text << "' is too large");
  return static_cast<std::size_t>(bytes);
}

std::size_t memory_limit_from_environment() {
  static const std::size_t limit = [] {
    const char* v = std::getenv("CMT_MEMORY_LIMIT");
    return v && *v ? parse_byte_size(v, "CMT_MEMORY_LIMIT") : std::size_t{0};
  }();
  return limit;
}

namespace {

class HostAllocator final : public CachingAllocator {
 public:
  HostAllocator() : CachingAllocator("host allocator") { set_limit(memory_limit_from_environment()); }
  ~HostAllocator() override { release_all(); }

 protected:
  void* raw_allocate(std::size_t bytes) override { return std::aligned_alloc(64, bytes); }
  void raw_free(void* ptr) override { std::free(ptr); }
};

#if defined(CMT_WITH_CUDA)
// Device and pinned blocks are left to the driver at exit: freeing them after the CUDA runtime
// has shut down would fail.
class PinnedAllocator final : public CachingAllocator {
 public:
  PinnedAllocator() : CachingAllocator("pinned host allocator") {}

 protected:
  void* raw_allocate(std::size_t bytes) override {
    void* p = nullptr;
    return cudaHostAlloc(&p, bytes, cudaHostAllocPortable) == cudaSuccess ? p : (cudaGetLastError(), nullptr);
  }
  void raw_free(void* ptr) override { CUDA_CHECK(cudaFreeHost(ptr)); }
};

class DeviceAllocator final : public CachingAllocator {
 public:
  explicit DeviceAllocator(int device) : CachingAllocator("cuda:" + std::to_string(device) + " allocator"), device_(device) {
    set_limit(memory_limit_from_environment());
  }

 protected:
  void* raw_allocate(std::size_t bytes) override {
    int previous = 0;
    CUDA_CHECK(cudaGetDevice(&previous));
    CUDA_CHECK(cudaSetDevice(device_));
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    CUDA_CHECK(cudaSetDevice(previous));
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    CUDA_CHECK(err);
    return p;
  }
  void raw_free(void* ptr) override { CUDA_CHECK(cudaFree(ptr)); }

 private:
  int device_;
};
#endif

}  // namespace

CachingAllocator& host_allocator() {
  static HostAllocator instance;
  return instance;
}

CachingAllocator& pinned_allocator() {
#if defined(CMT_WITH_CUDA)
  static auto* instance = new PinnedAllocator();
  return *instance;
#else
  return host_allocator();  // without CUDA, "pinned" buffers are ordinary host memory
#endif
}

CachingAllocator& device_allocator(int device) {
#if defined(CMT_WITH_CUDA)
  constexpr int kMaxDevices = 64;
  CMT_CHECK(device >= 0 && device < kMaxDevices, "bad CUDA device index " << device);
  static std::mutex mutex;
  static DeviceAllocator* allocators[kMaxDevices] = {};  // never freed: see PinnedAllocator
  std::lock_guard<std::mutex> lock(mutex);
  if (!allocators[device]) allocators[device] = new DeviceAllocator(device);
  return *allocators[device];
#else
  CMT_THROW("no device allocator for cuda:" << device << ": cmt was built without CUDA");
#endif
}

CachingAllocator& allocator_for(Device device) {
  return device.is_cpu() ? host_allocator() : device_allocator(device.index);
}

}  // namespace cmt
