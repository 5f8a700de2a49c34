// Host-sync accounting. A step that is captured into a CUDA Graph (or simply kept free of stalls)
// must not wait for the device nor read device values on the host; every such point in the engine
// reports itself here, so a NoHostSyncScope turns an accidental sync into a clear error on any
// backend (the CPU test suite catches what would only stall or break capture on a GPU).
#pragma once
#include <cstdint>

namespace cmt {

// Called where the host waits for or reads from a device (item(), to_vector(), cross-device copies,
// Context::synchronize). Throws inside a NoHostSyncScope, naming the region and the call.
void note_host_sync(const char* what);
std::uint64_t host_sync_count();  // calls so far on this thread (a diagnostic for tests and bench)

class NoHostSyncScope {
 public:
  explicit NoHostSyncScope(const char* region);
  ~NoHostSyncScope();
  NoHostSyncScope(const NoHostSyncScope&) = delete;
  NoHostSyncScope& operator=(const NoHostSyncScope&) = delete;

 private:
  const char* previous_;
};

}  // namespace cmt
